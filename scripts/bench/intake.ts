/**
 * `npm run bench:intake`: upload and download of a 1 GiB file over loopback
 * through evx, next to a bare Node HTTP sink/source in the same run, the
 * server's peak RSS growth, and the envelope library's MB/s.
 * BENCH_GIB=1,4 measures several sizes. Both servers run as their own
 * processes; the upload body is read from the same file on disk for both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { mintEdDSAToken } from '../../services/auth/dev-issuer.js';
import {
  cipherSizeFor,
  createEncryptStream,
  generateBoxKeyPair,
  generateBundleKey,
  generateNoncePrefix,
  signManifest,
  wrapBundleKey,
  type Manifest,
} from '../../services/envelope/index.js';
import { ed25519Generate } from '../../services/shared/ed25519.js';
import { benchDatabase, machine } from './common.js';
import { benchEnvelope } from './envelope.js';
import { freePort } from '../../services/shared/os-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sizesGiB = (process.env['BENCH_GIB'] ?? '1').split(',').map(Number);
const CHUNK = 1024 * 1024;

function rssKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** Reset the kernel's peak-RSS counter so VmHWM measures this phase only. */
function resetPeak(pid: number): void {
  try {
    // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0).
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    /* not permitted: VmHWM then covers the whole process life, an upper bound */
  }
}

async function waitReady(port: number, pathName: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const ok = await new Promise<boolean>((resolve) =>
      http.get({ host: '127.0.0.1', port, path: pathName }, (res) => { res.resume(); resolve((res.statusCode ?? 500) < 500); }).on('error', () => resolve(false)),
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no answer on port ${port}`);
}

interface Call {
  status: number;
  body: string;
}
function call(port: number, method: string, pathName: string, headers: Record<string, string>, body?: unknown): Promise<Call> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request({ host: '127.0.0.1', port, method, path: pathName, headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Stream a file as the body; resolves with seconds taken. */
function putFile(port: number, pathName: string, headers: Record<string, string>, file: string): Promise<{ seconds: number; status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: pathName, headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(statSync(file).size) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ seconds: (performance.now() - t0) / 1000, status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(req);
  });
}

/** Download and discard; resolves with seconds and bytes. */
function getDiscard(port: number, pathName: string, headers: Record<string, string>): Promise<{ seconds: number; bytes: number; status: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    http.get({ host: '127.0.0.1', port, path: pathName, headers }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ seconds: (performance.now() - t0) / 1000, bytes, status: res.statusCode ?? 0 }));
    }).on('error', reject);
  });
}

const BARE_SERVER = `
const http = require('node:http');
const size = Number(process.argv[2]);
const block = Buffer.alloc(1024 * 1024, 7);
http.createServer((req, res) => {
  if (req.method === 'PUT') { let n = 0; req.on('data', (d) => { n += d.length; }); req.on('end', () => res.end(JSON.stringify({ received: n }))); return; }
  res.writeHead(200, { 'content-length': size });
  let sent = 0;
  const pump = () => { while (sent < size) { const n = Math.min(block.length, size - sent); sent += n; if (!res.write(n === block.length ? block : block.subarray(0, n))) return res.once('drain', pump); } res.end(); };
  pump();
}).listen(Number(process.argv[1]), '127.0.0.1');
`;

function mbps(bytes: number, seconds: number): number {
  return bytes / 1e6 / seconds;
}

const work = mkdtempSync(path.join(os.tmpdir(), 'evx-bench-intake-'));
const db = await benchDatabase('evx_bench_intake');
const children: ChildProcess[] = [];
const rows: string[] = [];
try {
  const envelope = await benchEnvelope(256 * 1024 * 1024);
  // The evx server, as in production.
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const issuers = [
    { issuer: 'https://idp.nl.example', jurisdiction: 'NL', publicKey: publicKey.export({ format: 'pem', type: 'spki' }), algorithms: ['EdDSA'] },
    { issuer: 'https://operator.example', operator: true, publicKey: publicKey.export({ format: 'pem', type: 'spki' }), algorithms: ['EdDSA'] },
  ];
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const investigator = { authorization: `Bearer ${mintEdDSAToken('https://idp.nl.example', pem, { sub: 'inv', roles: ['investigator'], audience: 'evx', ttl: 7200 })}` };
  const admin = { authorization: `Bearer ${mintEdDSAToken('https://operator.example', pem, { sub: 'op', roles: ['admin'], audience: 'evx', ttl: 7200 })}` };
  const port = await freePort();
  const server = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'services/server.ts')], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: db.url, EVX_DATA_DIR: path.join(work, 'data'), PORT: String(port), EVX_ISSUERS: JSON.stringify(issuers), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(server);
  await waitReady(port, '/readyz');
  const box = generateBoxKeyPair();
  const signer = ed25519Generate();
  for (const [method, url, headers, body] of [
    ['POST', '/v1/jurisdictions', admin, { code: 'NL', name: 'Netherlands', kind: 'state' }],
    ['PUT', '/v1/jurisdictions/NL/keys', admin, { boxPublicKey: Buffer.from(box.publicKey).toString('base64') }],
    ['POST', '/v1/officers/me/keys', investigator, { publicKey: signer.publicKey.toString('base64') }],
  ] as const) {
    const r = await call(port, method, url, headers, body);
    if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${r.body}`);
  }

  for (const gib of sizesGiB) {
    const plainSize = gib * 1024 ** 3;
    // Real ciphertext of a generated plaintext, written once and read by both uploads.
    const key = generateBundleKey();
    const noncePrefix = generateNoncePrefix();
    const cipherFile = path.join(work, `cipher-${gib}`);
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 31) & 0xff;
    const plainHash = createHash('sha256');
    let produced = 0;
    const source = new Readable({
      read() {
        if (produced >= plainSize) return void this.push(null);
        const n = Math.min(block.length, plainSize - produced);
        produced += n;
        const piece = block.subarray(0, n);
        plainHash.update(piece);
        this.push(piece);
      },
    });
    const cipherHash = createHash('sha256');
    const hashTap = new Transform({ transform(chunk: Buffer, _e, cb) { cipherHash.update(chunk); cb(null, chunk); } });
    await pipeline(source, createEncryptStream({ key, noncePrefix, chunkSize: CHUNK }), hashTap, createWriteStream(cipherFile));
    const cipherSize = statSync(cipherFile).size;
    if (cipherSize !== cipherSizeFor(plainSize, CHUNK)) throw new Error('cipher size mismatch');

    // Baseline: a bare Node HTTP sink and source in their own process.
    const barePort = await freePort();
    const bare = spawn(process.execPath, ['-e', BARE_SERVER, String(barePort), String(cipherSize)], { stdio: 'ignore' });
    children.push(bare);
    await waitReady(barePort, '/');
    const bareUp = await putFile(barePort, '/', {}, cipherFile);
    const bareDown = await getDiscard(barePort, '/', {});
    bare.kill();

    const manifest: Manifest = {
      v: 1,
      caseReference: `BENCH-${gib}`,
      crimeCategory: 'war_crimes',
      classification: 'restricted',
      createdAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      files: [{ name: 'disk.img', size: plainSize, sha256: plainHash.digest('hex'), chunkSize: CHUNK, noncePrefix: noncePrefix.toString('base64'), cipherSize, cipherSha256: cipherHash.digest('hex') }],
      signer: { jurisdiction: 'NL', sub: 'inv', publicKey: signer.publicKey.toString('base64') },
    };
    const created = await call(port, 'POST', '/v1/bundles', investigator, {
      manifest,
      signature: signManifest(manifest, signer.seed),
      keyWraps: [wrapBundleKey(key, { jurisdiction: 'NL', keyVersion: 1, boxPublicKey: box.publicKey })],
    });
    if (created.status !== 201) throw new Error(`create: ${created.status} ${created.body}`);
    const id = (JSON.parse(created.body) as { id: string }).id;
    const rssBefore = rssKiB(server.pid!, 'VmRSS');
    resetPeak(server.pid!);
    const up = await putFile(port, `/v1/bundles/${id}/files/0`, investigator, cipherFile);
    if (up.status !== 200) throw new Error(`upload: ${up.status} ${up.body}`);
    const sealed = await call(port, 'POST', `/v1/bundles/${id}/seal`, investigator);
    if (sealed.status !== 200) throw new Error(`seal: ${sealed.status} ${sealed.body}`);
    const down = await getDiscard(port, `/v1/bundles/${id}/files/0`, investigator);
    if (down.status !== 200 || down.bytes !== cipherSize) throw new Error(`download: ${down.status}, ${down.bytes} bytes`);
    const peakGrowthMiB = (rssKiB(server.pid!, 'VmHWM') - rssBefore) / 1024;
    rmSync(cipherFile, { force: true });
    rmSync(path.join(work, 'data', 'blobs', 'objects', id), { recursive: true, force: true });

    rows.push(
      `| ${gib} GiB | upload | ${mbps(cipherSize, bareUp.seconds).toFixed(0)} | ${mbps(cipherSize, up.seconds).toFixed(0)} | ${((bareUp.seconds / up.seconds) * 100).toFixed(0)}% | ${peakGrowthMiB.toFixed(1)} |`,
      `| ${gib} GiB | download | ${mbps(cipherSize, bareDown.seconds).toFixed(0)} | ${mbps(cipherSize, down.seconds).toFixed(0)} | ${((bareDown.seconds / down.seconds) * 100).toFixed(0)}% | (same run) |`,
    );
    process.stderr.write(`${gib} GiB done\n`);
  }

  console.log(`## bench:intake — ${new Date().toISOString()}`);
  console.log('');
  console.log(`Machine: ${machine()}; database: ${db.label}; blobs on ${os.tmpdir()}; loopback HTTP/1.1, one request per transfer.`);
  console.log('');
  console.log('| size | direction | bare Node HTTP MB/s (baseline) | evx MB/s | evx / baseline | evx server peak RSS growth MiB |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
  console.log('');
  console.log(`Envelope library, 256 MiB through the streams, 1 MiB chunks: encrypt ${envelope.encryptMBps} MB/s, decrypt ${envelope.decryptMBps} MB/s, describe (hash + encrypt, no output) ${envelope.describeMBps} MB/s.`);
} finally {
  for (const c of children) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  await db.close();
  rmSync(work, { recursive: true, force: true });
}
