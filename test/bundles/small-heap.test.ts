/**
 * Issue 4, "Tests must show": a 200 MB upload through a server started with
 * a small heap (`--max-old-space-size=64`) succeeds. The server is the real
 * entry point (services/server.ts) in its own process, on a fresh database;
 * the test is a client over HTTP that never holds the file either: the
 * plaintext is generated, described (hashes) in one streaming pass and
 * encrypted on the fly into the PUT body in a second.
 *
 * Buffers live outside the V8 heap, so a small heap alone would not catch a
 * server that buffers the body: its peak RSS is checked too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import t from 'tap';
import {
  cipherSizeFor,
  createEncryptStream,
  describeFile,
  generateBoxKeyPair,
  generateBundleKey,
  generateNoncePrefix,
  signManifest,
  wrapBundleKey,
  type Manifest,
} from '../../services/envelope/index.js';
import { ed25519Generate } from '../../services/shared/ed25519.js';
import { tempDir, testIssuers } from '../helpers/app.js';
import { createDatabase } from '../helpers/database.js';
import { pseudoRandom } from '../helpers/evidence.js';
import { issuersJson, mint } from '../helpers/tokens.js';
import { freePort } from '../../services/shared/os-process.js';

const MB = 1024 * 1024;
const PLAIN_SIZE = 200 * MB;
const CHUNK = MB;
/** Peak RSS growth allowed while receiving the 200 MB (the issue's target is < 100 MB even for 1 GiB). */
const MAX_RSS_GROWTH = 100 * MB;

/** 200 MB of deterministic, incompressible-looking plaintext, generated piece by piece. */
function plaintext(): Readable {
  const block = pseudoRandom(MB, 4242);
  let produced = 0;
  return new Readable({
    read() {
      if (produced >= PLAIN_SIZE) {
        this.push(null);
        return;
      }
      const piece = Buffer.from(block);
      piece.writeUInt32BE(produced / MB, 0); // every MiB differs
      produced += piece.length;
      this.push(piece);
    },
  });
}

function rssOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(new URL(path, base), { method, headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

t.test('a 200 MB upload through a server with --max-old-space-size=64 succeeds', { timeout: 120_000 }, async (t) => {
  const started = Date.now();
  const databaseUrl = await createDatabase(t);
  const dataDir = tempDir(t, 'evx-heap-');
  const port = await freePort();
  const issuers = testIssuers();
  const child: ChildProcess = spawn(process.execPath, ['--max-old-space-size=64', '--import', 'tsx', 'services/server.ts'], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      EVX_DATA_DIR: dataDir,
      EVX_ISSUERS: issuersJson(Object.values(issuers)),
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      NODE_OPTIONS: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ready = await call(base, 'GET', '/readyz', {}).catch(() => null);
    if (ready?.status === 200) break;
    if (child.exitCode !== null || i > 300) throw new Error(`the server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  t.pass(`server ready after ${Date.now() - started} ms`);

  // Set up as clients would: jurisdiction, box key, officer key.
  const admin = { authorization: `Bearer ${mint(issuers.operator, { sub: 'admin', roles: ['admin'] })}` };
  const officer = { authorization: `Bearer ${mint(issuers.NL, { sub: 'inv-1', roles: ['investigator'] })}` };
  t.equal((await call(base, 'POST', '/v1/jurisdictions', admin, { code: 'NL', name: 'Netherlands', kind: 'state' })).status, 201);
  const box = generateBoxKeyPair();
  const key = await call(base, 'PUT', '/v1/jurisdictions/NL/keys', admin, { boxPublicKey: Buffer.from(box.publicKey).toString('base64') });
  t.equal(key.status, 201);
  const signing = ed25519Generate();
  t.equal((await call(base, 'POST', '/v1/officers/me/keys', officer, { publicKey: signing.publicKey.toString('base64') })).status, 201);

  // Pass 1: hashes and sizes for the manifest, without keeping anything.
  const bundleKey = generateBundleKey();
  const noncePrefix = generateNoncePrefix();
  const description = await describeFile(plaintext(), { key: bundleKey, noncePrefix, chunkSize: CHUNK });
  t.equal(description.size, PLAIN_SIZE);
  t.equal(description.cipherSize, cipherSizeFor(PLAIN_SIZE, CHUNK));
  const manifest: Manifest = {
    v: 1,
    caseReference: 'NL-2026-0200',
    crimeCategory: 'war_crimes',
    classification: 'secret',
    createdAt: '2026-11-30T09:00:00Z',
    files: [{ name: 'disk.img', size: description.size, sha256: description.sha256, chunkSize: CHUNK, noncePrefix: noncePrefix.toString('base64'), cipherSize: description.cipherSize, cipherSha256: description.cipherSha256 }],
    signer: { jurisdiction: 'NL', sub: 'inv-1', publicKey: signing.publicKey.toString('base64') },
  };
  const created = await call(base, 'POST', '/v1/bundles', officer, {
    manifest,
    signature: signManifest(manifest, signing.seed),
    keyWraps: [wrapBundleKey(bundleKey, { jurisdiction: 'NL', keyVersion: key.status === 201 ? JSON.parse(key.body).keyVersion : 1, boxPublicKey: box.publicKey })],
  });
  t.equal(created.status, 201, created.body);
  const id = JSON.parse(created.body).id as string;

  // Pass 2: encrypt again on the fly into the request body.
  const before = rssOf(child.pid!);
  const uploadStarted = Date.now();
  const answer = await new Promise<Answer>((resolve, reject) => {
    const req = request(
      new URL(`/v1/bundles/${id}/files/0`, base),
      { method: 'PUT', headers: { ...officer, 'content-type': 'application/octet-stream', 'content-length': String(description.cipherSize) } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    pipeline(plaintext(), createEncryptStream({ key: bundleKey, noncePrefix, chunkSize: CHUNK }), req).catch(reject);
  });
  const seconds = (Date.now() - uploadStarted) / 1000;
  t.equal(answer.status, 200, answer.body.slice(0, 500));
  t.same(JSON.parse(answer.body), { n: 0, received: description.cipherSize, cipherSha256: description.cipherSha256 }, 'the server hashed what the manifest says');
  const after = rssOf(child.pid!);
  t.comment(`upload ${(description.cipherSize / MB / seconds).toFixed(0)} MB/s; server RSS ${(before.rss / MB).toFixed(0)} MB before, peak ${(after.peak / MB).toFixed(0)} MB`);
  t.ok(after.peak - before.rss < MAX_RSS_GROWTH, `server peak RSS grew by ${((after.peak - before.rss) / MB).toFixed(0)} MB (< ${MAX_RSS_GROWTH / MB} MB) for ${PLAIN_SIZE / MB} MB`);

  const seal = await call(base, 'POST', `/v1/bundles/${id}/seal`, officer);
  t.equal(seal.status, 200, seal.body);
  t.equal(JSON.parse(seal.body).status, 'sealed');

  // A ranged read at the end of the file, for good measure.
  const tail = await call(base, 'GET', `/v1/bundles/${id}/files/0`, { ...officer, range: 'bytes=-16' });
  t.equal(tail.status, 206);
  t.equal(tail.headers['content-range'], `bytes ${description.cipherSize - 16}-${description.cipherSize - 1}/${description.cipherSize}`);

  t.equal(child.exitCode, null, 'the server process is still alive');
  t.equal(child.signalCode, null);
  t.equal((await call(base, 'GET', '/healthz', {})).status, 200, 'and answering');
  t.notMatch(output, /heap out of memory|FATAL ERROR/i, 'no out-of-memory in its output');
  t.comment(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
