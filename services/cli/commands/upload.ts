/**
 * `evx upload FILE... --case --crime --classification`: the investigator's
 * command. Two streaming passes per file, never holding more than a chunk:
 *
 *   1. describe: encrypt to nowhere, hashing plaintext and ciphertext, so the
 *      manifest (sizes, hashes) can be signed before any byte leaves;
 *   2. upload: encrypt again — deterministically, same key and nonce prefix —
 *      straight into the request body.
 *
 * A broken connection is retried with backoff: HEAD tells how much the
 * server holds, the file is re-encrypted from the start and the bytes the
 * server has are skipped (the format has no way to start mid-file, and
 * re-encrypting is cheaper than trusting a cached ciphertext). If the
 * process itself dies, `evx upload --resume BUNDLE` continues from a state
 * file. The bundle is sealed at the end and its id printed on stdout.
 */
import { createReadStream, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  DEFAULT_CHUNK_SIZE,
  MAX_CHUNK_SIZE,
  MIN_MANIFEST_CHUNK_SIZE,
  createEncryptStream,
  describeFile,
  generateBundleKey,
  generateNoncePrefix,
  manifestHash,
  signManifest,
  validateManifest,
  wrapBundleKey,
  type Manifest,
  type ManifestFile,
} from '../../envelope/index.js';
import { decodeBase64, encodeBase64 } from '../../shared/encoding.js';
import { CLASSIFICATIONS, CRIME_CATEGORIES, isClassification, isCrimeCategory } from '../../shared/vocabulary.js';
import { checkBundleId, currentBoxKey, getBundle, getJurisdiction, myOfficerKeys, type JurisdictionKeyView } from '../api.js';
import type { Command, Context } from '../context.js';
import { ApiError, CliError, EXIT, IntegrityError, UsageError, isRetryable } from '../errors.js';
import { header, readBody, type ApiClient } from '../http-client.js';
import { Progress, formatBytes } from '../progress.js';
import { backoffMs, meter, skipBytes, sleep } from '../streams.js';
import { listStates, loadState, removeState, saveState, statePath, type UploadState, type UploadStateFile } from '../upload-state.js';

/** Silence while the server hashes a resumed file before answering; see docs/CLI.md. */
const UPLOAD_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_RETRIES = 8;
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Wrapping K for a key the server names is trusting the server with K.
 * Where the user can vouch for the key (a pin in the profile, or the
 * jurisdiction's box key file they hold), the server's key must match it.
 */
export function checkWrapKey(ctx: Context, code: string, key: JurisdictionKeyView, ownBoxPublicKey: string | null): void {
  const pin = ctx.settings.boxKeyPin(code);
  if (pin !== null && pin !== key.boxPublicKey) {
    throw new IntegrityError(`the server's current box key for ${code} (version ${key.keyVersion}) is not the one pinned for ${code} in your profile; refusing to wrap the bundle key for it`);
  }
  if (ownBoxPublicKey !== null && ownBoxPublicKey !== key.boxPublicKey) {
    throw new IntegrityError(`the server's current box key for ${code} (version ${key.keyVersion}) is not the public half of your box key file; refusing to wrap the bundle key for it`, [
      'if your jurisdiction rotated its box key, use the new key file (--box-key)',
    ]);
  }
  if (pin === null && ownBoxPublicKey === null) {
    ctx.info(`note: wrapping for ${code} box key version ${key.keyVersion} (${key.boxPublicKey}) as the server names it; pin it under "boxKeyPins" in your profile to have it checked`);
  }
}

function describeLocal(file: string, stats: Stats): UploadStateFile {
  return { path: file, size: stats.size, mtimeMs: stats.mtimeMs };
}

function checkUnchanged(f: UploadStateFile): void {
  let stats: Stats;
  try {
    stats = statSync(f.path);
  } catch (err) {
    throw new UsageError(`cannot read ${f.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (stats.size !== f.size || stats.mtimeMs !== f.mtimeMs) {
    throw new UsageError(`${f.path} changed since its hash was signed (size or modification time differ); its upload cannot continue`, [
      'start a new upload of the files as they are now (the unfinished bundle stays open and unsealed)',
    ]);
  }
}

/** Streams file n's ciphertext from `offset` with PUT (offset 0) or tus PATCH; resolves with the server's new offset. */
async function sendFrom(client: ApiClient, state: UploadState, key: Buffer, n: number, offset: number, onBytes: (sent: number) => void): Promise<number> {
  const file = state.manifest.files[n]!;
  const local = state.files[n]!;
  let sent = 0;
  const body = meter((bytes) => {
    sent += bytes;
    onBytes(sent);
  });
  const encrypted = pipeline(
    createReadStream(local.path, { highWaterMark: 1024 * 1024 }),
    createEncryptStream({ key, noncePrefix: decodeBase64(file.noncePrefix, 16)!, chunkSize: file.chunkSize }),
    skipBytes(offset),
    body,
  );
  // Its failure reaches the request through `body`; this copy only must not go unhandled.
  encrypted.catch(() => undefined);
  const url = `/v1/bundles/${state.bundleId}/files/${n}`;
  const length = String(file.cipherSize - offset);
  try {
    const res = await client.check(
      await client.send(offset === 0 ? 'PUT' : 'PATCH', url, {
        body,
        timeoutMs: UPLOAD_TIMEOUT_MS,
        headers:
          offset === 0
            ? { 'content-type': 'application/octet-stream', 'content-length': length }
            : { 'content-type': 'application/offset+octet-stream', 'content-length': length, 'upload-offset': String(offset), 'tus-resumable': '1.0.0' },
      }),
    );
    if (offset === 0) {
      const answer = JSON.parse((await readBody(res, 64 * 1024)).toString('utf8')) as { received?: unknown };
      return typeof answer.received === 'number' ? answer.received : file.cipherSize;
    }
    await readBody(res, 64 * 1024);
    const newOffset = Number(header(res, 'upload-offset'));
    return Number.isSafeInteger(newOffset) ? newOffset : offset + sent;
  } finally {
    body.destroy();
  }
}

async function headOffset(client: ApiClient, bundleId: string, n: number): Promise<number> {
  const res = await client.check(await client.send('HEAD', `/v1/bundles/${bundleId}/files/${n}`, { headers: { 'tus-resumable': '1.0.0' } }));
  res.resume();
  const offset = Number(header(res, 'upload-offset'));
  if (!Number.isSafeInteger(offset) || offset < 0) throw new CliError(EXIT.unavailable, `the server's HEAD answer for file ${n} has no valid Upload-Offset`);
  return offset;
}

/**
 * Uploads file n until the server holds all of it, retrying broken
 * connections, server errors and offset conflicts with backoff. `known` is
 * the offset if already known (0 for a fresh bundle), else it is asked for.
 */
async function uploadFile(ctx: Context, state: UploadState, key: Buffer, n: number, known: number | null, retries: number): Promise<void> {
  const client = ctx.client();
  const file = state.manifest.files[n]!;
  const progress = new Progress(ctx.io.stderr, `upload ${file.name} (${n + 1}/${state.manifest.files.length})`, file.cipherSize, { quiet: ctx.quiet });
  let offset: number | null = known;
  let failures = 0;
  let lastFailureAt = -1;
  try {
    for (;;) {
      try {
        if (offset === null) offset = await headOffset(client, state.bundleId!, n);
        if (offset >= file.cipherSize) break;
        if (offset > 0) ctx.info(`resuming ${file.name} at byte ${offset} of ${file.cipherSize}`);
        const start = offset;
        progress.set(start);
        offset = await sendFrom(client, state, key, n, start, (sent) => progress.set(start + sent));
        if (offset >= file.cipherSize) break;
      } catch (err) {
        const conflict = err instanceof ApiError && err.status === 409;
        if (!isRetryable(err) && !conflict) throw err;
        // Progress since the last failure resets the count: a flaky link that keeps moving is not given up on.
        const reached = offset ?? -1;
        if (reached > lastFailureAt) failures = 0;
        lastFailureAt = Math.max(lastFailureAt, reached);
        failures += 1;
        if (failures > retries) throw err;
        const wait = backoffMs(failures);
        progress.interrupt();
        ctx.warn(`upload of ${file.name} interrupted: ${(err as Error).message}; retrying in ${(wait / 1000).toFixed(1)} s (attempt ${failures} of ${retries})`);
        await sleep(wait);
        offset = null;
      }
    }
  } catch (err) {
    progress.abort();
    throw err;
  }
  progress.finish();
}

async function seal(ctx: Context, bundleId: string): Promise<void> {
  await ctx.client().json('POST', `/v1/bundles/${bundleId}/seal`, {});
}

function resumeHint(bundleId: string): string {
  return `the server keeps what it received: continue with  evx upload --resume ${bundleId}`;
}

/** Uploads the files still missing, seals, and forgets the state. */
async function finish(ctx: Context, state: UploadState, stateDir: string, offsets: Array<number | null>): Promise<void> {
  const bundleId = state.bundleId!;
  const key = decodeBase64(state.bundleKey, 32);
  if (key === null) throw new UsageError('the upload state holds no valid bundle key');
  const retries = ctx.flags.int('retries', { min: 0, max: 1000 }) ?? DEFAULT_RETRIES;
  const removeHint = ctx.onInterrupt(() => ctx.warn(`\ninterrupted. ${resumeHint(bundleId)}`));
  try {
    for (let n = 0; n < state.manifest.files.length; n++) {
      if (offsets[n] === state.manifest.files[n]!.cipherSize) continue;
      checkUnchanged(state.files[n]!);
      await uploadFile(ctx, state, key, n, offsets[n] ?? null, retries);
    }
    await seal(ctx, bundleId);
  } catch (err) {
    if (err instanceof CliError) throw new CliError(err.exitCode, err.message, [...err.hints, resumeHint(bundleId)]);
    throw err;
  } finally {
    removeHint();
    key.fill(0);
  }
  removeState(stateDir, bundleId);
  ctx.info(`bundle ${bundleId} is sealed: ${state.manifest.files.length} file(s), manifest sha256 ${manifestHash(state.manifest)}`);
  ctx.out(bundleId);
  ctx.outJson({ bundleId, status: 'sealed', manifestSha256: manifestHash(state.manifest), files: state.manifest.files.map((f) => ({ name: f.name, size: f.size, sha256: f.sha256 })) });
}

async function newUpload(ctx: Context): Promise<void> {
  const paths = ctx.positionals;
  if (paths.length === 0) throw new UsageError('name at least one FILE to upload');
  const caseReference = ctx.flags.requireString('case', 'the case reference');
  const crime = ctx.flags.requireString('crime', `one of ${CRIME_CATEGORIES.join(', ')}`);
  if (!isCrimeCategory(crime)) throw new UsageError(`--crime must be one of: ${CRIME_CATEGORIES.join(', ')}`);
  const classification = ctx.flags.requireString('classification', CLASSIFICATIONS.join(' < '));
  if (!isClassification(classification)) throw new UsageError(`--classification must be one of: ${CLASSIFICATIONS.join(', ')}`);
  const chunkSize = ctx.flags.int('chunk-size', { min: MIN_MANIFEST_CHUNK_SIZE, max: MAX_CHUNK_SIZE }) ?? DEFAULT_CHUNK_SIZE;

  // Local checks first: nothing is sent for a typo.
  const locals: UploadStateFile[] = [];
  const names = new Set<string>();
  for (const p of paths) {
    const abs = path.resolve(ctx.io.cwd, p);
    let stats: Stats;
    try {
      stats = statSync(abs);
    } catch (err) {
      throw new UsageError(`cannot read ${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : ((err as NodeJS.ErrnoException).code ?? String(err))}`);
    }
    if (!stats.isFile()) throw new UsageError(`${p} is not a regular file`);
    const name = path.basename(abs);
    if (CONTROL.test(name)) throw new UsageError(`${p}: file names with control characters cannot be uploaded; rename the file`);
    if (names.has(name)) throw new UsageError(`two files are named ${name}; a bundle's file names must be unique (they are the names the recipient gets)`);
    names.add(name);
    locals.push(describeLocal(abs, stats));
  }

  const signing = ctx.signingKey();
  const client = ctx.client();
  const officer = (await myOfficerKeys(client)).find((k) => k.publicKey === signing.publicKeyBase64);
  if (!officer) {
    throw new UsageError(`your signing key ${signing.publicKeyBase64} is not registered for the officer of this token`, ['register it first: evx register officer-key']);
  }
  const owner = officer.jurisdiction;
  const ownerKey = currentBoxKey(await getJurisdiction(client, owner));
  checkWrapKey(ctx, owner, ownerKey, ctx.settings.boxKeyConfigured() ? ctx.boxKey().publicKeyBase64 : null);

  const bundleKey = generateBundleKey();
  try {
    const files: ManifestFile[] = [];
    for (const [i, local] of locals.entries()) {
      const noncePrefix = generateNoncePrefix();
      const name = path.basename(local.path);
      const progress = new Progress(ctx.io.stderr, `hash ${name} (${i + 1}/${locals.length})`, local.size, { quiet: ctx.quiet });
      // pipeline, not pipe: a read error must reach describeFile instead of leaving it waiting forever.
      const counted = meter((n) => progress.add(n));
      pipeline(createReadStream(local.path, { highWaterMark: 1024 * 1024 }), counted).catch(() => undefined);
      const described = await describeFile(counted, { key: bundleKey, noncePrefix, chunkSize }).catch((err: unknown) => {
        progress.abort();
        throw err;
      });
      progress.finish();
      checkUnchanged(local);
      if (described.size !== local.size) throw new UsageError(`${local.path} changed while it was read`);
      files.push({ name, size: described.size, sha256: described.sha256, chunkSize, noncePrefix: encodeBase64(noncePrefix), cipherSize: described.cipherSize, cipherSha256: described.cipherSha256 });
    }
    const draft: Manifest = {
      v: 1,
      caseReference,
      crimeCategory: crime,
      classification,
      createdAt: new Date().toISOString(),
      files,
      signer: { jurisdiction: owner, sub: officer.sub, publicKey: signing.publicKeyBase64 },
    };
    const checked = validateManifest(draft);
    if (!checked.ok) throw new UsageError(`the manifest would be invalid: ${checked.problems.map((p) => `${p.path} ${p.message}`).join('; ')}`);
    const manifest = checked.value;
    const signature = signManifest(manifest, signing.seed);
    const keyWrap = wrapBundleKey(bundleKey, { jurisdiction: owner, keyVersion: ownerKey.keyVersion, boxPublicKey: ownerKey.boxPublicKey });
    const stateDir = ctx.settings.stateDir();
    const state: UploadState = {
      v: 1,
      bundleId: null,
      server: client.base.toString(),
      startedAt: manifest.createdAt,
      bundleKey: encodeBase64(bundleKey),
      manifest,
      signature,
      keyWrap,
      files: locals,
    };
    // Written before the bundle exists, so a crash right after the server creates it leaves a trace.
    const pending = `pending-${manifestHash(manifest).slice(0, 16)}`;
    saveState(stateDir, pending, state);
    const created = await client.json<{ id: string }>('POST', '/v1/bundles', { manifest, signature, keyWraps: [keyWrap] });
    state.bundleId = checkBundleId(created.id);
    saveState(stateDir, state.bundleId, state);
    removeState(stateDir, pending);
    const total = files.reduce((s, f) => s + f.cipherSize, 0);
    ctx.info(`bundle ${state.bundleId} created for ${owner}: ${files.length} file(s), ${formatBytes(total)} of ciphertext to send`);
    await finish(ctx, state, stateDir, files.map(() => 0));
  } finally {
    bundleKey.fill(0);
  }
}

async function resumeUpload(ctx: Context, idText: string): Promise<void> {
  if (ctx.positionals.length > 0) throw new UsageError('--resume takes no FILE arguments: the files are those of the original upload');
  const bundleId = checkBundleId(idText);
  const stateDir = ctx.settings.stateDir();
  const state = loadState(stateDir, bundleId);
  const client = ctx.client();
  if (client.base.toString() !== state.server) {
    throw new UsageError(`bundle ${bundleId} was being uploaded to ${state.server}, not ${client.base.toString()}`, [`resume with --url ${state.server}`]);
  }
  const view = await getBundle(client, bundleId);
  if (view.manifestSha256 !== manifestHash(state.manifest)) throw new IntegrityError(`the server's bundle ${bundleId} has another manifest than the one recorded for this upload`);
  if (view.status === 'sealed') {
    removeState(stateDir, bundleId);
    ctx.info(`bundle ${bundleId} is already sealed`);
    ctx.out(bundleId);
    ctx.outJson({ bundleId, status: 'sealed' });
    return;
  }
  // A complete file is final; a partial one is asked for with HEAD right before it is continued.
  const offsets = state.manifest.files.map((f, n) => (view.files.find((x) => x.n === n)?.received === f.cipherSize ? f.cipherSize : null));
  ctx.info(`resuming the upload of bundle ${bundleId} (state ${statePath(stateDir, bundleId)})`);
  await finish(ctx, state, stateDir, offsets);
}

function listPending(ctx: Context): void {
  const states = listStates(ctx.settings.stateDir());
  if (states.length === 0) ctx.info('no unfinished uploads');
  for (const { name, state } of states) {
    if (!state) ctx.out(`${name}  (unreadable state file)`);
    else if (state.bundleId === null) ctx.out(`${name}  not created on the server (interrupted before); start a new upload of: ${state.files.map((f) => f.path).join(' ')}`);
    else ctx.out(`${state.bundleId}  started ${state.startedAt}  ${state.server}  ${state.files.map((f) => path.basename(f.path)).join(', ')}`);
  }
  ctx.outJson({ items: states.map(({ name, state }) => ({ name, bundleId: state?.bundleId ?? null, server: state?.server ?? null, startedAt: state?.startedAt ?? null, files: state?.files.map((f) => f.path) ?? [] })) });
}

export const upload: Command = {
  path: ['upload'],
  summary: 'encrypt, sign and upload files as one evidence bundle, then seal it (investigator)',
  usage: 'upload FILE... --case REF --crime CATEGORY --classification LEVEL [--chunk-size BYTES] [--retries N]\n       evx upload --resume BUNDLE\n       evx upload --pending',
  details: [
    'Each file is read twice, streaming: once to hash it (the manifest is signed before anything is sent), once to',
    'encrypt and send it. The bundle key is wrapped for the current box key of your jurisdiction (checked against your',
    'box key file or profile pin when you have one). Broken connections are retried with backoff from the offset the',
    'server reports. If the command itself is stopped, --resume BUNDLE continues it later (the state, including the',
    'bundle key, is kept 0600 under ~/.local/state/evx/uploads until the bundle is sealed). The bundle id is printed',
    `on stdout. Crime categories: ${CRIME_CATEGORIES.join(', ')}. Classifications: ${CLASSIFICATIONS.join(' < ')}.`,
  ],
  options: {
    case: { type: 'string', value: 'REF', help: 'the case reference (kept in the signed manifest)' },
    crime: { type: 'string', value: 'CATEGORY', help: 'crime category' },
    classification: { type: 'string', value: 'LEVEL', help: 'classification level' },
    'chunk-size': { type: 'string', value: 'BYTES', help: `plaintext bytes per encrypted chunk (default ${DEFAULT_CHUNK_SIZE})` },
    retries: { type: 'string', value: 'N', help: `attempts after a failure without progress (default ${DEFAULT_RETRIES})` },
    resume: { type: 'string', value: 'BUNDLE', help: 'continue an interrupted upload' },
    pending: { type: 'boolean', help: 'list interrupted uploads that can be resumed' },
  },
  positionals: { min: 0, max: null },
  examples: ['evx upload disk.img statement.pdf --case NL-2026-0042 --crime war_crimes --classification confidential', 'evx upload --resume 0b7e6d1c-3f7a-4c55-9a49-5e3f7d1c2b3a'],
  async run(ctx) {
    const resume = ctx.flags.string('resume');
    if (ctx.flags.bool('pending')) return listPending(ctx);
    if (resume !== undefined) return resumeUpload(ctx, resume);
    return newUpload(ctx);
  },
};
