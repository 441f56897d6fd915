/**
 * The filesystem blob store under EVX_BLOB_DIR:
 *   uploads/<bundle>/<n>.part   bytes received so far (resumable)
 *   objects/<bundle>/<n>        committed ciphertext, immutable
 * An upload becomes an object by fsync + rename + directory fsync, so an
 * object is either absent or complete. Paths are built only from the bundle
 * id (a UUID) and the file index, never from client-supplied names.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  UploadInterruptedError,
  UploadLockedError,
  UploadOffsetError,
  UploadTooLargeError,
  type AppendResult,
  type BlobKey,
  type BlobStore,
  type ByteRange,
} from './blob-store.js';
import { isProcessAlive } from '../shared/os-process.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Received bytes are written in pieces of up to this size: few syscalls, bounded memory. */
const WRITE_BUFFER = 1024 * 1024;

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function sizeOf(file: string): Promise<number | null> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Lock files held by this process, whatever the store instance: a lock file
 * naming this host and pid that is not in here was left by an earlier
 * process that had the same pid (a restarted container, where the service
 * is always pid 1), and is stale.
 */
const heldByThisProcess = new Set<string>();

export class FsBlobStore implements BlobStore {
  private readonly held = heldByThisProcess;

  constructor(readonly root: string) {}

  private paths(key: BlobKey): { partDir: string; part: string; lock: string; objectDir: string; object: string } {
    if (!UUID.test(key.bundleId) || !Number.isSafeInteger(key.n) || key.n < 0) throw new Error('invalid blob key');
    const partDir = path.join(this.root, 'uploads', key.bundleId);
    const objectDir = path.join(this.root, 'objects', key.bundleId);
    return {
      partDir,
      part: path.join(partDir, `${key.n}.part`),
      lock: path.join(partDir, `${key.n}.lock`),
      objectDir,
      object: path.join(objectDir, String(key.n)),
    };
  }

  /**
   * One writer per upload, across processes sharing the directory: an
   * exclusive lock file naming host and pid. A lock left by a dead process
   * on this host is taken over.
   */
  private async withLock<T>(key: BlobKey, fn: () => Promise<T>): Promise<T> {
    const p = this.paths(key);
    if (this.held.has(p.lock)) throw new UploadLockedError();
    this.held.add(p.lock);
    try {
      await mkdir(p.partDir, { recursive: true });
      for (let attempt = 0; ; attempt++) {
        try {
          await writeFile(p.lock, `${os.hostname()} ${process.pid}\n`, { flag: 'wx' });
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err instanceof Error && (err as NodeJS.ErrnoException).code === 'EEXIST' ? new UploadLockedError() : err;
          const [host, pid] = (await readFile(p.lock, 'utf8').catch(() => '')).trim().split(' ');
          // Ours (this pid) but not held in this process, or a dead process's: stale.
          if (host === os.hostname() && (Number(pid) === process.pid || !isProcessAlive(Number(pid)))) await rm(p.lock, { force: true });
          else throw new UploadLockedError();
        }
      }
      try {
        return await fn();
      } finally {
        await rm(p.lock, { force: true });
      }
    } finally {
      this.held.delete(p.lock);
    }
  }

  async offset(key: BlobKey): Promise<number> {
    const p = this.paths(key);
    return (await sizeOf(p.object)) ?? (await sizeOf(p.part)) ?? 0;
  }

  async hasObject(key: BlobKey): Promise<boolean> {
    return (await sizeOf(this.paths(key).object)) !== null;
  }

  async objectSize(key: BlobKey): Promise<number | null> {
    return sizeOf(this.paths(key).object);
  }

  async append(key: BlobKey, offset: number, source: Readable, limit: number): Promise<AppendResult> {
    const p = this.paths(key);
    return this.withLock(key, async () => {
      const committed = await sizeOf(p.object);
      if (committed !== null) throw new UploadOffsetError(committed);
      const current = (await sizeOf(p.part)) ?? 0;
      if (offset !== current) throw new UploadOffsetError(current);
      const fh: FileHandle = await open(p.part, 'a');
      const hash = createHash('sha256');
      // Double buffering: one write in flight while the next buffer fills, so
      // the socket keeps being read while the disk writes; memory stays at
      // about two buffers whatever the upload's size.
      let accepted = 0;
      let written = 0;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let inflight: Promise<void> = Promise.resolve();
      // A failed write is the server's problem (full disk, I/O error), not a client that went away.
      let writeError: unknown = null;
      const flush = (): Promise<void> => {
        if (pendingBytes === 0) return inflight;
        const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        inflight = inflight.then(async () => {
          let done = 0;
          try {
            while (done < buf.length) done += (await fh.write(buf, done, buf.length - done)).bytesWritten;
          } catch (err) {
            writeError ??= err;
            throw err;
          }
          written += buf.length;
        });
        // Mark handled now; the error still surfaces at the next `await inflight`.
        inflight.catch(() => undefined);
        return inflight;
      };
      try {
        for await (const chunk of source as AsyncIterable<Buffer>) {
          if (current + accepted + chunk.length > limit) {
            await flush();
            throw new UploadTooLargeError(limit);
          }
          hash.update(chunk);
          accepted += chunk.length;
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= WRITE_BUFFER) {
            await inflight;
            void flush();
          }
        }
        await flush();
        try {
          await fh.sync();
        } catch (err) {
          writeError ??= err;
          throw err;
        }
        return { offset: current + written, appendedSha256: hash.digest('hex'), fromStart: current === 0 };
      } catch (err) {
        if (err instanceof UploadTooLargeError) throw err;
        if (writeError !== null) throw writeError;
        // The connection broke: keep every byte that arrived, durably, for resumption.
        await flush().catch(() => undefined);
        await fh.sync().catch(() => undefined);
        throw new UploadInterruptedError(current + written);
      } finally {
        await inflight.catch(() => undefined);
        await fh.close();
      }
    });
  }

  async hashUpload(key: BlobKey): Promise<string> {
    const hash = createHash('sha256');
    try {
      for await (const chunk of createReadStream(this.paths(key).part, { highWaterMark: WRITE_BUFFER }) as AsyncIterable<Buffer>) hash.update(chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return hash.digest('hex');
  }

  async discardUpload(key: BlobKey): Promise<void> {
    const p = this.paths(key);
    return this.withLock(key, async () => {
      await unlink(p.part).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    });
  }

  async commitUpload(key: BlobKey): Promise<void> {
    const p = this.paths(key);
    return this.withLock(key, async () => {
      if ((await sizeOf(p.object)) !== null) return;
      await mkdir(p.objectDir, { recursive: true });
      const fh = await open(p.part, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(p.part, p.object);
      await fsyncDir(p.objectDir);
      await fsyncDir(p.partDir);
    });
  }

  read(key: BlobKey, range?: ByteRange): Readable {
    const p = this.paths(key);
    return createReadStream(p.object, range ? { start: range.start, end: range.end, highWaterMark: WRITE_BUFFER } : { highWaterMark: WRITE_BUFFER });
  }
}
