/** TypeBox building blocks shared by route schemas (and so by the OpenAPI document). */
import { Type } from 'typebox';
import { BASE64_PATTERN, KEY32_BASE64_PATTERN, SHA256_HEX_PATTERN } from './encoding.js';
import { JURISDICTION_CODE_PATTERN } from './vocabulary.js';

export const JurisdictionCode = Type.String({ pattern: JURISDICTION_CODE_PATTERN, description: 'Jurisdiction code, e.g. "NL" or "ICC"' });
export const Key32Base64 = Type.String({ pattern: KEY32_BASE64_PATTERN, description: '32 bytes, standard base64 with padding' });
export const Base64 = Type.String({ pattern: BASE64_PATTERN, maxLength: 1_000_000 });
export const Sha256Hex = Type.String({ pattern: SHA256_HEX_PATTERN });
export const Uuid = Type.String({ format: 'uuid' });
export const Timestamp = Type.String({ format: 'date-time' });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'machine-readable error code' }),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
);

/** Cursor pagination query (`?after=&limit=`). */
export const PageQuery = Type.Object(
  {
    after: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);

export function problemResponses(...statuses: number[]): Record<number, typeof Problem> {
  return Object.fromEntries(statuses.map((s) => [s, Problem]));
}
