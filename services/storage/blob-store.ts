/**
 * Where ciphertext lives. Routes see only this interface, so an
 * S3-compatible store (multipart uploads for the parts, one object per
 * committed file) can replace the filesystem one without touching them.
 *
 * Two kinds of blob per key: an *upload* being received (resumable, grows by
 * appends at its current offset) and an *object* (complete, immutable,
 * readable by range). `commitUpload` turns the first into the second
 * atomically: a reader never sees a half-written object.
 */
import type { Readable } from 'node:stream';

export interface BlobKey {
  bundleId: string;
  n: number;
}

export interface AppendResult {
  /** Bytes durably stored after this append. */
  offset: number;
  /** SHA-256 state of the bytes appended by this call only (hex), for on-the-fly hashing. */
  appendedSha256: string;
  /** Whether the whole upload was appended in this one call (offset 0 → end). */
  fromStart: boolean;
}

export class UploadTooLargeError extends Error {
  override name = 'UploadTooLargeError';
  constructor(readonly limit: number) {
    super(`the upload exceeds its declared size of ${limit} bytes`);
  }
}

export class UploadOffsetError extends Error {
  override name = 'UploadOffsetError';
  constructor(readonly expected: number) {
    super(`the upload is at offset ${expected}`);
  }
}

export class UploadLockedError extends Error {
  override name = 'UploadLockedError';
  constructor() {
    super('another upload to this file is in progress');
  }
}

/** The client went away mid-body: what arrived before is kept for resumption. */
export class UploadInterruptedError extends Error {
  override name = 'UploadInterruptedError';
  constructor(readonly offset: number) {
    super(`the upload was interrupted at offset ${offset}`);
  }
}

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

export interface BlobStore {
  /** Bytes received for `key`: the committed object's size, else the upload's, else 0. */
  offset(key: BlobKey): Promise<number>;
  /** Whether `key` has a committed object. */
  hasObject(key: BlobKey): Promise<boolean>;
  /**
   * Append `source` to the upload at `offset`, which must be the current
   * offset (else UploadOffsetError), never growing past `limit` bytes in
   * total (UploadTooLargeError, after keeping nothing beyond the limit).
   * Bytes are made durable before returning, including on interruption.
   * One append per key at a time (UploadLockedError).
   */
  append(key: BlobKey, offset: number, source: Readable, limit: number): Promise<AppendResult>;
  /** SHA-256 (hex) of the upload's bytes, read back from storage. */
  hashUpload(key: BlobKey): Promise<string>;
  /** Throw the upload away (wrong hash, oversize): the next upload starts at 0. */
  discardUpload(key: BlobKey): Promise<void>;
  /** Make the upload the immutable object for `key`, atomically and durably. */
  commitUpload(key: BlobKey): Promise<void>;
  /** Stream the object, or a byte range of it. */
  read(key: BlobKey, range?: ByteRange): Readable;
  objectSize(key: BlobKey): Promise<number | null>;
}
