/**
 * Strict text encodings used on the wire: standard base64 with padding, and
 * lower-case hex. Node's Buffer.from(…, 'base64') silently skips garbage,
 * which is never acceptable for keys and signatures, hence the checks.
 */

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX = /^(?:[0-9a-f]{2})*$/;

/** Decode standard padded base64; null if malformed or (when given) not `length` bytes. */
export function decodeBase64(text: string, length?: number): Buffer | null {
  if (!BASE64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  if (length !== undefined && bytes.length !== length) return null;
  return bytes;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Decode lower-case hex; null if malformed or (when given) not `length` bytes. */
export function decodeHex(text: string, length?: number): Buffer | null {
  if (!HEX.test(text)) return null;
  const bytes = Buffer.from(text, 'hex');
  if (length !== undefined && bytes.length !== length) return null;
  return bytes;
}

export function encodeHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Schema patterns matching the decoders above, for TypeBox string schemas. */
export const BASE64_PATTERN = BASE64.source;
export const SHA256_HEX_PATTERN = '^[0-9a-f]{64}$';
/** 32 bytes in padded base64 is always 43 significant characters and one '='. */
export const KEY32_BASE64_PATTERN = '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$';
