/** Stream plumbing shared by the envelope tests. */
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Cut `bytes` into consecutive pieces of the given sizes (cycled, each ≥ 1). */
export function cut(bytes: Uint8Array, sizes: readonly number[]): Buffer[] {
  const pieces: Buffer[] = [];
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  let i = 0;
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new RangeError('piece sizes must be integers ≥ 1');
  while (offset < buf.length) {
    const n = Math.min(sizes[i % sizes.length]!, buf.length - offset);
    pieces.push(buf.subarray(offset, offset + n));
    offset += n;
    i += 1;
  }
  return pieces;
}

export interface RunResult {
  output: Buffer;
  /** The output as the pieces the transform pushed. */
  chunks: Buffer[];
  error: unknown;
}

/** Feed `pieces` through `transform`, collecting everything it emits even if it fails. */
export async function run(transform: Transform, pieces: readonly Uint8Array[]): Promise<RunResult> {
  const chunks: Buffer[] = [];
  let error: unknown = null;
  try {
    await pipeline(
      Readable.from(pieces, { objectMode: true }),
      transform,
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(Buffer.from(chunk));
          cb();
        },
      }),
    );
  } catch (err) {
    error = err;
  }
  return { output: Buffer.concat(chunks), chunks, error };
}

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export function pseudoRandomBytes(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A tap subtest's `t`, for helpers that assert. */
export type { Test } from 'tap';
