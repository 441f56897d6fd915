-- Evidence bundles (SPEC §2, §4): the signed manifest exactly as signed, the
-- expected ciphertext of each file, and per-jurisdiction key wraps. The
-- server never holds plaintext or the bundle key.

CREATE TABLE bundles (
  id                  uuid PRIMARY KEY,
  owner_jurisdiction  text NOT NULL REFERENCES jurisdictions (code),
  status              text NOT NULL CHECK (status IN ('open', 'sealed')),
  -- The RFC 8785 bytes of the manifest the signature covers.
  manifest            bytea NOT NULL,
  manifest_sha256     text NOT NULL CHECK (manifest_sha256 ~ '^[0-9a-f]{64}$'),
  signature           text NOT NULL,
  signer_key_id       uuid NOT NULL REFERENCES officer_keys (key_id),
  uploader_issuer     text NOT NULL,
  uploader_sub        text NOT NULL,
  crime_category      text NOT NULL,
  classification      text NOT NULL CHECK (classification IN ('public', 'restricted', 'confidential', 'secret')),
  created_at          timestamptz NOT NULL DEFAULT now(),
  sealed_at           timestamptz,
  CHECK ((status = 'sealed') = (sealed_at IS NOT NULL))
);
CREATE INDEX bundles_by_owner ON bundles (owner_jurisdiction, created_at, id);

CREATE TABLE bundle_files (
  bundle_id      uuid NOT NULL REFERENCES bundles (id),
  n              integer NOT NULL CHECK (n >= 0),
  cipher_size    bigint NOT NULL CHECK (cipher_size >= 16),
  cipher_sha256  text NOT NULL CHECK (cipher_sha256 ~ '^[0-9a-f]{64}$'),
  -- Set once the complete ciphertext arrived and hashed to cipher_sha256.
  received_at    timestamptz,
  PRIMARY KEY (bundle_id, n)
);

-- The bundle key wrapped for a jurisdiction's box key (SPEC §4 key wrap).
CREATE TABLE key_wraps (
  bundle_id     uuid NOT NULL REFERENCES bundles (id),
  jurisdiction  text NOT NULL REFERENCES jurisdictions (code),
  key_version   integer NOT NULL,
  wrap          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (bundle_id, jurisdiction),
  FOREIGN KEY (jurisdiction, key_version) REFERENCES jurisdiction_keys (jurisdiction, key_version)
);

GRANT SELECT, INSERT, UPDATE ON bundles, bundle_files, key_wraps TO evx_service;
