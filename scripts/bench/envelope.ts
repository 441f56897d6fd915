/**
 * Throughput of the envelope streams: `npx tsx scripts/bench/envelope.ts [MiB]`
 * (default 256). MB/s are decimal megabytes of plaintext per second, measured
 * through the real Transform streams fed in 64 KiB pieces (a file read's size),
 * with the default 1 MiB chunks.
 */
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import nacl from 'tweetnacl';
import {
  DEFAULT_CHUNK_SIZE,
  createDecryptStream,
  createEncryptStream,
  describeFile,
  encryptBytes,
  generateBundleKey,
  generateNoncePrefix,
} from '../../services/envelope/index.js';

const PIECE = 64 * 1024;
/** Decryption loops over one ciphertext of at most this size, to keep the benchmark's own memory flat. */
const DECRYPT_SAMPLE = 32 * 1024 * 1024;

export interface EnvelopeBench {
  encryptMBps: number;
  decryptMBps: number;
  describeMBps: number;
}

/** `bytes` of plaintext as 64 KiB views over one random block: no allocation per piece. */
function plaintextSource(bytes: number, block: Buffer): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) {
        this.push(null);
        return;
      }
      const n = Math.min(PIECE, bytes - sent);
      const at = sent % (block.length - PIECE + 1);
      sent += n;
      this.push(block.subarray(at, at + n));
    },
  });
}

function counter(): { sink: Writable; count: () => number } {
  let total = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      callback();
    },
  });
  return { sink, count: () => total };
}

const mbps = (bytes: number, ms: number): number => Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;

export async function benchEnvelope(bytes: number): Promise<EnvelopeBench> {
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new RangeError('bytes must be a positive integer');
  const options = { key: generateBundleKey(), noncePrefix: generateNoncePrefix(), chunkSize: DEFAULT_CHUNK_SIZE };
  const block = randomBytes(4 * 1024 * 1024);

  const enc = counter();
  let start = performance.now();
  await pipeline(plaintextSource(bytes, block), createEncryptStream(options), enc.sink);
  const encryptMs = performance.now() - start;

  start = performance.now();
  const described = await describeFile(plaintextSource(bytes, block), options);
  const describeMs = performance.now() - start;
  if (described.cipherSize !== enc.count()) throw new Error('describeFile and the encrypt stream disagree on the cipher size');

  const sampleSize = Math.min(bytes, DECRYPT_SAMPLE);
  const ciphertext = encryptBytes(block.length >= sampleSize ? block.subarray(0, sampleSize) : randomBytes(sampleSize), options);
  let decrypted = 0;
  start = performance.now();
  while (decrypted < bytes) {
    const dec = counter();
    await pipeline(
      Readable.from(
        (function* () {
          for (let i = 0; i < ciphertext.length; i += PIECE) yield ciphertext.subarray(i, i + PIECE);
        })(),
      ),
      createDecryptStream(options),
      dec.sink,
    );
    if (dec.count() !== sampleSize) throw new Error('decryption lost bytes');
    decrypted += sampleSize;
  }
  const decryptMs = performance.now() - start;

  return { encryptMBps: mbps(bytes, encryptMs), decryptMBps: mbps(decrypted, decryptMs), describeMBps: mbps(bytes, describeMs) };
}

/**
 * Plain `nacl.secretbox` over 1 MiB chunks, no streams: printed next to the
 * results so a run on a busy machine can be read relative to the library the
 * format is defined by.
 */
export function benchNaclSecretbox(bytes: number): number {
  const chunk = randomBytes(DEFAULT_CHUNK_SIZE);
  const key = generateBundleKey();
  const nonce = randomBytes(24);
  const rounds = Math.max(1, Math.round(bytes / DEFAULT_CHUNK_SIZE));
  const start = performance.now();
  for (let i = 0; i < rounds; i++) nacl.secretbox(chunk, nonce, key);
  return mbps(rounds * DEFAULT_CHUNK_SIZE, performance.now() - start);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const mib = Number(process.argv[2] ?? 256);
  const result = await benchEnvelope(mib * 1024 * 1024);
  console.log(`envelope, ${mib} MiB, 1 MiB chunks:`);
  console.log(`  encrypt  ${result.encryptMBps} MB/s`);
  console.log(`  decrypt  ${result.decryptMBps} MB/s`);
  console.log(`  describe ${result.describeMBps} MB/s`);
  console.log(`  (reference: nacl.secretbox alone ${benchNaclSecretbox(64 * 1024 * 1024)} MB/s on 64 MiB)`);
}
