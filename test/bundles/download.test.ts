/**
 * Retrieval (SPEC §2; issue 4 "Deliver" 3–4): ciphertext downloads with
 * Range, ETag and Repr-Digest of the whole ciphertext; who sees what
 * (owner's investigators and registry, auditors, other jurisdictions); every
 * denial recorded in the bundle's custody; the bundle list and its cursor.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { verifyCustody } from '../../services/ledger/verify.js';
import { buildTestApp, registerJurisdictions } from '../helpers/app.js';
import { addBoxKey, createOpenBundle, custodyOf, expectProblem, httpRequest, listen, prepareBundle, pseudoRandom, registerOfficer, uploadBundle } from '../helpers/evidence.js';

const ta = await buildTestApp(t);
const { app } = ta;
await registerJurisdictions(ta, [{ code: 'NL' }, { code: 'DE' }, { code: 'ICC', kind: 'tribunal' }]);
const nlKeys = await addBoxKey(ta, 'NL');
await addBoxKey(ta, 'DE');
await addBoxKey(ta, 'ICC');
const nl = await registerOfficer(ta, 'NL', 'inv-1', ['investigator']);
const nl2 = await registerOfficer(ta, 'NL', 'inv-2', ['investigator']);
const de = await registerOfficer(ta, 'DE', 'inv-de', ['investigator']);
const nlRegistry = ta.auth('NL', ['registry'], { sub: 'reg-nl' });
const nlAuditor = ta.auth('NL', ['auditor'], { sub: 'aud-nl' });
const opAuditor = ta.auth('operator', ['auditor'], { sub: 'aud-op' });
const deAuditor = ta.auth('DE', ['auditor'], { sub: 'aud-de' });
const deRegistry = ta.auth('DE', ['registry'], { sub: 'reg-de' });
const iccRegistry = ta.auth('ICC', ['registry'], { sub: 'reg-icc' });

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const plain = [pseudoRandom(Math.floor(2.5 * 1024), 1), pseudoRandom(100, 2)];
const p = prepareBundle(nl, nlKeys, plain, { chunkSize: 1024 });
const id = await uploadBundle(ta, nl, p);
const c = p.ciphertexts[0]!;
const size = c.length;
const file = p.manifest.files[0]!;
const base = await listen(ta);

t.test('whole file: 200, length, ETag and Repr-Digest of the manifest ciphertext hash', async (t) => {
  for (const [who, headers] of [
    ['uploader', nl.headers],
    ['another NL investigator', nl2.headers],
    ['NL registry', nlRegistry],
  ] as const) {
    const res = await app.inject({ url: `/v1/bundles/${id}/files/0`, headers });
    t.equal(res.statusCode, 200, who);
    t.ok(res.rawPayload.equals(c), `${who}: the ciphertext`);
    t.equal(res.headers['content-type'], 'application/octet-stream');
    t.equal(res.headers['content-length'], String(size));
    t.equal(res.headers['accept-ranges'], 'bytes');
    t.equal(res.headers['etag'], `"${file.cipherSha256}"`);
    t.equal(res.headers['repr-digest'], `sha-256=:${Buffer.from(file.cipherSha256, 'hex').toString('base64')}:`);
    t.equal(sha256(res.rawPayload), file.cipherSha256);
  }
  // Over a real socket too.
  const real = await httpRequest(base, { method: 'GET', path: `/v1/bundles/${id}/files/1`, headers: nl.headers });
  t.equal(real.statusCode, 200);
  t.ok(real.rawPayload.equals(p.ciphertexts[1]!));
  t.equal(real.headers['etag'], `"${p.manifest.files[1]!.cipherSha256}"`);
  t.equal(real.headers['content-length'], String(p.ciphertexts[1]!.length));
});

t.test('Range: single ranges, suffixes, clamping, 416', async (t) => {
  const cases: Array<[string, number, number]> = [
    ['bytes=0-0', 0, 0],
    ['bytes=10-', 10, size - 1],
    ['bytes=-5', size - 5, size - 1],
    ['bytes=100-1123', 100, 1123],
    ['bytes=1000-99999999', 1000, size - 1],
    [`bytes=0-${size}`, 0, size - 1],
    [`bytes=${size - 1}-`, size - 1, size - 1],
    [`bytes=-${size + 10}`, 0, size - 1],
  ];
  for (const [range, start, end] of cases) {
    const res = await app.inject({ url: `/v1/bundles/${id}/files/0`, headers: { ...nl.headers, range } });
    t.equal(res.statusCode, 206, range);
    t.equal(res.headers['content-range'], `bytes ${start}-${end}/${size}`, `${range}: Content-Range`);
    t.equal(res.headers['content-length'], String(end - start + 1), `${range}: Content-Length`);
    t.ok(res.rawPayload.equals(c.subarray(start, end + 1)), `${range}: the bytes`);
    t.equal(res.headers['etag'], `"${file.cipherSha256}"`, `${range}: ETag of the whole ciphertext`);
    t.equal(res.headers['repr-digest'], `sha-256=:${Buffer.from(file.cipherSha256, 'hex').toString('base64')}:`, `${range}: Repr-Digest of the whole ciphertext`);
  }
  const real = await httpRequest(base, { method: 'GET', path: `/v1/bundles/${id}/files/0`, headers: { ...nl.headers, range: 'bytes=-5' } });
  t.equal(real.statusCode, 206);
  t.ok(real.rawPayload.equals(c.subarray(size - 5)), 'suffix over a real socket');

  for (const range of [`bytes=${size}-`, `bytes=${size}-${size + 10}`, 'bytes=99999-', 'bytes=-0']) {
    const res = await app.inject({ url: `/v1/bundles/${id}/files/0`, headers: { ...nl.headers, range } });
    expectProblem(t, res, 416, 'range_not_satisfiable', {}, range);
    t.equal(res.headers['content-range'], `bytes */${size}`, `${range}: Content-Range bytes */size`);
  }
  // Not a single valid byte range: the whole file.
  for (const range of ['bytes=5-3', 'bytes=0-1,4-5', 'lines=1-2']) {
    const res = await app.inject({ url: `/v1/bundles/${id}/files/0`, headers: { ...nl.headers, range } });
    t.equal(res.statusCode, 200, `${range}: ignored`);
    t.equal(res.rawPayload.length, size);
  }
  const entries = (await custodyOf(ta, id, nl.headers)).entries.map((e) => e.entry).filter((e) => e.type === 'file.downloaded' && e.data['range'] !== undefined);
  t.ok(entries.some((e) => e.data['range'] === '0-0'), 'ranged downloads are recorded with their range');
  t.ok(entries.every((e) => e.data['cipherSha256'] === file.cipherSha256));
});

t.test('auditors see metadata without a key wrap, never the ciphertext; denials recorded', async (t) => {
  for (const [who, headers] of [
    ['NL auditor', nlAuditor],
    ['operator auditor', opAuditor],
  ] as const) {
    const view = await app.inject({ url: `/v1/bundles/${id}`, headers });
    t.equal(view.statusCode, 200, `${who}: metadata`);
    t.equal(view.json().keyWrap, null, `${who}: no key wrap`);
    t.same(view.json().manifest, p.manifest, `${who}: the signed manifest`);
    const before = (await custodyOf(ta, id, nl.headers)).entries.length;
    const dl = await app.inject({ url: `/v1/bundles/${id}/files/0`, headers });
    t.ok(dl.statusCode === 403 || dl.statusCode === 404, `${who}: file refused (${dl.statusCode})`);
    t.notOk(dl.rawPayload.equals(c));
    const custody = await app.inject({ url: `/v1/bundles/${id}/custody`, headers });
    t.equal(custody.statusCode, 200, `${who}: custody`);
    t.ok(verifyCustody(custody.json(), app.custody.vkey).ok, `${who}: custody verifies`);
    const after = (await custodyOf(ta, id, nl.headers)).entries.map((e) => e.entry);
    const denied = after.slice(before).filter((e) => e.type === 'access.denied');
    t.equal(denied.length, 1, `${who}: the refused download is recorded`);
    t.match(denied[0], { actor: { sub: headers === nlAuditor ? 'aud-nl' : 'aud-op' }, data: { action: 'download' } });
  }
  // The owner's investigators get their jurisdiction's wrap.
  const owner = await app.inject({ url: `/v1/bundles/${id}`, headers: nl2.headers });
  t.same(owner.json().keyWrap, p.keyWraps[0], "another NL investigator gets NL's wrap");
  t.same(owner.json().releases, [], 'the owner sees the (empty) release list');
  const auditorView = await app.inject({ url: `/v1/bundles/${id}`, headers: opAuditor });
  t.notOk('releases' in auditorView.json() && auditorView.json().releases.length > 0);
});

t.test('other jurisdictions get 404 everywhere, the same as for an id that does not exist, and each denial is recorded', async (t) => {
  const unknown = '00000000-0000-4000-8000-000000000000';
  const before = (await custodyOf(ta, id, nl.headers)).entries.length;
  const attempts: Array<[string, Record<string, string>, string, string, Buffer?]> = [
    ['GET', de.headers, '', 'view'],
    ['GET', de.headers, '/files/0', 'download'],
    ['GET', { ...de.headers, range: 'bytes=0-0' }, '/files/0', 'download'],
    ['GET', de.headers, '/files/9', 'download'],
    ['GET', de.headers, '/custody', 'custody'],
    ['HEAD', de.headers, '/files/0', 'upload_offset'],
    ['PUT', { ...de.headers, 'content-type': 'application/octet-stream' }, '/files/0', 'upload', c],
    ['PATCH', { ...de.headers, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, '/files/0', 'upload', c],
    ['POST', de.headers, '/seal', 'seal'],
    ['GET', deRegistry, '/files/0', 'download'],
    ['GET', deAuditor, '', 'view'],
    ['GET', deAuditor, '/custody', 'custody'],
    ['GET', iccRegistry, '', 'view'],
    ['GET', iccRegistry, '/files/1', 'download'],
  ];
  for (const [method, headers, suffix, action, payload] of attempts) {
    const res = await app.inject({ method: method as 'GET', url: `/v1/bundles/${id}${suffix}`, headers, ...(payload ? { payload } : {}) });
    const ghost = await app.inject({ method: method as 'GET', url: `/v1/bundles/${unknown}${suffix}`, headers, ...(payload ? { payload } : {}) });
    t.equal(res.statusCode, 404, `${method} ${suffix || '/'} (${action}): 404`);
    t.equal(res.body.replaceAll(id, '<id>'), ghost.body.replaceAll(unknown, '<id>'), `${method} ${suffix || '/'}: same answer as for an unknown id`);
    t.same(
      Object.keys(res.headers).filter((h) => !['date', 'x-request-id', 'content-length'].includes(h)).sort(),
      Object.keys(ghost.headers).filter((h) => !['date', 'x-request-id', 'content-length'].includes(h)).sort(),
      'same headers',
    );
  }
  const entries = (await custodyOf(ta, id, nl.headers)).entries.slice(before).map((e) => e.entry);
  t.equal(entries.length, attempts.length, 'one entry per attempt');
  t.ok(entries.every((e) => e.type === 'access.denied' && e.data['reason'] === 'not_permitted'), 'all access.denied, not_permitted');
  t.same(
    entries.map((e) => [e.actor?.jurisdiction, e.data['action']]),
    attempts.map(([, headers, , action]) => [headers === iccRegistry ? 'ICC' : 'DE', action]),
    'each with the caller and the action',
  );
  const dl = await app.inject({ url: `/v1/bundles/${id}/files/0`, headers: nl.headers });
  t.equal(dl.statusCode, 200, 'the owner still downloads');
  const custody = await custodyOf(ta, id, nl.headers);
  t.ok(verifyCustody(custody, app.custody.vkey).ok, 'custody verifies');
});

t.test('files not yet received are not downloadable', async (t) => {
  const q = prepareBundle(nl, nlKeys, [pseudoRandom(3000, 3)]);
  const open = await createOpenBundle(ta, nl, q);
  const res = await app.inject({ url: `/v1/bundles/${open}/files/0`, headers: nl.headers });
  expectProblem(t, res, 404, 'not_found', {}, 'nothing uploaded');
  const half = await app.inject({ method: 'PATCH', url: `/v1/bundles/${open}/files/0`, headers: { ...nl.headers, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, payload: q.ciphertexts[0]!.subarray(0, 1000) });
  t.equal(half.statusCode, 204);
  const partial = await app.inject({ url: `/v1/bundles/${open}/files/0`, headers: { ...nl.headers, range: 'bytes=0-9' } });
  expectProblem(t, partial, 404, 'not_found', {}, 'half uploaded');
  const view = await app.inject({ url: `/v1/bundles/${open}`, headers: nl.headers });
  t.match(view.json(), { status: 'open', files: [{ n: 0, received: 1000 }] }, 'the view shows the received prefix');
});

t.test('GET /v1/bundles: own jurisdiction only, cursor pagination without gaps or repeats', async (t) => {
  // Some created one by one, some at once (they may share a transaction, and so a creation time).
  const made: string[] = [];
  for (let i = 0; i < 3; i++) made.push(await createOpenBundle(ta, i % 2 ? nl2 : nl, prepareBundle(i % 2 ? nl2 : nl, nlKeys, [pseudoRandom(10, 10 + i)])));
  made.push(...(await Promise.all(Array.from({ length: 6 }, (_, i) => createOpenBundle(ta, nl, prepareBundle(nl, nlKeys, [pseudoRandom(10, 20 + i)]))))));
  const deOwn = await createOpenBundle(ta, de, prepareBundle(de, { code: 'DE', box: nlKeys.box, keyVersion: 1 }, [pseudoRandom(10, 30)]));

  const all = await app.inject({ url: '/v1/bundles?limit=500', headers: nl.headers });
  t.equal(all.statusCode, 200);
  const everything = (all.json().items as Array<{ id: string; ownerJurisdiction: string; createdAt: string }>);
  t.equal(all.json().next, null, 'one page holds them all');
  t.ok(everything.every((b) => b.ownerJurisdiction === 'NL'), 'only NL bundles for NL');
  t.notOk(everything.some((b) => b.id === deOwn), "DE's bundle is not listed for NL");
  for (const m of [id, ...made]) t.ok(everything.some((b) => b.id === m), `lists ${m}`);
  const sorted = [...everything].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
  t.same(everything.map((b) => b.id), sorted.map((b) => b.id), 'in creation order, ties by id');

  for (const limit of [1, 2, 3, 4, 5]) {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/bundles?limit=${limit}${after ? `&after=${encodeURIComponent(after)}` : ''}`;
      const res = await app.inject({ url, headers: nlAuditor });
      t.equal(res.statusCode, 200);
      const body = res.json() as { items: Array<{ id: string }>; next: string | null };
      t.ok(body.items.length <= limit);
      if (body.next !== null) t.equal(body.items.length, limit, 'only the last page is short');
      seen.push(...body.items.map((b) => b.id));
      after = body.next;
      pages += 1;
    } while (after !== null && pages < 100);
    t.same(seen, everything.map((b) => b.id), `limit ${limit}: every bundle exactly once, in order, in ${pages} pages`);
  }

  const deList = await app.inject({ url: '/v1/bundles', headers: de.headers });
  t.same(deList.json().items.map((b: { id: string }) => b.id), [deOwn], 'DE lists its own only');
  const op = await app.inject({ url: '/v1/bundles', headers: opAuditor });
  t.equal(op.statusCode, 200);
  const icc = await app.inject({ url: '/v1/bundles', headers: iccRegistry });
  t.same(icc.json(), { items: [], next: null });

  const forged = (text: string): string => Buffer.from(text).toString('base64url');
  for (const [what, query] of [
    ['not a cursor', 'after=garbage'],
    ['cursor with a malformed id', `after=${forged(`2026-01-01T00:00:00.000Z|${'-'.repeat(36)}`)}`],
    ['cursor with a bad date', `after=${forged(`yesterday|${id}`)}`],
    ['cursor with February 30', `after=${forged(`2026-02-30T00:00:00.000000Z|${id}`)}`],
    ['cursor with hour 25', `after=${forged(`2026-02-03T25:00:00.000000Z|${id}`)}`],
    ['cursor with an upper-case id', `after=${forged(`2026-02-03T10:00:00.000000Z|${id.toUpperCase()}`)}`],
    ['cursor with extra parts', `after=${forged(`2026-02-03T10:00:00.000000Z|${id}|x`)}`],
    ['cursor with a millisecond time (the old format)', `after=${forged(`2026-02-03T10:00:00.000Z|${id}`)}`],
    ['cursor without a separator', `after=${forged(id)}`],
    ['limit 0', 'limit=0'],
    ['limit 501', 'limit=501'],
    ['limit not a number', 'limit=ten'],
    ['unknown parameter', 'offset=10'],
  ] as const) {
    const res = await app.inject({ url: `/v1/bundles?${query}`, headers: nl.headers });
    expectProblem(t, res, 400, 'validation_failed', {}, what);
  }
});
