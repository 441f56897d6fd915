-- Bilateral agreements (SPEC §3), releases of bundles under them, and
-- receipts. The current state of an agreement is one row; its full history
-- (every version's terms, every signature and status change) is append-only.

CREATE TABLE agreements (
  id          uuid PRIMARY KEY,
  -- The two parties in code order, for lookups "between O and R"; the signed
  -- order is in `terms`.
  party_low   text NOT NULL REFERENCES jurisdictions (code),
  party_high  text NOT NULL REFERENCES jurisdictions (code),
  version     integer NOT NULL CHECK (version >= 1),
  status      text NOT NULL CHECK (status IN ('draft', 'active', 'suspended', 'terminated')),
  terms       jsonb NOT NULL,
  terms_sha256 text NOT NULL CHECK (terms_sha256 ~ '^[0-9a-f]{64}$'),
  signatures  jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (party_low < party_high)
);
CREATE INDEX agreements_between ON agreements (party_low, party_high);
CREATE INDEX agreements_high ON agreements (party_high);

CREATE TABLE agreement_history (
  agreement_id  uuid NOT NULL REFERENCES agreements (id),
  seq           integer NOT NULL CHECK (seq >= 0),
  item          jsonb NOT NULL,
  PRIMARY KEY (agreement_id, seq)
);

CREATE TABLE releases (
  id                 uuid PRIMARY KEY,
  bundle_id          uuid NOT NULL REFERENCES bundles (id),
  recipient          text NOT NULL REFERENCES jurisdictions (code),
  purpose            text NOT NULL,
  request_reference  text NOT NULL,
  agreement_id       uuid NOT NULL REFERENCES agreements (id),
  agreement_version  integer NOT NULL,
  granted_by_issuer  text NOT NULL,
  granted_by_sub     text NOT NULL,
  granted_at         timestamptz NOT NULL DEFAULT now(),
  revoked_at         timestamptz
);
-- At most one live (unrevoked) release of a bundle per recipient.
CREATE UNIQUE INDEX releases_one_live ON releases (bundle_id, recipient) WHERE revoked_at IS NULL;
CREATE INDEX releases_by_recipient ON releases (recipient, bundle_id);

CREATE TABLE receipts (
  id               uuid PRIMARY KEY,
  bundle_id        uuid NOT NULL REFERENCES bundles (id),
  jurisdiction     text NOT NULL REFERENCES jurisdictions (code),
  issuer           text NOT NULL,
  sub              text NOT NULL,
  key_id           uuid NOT NULL REFERENCES officer_keys (key_id),
  signature        text NOT NULL,
  manifest_sha256  text NOT NULL,
  recorded_at      timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE ON agreements, releases TO evx_service;
GRANT SELECT, INSERT ON agreement_history, receipts TO evx_service;
-- A revoked recipient's key wrap is deleted, not just hidden.
GRANT DELETE ON key_wraps TO evx_service;
