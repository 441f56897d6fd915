/**
 * `evx fetch BUNDLE --out DIR`: download, decrypt and verify a bundle.
 *
 * Before a byte is downloaded: the manifest is validated, its signature is
 * checked against manifest.signer.publicKey, the bundle key is unwrapped
 * with the caller's box key, and every file name is checked to stay inside
 * DIR. Then per file, streaming: ciphertext → decrypt (each chunk
 * authenticated) → a temporary file; the ciphertext and plaintext hashes and
 * sizes are compared with the manifest; only then is the file linked under
 * its final name (never replacing an existing file without --force). A file
 * that fails any check never appears under its name, and the exit status is
 * non-zero.
 *
 * Resumption: a broken download continues with Range from the byte reached.
 * The ciphertext received is also kept next to the temporary file, so a
 * fetch that was stopped altogether resumes where it was on the next run
 * (the kept bytes are replayed through the decryptor, which authenticates
 * them again); it is deleted once the file is in place.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream, createWriteStream, existsSync, linkSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { once } from 'node:events';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  EnvelopeError,
  createDecryptStream,
  manifestHash,
  unwrapBundleKey,
  validateManifest,
  verifyManifestSignature,
  type Manifest,
  type ManifestFile,
} from '../../envelope/index.js';
import { decodeBase64 } from '../../shared/encoding.js';
import { checkBundleId, getBundle, type BundleView } from '../api.js';
import type { Command, Context } from '../context.js';
import { CliError, EXIT, IntegrityError, NetworkError, UsageError, isRetryable } from '../errors.js';
import { header, type ApiClient } from '../http-client.js';
import { Progress, formatBytes } from '../progress.js';
import { targetPath, staysInside } from '../safe-paths.js';
import { backoffMs, meter, sleep } from '../streams.js';

const DEFAULT_RETRIES = 8;
const DOWNLOAD_TIMEOUT_MS = 5 * 60_000;

/** The manifest as signed: valid, signature verified against its signer key, hashing as the server says. */
export function checkedManifest(view: BundleView): Manifest {
  const checked = validateManifest(view.manifest);
  if (!checked.ok) throw new IntegrityError(`the bundle's manifest is invalid: ${checked.problems.slice(0, 3).map((p) => `${p.path} ${p.message}`).join('; ')}`);
  const manifest = checked.value;
  if (!verifyManifestSignature(manifest, view.signature)) {
    throw new IntegrityError(`the manifest signature does not verify against the signer's key in the manifest (${manifest.signer.publicKey}): the manifest was altered or not signed by ${manifest.signer.jurisdiction}/${manifest.signer.sub}`);
  }
  if (manifestHash(manifest) !== view.manifestSha256) throw new IntegrityError(`the server's manifest hash ${view.manifestSha256} is not the hash of the manifest it sent`);
  return manifest;
}

/** K from the caller's key wrap, opened with the configured box key. */
export function unwrapKey(ctx: Context, view: BundleView, missingHint: string): Uint8Array {
  if (view.keyWrap === null) throw new CliError(EXIT.refused, 'the server gave you no key wrap for this bundle', [missingHint]);
  const box = ctx.boxKey();
  const key = unwrapBundleKey(view.keyWrap, box.secretKey);
  if (key === null) {
    throw new IntegrityError(`cannot open the bundle key: the wrap for ${String(view.keyWrap.jurisdiction)} key version ${String(view.keyWrap.keyVersion)} does not open with the box key in ${box.file}`, [
      "use your jurisdiction's box key of that version (--box-key FILE); a wrong or altered wrap fails the same way",
    ]);
  }
  return key;
}

interface Target {
  n: number;
  file: ManifestFile;
  path: string;
}

function planTargets(manifest: Manifest, outDir: string, force: boolean): Target[] {
  const targets: Target[] = [];
  const seen = new Map<string, number>();
  for (const [n, file] of manifest.files.entries()) {
    const t = targetPath(outDir, file.name);
    if ('reason' in t) throw new IntegrityError(`refusing to write file ${n} ${JSON.stringify(file.name)}: ${t.reason}`);
    const first = seen.get(t.path);
    if (first !== undefined) throw new IntegrityError(`files ${first} and ${n} would both be written to ${t.path}`);
    seen.set(t.path, n);
    targets.push({ n, file, path: t.path });
  }
  const existing = targets.filter((t) => existsSync(t.path));
  if (existing.length > 0 && !force) {
    throw new UsageError(`refusing to replace existing file(s): ${existing.map((t) => t.path).join(', ')}`, ['choose another --out directory, or replace them with --force']);
  }
  return targets;
}

/** Reads a response body, turning a broken connection into a (retryable) NetworkError. */
async function* bodyOf(res: IncomingMessage): AsyncGenerator<Buffer> {
  const it = (res as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  for (;;) {
    let r: IteratorResult<Buffer>;
    try {
      r = await it.next();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new NetworkError(`the connection broke mid-download (${code ?? (err as Error).message})`);
    }
    if (r.done) return;
    yield r.value;
  }
}

async function fetchFile(ctx: Context, client: ApiClient, bundleId: string, target: Target, count: number, key: Uint8Array, outDir: string, force: boolean, retries: number): Promise<{ seconds: number }> {
  const { n, file } = target;
  const dir = path.dirname(target.path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!staysInside(outDir, target.path)) throw new IntegrityError(`refusing to write file ${n} ${JSON.stringify(file.name)}: a symbolic link leads outside ${outDir}`);
  const tmp = path.join(dir, `.evx-fetch-${bundleId}-${n}.tmp`);
  const cache = path.join(dir, `.evx-fetch-${bundleId}-${n}.cipher`);
  let cached = 0;
  try {
    cached = statSync(cache).size;
  } catch {
    cached = 0;
  }
  if (cached > file.cipherSize) {
    rmSync(cache, { force: true });
    cached = 0;
  }
  // A write stream, not an awaited write per socket read: the disk keeps up while the next bytes are
  // decrypted (awaiting each 64 kB write cost almost half the download rate).
  const cacheOut = createWriteStream(cache, { fd: openSync(cache, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW, 0o600), highWaterMark: 4 * 1024 * 1024 });
  let cacheError: Error | null = null;
  cacheOut.on('error', (err) => {
    cacheError = err;
  });
  const removeTmpOnInterrupt = ctx.onInterrupt(() => rmSync(tmp, { force: true }));
  const cipherHash = createHash('sha256');
  const plainHash = createHash('sha256');
  let plainSize = 0;
  const progress = new Progress(ctx.io.stderr, `fetch ${file.name} (${n + 1}/${count})`, file.cipherSize, { quiet: ctx.quiet });
  const started = performance.now();
  const url = `/v1/bundles/${bundleId}/files/${n}`;

  async function* ciphertext(): AsyncGenerator<Buffer> {
    let offset = 0;
    if (cached > 0) {
      ctx.info(`resuming ${file.name} at byte ${cached} of ${file.cipherSize} (kept from an earlier attempt)`);
      for await (const c of createReadStream(cache, { start: 0, end: cached - 1, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
        offset += c.length;
        cipherHash.update(c);
        progress.set(offset);
        yield c;
      }
      if (offset !== cached) throw new NetworkError('the kept ciphertext could not be read back completely');
    }
    let failures = 0;
    let lastFailureAt = -1;
    while (offset < file.cipherSize) {
      let res: IncomingMessage | null = null;
      try {
        res = await client.check(await client.send('GET', url, { headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, timeoutMs: DOWNLOAD_TIMEOUT_MS }));
        const etag = header(res, 'etag');
        if (etag !== null && etag !== `"${file.cipherSha256}"`) throw new IntegrityError(`the server serves file ${n} with ETag ${etag}, but the manifest's ciphertext hash is ${file.cipherSha256}`);
        let skip = 0;
        if (offset > 0 && res.statusCode === 206) {
          const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header(res, 'content-range') ?? '');
          if (!range || Number(range[1]) !== offset || Number(range[3]) !== file.cipherSize) {
            throw new IntegrityError(`the server answered the range request for file ${n} with Content-Range ${header(res, 'content-range') ?? '(none)'}`);
          }
        } else if (offset > 0) {
          // The whole file instead of the range asked for: drop what we have.
          skip = offset;
        }
        for await (const chunk of bodyOf(res)) {
          let c = chunk;
          if (skip > 0) {
            const drop = Math.min(skip, c.length);
            skip -= drop;
            c = c.subarray(drop);
            if (c.length === 0) continue;
          }
          if (offset + c.length > file.cipherSize) throw new IntegrityError(`the server sent more than the ${file.cipherSize} bytes of ciphertext the manifest gives file ${n}`);
          if (cacheError) throw cacheError;
          if (!cacheOut.write(c)) await once(cacheOut, 'drain');
          cipherHash.update(c);
          offset += c.length;
          progress.set(offset);
          yield c;
        }
        if (offset < file.cipherSize) throw new NetworkError(`the download of file ${n} ended after ${offset} of ${file.cipherSize} bytes`);
      } catch (err) {
        if (!isRetryable(err)) throw err;
        if (offset > lastFailureAt) failures = 0;
        lastFailureAt = offset;
        failures += 1;
        if (failures > retries) throw err;
        const wait = backoffMs(failures);
        progress.interrupt();
        ctx.warn(`download of ${file.name} interrupted: ${(err as Error).message}; retrying from byte ${offset} in ${(wait / 1000).toFixed(1)} s (attempt ${failures} of ${retries})`);
        await sleep(wait);
      } finally {
        if (res !== null && !res.complete) res.destroy();
      }
    }
  }

  let keepCache = true;
  try {
    try {
      await pipeline(
        ciphertext(),
        createDecryptStream({ key, noncePrefix: decodeBase64(file.noncePrefix, 16)!, chunkSize: file.chunkSize }),
        meter((bytes, chunk) => {
          plainHash.update(chunk);
          plainSize += bytes;
        }),
        // Never through a symlink planted at the temporary name.
        createWriteStream(tmp, { fd: openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600) }),
      );
    } catch (err) {
      if (err instanceof EnvelopeError) {
        keepCache = false;
        throw new IntegrityError(`file ${n} ${JSON.stringify(file.name)} does not decrypt: ${err.message}`);
      }
      if (err instanceof IntegrityError) keepCache = false;
      throw err;
    }
    const cipherSha256 = cipherHash.digest('hex');
    const sha256 = plainHash.digest('hex');
    if (cipherSha256 !== file.cipherSha256) {
      keepCache = false;
      throw new IntegrityError(`file ${n} ${JSON.stringify(file.name)}: the ciphertext hashes to ${cipherSha256}, the manifest says ${file.cipherSha256}`);
    }
    if (plainSize !== file.size || sha256 !== file.sha256) {
      keepCache = false;
      throw new IntegrityError(`file ${n} ${JSON.stringify(file.name)}: the plaintext is ${plainSize} bytes hashing to ${sha256}; the manifest says ${file.size} bytes, ${file.sha256}`);
    }
    // Durable before it gets its name.
    const fh = await open(tmp, 'r');
    await fh.sync();
    await fh.close();
    if (force) renameSync(tmp, target.path);
    else {
      // link() fails if the name exists: no check-then-replace race with another writer.
      try {
        linkSync(tmp, target.path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new UsageError(`${target.path} appeared while fetching; not replacing it (use --force)`);
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw err;
        if (existsSync(target.path)) throw new UsageError(`${target.path} appeared while fetching; not replacing it (use --force)`);
        renameSync(tmp, target.path);
      }
      rmSync(tmp, { force: true });
    }
    const dh = await open(dir, 'r');
    await dh.sync().catch(() => undefined);
    await dh.close();
    keepCache = false;
    const seconds = (performance.now() - started) / 1000;
    progress.finish(`fetched ${file.name}: ${formatBytes(file.size)} in ${seconds.toFixed(1)} s (${(file.cipherSize / 1e6 / Math.max(seconds, 0.001)).toFixed(1)} MB/s), signature, hashes and sizes verified`);
    return { seconds };
  } catch (err) {
    progress.abort();
    rmSync(tmp, { force: true });
    if (err instanceof CliError && err.exitCode === EXIT.unavailable && keepCache) {
      throw new CliError(err.exitCode, err.message, [...err.hints, `the ciphertext received so far is kept; run the same command again to resume`]);
    }
    throw err;
  } finally {
    removeTmpOnInterrupt();
    await new Promise<void>((resolve) => {
      if (cacheOut.destroyed) resolve();
      else cacheOut.end(() => resolve());
    });
    if (!keepCache) rmSync(cache, { force: true });
  }
}

export const fetch: Command = {
  path: ['fetch'],
  summary: 'download, decrypt and verify a bundle into a directory (investigator or registry)',
  usage: 'fetch BUNDLE --out DIR [--force] [--retries N]',
  details: [
    'Checks the manifest signature (against the signer key in the manifest), unwraps the bundle key with your box key,',
    'then downloads each file with Range resumption, decrypting as it arrives into a temporary file next to its',
    'destination. Each file gets its final name only after its ciphertext and plaintext hashes and sizes match the',
    'signed manifest. Names that are absolute, contain ".." or control characters, or lead outside DIR are refused.',
    'Files are written with mode 600. Needs free space for the plaintext plus, while a file is in transit, its',
    'ciphertext (kept so a stopped fetch resumes on the next run). The written paths are printed on stdout.',
  ],
  options: {
    out: { type: 'string', value: 'DIR', help: 'the directory to write the files to (created if missing)' },
    force: { type: 'boolean', help: 'replace files that already exist' },
    retries: { type: 'string', value: 'N', help: `attempts after a failure without progress (default ${DEFAULT_RETRIES})` },
  },
  positionals: { min: 1, max: 1 },
  examples: ['evx fetch 0b7e6d1c-3f7a-4c55-9a49-5e3f7d1c2b3a --out ./evidence --box-key icc-box-key.json'],
  async run(ctx) {
    const bundleId = checkBundleId(ctx.positionals[0]);
    const outDir = path.resolve(ctx.io.cwd, ctx.flags.requireString('out', 'the directory to write to'));
    const force = ctx.flags.bool('force');
    const retries = ctx.flags.int('retries', { min: 0, max: 1000 }) ?? DEFAULT_RETRIES;
    const client = ctx.client();
    const view = await getBundle(client, bundleId);
    if (view.status !== 'sealed') throw new CliError(EXIT.refused, `bundle ${bundleId} is not sealed yet: its upload is unfinished`);
    const manifest = checkedManifest(view);
    const key = unwrapKey(ctx, view, 'only investigators and registries of the owner or of a live recipient get one');
    try {
      ctx.info(`bundle ${bundleId} of ${view.ownerJurisdiction}: case ${manifest.caseReference}, ${manifest.crimeCategory}, ${manifest.classification}; manifest signed by ${manifest.signer.jurisdiction}/${manifest.signer.sub}, signature verified`);
      const targets = planTargets(manifest, outDir, force);
      mkdirSync(outDir, { recursive: true, mode: 0o700 });
      for (const t of targets) await fetchFile(ctx, client, bundleId, t, targets.length, key, outDir, force, retries);
      for (const t of targets) ctx.out(t.path);
      ctx.outJson({
        bundleId,
        manifestSha256: view.manifestSha256,
        files: targets.map((t) => ({ n: t.n, name: t.file.name, path: t.path, size: t.file.size, sha256: t.file.sha256, verified: true })),
      });
    } finally {
      key.fill(0);
    }
  },
};
