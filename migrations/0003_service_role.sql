-- The service runs as a role that owns nothing: a LOGIN role that is a member
-- of evx_service. On the custody log it may only INSERT and SELECT (and move
-- the head forward); it cannot UPDATE, DELETE or TRUNCATE log rows, disable
-- their triggers (that needs ownership) or set session_replication_role
-- (that needs superuser). Migrations run as the owner. Later migrations
-- grant on the tables they create.
--
-- Roles are global to a PostgreSQL cluster; creating evx_service needs
-- CREATEROLE unless an administrator created it beforehand.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'evx_service') THEN
    CREATE ROLE evx_service NOLOGIN;
  END IF;
EXCEPTION
  -- Another database of the same cluster created it at the same moment.
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

GRANT USAGE ON SCHEMA public TO evx_service;
GRANT SELECT, INSERT ON jurisdictions, jurisdiction_keys, officer_keys TO evx_service;
GRANT SELECT, INSERT ON log_entries, log_nodes, log_checkpoints TO evx_service;
GRANT SELECT, UPDATE ON log_head TO evx_service;
