-- Foundation: jurisdictions, their X25519 box key versions, officers' Ed25519 signing keys.

CREATE TABLE jurisdictions (
  code        text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_-]{1,15}$'),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kind        text NOT NULL CHECK (kind IN ('state', 'tribunal', 'organisation')),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Key versions are never replaced: old wraps must stay readable after rotation.
CREATE TABLE jurisdiction_keys (
  jurisdiction    text NOT NULL REFERENCES jurisdictions (code),
  key_version     integer NOT NULL CHECK (key_version >= 1),
  box_public_key  bytea NOT NULL CHECK (length(box_public_key) = 32),
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (jurisdiction, key_version)
);

-- An officer key is bound to (issuer, sub, jurisdiction): signatures on
-- manifests, agreements and receipts are checked against these rows.
CREATE TABLE officer_keys (
  key_id        uuid PRIMARY KEY,
  issuer        text NOT NULL,
  sub           text NOT NULL,
  jurisdiction  text NOT NULL REFERENCES jurisdictions (code),
  public_key    bytea NOT NULL UNIQUE CHECK (length(public_key) = 32),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX officer_keys_officer ON officer_keys (issuer, sub);
