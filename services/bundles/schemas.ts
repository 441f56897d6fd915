import { Type } from 'typebox';
import { Base64, Sha256Hex, Timestamp } from '../shared/schemas.js';

export const BundleParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
export const FileParams = Type.Object({ id: Type.String({ format: 'uuid' }), n: Type.Integer({ minimum: 0, maximum: 9999 }) }, { additionalProperties: false });

/** Shape only: the manifest and wraps are checked field by field by the envelope library (unknown fields refused). */
export const CreateBundleBody = Type.Object(
  {
    manifest: Type.Object({}, { additionalProperties: true, description: 'SPEC §4 manifest, signed' }),
    signature: Type.String({ ...Base64, description: 'Ed25519 over JCS(manifest), base64' }),
    keyWraps: Type.Array(Type.Object({}, { additionalProperties: true, description: 'SPEC §4 key wrap' }), { minItems: 1, maxItems: 1 }),
  },
  { additionalProperties: false },
);

export const FileState = Type.Object({ n: Type.Integer(), cipherSize: Type.Integer(), received: Type.Integer() });

export const KeyWrapSchema = Type.Object({
  jurisdiction: Type.String(),
  keyVersion: Type.Integer(),
  ephemeralPublicKey: Type.String(),
  nonce: Type.String(),
  box: Type.String(),
});

export const ReleaseSchema = Type.Object({
  recipient: Type.String(),
  purpose: Type.String(),
  requestReference: Type.String(),
  agreementId: Type.String(),
  agreementVersion: Type.Integer(),
  grantedAt: Timestamp,
  revokedAt: Type.Union([Timestamp, Type.Null()]),
});

export const BundleView = Type.Object({
  id: Type.String(),
  ownerJurisdiction: Type.String(),
  status: Type.Union([Type.Literal('open'), Type.Literal('sealed')]),
  manifest: Type.Object({}, { additionalProperties: true }),
  manifestSha256: Sha256Hex,
  signature: Type.String(),
  keyWrap: Type.Union([KeyWrapSchema, Type.Null()]),
  files: Type.Array(FileState),
  createdAt: Timestamp,
  sealedAt: Type.Union([Timestamp, Type.Null()]),
  releases: Type.Optional(Type.Array(ReleaseSchema)),
});

export const BundleSummarySchema = Type.Object({
  id: Type.String(),
  ownerJurisdiction: Type.String(),
  status: Type.Union([Type.Literal('open'), Type.Literal('sealed')]),
  crimeCategory: Type.String(),
  classification: Type.String(),
  createdAt: Timestamp,
  sealedAt: Type.Union([Timestamp, Type.Null()]),
});

export const CustodySchema = Type.Object({
  checkpoint: Type.String({ description: 'signed note (C2SP) the proofs lead to' }),
  entries: Type.Array(
    Type.Object({
      entry: Type.Object({}, { additionalProperties: true }),
      leafHash: Sha256Hex,
      proof: Type.Object({ leafIndex: Type.Integer(), treeSize: Type.Integer(), hashes: Type.Array(Sha256Hex) }),
    }),
  ),
});
