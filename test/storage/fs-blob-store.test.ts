/**
 * FsBlobStore against a real temporary directory: appends at the current
 * offset, commit by rename, ranged reads, size bounds, interruption, the
 * per-upload lock (in-process and across processes via lock files), and key
 * validation. No mocks of the filesystem.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import t, { type Test } from 'tap';
import { UploadInterruptedError, UploadLockedError, UploadOffsetError, UploadTooLargeError, type BlobKey } from '../../services/storage/blob-store.js';
import { FsBlobStore } from '../../services/storage/fs-blob-store.js';
import { tempDir } from '../helpers/app.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

/** A source yielding `data` in pieces of `piece` bytes. */
function source(data: Buffer, piece = 4096): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += piece) parts.push(data.subarray(i, i + piece));
  return Readable.from(parts);
}

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts);
}

function setup(t: Test): { store: FsBlobStore; root: string; key: BlobKey; part: string; object: string; lock: string } {
  const root = tempDir(t, 'evx-blobs-');
  const key = { bundleId: randomUUID(), n: 0 };
  return {
    store: new FsBlobStore(root),
    root,
    key,
    part: path.join(root, 'uploads', key.bundleId, '0.part'),
    lock: path.join(root, 'uploads', key.bundleId, '0.lock'),
    object: path.join(root, 'objects', key.bundleId, '0'),
  };
}

t.test('append at the offset, resume, commit, read whole and by range', async (t) => {
  const { store, key, part, object, lock } = setup(t);
  const data = bytes(3 * 1024 * 1024 + 123);
  t.equal(await store.offset(key), 0, 'nothing yet');
  t.equal(await store.hasObject(key), false);
  t.equal(await store.objectSize(key), null);

  const first = await store.append(key, 0, source(data.subarray(0, 1_500_000), 65536), data.length);
  t.same(first, { offset: 1_500_000, appendedSha256: sha256(data.subarray(0, 1_500_000)), fromStart: true });
  t.equal(await store.offset(key), 1_500_000);
  t.equal(statSync(part).size, 1_500_000, 'the bytes are on disk');
  t.notOk(existsSync(lock), 'the lock is released after the append');

  const second = await store.append(key, 1_500_000, source(data.subarray(1_500_000), 100_000), data.length);
  t.equal(second.offset, data.length);
  t.equal(second.fromStart, false, 'a resumed append does not hash the whole upload');
  t.equal(second.appendedSha256, sha256(data.subarray(1_500_000)), 'hash of this append only');
  t.equal(await store.hashUpload(key), sha256(data), 'hashUpload reads the whole upload back');

  t.equal(await store.hasObject(key), false, 'not an object before commit');
  await store.commitUpload(key);
  t.equal(await store.hasObject(key), true);
  t.equal(await store.objectSize(key), data.length);
  t.equal(await store.offset(key), data.length, 'offset of a committed object is its size');
  t.notOk(existsSync(part), 'the upload became the object (renamed)');
  t.ok(readFileSync(object).equals(data));
  await store.commitUpload(key);
  t.ok(readFileSync(object).equals(data), 'a second commit changes nothing');

  t.ok((await readAll(store.read(key))).equals(data), 'whole read');
  for (const [start, end] of [
    [0, 0],
    [0, 9],
    [10, 10],
    [1_048_575, 1_048_577],
    [data.length - 5, data.length - 1],
    [123, 2_500_000],
  ] as const) {
    t.ok((await readAll(store.read(key, { start, end }))).equals(data.subarray(start, end + 1)), `range ${start}-${end} (inclusive)`);
  }
});

t.test('an empty append keeps the offset; an upload of exactly the limit is accepted', async (t) => {
  const { store, key } = setup(t);
  const r = await store.append(key, 0, Readable.from([]), 100);
  t.equal(r.offset, 0);
  t.equal(r.appendedSha256, sha256(Buffer.alloc(0)));
  const data = bytes(100);
  const full = await store.append(key, 0, source(data, 7), 100);
  t.equal(full.offset, 100, 'exactly the limit is fine');
  t.equal(full.appendedSha256, sha256(data));
});

t.test('offset mismatch: UploadOffsetError carrying the current offset, nothing written', async (t) => {
  const { store, key, part } = setup(t);
  await store.append(key, 0, source(bytes(1000)), 5000);
  for (const wrong of [0, 999, 1001, 4000]) {
    const err = await store.append(key, wrong, source(bytes(10, 2)), 5000).then(
      () => null,
      (e: unknown) => e,
    );
    t.type(err, UploadOffsetError, `offset ${wrong}`);
    t.equal((err as UploadOffsetError).expected, 1000);
  }
  t.equal(statSync(part).size, 1000, 'nothing was appended by refused calls');
  t.ok(readFileSync(part).equals(bytes(1000)));
});

t.test('limit exceeded: UploadTooLargeError, and nothing past the limit is kept', async (t) => {
  for (const [piece, size] of [
    [1, 1001],
    [7, 1000 + 7],
    [64 * 1024, 3 * 1024 * 1024],
    [1000, 2000],
  ] as const) {
    const { store, key, part } = setup(t);
    const limit = 1000;
    const data = bytes(size);
    const err = await store.append(key, 0, source(data, piece), limit).then(
      () => null,
      (e: unknown) => e,
    );
    t.type(err, UploadTooLargeError, `pieces of ${piece}, ${size} bytes`);
    t.equal((err as UploadTooLargeError).limit, limit);
    const kept = existsSync(part) ? readFileSync(part) : Buffer.alloc(0);
    t.ok(kept.length <= limit, `kept ${kept.length} ≤ ${limit}`);
    t.ok(kept.equals(data.subarray(0, kept.length)), 'what is kept is a prefix of what was sent');
  }

  // Past the limit in a resumed append too.
  const { store, key, part } = setup(t);
  await store.append(key, 0, source(bytes(600)), 1000);
  await t.rejects(store.append(key, 600, source(bytes(600, 3), 50), 1000), UploadTooLargeError);
  t.ok(statSync(part).size <= 1000);
  t.ok(readFileSync(part).subarray(0, 600).equals(bytes(600)), 'the earlier bytes are untouched');

  // The source is not read (much) further than the limit: the store stops consuming it.
  const { store: s2, key: k2 } = setup(t);
  let produced = 0;
  const endless = new Readable({
    read() {
      produced += 4096;
      this.push(Buffer.alloc(4096, 1));
    },
  });
  await t.rejects(s2.append(k2, 0, endless, 10_000), UploadTooLargeError);
  t.ok(produced < 200_000, `an endless source is abandoned soon after the bound (${produced} bytes produced)`);
});

t.test('an interrupted source keeps exactly the prefix that arrived', async (t) => {
  for (const cut of [1, 4095, 4096, 1_048_576, 1_048_577, 2_500_000]) {
    const { store, key, part } = setup(t);
    const data = bytes(3_000_000);
    const src = new PassThrough();
    const result = store.append(key, 0, src, data.length).then(
      () => null,
      (e: unknown) => e,
    );
    // Write the prefix in uneven pieces, let the store consume it, then break the source.
    for (let i = 0; i < cut; i += 70_001) {
      const piece = data.subarray(i, Math.min(cut, i + 70_001));
      if (!src.write(piece)) await new Promise((r) => src.once('drain', r));
    }
    // Wait until the store has taken every byte from the source (it may not even have started on a busy machine).
    for (let i = 0; i < 1000 && (src.readableLength > 0 || src.writableLength > 0); i++) await new Promise((r) => setTimeout(r, 5));
    t.equal(src.readableLength + src.writableLength, 0, `cut at ${cut}: the store consumed the prefix`);
    src.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    const err = await result;
    t.type(err, UploadInterruptedError, `cut at ${cut}`);
    t.equal((err as UploadInterruptedError).offset, cut, 'the error names the kept offset');
    t.equal(await store.offset(key), cut);
    t.ok(readFileSync(part).equals(data.subarray(0, cut)), 'the kept bytes are the prefix');

    // Resume from there.
    const rest = await store.append(key, cut, source(data.subarray(cut), 100_000), data.length);
    t.equal(rest.offset, data.length);
    t.equal(await store.hashUpload(key), sha256(data), 'resumed upload is whole');
  }
});

t.test('a failing disk is not a client interruption: the write error surfaces as itself', { skip: existsSync('/dev/full') ? false : 'no /dev/full' }, async (t) => {
  for (const size of [100, 3 * 1024 * 1024]) {
    const { store, key, part, lock } = setup(t);
    mkdirSync(path.dirname(part), { recursive: true });
    // Every write to /dev/full fails with ENOSPC, like a full disk.
    symlinkSync('/dev/full', part);
    const err = await store.append(key, 0, source(bytes(size), 64 * 1024), size).then(
      () => null,
      (e: unknown) => e,
    );
    t.notOk(err instanceof UploadInterruptedError, `${size} bytes: not reported as an interrupted upload (${String(err)})`);
    t.equal((err as NodeJS.ErrnoException | null)?.code, 'ENOSPC', `${size} bytes: the disk's error`);
    t.notOk(existsSync(lock), 'the lock is released');
  }
});

t.test('one append per upload at a time: UploadLockedError, then free again', async (t) => {
  const { store, key } = setup(t);
  const slow = new PassThrough();
  const first = store.append(key, 0, slow, 10_000);
  slow.write(bytes(100));
  await new Promise((r) => setTimeout(r, 20));
  await t.rejects(store.append(key, 0, source(bytes(10)), 10_000), UploadLockedError, 'same store, same key');
  await t.rejects(store.append(key, 100, source(bytes(10)), 10_000), UploadLockedError, 'even at the right offset');
  await t.rejects(store.discardUpload(key), UploadLockedError, 'discard waits for nobody: refused while appending');
  await t.rejects(new FsBlobStore(store.root).append(key, 0, source(bytes(10)), 10_000), UploadLockedError, 'another store instance on the same directory (lock file)');

  // Another key is independent.
  const other = { ...key, n: 1 };
  t.equal((await store.append(other, 0, source(bytes(10)), 100)).offset, 10, 'another file of the bundle is not locked');

  slow.end(bytes(50, 2));
  t.equal((await first).offset, 150);
  t.equal((await store.append(key, 150, source(bytes(10)), 10_000)).offset, 160, 'free after the first append ends');
});

t.test('a lock file left by a dead process on this host is taken over; a live one is not', async (t) => {
  const { store, key, lock } = setup(t);
  mkdirSync(path.dirname(lock), { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  t.ok(deadPid > 0, 'a pid that has exited');
  writeFileSync(lock, `${os.hostname()} ${deadPid}\n`);
  t.equal((await store.append(key, 0, source(bytes(10)), 100)).offset, 10, 'stale lock taken over');
  t.notOk(existsSync(lock), 'and released');

  // A lock naming this host and this very pid that no store in this process holds was left by an
  // earlier process with the same pid: a restarted container, where the service is always pid 1.
  writeFileSync(lock, `${os.hostname()} ${process.pid}\n`);
  t.equal((await store.append(key, 10, source(bytes(5)), 100)).offset, 15, 'a lock from an earlier incarnation of this pid is taken over');
  const held = new PassThrough();
  const holding = store.append(key, 15, held, 100);
  await new Promise((r) => setTimeout(r, 20));
  await t.rejects(new FsBlobStore(store.root).append(key, 15, source(bytes(1)), 100), UploadLockedError, 'but one this process holds is not');
  held.end();
  await holding;

  // The parent of this process is alive: its lock holds.
  writeFileSync(lock, `${os.hostname()} ${process.ppid}\n`);
  await t.rejects(store.append(key, 15, source(bytes(10)), 100), UploadLockedError, 'a live process holds the lock');
  // A lock from another host is never taken over (its pid means nothing here).
  writeFileSync(lock, `some-other-host.example ${deadPid}\n`);
  await t.rejects(store.append(key, 15, source(bytes(10)), 100), UploadLockedError, 'a lock from another host holds');
  t.equal(await store.offset(key), 15, 'nothing appended while locked');
});

t.test('committed objects are immutable', async (t) => {
  const { store, key, object } = setup(t);
  const data = bytes(500);
  await store.append(key, 0, source(data), 500);
  await store.commitUpload(key);
  for (const offset of [0, 500]) {
    const err = await store.append(key, offset, source(bytes(10)), 1000).then(
      () => null,
      (e: unknown) => e,
    );
    t.type(err, UploadOffsetError, `append at ${offset} after commit refused`);
  }
  await store.discardUpload(key);
  t.ok(readFileSync(object).equals(data), 'discarding the (absent) upload leaves the object');
  t.equal(await store.objectSize(key), 500);
});

t.test('discard: the next upload starts at zero', async (t) => {
  const { store, key, part } = setup(t);
  await store.append(key, 0, source(bytes(300)), 1000);
  await store.discardUpload(key);
  t.notOk(existsSync(part));
  t.equal(await store.offset(key), 0);
  await store.discardUpload(key);
  t.pass('discarding nothing is fine');
  t.equal((await store.append(key, 0, source(bytes(5)), 1000)).offset, 5);
});

t.test('invalid keys are refused before touching the filesystem', async (t) => {
  const { store, root } = setup(t);
  const bad: BlobKey[] = [
    { bundleId: '../../etc', n: 0 },
    { bundleId: 'not-a-uuid', n: 0 },
    { bundleId: randomUUID().toUpperCase(), n: 0 },
    { bundleId: `${randomUUID()}/..`, n: 0 },
    { bundleId: '', n: 0 },
    { bundleId: randomUUID(), n: -1 },
    { bundleId: randomUUID(), n: 1.5 },
    { bundleId: randomUUID(), n: Number.NaN },
    { bundleId: randomUUID(), n: Number.POSITIVE_INFINITY },
  ];
  for (const key of bad) {
    const label = JSON.stringify(key);
    // Promise-returning methods refuse by rejecting, never by throwing synchronously (a caller's .catch must see it).
    const refuses = async (what: string, fn: () => unknown): Promise<void> => {
      let result: unknown;
      try {
        result = fn();
      } catch {
        t.fail(`${what} ${label}: threw synchronously instead of rejecting`);
        return;
      }
      await t.rejects(result as Promise<unknown>, `${what} ${label}`);
    };
    await refuses('offset', () => store.offset(key));
    await refuses('hasObject', () => store.hasObject(key));
    await refuses('objectSize', () => store.objectSize(key));
    await refuses('append', () => store.append(key, 0, source(bytes(10)), 100));
    await refuses('hashUpload', () => store.hashUpload(key));
    await refuses('discardUpload', () => store.discardUpload(key));
    await refuses('commitUpload', () => store.commitUpload(key));
    t.throws(() => store.read(key), `read ${label}`);
  }
  t.same(existsSync(root) ? readdirSync(root) : [], [], 'nothing was created');
});
