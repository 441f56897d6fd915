/**
 * HTTP Range (RFC 9110 §14) for ciphertext downloads: one byte range per
 * request. Several ranges are answered with the whole file, which the RFC
 * allows, rather than a multipart body nobody here needs.
 *
 * Positions are compared as BigInt: a client may write any number of digits
 * (`bytes=0-99999999999999999999` is a valid range that ends at the last
 * byte), and Number would round them.
 */
export type RangeDecision = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

export function parseRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: 'full' };
  // The range unit is case-insensitive (RFC 9110 §14.1).
  const m = /^bytes=(\d*)-(\d*)$/i.exec(header.trim());
  if (!m) return { kind: 'full' };
  const [, first, last] = m as unknown as [string, string, string];
  if (first === '' && last === '') return { kind: 'full' };
  const total = BigInt(size);
  if (first === '') {
    // Suffix range: the last N bytes.
    const n = BigInt(last);
    if (n === 0n || total === 0n) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Number(n >= total ? 0n : total - n), end: size - 1 };
  }
  const start = BigInt(first);
  const end = last === '' ? null : BigInt(last);
  // last < first is not a valid byte range: ignore the header (§14.1.2).
  if (end !== null && end < start) return { kind: 'full' };
  if (start >= total) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start: Number(start), end: Number(end === null || end >= total ? total - 1n : end) };
}
