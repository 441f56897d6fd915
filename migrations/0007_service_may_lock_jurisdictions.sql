-- addJurisdictionKey locks the jurisdiction row (SELECT ... FOR UPDATE) so two
-- concurrent rotations get distinct versions; PostgreSQL requires UPDATE
-- privilege on at least one column for that, and evx_service had none, so
-- PUT /v1/jurisdictions/:code/keys failed with 500 under the service role.
GRANT UPDATE (name) ON jurisdictions TO evx_service;
