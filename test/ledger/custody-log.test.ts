/**
 * The custody log on a real PostgreSQL: appends, group commit, proofs,
 * checkpoints, verification, and what an operator with full database access
 * can and cannot do undetected.
 */
import { spawn } from 'node:child_process';
import pg from 'pg';
import t from 'tap';
import { buildTestApp, registerJurisdictions, tempDir, type TestApp } from '../helpers/app.js';
import { createDatabase } from '../helpers/database.js';
import { CheckpointConsistencyError } from '../../services/ledger/custody-log.js';
import { entryLeafHashHex, type CustodyEntry } from '../../services/ledger/entry.js';
import { verifyConsistency, verifyInclusion } from '../../services/ledger/merkle.js';
import { verifyCheckpoint } from '../../services/ledger/note.js';
import { LeafHasherPool, verifyLogTexts } from '../../services/ledger/parallel-verify.js';
import { verifyConsistencyBetween, verifyCustody } from '../../services/ledger/verify.js';
import { canonicalize } from '../../services/shared/jcs.js';

async function superuser(ta: TestApp): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: ta.databaseUrl });
  await c.connect();
  return c;
}

async function appendMany(ta: TestApp, n: number, subjects = 3): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      ta.app.custody.run((tx) => ta.app.custody.append(tx, { type: 'test.appended', actor: null, subject: `test:s${i % subjects}`, data: { i } })),
    ),
  );
}

async function verifyReport(ta: TestApp): Promise<{ ok: boolean; size: number; checked: number; firstBad: { seq: number; reason: string } | null }> {
  const res = await ta.app.inject({ method: 'GET', url: '/v1/log/verify', headers: ta.auth('operator', ['auditor']) });
  if (res.statusCode !== 200) throw new Error(`verify: ${res.statusCode} ${res.body}`);
  return res.json();
}

t.test('appends form one gapless, chained log; HTTP actions record who did what', async (t) => {
  const ta = await buildTestApp(t);
  await registerJurisdictions(ta, [{ code: 'NL' }, { code: 'ICC', kind: 'tribunal' }]);
  await appendMany(ta, 50);
  const size = await ta.app.custody.size();
  t.equal(size, 52);
  const res = await ta.app.inject({ method: 'GET', url: `/v1/log/entries?start=0&end=${size}`, headers: ta.auth('NL', ['auditor']) });
  t.equal(res.statusCode, 200);
  const entries = res.json().entries as CustodyEntry[];
  t.equal(entries.length, size);
  const lastBySubject = new Map<string, string>();
  entries.forEach((e, i) => {
    t.equal(e.seq, i, 'seq is the position');
    t.equal(e.prev, i === 0 ? '0'.repeat(64) : entryLeafHashHex(entries[i - 1]!), 'prev links to the previous entry');
    t.equal(e.subjectPrev, lastBySubject.get(e.subject) ?? null, 'subjectPrev links within the subject');
    lastBySubject.set(e.subject, entryLeafHashHex(e));
  });
  t.match(entries[0], { type: 'jurisdiction.registered', subject: 'jurisdiction:NL', actor: { iss: 'https://operator.example', jurisdiction: null }, data: { code: 'NL' } });
  const report = await verifyReport(ta);
  t.same(report, { ok: true, size, checked: size, firstBad: null });
});

t.test('group commit: concurrent units share transactions, and a failing unit leaves no trace', async (t) => {
  const ta = await buildTestApp(t);
  const before = { ...ta.app.custody.writer.stats };
  const results = await Promise.allSettled(
    Array.from({ length: 200 }, (_, i) =>
      ta.app.custody.run(async (tx) => {
        await ta.app.custody.append(tx, { type: 'test.appended', actor: null, subject: `test:g${i % 5}`, data: { i } });
        if (i % 10 === 3) throw new Error(`unit ${i} fails after appending`);
        await ta.app.custody.append(tx, { type: 'test.second', actor: null, subject: `test:g${i % 5}`, data: { i } });
      }),
    ),
  );
  const failed = results.filter((r) => r.status === 'rejected').length;
  t.equal(failed, 20);
  t.equal(await ta.app.custody.size(), 180 * 2, 'only the successful units appended, two entries each');
  const stats = ta.app.custody.writer.stats;
  t.ok(stats.batches - before.batches < stats.units - before.units, `batched: ${stats.units - before.units} units in ${stats.batches - before.batches} transactions`);
  t.same((await verifyReport(ta)).firstBad, null);
});

t.test('proofs from the API verify against signed checkpoints', async (t) => {
  const ta = await buildTestApp(t);
  await appendMany(ta, 37);
  const vkey = (await ta.app.inject({ url: '/v1/log/key' })).body.trim();
  t.match(vkey, /^evx\.local\/custody-log\+[0-9a-f]{8}\+/);
  const first = await ta.app.custody.publishCheckpoint();
  t.equal(first.size, 37);
  await appendMany(ta, 30);
  const note = (await ta.app.inject({ url: '/v1/log/checkpoint' })).body;
  const cp = verifyCheckpoint(note, vkey, { origin: 'evx.local/custody-log' });
  t.ok(cp.size >= 37);
  const latest = await ta.app.custody.publishCheckpoint();
  t.equal(latest.size, 67);
  const cp2 = verifyCheckpoint(latest.note, vkey);
  const entries = (await ta.app.custody.entries(0, 67)).map((e) => e.entry);
  for (const seq of [0, 1, 36, 37, 66]) {
    const res = await ta.app.inject({ url: `/v1/log/proofs/inclusion?seq=${seq}&size=67`, headers: ta.auth('operator', ['auditor']) });
    t.equal(res.statusCode, 200);
    const proof = res.json() as { leafIndex: number; treeSize: number; hashes: string[] };
    t.ok(verifyInclusion(seq, 67, Buffer.from(entryLeafHashHex(entries[seq]!), 'hex'), proof.hashes.map((h) => Buffer.from(h, 'hex')), cp2.rootHash), `inclusion of ${seq}`);
  }
  const res = await ta.app.inject({ url: '/v1/log/proofs/consistency?from=37&to=67' });
  t.equal(res.statusCode, 200);
  const proof = res.json() as { hashes: string[] };
  t.ok(verifyConsistency(37, 67, proof.hashes.map((h) => Buffer.from(h, 'hex')), first.rootHash, cp2.rootHash));
  t.ok(verifyConsistencyBetween(first.note, latest.note, proof.hashes, vkey).ok, 'the auditor-side check agrees');
  // Bounds and access.
  t.equal((await ta.app.inject({ url: '/v1/log/proofs/consistency?from=10&to=9999' })).statusCode, 400);
  t.equal((await ta.app.inject({ url: '/v1/log/proofs/inclusion?seq=5&size=3', headers: ta.auth('operator', ['auditor']) })).statusCode, 400);
  t.equal((await ta.app.inject({ url: '/v1/log/proofs/inclusion?seq=1&size=3', headers: ta.auth('NL', ['investigator']) })).statusCode, 403);
  t.equal((await ta.app.inject({ url: '/v1/log/entries?start=0&end=1001', headers: ta.auth('operator', ['auditor']) })).statusCode, 400);
  t.equal((await ta.app.inject({ url: '/v1/log/entries?start=0&end=5' })).statusCode, 401);
});

t.test("a subject's custody comes with inclusion proofs that verify offline", async (t) => {
  const ta = await buildTestApp(t);
  await registerJurisdictions(ta, [{ code: 'NL' }]);
  await appendMany(ta, 20);
  const put = await ta.app.inject({ method: 'PUT', url: '/v1/jurisdictions/NL/keys', headers: ta.auth('operator', ['admin']), payload: { boxPublicKey: Buffer.alloc(32, 9).toString('base64') } });
  t.equal(put.statusCode, 201);
  const custody = await ta.app.custody.custodyOf('jurisdiction:NL');
  t.equal(custody.entries.length, 2);
  const verdict = verifyCustody(custody, ta.app.custody.vkey);
  t.ok(verdict.ok, verdict.firstProblem?.reason ?? 'ok');
  t.equal(verifyCheckpoint(custody.checkpoint, ta.app.custody.vkey).size, 22, 'a checkpoint covering the last entry was published on demand');
});

t.test('checkpoints are published on the interval, stored, and never forked', async (t) => {
  const ta = await buildTestApp(t);
  await appendMany(ta, 5);
  let rows: Array<{ size: string }> = [];
  for (let i = 0; i < 100 && !rows.some((r) => Number(r.size) === 5); i++) {
    await new Promise((r) => setTimeout(r, 20));
    const c = await superuser(ta);
    rows = (await c.query<{ size: string }>('SELECT size FROM log_checkpoints ORDER BY size')).rows;
    await c.end();
  }
  t.ok(rows.some((r) => Number(r.size) === 5), 'the publisher signed a checkpoint of the grown log');

  // An operator forges a checkpoint row at a bigger size with another root: the publisher refuses to extend it.
  await appendMany(ta, 3);
  const c = await superuser(ta);
  t.teardown(() => c.end());
  const latest = await ta.app.custody.publishCheckpoint();
  await c.query('ALTER TABLE log_checkpoints DISABLE TRIGGER ALL');
  await c.query(`INSERT INTO log_checkpoints (size, root_hash, note) VALUES ($1, $2, 'forged')`, [latest.size, Buffer.alloc(32, 1)]).catch(() => undefined);
  await c.query('UPDATE log_checkpoints SET root_hash = $1 WHERE size = $2', [Buffer.alloc(32, 1), latest.size]);
  await appendMany(ta, 2);
  await t.rejects(ta.app.custody.publishCheckpoint(), CheckpointConsistencyError);
});

t.test('the log tables are append-only, even under session_replication_role = replica', async (t) => {
  const ta = await buildTestApp(t);
  await appendMany(ta, 3);
  await ta.app.custody.publishCheckpoint();
  const c = await superuser(ta);
  t.teardown(() => c.end());
  await c.query('SET session_replication_role = replica');
  for (const stmt of [
    `UPDATE log_entries SET type = 'x' WHERE seq = 1`,
    'DELETE FROM log_entries WHERE seq = 2',
    'TRUNCATE log_entries',
    'UPDATE log_nodes SET hash = hash',
    'DELETE FROM log_nodes',
    'TRUNCATE log_nodes CASCADE',
    `UPDATE log_checkpoints SET note = 'x'`,
    'DELETE FROM log_checkpoints',
    'TRUNCATE log_checkpoints',
    'UPDATE log_head SET size = 0',
    'DELETE FROM log_head',
    'TRUNCATE log_head',
  ]) {
    await t.rejects(c.query(stmt), /append-only|refused|cannot move backwards/, stmt);
  }
  t.equal(await ta.app.custody.size(), 3);
});

t.test('the service role can append but not alter, disable triggers or replicate', async (t) => {
  const url = await createDatabase(t);
  const login = `evx_t_login_${process.pid}_${Date.now() % 100000}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE ROLE ${login} LOGIN PASSWORD 'pw' IN ROLE evx_service`);
  t.teardown(async () => {
    await admin.query(`DROP ROLE IF EXISTS ${login}`).catch(() => undefined);
    await admin.end();
  });
  const u = new URL(url);
  u.username = login;
  u.password = 'pw';
  const serviceUrl = u.toString();
  // The whole app works as that role...
  const ta = await buildTestApp(t, {}, serviceUrl);
  t.teardown(async () => {
    await ta.app.close();
    // Objects are owned by the superuser; the role itself holds only grants.
    await admin.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${login}`).catch(() => undefined);
  });
  await registerJurisdictions(ta, [{ code: 'NL' }]);
  await appendMany(ta, 4);
  await ta.app.custody.publishCheckpoint();
  t.same((await verifyReport(ta)).firstBad, null);
  // ...and cannot touch history.
  const c = new pg.Client({ connectionString: serviceUrl });
  await c.connect();
  t.teardown(() => c.end());
  for (const [stmt, why] of [
    [`UPDATE log_entries SET type = 'x'`, /permission denied/],
    ['DELETE FROM log_entries', /permission denied/],
    ['TRUNCATE log_entries', /permission denied/],
    ['DELETE FROM log_checkpoints', /permission denied/],
    ['ALTER TABLE log_entries DISABLE TRIGGER ALL', /must be owner|permission denied/],
    ['DROP TRIGGER log_entries_append_only ON log_entries', /must be owner|permission denied/],
    ['SET session_replication_role = replica', /permission denied/],
    ['UPDATE log_head SET size = 0', /cannot move backwards/],
  ] as const) {
    await t.rejects(c.query(stmt), why, stmt);
  }
});

/** Tampering by a superuser who disabled the triggers: each must be detected, naming the altered entry. */
t.test('tampering with full database access is detected and located', async (t) => {
  const cases: Array<{ name: string; expectSeq: number; tamper: (c: pg.Client) => Promise<void> }> = [];
  const rewrite = (seq: number, change: (e: Record<string, unknown>) => void) => async (c: pg.Client) => {
    const row = (await c.query<{ canonical: Buffer }>('SELECT canonical FROM log_entries WHERE seq = $1', [seq])).rows[0]!;
    const e = JSON.parse(row.canonical.toString()) as Record<string, unknown>;
    change(e);
    await c.query('UPDATE log_entries SET canonical = $1 WHERE seq = $2', [Buffer.from(canonicalize(e)), seq]);
  };
  for (const field of ['time', 'type', 'actor', 'subject', 'data', 'subjectPrev', 'prev'] as const) {
    for (const seq of [0, 17, 29]) {
      cases.push({
        name: `field ${field} of entry ${seq}`,
        expectSeq: seq,
        tamper: rewrite(seq, (e) => {
          if (field === 'time') e['time'] = '2020-01-01T00:00:00.000Z';
          else if (field === 'type') e['type'] = 'test.rewritten';
          else if (field === 'actor') e['actor'] = { iss: 'x', sub: 'y', jurisdiction: 'DE' };
          else if (field === 'subject') e['subject'] = 'test:elsewhere';
          else if (field === 'data') e['data'] = { i: 999 };
          else if (field === 'subjectPrev') e['subjectPrev'] = 'ab'.repeat(32);
          else e['prev'] = 'cd'.repeat(32);
        }),
      });
    }
  }
  cases.push({ name: 'delete entry 12', expectSeq: 12, tamper: async (c) => void (await c.query('DELETE FROM log_entries WHERE seq = 12')) });
  cases.push({
    name: 'swap entries 8 and 9',
    expectSeq: 8,
    tamper: async (c) => {
      await c.query('UPDATE log_entries SET seq = 1000000 WHERE seq = 8');
      await c.query('UPDATE log_entries SET seq = 8 WHERE seq = 9');
      await c.query('UPDATE log_entries SET seq = 9 WHERE seq = 1000000');
    },
  });
  cases.push({ name: 'truncate the tail after a checkpoint', expectSeq: 25, tamper: async (c) => void (await c.query('DELETE FROM log_entries WHERE seq >= 25')) });

  const ta = await buildTestApp(t);
  // A checkpoint after every append (as a busy log gets one per interval): the last entry is then
  // pinned by the checkpoint just before it, so even its alteration can be located exactly.
  for (let i = 0; i < 30; i++) {
    await ta.app.custody.run((tx) => ta.app.custody.append(tx, { type: 'test.appended', actor: null, subject: `test:s${i % 4}`, data: { i } }));
    await ta.app.custody.publishCheckpoint();
  }
  const c = await superuser(ta);
  t.teardown(() => c.end());
  const pool = new LeafHasherPool(2);
  t.teardown(() => pool.close());
  await c.query('ALTER TABLE log_entries DISABLE TRIGGER ALL');
  for (const k of cases) {
    await c.query('BEGIN');
    await k.tamper(c);
    // Read the tampered state inside the same transaction through the same verifier the route uses.
    const rows = (await c.query<{ canonical: Buffer }>('SELECT canonical FROM log_entries ORDER BY seq')).rows;
    const notes = (await c.query<{ note: string }>('SELECT note FROM log_checkpoints')).rows.map((r) => r.note);
    await c.query('ROLLBACK');
    const { verifyLog } = await import('../../services/ledger/verify.js');
    const report = verifyLog(ta.app.custody.vkey, notes, rows.map((r) => JSON.parse(r.canonical.toString()) as unknown));
    t.equal(report.ok, false, `${k.name}: detected`);
    t.equal(report.firstBad?.seq, k.expectSeq, `${k.name}: first bad seq (${report.firstBad?.reason ?? ''})`);
    // The worker-thread verifier (used for big logs) reaches the same verdict from the stored texts.
    const parallel = await verifyLogTexts(ta.app.custody.vkey, notes, [{ texts: rows.map((r) => r.canonical.toString()) }], { pool });
    t.same(parallel, report, `${k.name}: parallel verification agrees`);
  }
  // And through the HTTP route, with the tampering committed.
  await rewrite(17, (e) => (e['data'] = { i: -1 }))(c);
  const report = await verifyReport(ta);
  t.equal(report.ok, false);
  t.equal(report.firstBad?.seq, 17);
});

t.test('with sparse checkpoints the server still pins an entry edited in place by its stored leaf hash', async (t) => {
  const ta = await buildTestApp(t);
  await appendMany(ta, 20);
  await ta.app.custody.publishCheckpoint();
  const c = await superuser(ta);
  t.teardown(() => c.end());
  await c.query('ALTER TABLE log_entries DISABLE TRIGGER ALL');
  const row = (await c.query<{ canonical: Buffer }>('SELECT canonical FROM log_entries WHERE seq = 19')).rows[0]!;
  const e = JSON.parse(row.canonical.toString()) as Record<string, unknown>;
  e['data'] = { i: 'rewritten' };
  await c.query('UPDATE log_entries SET canonical = $1 WHERE seq = 19', [Buffer.from(canonicalize(e))]);
  const report = await verifyReport(ta);
  t.equal(report.ok, false);
  t.equal(report.firstBad?.seq, 19);
  t.match(report.firstBad?.reason ?? '', /altered in place/);
  t.same(await ta.app.custody.verify({ parallelFrom: 0, batchSize: 7 }), report, 'the worker-thread path, in small batches, agrees');
});

t.test('a forked checkpoint (same size, other root) is detected', async (t) => {
  const ta = await buildTestApp(t);
  await appendMany(ta, 10);
  const good = await ta.app.custody.publishCheckpoint();
  const c = await superuser(ta);
  t.teardown(() => c.end());
  // The operator (holding the log key) re-signs a different tree of the same size.
  const { formatCheckpoint, signNote } = await import('../../services/ledger/note.js');
  const { readFileSync } = await import('node:fs');
  const signer = readFileSync(`${ta.dataDir}/log-signing-key`, 'utf8').trim();
  const forged = signNote(formatCheckpoint({ origin: 'evx.local/custody-log', size: good.size, rootHash: Buffer.alloc(32, 7) }), signer);
  await c.query('ALTER TABLE log_checkpoints DISABLE TRIGGER ALL');
  await c.query('UPDATE log_checkpoints SET note = $1, root_hash = $2 WHERE size = $3', [forged, Buffer.alloc(32, 7), good.size]);
  const report = await verifyReport(ta);
  t.equal(report.ok, false);
  t.match(report.firstBad?.reason ?? '', /root|checkpoint/i);
  // An auditor holding the genuine checkpoint sees the split view too.
  t.equal(verifyConsistencyBetween(good.note, forged, [], ta.app.custody.vkey).ok, false);
});

function runWorker(url: string, dataDir: string, concurrency: number, count: string, tag: string): { done: Promise<number>; ready: Promise<void>; kill: () => void } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/append-worker.ts', url, dataDir, String(concurrency), count, tag], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let readyResolve: () => void = () => {};
  const ready = new Promise<void>((r) => (readyResolve = r));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready')) readyResolve();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<number>((resolve, reject) =>
    child.on('close', (code, signal) => {
      const m = /done (\d+)/.exec(out);
      if (code === 0 && m) resolve(Number(m[1]));
      else if (signal === 'SIGKILL') resolve(-1);
      else reject(new Error(`worker ${tag} exited ${code ?? signal}: ${err}`));
    }),
  );
  return { done, ready, kill: () => child.kill('SIGKILL') };
}

t.test('64 concurrent appenders in two service processes keep one linear log', async (t) => {
  const url = await createDatabase(t);
  const dataDir = tempDir(t);
  const a = runWorker(url, dataDir, 32, '15', 'a');
  const b = runWorker(url, dataDir, 32, '15', 'b');
  const [na, nb] = await Promise.all([a.done, b.done]);
  t.equal(na + nb, 64 * 15);
  const ta = await buildTestApp(t, { EVX_LOG_ORIGIN: 'evx.test/log' }, url);
  // The app's data dir differs: share the workers' log key so checkpoints are by the same key.
  t.equal(await ta.app.custody.size(), 960);
  const c = await superuser(ta);
  t.teardown(() => c.end());
  const seqs = (await c.query<{ n: string; min: string; max: string }>('SELECT count(DISTINCT seq) AS n, min(seq) AS min, max(seq) AS max FROM log_entries')).rows[0]!;
  t.same([Number(seqs.n), Number(seqs.min), Number(seqs.max)], [960, 0, 959], 'no gaps, no duplicates');
  await ta.app.custody.publishCheckpoint();
  t.same((await verifyReport(ta)).firstBad, null, 'the log verifies');
});

t.test('SIGKILL in the middle of appends leaves a log that verifies', async (t) => {
  const url = await createDatabase(t);
  const dataDir = tempDir(t);
  const w = runWorker(url, dataDir, 16, 'forever', 'k');
  await w.ready;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  t.teardown(() => c.end());
  for (let i = 0; i < 200; i++) {
    const n = Number((await c.query<{ size: string }>('SELECT size FROM log_head')).rows[0]!.size);
    if (n >= 300) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  w.kill();
  await w.done;
  const ta = await buildTestApp(t, { EVX_LOG_ORIGIN: 'evx.test/log' }, url);
  const size = await ta.app.custody.size();
  t.ok(size >= 300, `appended ${size} before the kill`);
  const count = Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM log_entries')).rows[0]!.n);
  t.equal(count, size, 'the head and the entries agree: no half-written append');
  await ta.app.custody.publishCheckpoint();
  t.same((await verifyReport(ta)).firstBad, null);
  // And appending continues where it stopped.
  await appendMany(ta, 3);
  t.equal(await ta.app.custody.size(), size + 3);
  t.same((await verifyReport(ta)).firstBad, null);
});
