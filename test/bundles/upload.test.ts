/**
 * Uploads (SPEC §2; issue 4 "Deliver" 3–5): PUT, tus HEAD/PATCH and seal,
 * over a real listening server where sockets matter (size bounds, cut
 * connections, concurrent writers) and through inject elsewhere. Every
 * refusal has its status and code, leaves no partial state, and every state
 * change and refusal is in the bundle's custody, which verifies.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import { decryptBytes } from '../../services/envelope/index.js';
import { verifyCustody } from '../../services/ledger/verify.js';
import { buildTestApp, registerJurisdictions, type TestApp } from '../helpers/app.js';
import {
  addBoxKey,
  createOpenBundle,
  custodyOf,
  expectProblem,
  httpRequest,
  listen,
  prepareBundle,
  pseudoRandom,
  registerOfficer,
  type HttpResult,
  type JurisdictionKeys,
  type Officer,
  type PreparedBundle,
} from '../helpers/evidence.js';

const ta = await buildTestApp(t);
const { app } = ta;
await registerJurisdictions(ta, [{ code: 'NL' }, { code: 'DE' }]);
const nlKeys = await addBoxKey(ta, 'NL');
await addBoxKey(ta, 'DE');
const nl = await registerOfficer(ta, 'NL', 'inv-1', ['investigator']);
const nl2 = await registerOfficer(ta, 'NL', 'inv-2', ['investigator']);
const de = await registerOfficer(ta, 'DE', 'inv-de', ['investigator']);
const base = await listen(ta);

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const octet = (o: Officer): Record<string, string> => ({ ...o.headers, 'content-type': 'application/octet-stream' });
const tus = (o: Officer, offset: number): Record<string, string> => ({ ...o.headers, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset), 'tus-resumable': '1.0.0' });

async function newBundle(plaintexts: Buffer[], options: { chunkSize?: number; officer?: Officer; keys?: JurisdictionKeys; on?: TestApp } = {}): Promise<{ id: string; p: PreparedBundle }> {
  const officer = options.officer ?? nl;
  const p = prepareBundle(officer, options.keys ?? nlKeys, plaintexts, { chunkSize: options.chunkSize ?? 1024 });
  return { id: await createOpenBundle(options.on ?? ta, officer, p), p };
}

async function headOffset(id: string, n: number, who: Officer = nl, on: TestApp = ta): Promise<number> {
  const res = await on.app.inject({ method: 'HEAD', url: `/v1/bundles/${id}/files/${n}`, headers: who.headers });
  if (res.statusCode !== 200) throw new Error(`HEAD ${id}/${n}: ${res.statusCode}`);
  return Number(res.headers['upload-offset']);
}

async function custodyTypes(id: string, on: TestApp = ta): Promise<string[]> {
  return (await custodyOf(on, id, nl.headers)).entries.map((e) => e.entry.type);
}

async function verifies(t: Test, id: string, on: TestApp = ta): Promise<void> {
  const custody = await custodyOf(on, id, nl.headers);
  const verdict = verifyCustody(custody, on.app.custody.vkey);
  t.ok(verdict.ok, `custody of ${id} verifies ${verdict.firstProblem ? JSON.stringify(verdict.firstProblem) : ''}`);
}

/** A request whose body the test writes by hand (chunked unless content-length is given). */
function openRequest(method: string, url: string, headers: Record<string, string>): { req: ClientRequest; response: Promise<HttpResult> } {
  let req!: ClientRequest;
  const response = new Promise<HttpResult>((resolve, reject) => {
    req = request(new URL(url, base), { method, headers: { connection: 'close', ...headers }, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const raw = Buffer.concat(parts);
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: raw.toString('utf8'), rawPayload: raw });
      });
    });
    req.on('error', reject);
  });
  response.catch(() => undefined);
  return { req, response };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('PUT then seal, over a real server: 200 with the hash, HEAD at full size, sealed; custody verifies', async (t) => {
  const plain = [pseudoRandom(5000, 1), Buffer.alloc(0)];
  const { id, p } = await newBundle(plain);
  for (const [n, c] of p.ciphertexts.entries()) {
    const res = await httpRequest(base, { method: 'PUT', path: `/v1/bundles/${id}/files/${n}`, headers: octet(nl), body: c });
    t.equal(res.statusCode, 200, res.body);
    t.same(JSON.parse(res.body), { n, received: c.length, cipherSha256: p.manifest.files[n]!.cipherSha256 });
    t.equal(await headOffset(id, n), c.length);
  }
  const view = await app.inject({ url: `/v1/bundles/${id}`, headers: nl.headers });
  t.same(view.json().files, p.ciphertexts.map((c, n) => ({ n, cipherSize: c.length, received: c.length })));
  const seal = await httpRequest(base, { method: 'POST', path: `/v1/bundles/${id}/seal`, headers: nl.headers });
  t.equal(seal.statusCode, 200, seal.body);
  t.match(JSON.parse(seal.body), { id, status: 'sealed' });
  const custody = await custodyOf(ta, id, nl.headers);
  t.same(custody.entries.map((e) => e.entry.type), ['bundle.created', 'file.received', 'file.received', 'bundle.accessed', 'bundle.sealed']);
  t.match(custody.entries[1]!.entry.data, { n: 0, cipherSize: p.ciphertexts[0]!.length, cipherSha256: p.manifest.files[0]!.cipherSha256 });
  t.match(custody.entries[2]!.entry.data, { n: 1, cipherSize: 16, cipherSha256: p.manifest.files[1]!.cipherSha256 });
  t.match(custody.entries[4]!.entry.data, { files: 2 });
  await verifies(t, id);

  // A chunked PUT (no Content-Length) works the same.
  const second = await newBundle([pseudoRandom(70_000, 2)]);
  const chunked = await httpRequest(base, { method: 'PUT', path: `/v1/bundles/${second.id}/files/0`, headers: octet(nl), body: Readable.from([second.p.ciphertexts[0]!.subarray(0, 30_000), second.p.ciphertexts[0]!.subarray(30_000)]) });
  t.equal(chunked.statusCode, 200, chunked.body);
  t.equal(JSON.parse(chunked.body).cipherSha256, second.p.manifest.files[0]!.cipherSha256);
});

t.test('wrong ciphertext: 422 naming the file, the upload discarded, upload.refused recorded', async (t) => {
  const { id, p } = await newBundle([pseudoRandom(3000, 3), pseudoRandom(2500, 4)]);
  const bad = Buffer.from(p.ciphertexts[1]!);
  bad[bad.length - 1] = bad[bad.length - 1]! ^ 0x80;
  const res = await httpRequest(base, { method: 'PUT', path: `/v1/bundles/${id}/files/1`, headers: octet(nl), body: bad });
  expectProblem(t, res, 422, 'cipher_hash_mismatch', { problem: 'cipher_hash_mismatch', file: 1 }, 'PUT');
  t.match(JSON.parse(res.body).detail, /file 1/);
  t.equal(await headOffset(id, 1), 0, 'HEAD: Upload-Offset 0 after the discard');
  const refusedEntry = (await custodyOf(ta, id, nl.headers)).entries.find((e) => e.entry.type === 'upload.refused');
  t.match(refusedEntry?.entry.data, { n: 1, reason: 'cipher_hash_mismatch', cipherSha256: sha256(bad) });

  // The same through PATCH: a right first half, a wrong second half.
  const half = 1200;
  const first = await app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/1`, headers: tus(nl, 0), payload: p.ciphertexts[1]!.subarray(0, half) });
  t.equal(first.statusCode, 204, first.body);
  t.equal(first.headers['upload-offset'], String(half));
  const second = await app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/1`, headers: tus(nl, half), payload: bad.subarray(half) });
  expectProblem(t, second, 422, 'cipher_hash_mismatch', { problem: 'cipher_hash_mismatch', file: 1 }, 'PATCH');
  t.equal(await headOffset(id, 1), 0, 'the whole upload is discarded, not just the last part');

  // The right bytes are then accepted, and the bundle seals.
  for (const n of [0, 1]) {
    const ok = await app.inject({ method: 'PUT', url: `/v1/bundles/${id}/files/${n}`, headers: octet(nl), payload: p.ciphertexts[n]! });
    t.equal(ok.statusCode, 200, ok.body);
  }
  t.equal((await app.inject({ method: 'POST', url: `/v1/bundles/${id}/seal`, headers: nl.headers })).statusCode, 200);
  t.same(await custodyTypes(id), ['bundle.created', 'upload.refused', 'upload.refused', 'file.received', 'file.received', 'bundle.sealed']);
  await verifies(t, id);
});

t.test('oversize with Content-Length: 413 before the body is read', async (t) => {
  const { id, p } = await newBundle([pseudoRandom(4000, 5)]);
  const size = p.ciphertexts[0]!.length;
  // Declare far more than the file and send nothing: the answer must come without waiting for the body.
  for (const [method, headers] of [
    ['PUT', octet(nl)],
    ['PATCH', tus(nl, 0)],
  ] as const) {
    const { req, response } = openRequest(method, `/v1/bundles/${id}/files/0`, { ...headers, 'content-length': String(10 * 1024 ** 3) });
    req.write(p.ciphertexts[0]!.subarray(0, 100));
    const res = await Promise.race([response, sleep(5000).then(() => null)]);
    req.destroy();
    t.ok(res, `${method}: answered without the body`);
    if (res) {
      expectProblem(t, res, 413, 'payload_too_large', { file: 0 }, method);
      t.equal(res.headers['connection'], 'close', 'the connection is closed');
    }
  }
  // One byte too many.
  const over = await httpRequest(base, { method: 'PUT', path: `/v1/bundles/${id}/files/0`, headers: octet(nl), body: Buffer.concat([p.ciphertexts[0]!, Buffer.alloc(1)]) });
  expectProblem(t, over, 413, 'payload_too_large', { file: 0 }, 'one byte over');
  // A resumed upload: the prefix plus the declared rest may not exceed the file either.
  const prefix = await app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/0`, headers: tus(nl, 0), payload: p.ciphertexts[0]!.subarray(0, 1000) });
  t.equal(prefix.statusCode, 204);
  const rest = await app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/0`, headers: tus(nl, 1000), payload: Buffer.alloc(size - 1000 + 1) });
  expectProblem(t, rest, 413, 'payload_too_large', { file: 0 }, 'PATCH rest one byte over');
  const reasons = (await custodyOf(ta, id, nl.headers)).entries.filter((e) => e.entry.type === 'upload.refused').map((e) => e.entry.data['reason']);
  t.same(reasons, ['too_large', 'too_large', 'too_large', 'too_large'], 'each refusal recorded');
  // Then the right bytes go in.
  const fix = await app.inject({ method: 'PUT', url: `/v1/bundles/${id}/files/0`, headers: octet(nl), payload: p.ciphertexts[0]! });
  t.equal(fix.statusCode, 200);
  await verifies(t, id);
});

t.test('oversize without Content-Length (chunked): 413 while the client is still sending, nothing kept', async (t) => {
  const { id, p } = await newBundle([pseudoRandom(300_000, 6)]);
  const size = p.ciphertexts[0]!.length;
  const part = path.join(ta.config.blobDir, 'uploads', id, '0.part');

  for (const [method, headers, offset] of [
    ['PUT', octet(nl), 0],
    ['PATCH', tus(nl, 0), 0],
  ] as const) {
    const { req, response } = openRequest(method, `/v1/bundles/${id}/files/${0}`, headers);
    let answered = false;
    void response.then(
      () => (answered = true),
      () => (answered = true),
    );
    // The real ciphertext first, then garbage, forever.
    let sent = 0;
    const piece = Buffer.alloc(16 * 1024, 0xab);
    const deadline = Date.now() + 15_000;
    req.write(p.ciphertexts[0]!.subarray(offset));
    sent += size - offset;
    while (!answered && !req.destroyed && Date.now() < deadline) {
      const more = req.write(piece);
      sent += piece.length;
      if (!more) await Promise.race([new Promise((r) => req.once('drain', r)), response.catch(() => undefined), sleep(200)]);
    }
    const res = await response.catch((err: Error) => err);
    req.destroy();
    t.notOk(res instanceof Error, `${method}: an answer, not a reset connection (${res instanceof Error ? res.message : ''})`);
    if (!(res instanceof Error)) expectProblem(t, res, 413, 'payload_too_large', { file: 0 }, method);
    t.ok(Date.now() < deadline, `${method}: answered while the body was still coming (${sent} bytes sent)`);
    t.equal(await headOffset(id, 0), 0, `${method}: the upload is discarded`);
    t.notOk(existsSync(part), `${method}: no partial file left`);
  }
  const upload = await app.inject({ method: 'PUT', url: `/v1/bundles/${id}/files/0`, headers: octet(nl), payload: p.ciphertexts[0]! });
  t.equal(upload.statusCode, 200, 'the file can still be uploaded');
});

t.test('unknown bundle, unknown file, other investigators, other jurisdictions', async (t) => {
  const { id, p } = await newBundle([pseudoRandom(2000, 7), pseudoRandom(10, 8)]);
  const unknown = randomUUID();
  const c = p.ciphertexts[0]!;
  type Call = [string, (bundle: string, who: Officer, n?: number) => Promise<{ statusCode: number; headers: Record<string, unknown>; body: string }>];
  const calls: Call[] = [
    ['PUT', (b, who, n = 0) => app.inject({ method: 'PUT', url: `/v1/bundles/${b}/files/${n}`, headers: octet(who), payload: c })],
    ['PATCH', (b, who, n = 0) => app.inject({ method: 'PATCH', url: `/v1/bundles/${b}/files/${n}`, headers: tus(who, 0), payload: c.subarray(0, 10) })],
    ['HEAD', (b, who, n = 0) => app.inject({ method: 'HEAD', url: `/v1/bundles/${b}/files/${n}`, headers: who.headers })],
    ['seal', (b, who) => app.inject({ method: 'POST', url: `/v1/bundles/${b}/seal`, headers: who.headers })],
    ['GET', (b, who) => app.inject({ method: 'GET', url: `/v1/bundles/${b}`, headers: who.headers })],
    ['download', (b, who, n = 0) => app.inject({ method: 'GET', url: `/v1/bundles/${b}/files/${n}`, headers: who.headers })],
    ['custody', (b, who) => app.inject({ method: 'GET', url: `/v1/bundles/${b}/custody`, headers: who.headers })],
  ];
  const normalise = (res: { statusCode: number; headers: Record<string, unknown>; body: string }, bundle: string): unknown => ({
    status: res.statusCode,
    type: String(res.headers['content-type']),
    body: res.body.replaceAll(bundle, '<id>'),
  });
  for (const [what, call] of calls) {
    const none = await call(unknown, nl);
    if (what !== 'HEAD') expectProblem(t, none, 404, 'not_found', {}, `${what} unknown bundle`);
    else t.equal(none.statusCode, 404, 'HEAD unknown bundle');
    // DE sees exactly what it would see for a bundle that does not exist.
    const other = await call(id, de);
    const otherUnknown = await call(unknown, de);
    t.same(normalise(other, id), normalise(otherUnknown, unknown), `${what}: another jurisdiction cannot tell the bundle exists`);
    t.equal(other.statusCode, 404);
  }
  // File index out of range.
  for (const [what, call] of calls.filter(([w]) => ['PUT', 'PATCH', 'HEAD', 'download'].includes(w))) {
    const res = await call(id, nl, 2);
    if (what !== 'HEAD') expectProblem(t, res, 404, 'not_found', {}, `${what} file 2 of 2`);
    else t.equal(res.statusCode, 404, 'HEAD file 2 of 2');
    const huge = await call(id, nl, 10_000);
    t.equal(huge.statusCode, 400, `${what} file 10000: a 400, not a 5xx`);
  }
  // Another investigator of the owner jurisdiction: 403, recorded.
  for (const [what, call] of calls.filter(([w]) => ['PUT', 'PATCH', 'HEAD', 'seal'].includes(w))) {
    const res = await call(id, nl2);
    if (what !== 'HEAD') expectProblem(t, res, 403, 'forbidden', {}, `${what} by inv-2`);
    else t.equal(res.statusCode, 403, 'HEAD by inv-2');
  }
  // Callers of the owner jurisdiction without the investigator role: 403 forbidden_role, recorded.
  const registry = { ...nl2, sub: 'reg-1', headers: ta.auth('NL', ['registry'], { sub: 'reg-1' }) };
  const auditor = { ...nl2, sub: 'aud-1', headers: ta.auth('NL', ['auditor'], { sub: 'aud-1' }) };
  for (const who of [registry, auditor]) {
    for (const [what, call] of calls.filter(([w]) => ['PUT', 'PATCH', 'HEAD', 'seal'].includes(w))) {
      const res = await call(id, who);
      if (what !== 'HEAD') expectProblem(t, res, 403, 'forbidden_role', {}, `${what} by ${who.sub}`);
      else t.equal(res.statusCode, 403, `HEAD by ${who.sub}`);
    }
  }
  const roleDenials = (await custodyOf(ta, id, nl.headers)).entries.map((e) => e.entry).filter((e) => e.type === 'access.denied' && e.data['reason'] === 'role_not_permitted');
  t.same(
    roleDenials.map((e) => [e.actor?.sub, e.data['action']]),
    [registry, auditor].flatMap((w) => [
      [w.sub, 'upload'],
      [w.sub, 'upload'],
      [w.sub, 'upload_offset'],
      [w.sub, 'seal'],
    ]),
    'role refusals recorded as access.denied',
  );
  t.equal(await headOffset(id, 0), 0, 'nothing was stored by any of them');
  const entries = (await custodyOf(ta, id, nl.headers)).entries.map((e) => e.entry);
  t.equal(entries.filter((e) => e.type === 'access.denied' && e.actor?.jurisdiction === 'DE').length, calls.length, 'every DE attempt recorded as access.denied');
  t.ok(entries.filter((e) => e.type === 'access.denied' && e.actor?.jurisdiction === 'DE').every((e) => e.data['reason'] === 'not_permitted'));
  t.same(
    entries.filter((e) => e.actor?.sub === 'inv-2').map((e) => [e.type, e.data['reason']]),
    [
      ['upload.refused', 'not_uploader'],
      ['upload.refused', 'not_uploader'],
      ['upload.refused', 'not_uploader'],
      ['seal.refused', 'not_uploader'],
    ],
    "inv-2's attempts recorded",
  );
  // Attempts on an id that does not exist are in the log too (auditors read them there).
  const all = await app.custody.entries(0, await app.custody.size());
  const onUnknown = all.filter((e) => e.entry.subject === `bundle:${unknown}`).map((e) => e.entry);
  t.equal(onUnknown.length, calls.length * 2, 'every attempt on the unknown id recorded (NL and DE)');
  t.ok(onUnknown.every((e) => e.type === 'access.denied' && e.data['reason'] === 'no_such_bundle'));
  await verifies(t, id);

  // Ids: upper case is the same id (RFC 4122 input is case-insensitive); other spellings are refused, never a 5xx.
  const upper = id.toUpperCase();
  const view = await app.inject({ method: 'GET', url: `/v1/bundles/${upper}`, headers: nl.headers });
  t.equal(view.statusCode, 200, `GET with the id in upper case (${view.body.slice(0, 200)})`);
  t.equal(view.json().id, id, 'answers with the canonical id');
  const putUpper = await app.inject({ method: 'PUT', url: `/v1/bundles/${upper}/files/1`, headers: octet(nl), payload: p.ciphertexts[1]! });
  t.equal(putUpper.statusCode, 200, `PUT with the id in upper case (${putUpper.body.slice(0, 200)})`);
  t.equal(await headOffset(id, 1), p.ciphertexts[1]!.length, 'stored under the canonical id');
  const upperEntries = (await custodyOf(ta, id, nl.headers)).entries.filter((e) => e.entry.type === 'file.received');
  t.equal(upperEntries.length, 1, 'recorded in the custody of the canonical id');
  for (const spelling of [`urn:uuid:${id}`, `{${id}}`, id.replaceAll('-', ''), `${id.slice(0, -1)}g`]) {
    for (const [method, url] of [
      ['GET', `/v1/bundles/${encodeURIComponent(spelling)}`],
      ['HEAD', `/v1/bundles/${encodeURIComponent(spelling)}/files/0`],
      ['PUT', `/v1/bundles/${encodeURIComponent(spelling)}/files/0`],
      ['POST', `/v1/bundles/${encodeURIComponent(spelling)}/seal`],
      ['GET', `/v1/bundles/${encodeURIComponent(spelling)}/custody`],
    ] as const) {
      const res = await app.inject({ method, url, headers: octet(nl), ...(method === 'PUT' ? { payload: p.ciphertexts[0]! } : {}) });
      t.equal(res.statusCode, 400, `${method} ${spelling}: 400 (${res.body.slice(0, 200)})`);
    }
  }
  t.equal(await headOffset(id, 0), 0, 'no upload under another spelling of the id');
});

t.test('sealed is final: PUT/PATCH 409, second seal 409; an incomplete file blocks the seal, named', async (t) => {
  const { id, p } = await newBundle([pseudoRandom(3000, 9), pseudoRandom(3000, 10)]);
  const none = await app.inject({ method: 'POST', url: `/v1/bundles/${id}/seal`, headers: nl.headers });
  expectProblem(t, none, 409, 'conflict', { file: 0, received: 0 }, 'seal with nothing uploaded');
  const put0 = await app.inject({ method: 'PUT', url: `/v1/bundles/${id}/files/0`, headers: octet(nl), payload: p.ciphertexts[0]! });
  t.equal(put0.statusCode, 200);
  const again = await app.inject({ method: 'PUT', url: `/v1/bundles/${id}/files/0`, headers: octet(nl), payload: p.ciphertexts[0]! });
  expectProblem(t, again, 409, 'conflict', { file: 0 }, 'PUT of a file already received');
  const half = await app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/1`, headers: tus(nl, 0), payload: p.ciphertexts[1]!.subarray(0, 1500) });
  t.equal(half.statusCode, 204);
  const partial = await app.inject({ method: 'POST', url: `/v1/bundles/${id}/seal`, headers: nl.headers });
  expectProblem(t, partial, 409, 'conflict', { file: 1, received: 1500 }, 'seal with file 1 half uploaded');
  t.match(partial.json().detail, /file 1 is incomplete: 1500 of \d+ bytes/);
  const rest = await app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/1`, headers: tus(nl, 1500), payload: p.ciphertexts[1]!.subarray(1500) });
  t.equal(rest.statusCode, 204);
  t.equal(rest.headers['upload-offset'], String(p.ciphertexts[1]!.length));
  const seal = await app.inject({ method: 'POST', url: `/v1/bundles/${id}/seal`, headers: nl.headers });
  t.equal(seal.statusCode, 200);

  const put = await app.inject({ method: 'PUT', url: `/v1/bundles/${id}/files/1`, headers: octet(nl), payload: p.ciphertexts[1]! });
  expectProblem(t, put, 409, 'conflict', {}, 'PUT after seal');
  const patch = await app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/1`, headers: tus(nl, p.ciphertexts[1]!.length), payload: Buffer.alloc(1) });
  expectProblem(t, patch, 409, 'conflict', {}, 'PATCH after seal');
  const seal2 = await app.inject({ method: 'POST', url: `/v1/bundles/${id}/seal`, headers: nl.headers });
  expectProblem(t, seal2, 409, 'conflict', {}, 'second seal');
  t.equal(await headOffset(id, 1), p.ciphertexts[1]!.length, 'HEAD still answers the full size');
  const download = await app.inject({ url: `/v1/bundles/${id}/files/1`, headers: nl.headers });
  t.ok(download.rawPayload.equals(p.ciphertexts[1]!), 'content unchanged');
  const types = await custodyTypes(id);
  t.same(types, ['bundle.created', 'seal.refused', 'file.received', 'upload.refused', 'seal.refused', 'file.received', 'bundle.sealed', 'upload.refused', 'upload.refused', 'seal.refused', 'file.downloaded']);
  const data = (await custodyOf(ta, id, nl.headers)).entries.map((e) => e.entry.data);
  t.match(data[1], { reason: 'file_incomplete', n: 0 });
  t.match(data[3], { reason: 'already_received', n: 0 });
  t.match(data[4], { reason: 'file_incomplete', n: 1 });
  t.match(data[7], { reason: 'bundle_sealed' });
  t.match(data[9], { reason: 'already_sealed' });
  await verifies(t, id);
});

t.test('tus details: offsets, media type, protocol version', async (t) => {
  const { id, p } = await newBundle([pseudoRandom(5000, 11)]);
  const c = p.ciphertexts[0]!;
  const head = await app.inject({ method: 'HEAD', url: `/v1/bundles/${id}/files/0`, headers: nl.headers });
  t.equal(head.statusCode, 200);
  t.equal(head.headers['upload-offset'], '0');
  t.equal(head.headers['upload-length'], String(c.length));
  t.equal(head.headers['tus-resumable'], '1.0.0');
  t.equal(head.headers['cache-control'], 'no-store');

  const first = await app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/0`, headers: tus(nl, 0), payload: c.subarray(0, 2000) });
  t.equal(first.statusCode, 204);
  t.equal(first.headers['upload-offset'], '2000');
  t.equal(first.headers['tus-resumable'], '1.0.0');

  for (const wrong of [0, 1999, 2001, 4000]) {
    const res = await app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/0`, headers: tus(nl, wrong), payload: c.subarray(wrong, wrong + 100) });
    expectProblem(t, res, 409, 'conflict', { offset: 2000 }, `Upload-Offset ${wrong}`);
    t.equal(res.headers['upload-offset'], '2000', 'the current offset is in the Upload-Offset header');
  }
  // The offset is judged before the size: a wrong offset with a body too large for it is still a 409.
  const ahead = await app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/0`, headers: tus(nl, 4500), payload: c.subarray(4000) });
  expectProblem(t, ahead, 409, 'conflict', { offset: 2000 }, 'Upload-Offset 4500 with 1080 bytes');
  t.equal(ahead.headers['upload-offset'], '2000');
  // A real socket too.
  const wrongReal = await httpRequest(base, { method: 'PATCH', path: `/v1/bundles/${id}/files/0`, headers: tus(nl, 10), body: c.subarray(10, 20) });
  t.equal(wrongReal.statusCode, 409);
  t.equal(wrongReal.headers['upload-offset'], '2000');

  const missing = await app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/0`, headers: { ...nl.headers, 'content-type': 'application/offset+octet-stream' }, payload: c.subarray(2000) });
  expectProblem(t, missing, 400, 'validation_failed', {}, 'no Upload-Offset');
  const negative = await app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/0`, headers: tus(nl, -1), payload: c.subarray(2000) });
  expectProblem(t, negative, 400, 'validation_failed', {}, 'negative Upload-Offset');

  // Media types: PATCH takes application/offset+octet-stream only, PUT application/octet-stream only.
  for (const [type, payload] of [
    ['application/octet-stream', c.subarray(2000, 2100)],
    ['application/json', c.subarray(2000, 2100)],
    ['application/json', Buffer.from('{"a":1}')],
    ['text/plain', c.subarray(2000, 2100)],
    ['multipart/form-data; boundary=x', c.subarray(2000, 2100)],
  ] as const) {
    const res = await app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/0`, headers: { ...tus(nl, 2000), 'content-type': type }, payload });
    expectProblem(t, res, 415, 'unsupported_media_type', {}, `PATCH as ${type}`);
  }
  const noType = await app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/0`, headers: { ...nl.headers, 'upload-offset': '2000' }, payload: c.subarray(2000, 2100) });
  expectProblem(t, noType, 415, 'unsupported_media_type', {}, 'PATCH without a content type');
  for (const type of ['application/json', 'application/offset+octet-stream', 'text/plain']) {
    const payload = type === 'application/json' ? Buffer.from('{"a":1}') : c;
    const res = await app.inject({ method: 'PUT', url: `/v1/bundles/${id}/files/0`, headers: { ...nl.headers, 'content-type': type }, payload });
    expectProblem(t, res, 415, 'unsupported_media_type', {}, `PUT as ${type}`);
  }
  const putNoBody = await app.inject({ method: 'PUT', url: `/v1/bundles/${id}/files/0`, headers: nl.headers });
  expectProblem(t, putNoBody, 415, 'unsupported_media_type', {}, 'PUT without a content type or body');
  t.equal(await headOffset(id, 0), 2000, 'none of these changed the upload');

  // tus version.
  const old = await app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/0`, headers: { ...tus(nl, 2000), 'tus-resumable': '0.2.2' }, payload: c.subarray(2000) });
  expectProblem(t, old, 412, 'precondition_failed', {}, 'Tus-Resumable 0.2.2');
  t.equal(old.headers['tus-version'], '1.0.0');
  t.equal(await headOffset(id, 0), 2000);

  const rest = await app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/0`, headers: tus(nl, 2000), payload: c.subarray(2000) });
  t.equal(rest.statusCode, 204);
  t.equal(rest.headers['upload-offset'], String(c.length));
  t.equal((await app.inject({ method: 'POST', url: `/v1/bundles/${id}/seal`, headers: nl.headers })).statusCode, 200);
  await verifies(t, id);
});

t.test('an upload cut at a random offset resumes with HEAD/PATCH to a sealed bundle whose hash matches', async (t) => {
  const plain = pseudoRandom(3 * 1024 * 1024 + 777, 12);
  const { id, p } = await newBundle([plain], { chunkSize: 64 * 1024 });
  const c = p.ciphertexts[0]!;
  const cut = 1 + Math.floor(Math.random() * (c.length - 1));
  t.comment(`cutting at ${cut} of ${c.length}`);

  // Declare the whole file, send the first `cut` bytes, then drop the connection.
  const { req, response } = openRequest('PUT', `/v1/bundles/${id}/files/0`, { ...octet(nl), 'content-length': String(c.length) });
  await new Promise<void>((resolve) => req.write(c.subarray(0, cut), () => resolve()));
  await sleep(300);
  req.destroy();
  t.ok((await response.then(() => 'answered', () => 'reset')) === 'reset', 'the client saw its own cut, not an answer');

  // A tus client: HEAD, then PATCH from there; a 409 (the server still finishing the cut request) means ask again.
  let offset = -1;
  let done: HttpResult | null = null;
  for (let attempt = 0; attempt < 50 && done === null; attempt++) {
    offset = await headOffset(id, 0);
    t.ok(offset >= 0 && offset <= cut, `HEAD: ${offset} ≤ ${cut} bytes sent`);
    const res = await httpRequest(base, { method: 'PATCH', path: `/v1/bundles/${id}/files/0`, headers: tus(nl, offset), body: c.subarray(offset) });
    if (res.statusCode === 409) {
      await sleep(100);
      continue;
    }
    done = res;
  }
  t.equal(done?.statusCode, 204, done?.body ?? 'no answer');
  t.equal(done?.headers['upload-offset'], String(c.length));
  t.comment(`resumed from ${offset}`);
  const seal = await app.inject({ method: 'POST', url: `/v1/bundles/${id}/seal`, headers: nl.headers });
  t.equal(seal.statusCode, 200, seal.body);

  const download = await httpRequest(base, { method: 'GET', path: `/v1/bundles/${id}/files/0`, headers: nl.headers });
  t.equal(download.statusCode, 200);
  t.equal(sha256(download.rawPayload), p.manifest.files[0]!.cipherSha256, 'downloaded ciphertext hash matches the manifest');
  const f = p.manifest.files[0]!;
  const out = decryptBytes(download.rawPayload, { key: p.bundleKey, noncePrefix: Buffer.from(f.noncePrefix, 'base64'), chunkSize: f.chunkSize });
  t.equal(sha256(out), f.sha256, 'and it decrypts to the plaintext');
  const types = await custodyTypes(id);
  t.same(types.filter((x) => x !== 'upload.refused'), ['bundle.created', 'file.received', 'bundle.sealed', 'file.downloaded']);
  await verifies(t, id);
});

t.test('the offset survives an app restart (same database, same data directory)', async (t) => {
  const first = await buildTestApp(t);
  await registerJurisdictions(first, [{ code: 'NL' }]);
  const keys = await addBoxKey(first, 'NL');
  const officer = await registerOfficer(first, 'NL', 'inv-1', ['investigator']);
  const { id, p } = await newBundle([pseudoRandom(100_000, 13)], { officer, keys, on: first });
  const c = p.ciphertexts[0]!;
  const part = await first.app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/0`, headers: tus(officer, 0), payload: c.subarray(0, 40_000) });
  t.equal(part.statusCode, 204);
  await first.app.close();

  const second = await buildTestApp(t, { EVX_DATA_DIR: first.config.dataDir }, first.databaseUrl);
  t.equal(second.config.blobDir, first.config.blobDir, 'same blob directory');
  t.equal(second.app.custody.vkey, first.app.custody.vkey, 'same log key');
  t.equal(await headOffset(id, 0, officer, second), 40_000, 'HEAD after the restart: the offset kept');
  const stale = await second.app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/0`, headers: tus(officer, 0), payload: c });
  t.equal(stale.statusCode, 409);
  t.equal(stale.headers['upload-offset'], '40000');
  const rest = await second.app.inject({ method: 'PATCH', url: `/v1/bundles/${id}/files/0`, headers: tus(officer, 40_000), payload: c.subarray(40_000) });
  t.equal(rest.statusCode, 204, rest.body);
  const seal = await second.app.inject({ method: 'POST', url: `/v1/bundles/${id}/seal`, headers: officer.headers });
  t.equal(seal.statusCode, 200, seal.body);
  const download = await second.app.inject({ url: `/v1/bundles/${id}/files/0`, headers: officer.headers });
  t.equal(sha256(download.rawPayload), p.manifest.files[0]!.cipherSha256);
  const custody = await custodyOf(second, id, officer.headers);
  t.same(custody.entries.map((e) => e.entry.type), ['bundle.created', 'upload.refused', 'file.received', 'bundle.sealed', 'file.downloaded']);
  t.ok(verifyCustody(custody, second.app.custody.vkey).ok, 'custody verifies across the restart');
});

t.test('two writers on one file: the second gets 409, never a 5xx, and the first completes', async (t) => {
  const { id, p } = await newBundle([pseudoRandom(3_000_000, 14)], { chunkSize: 64 * 1024 });
  const c = p.ciphertexts[0]!;
  const slow = openRequest('PUT', `/v1/bundles/${id}/files/0`, { ...octet(nl), 'content-length': String(c.length) });
  // More than the store's write buffer, so the first writer has bytes on disk.
  await new Promise<void>((resolve) => slow.req.write(c.subarray(0, 1_500_000), () => resolve()));
  for (let i = 0; i < 50 && (await headOffset(id, 0)) === 0; i++) await sleep(20);
  t.ok((await headOffset(id, 0)) > 0, 'the first writer has stored bytes');
  const put = await httpRequest(base, { method: 'PUT', path: `/v1/bundles/${id}/files/0`, headers: octet(nl), body: c });
  expectProblem(t, put, 409, 'conflict', { file: 0 }, 'a second PUT');
  const patch = await httpRequest(base, { method: 'PATCH', path: `/v1/bundles/${id}/files/0`, headers: tus(nl, 0), body: c.subarray(0, 10) });
  t.equal(patch.statusCode, 409, 'a PATCH meanwhile');
  slow.req.end(c.subarray(1_500_000));
  const res = await slow.response;
  t.equal(res.statusCode, 200, res.body);
  t.equal(JSON.parse(res.body).cipherSha256, p.manifest.files[0]!.cipherSha256);
  t.equal((await app.inject({ method: 'POST', url: `/v1/bundles/${id}/seal`, headers: nl.headers })).statusCode, 200);
});

t.test('files a crash left stored but not recorded (after the rename, or after the last byte) are recovered, not stuck', async (t) => {
  const { id, p } = await newBundle([pseudoRandom(4000, 15)]);
  const c = p.ciphertexts[0]!;
  // What a crash right after commitUpload leaves: the object, no received_at, no file.received.
  await app.blobs.append({ bundleId: id, n: 0 }, 0, Readable.from([c]), c.length);
  await app.blobs.commitUpload({ bundleId: id, n: 0 });
  t.equal(await headOffset(id, 0), c.length, 'HEAD: the whole file is there');
  const seal = await app.inject({ method: 'POST', url: `/v1/bundles/${id}/seal`, headers: nl.headers });
  t.equal(seal.statusCode, 200, `seal: ${seal.body}`);
  const types = await custodyTypes(id);
  t.ok(types.includes('file.received'), 'the receipt is recorded when it is recovered');
  t.equal(types.filter((x) => x === 'file.received').length, 1);
  await verifies(t, id);

  // A crash after the last byte, before the hash check and commit: every byte is in the upload.
  const whole = await newBundle([pseudoRandom(4000, 16), pseudoRandom(3000, 17)]);
  for (const [n, bytes] of whole.p.ciphertexts.entries()) await app.blobs.append({ bundleId: whole.id, n }, 0, Readable.from([bytes]), bytes.length);
  const sealed = await app.inject({ method: 'POST', url: `/v1/bundles/${whole.id}/seal`, headers: nl.headers });
  t.equal(sealed.statusCode, 200, `seal checks and commits complete uploads: ${sealed.body}`);
  t.same(await custodyTypes(whole.id), ['bundle.created', 'file.received', 'file.received', 'bundle.sealed']);
  const back = await app.inject({ url: `/v1/bundles/${whole.id}/files/1`, headers: nl.headers });
  t.ok(back.rawPayload.equals(whole.p.ciphertexts[1]!));

  // The same with wrong bytes: the seal is refused naming the file, and the upload discarded.
  const wrong = await newBundle([pseudoRandom(4000, 18)]);
  const garbage = pseudoRandom(wrong.p.ciphertexts[0]!.length, 19);
  await app.blobs.append({ bundleId: wrong.id, n: 0 }, 0, Readable.from([garbage]), garbage.length);
  const refused = await app.inject({ method: 'POST', url: `/v1/bundles/${wrong.id}/seal`, headers: nl.headers });
  expectProblem(t, refused, 422, 'cipher_hash_mismatch', { file: 0, problem: 'cipher_hash_mismatch' }, 'seal over a complete upload with the wrong bytes');
  t.equal(await headOffset(wrong.id, 0), 0, 'discarded');
  t.same(await custodyTypes(wrong.id), ['bundle.created', 'upload.refused']);
});
