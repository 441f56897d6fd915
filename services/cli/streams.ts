/** Small stream pieces for transfers: skipping a prefix, counting bytes, and retry pacing. */
import { Transform, type TransformCallback } from 'node:stream';

/** Drops the first `count` bytes (the part of a re-encrypted file the server already has). */
export function skipBytes(count: number): Transform {
  let left = count;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      if (left === 0) return callback(null, chunk);
      if (chunk.length <= left) {
        left -= chunk.length;
        return callback();
      }
      const rest = chunk.subarray(left);
      left = 0;
      callback(null, rest);
    },
  });
}

/** Passes bytes through, reporting each piece's size. */
export function meter(onBytes: (n: number, chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      onBytes(chunk.length, chunk);
      callback(null, chunk);
    },
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Exponential backoff with jitter: ~0.5 s, 1 s, 2 s, … capped at 15 s. */
export function backoffMs(attempt: number): number {
  const base = Math.min(15_000, 500 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}
