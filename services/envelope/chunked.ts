/**
 * Chunked streaming secretbox (SPEC §4 "Bundle envelope").
 *
 * A file is cut into plaintext chunks of `chunkSize` bytes (the last may be
 * shorter; an empty file is one empty chunk). Chunk i is sealed with
 *   nonce_i = noncePrefix (16 bytes) ‖ uint64be(i | final << 63)
 * so a chunk that is dropped, duplicated, reordered, moved from another file
 * (other prefix) or bundle (other key), or a file cut at a chunk boundary (no
 * chunk carries the final flag) fails authentication.
 *
 * Memory is one staging chunk plus the chunk being handed on, whatever the
 * file size: both directions hold back exactly one chunk, because whether a
 * full chunk is the final one is only known once the next byte (or the end)
 * arrives.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { EnvelopeError } from './errors.js';
import {
  SECRETBOX_BOXZERO_BYTES,
  SECRETBOX_KEY_BYTES,
  SECRETBOX_MAC_BYTES,
  SECRETBOX_NONCE_BYTES,
  SECRETBOX_ZERO_BYTES,
  secretboxOpenPadded,
  secretboxSealPadded,
} from './secretbox-core.js';

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
/** Upper bound for any chunk size: it is also the decryptor's staging memory. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
export const NONCE_PREFIX_BYTES = 16;
export const BUNDLE_KEY_BYTES = SECRETBOX_KEY_BYTES;
export const CHUNK_OVERHEAD = SECRETBOX_MAC_BYTES;

export interface ChunkCipherOptions {
  /** Bundle key K, 32 bytes. */
  key: Uint8Array;
  /** Per-file nonce prefix, 16 bytes; never reuse one with the same key. */
  noncePrefix: Uint8Array;
  /** Plaintext bytes per chunk; default 1 MiB. Manifests further require ≥ 1024 (see manifest.ts). */
  chunkSize?: number;
}

export interface FileDescription {
  /** Plaintext size in bytes. */
  size: number;
  /** Hex SHA-256 of the plaintext. */
  sha256: string;
  /** Ciphertext size in bytes, = cipherSizeFor(size, chunkSize). */
  cipherSize: number;
  /** Hex SHA-256 of the ciphertext (the concatenated boxed chunks). */
  cipherSha256: string;
}

function checkChunkSize(chunkSize: number): void {
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`chunkSize must be an integer in [1, ${MAX_CHUNK_SIZE}]`);
  }
}

/** Number of chunks a plaintext of `plainSize` bytes is cut into (an empty file is one chunk). */
export function chunkCountFor(plainSize: number, chunkSize: number): number {
  if (!Number.isSafeInteger(plainSize) || plainSize < 0) throw new RangeError('plainSize must be a non-negative safe integer');
  checkChunkSize(chunkSize);
  return Math.max(1, Math.ceil(plainSize / chunkSize));
}

/** Ciphertext size of a plaintext of `plainSize` bytes: plainSize + 16 · max(1, ⌈plainSize / chunkSize⌉). */
export function cipherSizeFor(plainSize: number, chunkSize: number): number {
  const size = plainSize + CHUNK_OVERHEAD * chunkCountFor(plainSize, chunkSize);
  if (!Number.isSafeInteger(size)) throw new RangeError('ciphertext size exceeds 2^53 - 1');
  return size;
}

/** nonce_i = noncePrefix ‖ uint64be(i | final << 63), written into `out` (24 bytes). */
export function writeChunkNonce(out: Uint8Array, noncePrefix: Uint8Array, index: number, final: boolean): void {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError('chunk index must be a non-negative safe integer');
  out.set(noncePrefix, 0);
  // index < 2^53, so its high word fits in 21 bits and bit 63 is free for the flag.
  const hi = Math.floor(index / 0x1_0000_0000) + (final ? 0x8000_0000 : 0);
  const lo = index % 0x1_0000_0000;
  out[16] = hi >>> 24; out[17] = (hi >>> 16) & 0xff; out[18] = (hi >>> 8) & 0xff; out[19] = hi & 0xff;
  out[20] = lo >>> 24; out[21] = (lo >>> 16) & 0xff; out[22] = (lo >>> 8) & 0xff; out[23] = lo & 0xff;
}

export function chunkNonce(noncePrefix: Uint8Array, index: number, final: boolean): Buffer {
  if (noncePrefix.length !== NONCE_PREFIX_BYTES) throw new RangeError('noncePrefix must be 16 bytes');
  const nonce = Buffer.alloc(SECRETBOX_NONCE_BYTES);
  writeChunkNonce(nonce, noncePrefix, index, final);
  return nonce;
}

interface ResolvedOptions {
  key: Buffer;
  noncePrefix: Buffer;
  chunkSize: number;
}

function resolveOptions(options: ChunkCipherOptions): ResolvedOptions {
  if (!(options.key instanceof Uint8Array) || options.key.length !== BUNDLE_KEY_BYTES) {
    throw new RangeError('key must be 32 bytes');
  }
  if (!(options.noncePrefix instanceof Uint8Array) || options.noncePrefix.length !== NONCE_PREFIX_BYTES) {
    throw new RangeError('noncePrefix must be 16 bytes');
  }
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  checkChunkSize(chunkSize);
  // Own copies: a caller reusing or wiping its buffers mid-stream must not change the cipher.
  return { key: Buffer.from(options.key), noncePrefix: Buffer.from(options.noncePrefix), chunkSize };
}

type Emit = (bytes: Buffer) => void;

/**
 * Synchronous core of the encryptor, shared by the Transform and describeFile.
 * Plaintext is copied once, into the staging buffer, whose first 32 bytes
 * stay zero as the padded secretbox layout requires.
 */
export class ChunkSealer {
  readonly #key: Buffer;
  readonly #chunkSize: number;
  readonly #staging: Buffer;
  readonly #nonce = Buffer.alloc(SECRETBOX_NONCE_BYTES);
  readonly #noncePrefix: Buffer;
  #fill = 0;
  #index = 0;
  #ended = false;

  constructor(options: ChunkCipherOptions) {
    const o = resolveOptions(options);
    this.#key = o.key;
    this.#noncePrefix = o.noncePrefix;
    this.#chunkSize = o.chunkSize;
    this.#staging = Buffer.alloc(SECRETBOX_ZERO_BYTES + o.chunkSize);
  }

  write(piece: Uint8Array, emit: Emit): void {
    if (this.#ended) throw new Error('write after end');
    let offset = 0;
    while (offset < piece.length) {
      // A full staging chunk followed by more bytes is, now, known not to be final.
      if (this.#fill === this.#chunkSize) emit(this.#seal(false));
      const n = Math.min(this.#chunkSize - this.#fill, piece.length - offset);
      this.#staging.set(piece.subarray(offset, offset + n), SECRETBOX_ZERO_BYTES + this.#fill);
      this.#fill += n;
      offset += n;
    }
  }

  /** Seals the held-back chunk as final (an empty one if nothing was written). */
  end(emit: Emit): void {
    if (this.#ended) throw new Error('end called twice');
    const last = this.#seal(true);
    this.#ended = true;
    this.wipe();
    emit(last);
  }

  /** Zero key material and staged plaintext; the sealer is unusable afterwards. */
  wipe(): void {
    this.#ended = true;
    this.#key.fill(0);
    this.#staging.fill(0);
  }

  #seal(final: boolean): Buffer {
    const padded = SECRETBOX_ZERO_BYTES + this.#fill;
    // Fresh output per chunk: it is handed downstream and must not be overwritten later.
    const out = Buffer.allocUnsafe(padded);
    writeChunkNonce(this.#nonce, this.#noncePrefix, this.#index, final);
    secretboxSealPadded(out, this.#staging, padded, this.#nonce, this.#key);
    this.#index += 1;
    this.#fill = 0;
    return out.subarray(SECRETBOX_BOXZERO_BYTES);
  }
}

/**
 * Synchronous core of the decryptor. A chunk's plaintext is only ever
 * emitted after its tag verified; after a failure the opener refuses all
 * further input, so nothing past the bad chunk can leak either.
 */
export class ChunkOpener {
  readonly #key: Buffer;
  readonly #noncePrefix: Buffer;
  readonly #boxedMax: number;
  /** 16 zero bytes ‖ boxed chunk (MAC ‖ ciphertext), the padded open layout. */
  readonly #staging: Buffer;
  readonly #nonce = Buffer.alloc(SECRETBOX_NONCE_BYTES);
  #fill = 0;
  #index = 0;
  #done = false;

  constructor(options: ChunkCipherOptions) {
    const o = resolveOptions(options);
    this.#key = o.key;
    this.#noncePrefix = o.noncePrefix;
    this.#boxedMax = o.chunkSize + SECRETBOX_MAC_BYTES;
    this.#staging = Buffer.alloc(SECRETBOX_BOXZERO_BYTES + this.#boxedMax);
  }

  write(piece: Uint8Array, emit: Emit): void {
    if (this.#done) throw new EnvelopeError('closed', 'decryptor already finished or failed');
    let offset = 0;
    while (offset < piece.length) {
      if (this.#fill === this.#boxedMax) emit(this.#open(false));
      const n = Math.min(this.#boxedMax - this.#fill, piece.length - offset);
      this.#staging.set(piece.subarray(offset, offset + n), SECRETBOX_BOXZERO_BYTES + this.#fill);
      this.#fill += n;
      offset += n;
    }
  }

  end(emit: Emit): void {
    if (this.#done) throw new EnvelopeError('closed', 'decryptor already finished or failed');
    if (this.#fill < SECRETBOX_MAC_BYTES) {
      const index = this.#index;
      const message =
        this.#fill === 0 && index === 0
          ? 'ciphertext is empty: even an empty file is one 16-byte chunk'
          : `ciphertext truncated: final chunk ${index} is shorter than its 16-byte tag`;
      this.wipe();
      throw new EnvelopeError('truncated', message, index);
    }
    const last = this.#open(true);
    this.wipe();
    emit(last);
  }

  wipe(): void {
    this.#done = true;
    this.#key.fill(0);
    this.#staging.fill(0);
  }

  #open(final: boolean): Buffer {
    const padded = SECRETBOX_BOXZERO_BYTES + this.#fill;
    const out = Buffer.allocUnsafe(padded);
    writeChunkNonce(this.#nonce, this.#noncePrefix, this.#index, final);
    if (!secretboxOpenPadded(out, this.#staging, padded, this.#nonce, this.#key)) {
      const index = this.#index;
      this.wipe();
      throw new EnvelopeError(
        'chunk_authentication_failed',
        `chunk ${index} failed authentication (${final ? 'as the final chunk' : 'as a non-final chunk'}): ` +
          'wrong key or file, or the ciphertext was altered, reordered, truncated or extended',
        index,
      );
    }
    this.#index += 1;
    this.#fill = 0;
    return out.subarray(SECRETBOX_ZERO_BYTES);
  }
}

function toBytes(piece: unknown): Uint8Array {
  if (piece instanceof Uint8Array) return piece;
  throw new TypeError('envelope streams carry bytes only');
}

class SealTransform extends Transform {
  readonly #sealer: ChunkSealer;

  constructor(sealer: ChunkSealer) {
    super();
    this.#sealer = sealer;
  }

  override _transform(piece: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#sealer.write(toBytes(piece), (chunk) => this.push(chunk));
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.#sealer.end((chunk) => this.push(chunk));
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#sealer.wipe();
    callback(err);
  }
}

class OpenTransform extends Transform {
  readonly #opener: ChunkOpener;

  constructor(opener: ChunkOpener) {
    super();
    this.#opener = opener;
  }

  override _transform(piece: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#opener.write(toBytes(piece), (chunk) => this.push(chunk));
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.#opener.end((chunk) => this.push(chunk));
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#opener.wipe();
    callback(err);
  }
}

/** Plaintext in, ciphertext (boxed chunks) out. */
export function createEncryptStream(options: ChunkCipherOptions): Transform {
  return new SealTransform(new ChunkSealer(options));
}

/**
 * Ciphertext in, plaintext out; errors with an EnvelopeError on any
 * tampering. Plaintext comes out one authenticated chunk at a time, so a
 * consumer must treat what it received as provisional until the stream ends
 * without error (write to a temporary file, rename on success).
 */
export function createDecryptStream(options: ChunkCipherOptions): Transform {
  return new OpenTransform(new ChunkOpener(options));
}

/**
 * Sizes and hashes of a file and of its ciphertext in one streaming pass,
 * without keeping the ciphertext: the client signs the manifest first and
 * encrypts again (deterministically, same key and prefix) while uploading.
 */
export async function describeFile(source: AsyncIterable<Uint8Array>, options: ChunkCipherOptions): Promise<FileDescription> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const sealer = new ChunkSealer(options);
  const plainHash = createHash('sha256');
  const cipherHash = createHash('sha256');
  let size = 0;
  let cipherSize = 0;
  const emit: Emit = (chunk) => {
    cipherHash.update(chunk);
    cipherSize += chunk.length;
  };
  try {
    for await (const raw of source as AsyncIterable<unknown>) {
      // Checked at run time too: a Readable with setEncoding() yields strings.
      const piece = toBytes(raw);
      plainHash.update(piece);
      size += piece.length;
      sealer.write(piece, emit);
    }
    sealer.end(emit);
  } finally {
    sealer.wipe();
  }
  if (cipherSize !== cipherSizeFor(size, chunkSize)) throw new Error('internal error: ciphertext size mismatch');
  return { size, sha256: plainHash.digest('hex'), cipherSize, cipherSha256: cipherHash.digest('hex') };
}

/** Whole-buffer encryption, for small inputs and tests; streams are the way for files. */
export function encryptBytes(plaintext: Uint8Array, options: ChunkCipherOptions): Buffer {
  const sealer = new ChunkSealer(options);
  const parts: Buffer[] = [];
  sealer.write(plaintext, (c) => parts.push(c));
  sealer.end((c) => parts.push(c));
  return Buffer.concat(parts);
}

/** Whole-buffer decryption; throws EnvelopeError like the stream does. */
export function decryptBytes(ciphertext: Uint8Array, options: ChunkCipherOptions): Buffer {
  const opener = new ChunkOpener(options);
  const parts: Buffer[] = [];
  opener.write(ciphertext, (c) => parts.push(c));
  opener.end((c) => parts.push(c));
  return Buffer.concat(parts);
}
