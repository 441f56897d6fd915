-- The custody log (SPEC §4): one global, append-only, hash-chained log with an
-- RFC 6962 Merkle tree and signed checkpoints.
--
-- Append-only is enforced here as well as in the code: row triggers reject
-- UPDATE and DELETE, a statement trigger rejects TRUNCATE, and all are
-- ENABLE ALWAYS so that `session_replication_role = replica` does not skip
-- them. A superuser can still drop them; the hash chain and the signed
-- checkpoints are what make such tampering detectable.

CREATE FUNCTION evx_reject_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'evx: % on % is refused: the custody log is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

-- One row per entry. `canonical` is the exact RFC 8785 text that was hashed:
-- the entry is served from these bytes, never re-serialized from columns.
CREATE TABLE log_entries (
  seq        bigint PRIMARY KEY CHECK (seq >= 0),
  subject    text NOT NULL,
  type       text NOT NULL,
  leaf_hash  bytea NOT NULL CHECK (length(leaf_hash) = 32),
  canonical  bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX log_entries_by_subject ON log_entries (subject, seq);

-- Hashes of complete, aligned subtrees of level >= 1 (level 0 = leaf_hash):
-- node (level, idx) covers leaves [idx * 2^level, (idx + 1) * 2^level).
-- Any root or proof needs O(log n) of them.
CREATE TABLE log_nodes (
  level  smallint NOT NULL CHECK (level BETWEEN 1 AND 62),
  idx    bigint NOT NULL CHECK (idx >= 0),
  hash   bytea NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (level, idx)
);

-- Every checkpoint ever published, as the signed note text.
CREATE TABLE log_checkpoints (
  size       bigint PRIMARY KEY CHECK (size >= 0),
  root_hash  bytea NOT NULL CHECK (length(root_hash) = 32),
  note       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The head: the one row appenders lock to serialize on. It caches the size,
-- the last leaf hash and the frontier (hashes of the complete subtrees on the
-- right edge) so an append needs no tree reads; all three are derivable from
-- log_entries/log_nodes and are re-checked by verification.
CREATE TABLE log_head (
  singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  size            bigint NOT NULL CHECK (size >= 0),
  last_leaf_hash  bytea NOT NULL CHECK (length(last_leaf_hash) = 32),
  frontier        bytea[] NOT NULL
);
INSERT INTO log_head (singleton, size, last_leaf_hash, frontier) VALUES (true, 0, '\x0000000000000000000000000000000000000000000000000000000000000000', '{}');

CREATE FUNCTION evx_log_head_only_grows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'evx: % on log_head is refused', TG_OP USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.size < OLD.size THEN
    RAISE EXCEPTION 'evx: the custody log head cannot move backwards (% -> %)', OLD.size, NEW.size USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER log_entries_append_only BEFORE UPDATE OR DELETE ON log_entries FOR EACH ROW EXECUTE FUNCTION evx_reject_log_change();
CREATE TRIGGER log_entries_no_truncate BEFORE TRUNCATE ON log_entries FOR EACH STATEMENT EXECUTE FUNCTION evx_reject_log_change();
CREATE TRIGGER log_nodes_append_only BEFORE UPDATE OR DELETE ON log_nodes FOR EACH ROW EXECUTE FUNCTION evx_reject_log_change();
CREATE TRIGGER log_nodes_no_truncate BEFORE TRUNCATE ON log_nodes FOR EACH STATEMENT EXECUTE FUNCTION evx_reject_log_change();
CREATE TRIGGER log_checkpoints_append_only BEFORE UPDATE OR DELETE ON log_checkpoints FOR EACH ROW EXECUTE FUNCTION evx_reject_log_change();
CREATE TRIGGER log_checkpoints_no_truncate BEFORE TRUNCATE ON log_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION evx_reject_log_change();
CREATE TRIGGER log_head_only_grows BEFORE UPDATE OR DELETE ON log_head FOR EACH ROW EXECUTE FUNCTION evx_log_head_only_grows();
CREATE TRIGGER log_head_no_truncate BEFORE TRUNCATE ON log_head FOR EACH STATEMENT EXECUTE FUNCTION evx_reject_log_change();

ALTER TABLE log_entries ENABLE ALWAYS TRIGGER log_entries_append_only;
ALTER TABLE log_entries ENABLE ALWAYS TRIGGER log_entries_no_truncate;
ALTER TABLE log_nodes ENABLE ALWAYS TRIGGER log_nodes_append_only;
ALTER TABLE log_nodes ENABLE ALWAYS TRIGGER log_nodes_no_truncate;
ALTER TABLE log_checkpoints ENABLE ALWAYS TRIGGER log_checkpoints_append_only;
ALTER TABLE log_checkpoints ENABLE ALWAYS TRIGGER log_checkpoints_no_truncate;
ALTER TABLE log_head ENABLE ALWAYS TRIGGER log_head_only_grows;
ALTER TABLE log_head ENABLE ALWAYS TRIGGER log_head_no_truncate;
