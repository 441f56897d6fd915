/**
 * The service as a user runs it: `services/server.ts` in a child process,
 * on the embedded PostgreSQL (no DATABASE_URL) or on a given one. Start,
 * readiness, dev tokens, persistence across restarts, clean shutdown on
 * signals and on a failed start (no PostgreSQL left behind), config errors.
 *
 * Every child boots the whole service through tsx (seconds of CPU), so the
 * cheap checks run while a shutdown's grace period leaves the CPU idle.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import t, { type Test } from 'tap';
import nacl from 'tweetnacl';
import { loadOrCreateDevIssuer, mintEdDSAToken } from '../../services/auth/dev-issuer.js';
import { ed25519Generate } from '../../services/shared/ed25519.js';
import { tempDir, testIssuers } from '../helpers/app.js';
import { createDatabase } from '../helpers/database.js';
import { freePort } from '../../services/shared/os-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const execFileAsync = promisify(execFile);

/** The parent's environment without anything that configures evx (tap's DATABASE_URL in particular). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'DATABASE_URL' || k === 'PORT' || k === 'HOST' || k === 'LOG_LEVEL' || k.startsWith('EVX_') || k.startsWith('TAP')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

interface Service {
  child: ChildProcess;
  port: number;
  base: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startServer(t: { teardown(fn: () => unknown): void }, env: Record<string, string>, port: number): Service {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/server.ts'], { cwd: root, env: cleanEnv({ PORT: String(port), ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  // Never leave a server running if an assertion fails midway.
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  return { child, port, base: `http://127.0.0.1:${port}`, output: () => out, exited };
}

/** Wait until GET /readyz answers 200 or the deadline passes; the elapsed time is returned either way. */
async function waitReady(s: Service, since: number, deadlineMs: number): Promise<{ ready: boolean; ms: number }> {
  const deadline = since + deadlineMs;
  while (Date.now() < deadline) {
    if (s.child.exitCode !== null) break;
    try {
      const res = await fetch(`${s.base}/readyz`);
      if (res.status === 200) return { ready: true, ms: Date.now() - since };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ready: false, ms: Date.now() - since };
}

/** Processes whose command line mentions `dir` (a postmaster runs as `postgres -D <dir>/postgres …`). */
async function processesUsing(dir: string): Promise<string[]> {
  const { stdout } = await execFileAsync('ps', ['-eo', 'pid,args']);
  return stdout
    .split('\n')
    .filter((l) => l.includes(dir) && /postgres/.test(l))
    .map((l) => l.trim());
}

/** Mint through the real script, as `npm run token` does. */
async function tokenScript(dataDir: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, ['--import', 'tsx', 'scripts/token.ts', ...args], { cwd: root, env: cleanEnv({ EVX_DATA_DIR: dataDir, ...env }) }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}

/** Mint in-process from the same development issuer file (cheaper than a child process). */
function devToken(dataDir: string, claims: { jurisdiction?: string; roles: string[]; sub?: string }): string {
  const dev = loadOrCreateDevIssuer(dataDir);
  return mintEdDSAToken(dev.issuer, dev.privateKeyPem, { sub: claims.sub ?? 'tester', roles: claims.roles, audience: 'evx', ...(claims.jurisdiction ? { jurisdiction: claims.jurisdiction } : {}) });
}

async function runToExit(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/server.ts'], { cwd: root, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

const top = t;
const dataDir = tempDir(t, 'evx-server-');
/** Checks that need no embedded database, started while the CPU is idle (see the second test). */
type ScriptRun = { code: number; stdout: string; stderr: string };
let background: {
  dbUrl: Service;
  dbUrlDir: string;
  databaseUrl: string;
  configErrors: Promise<Array<{ code: number | null; out: string }>>;
  tokenRefusals: Promise<ScriptRun[]>;
} | null = null;

/** Token script runs that must be refused (see the last test). */
function tokenRefusals(dir: string): Promise<ScriptRun[]> {
  const configured = JSON.stringify([{ issuer: 'x', jurisdiction: 'NL', publicKey: testIssuers().NL.publicKeyPem, algorithms: ['EdDSA'] }]);
  return Promise.all([
    tokenScript(dir, ['--jurisdiction', 'nl', '--roles', 'investigator']),
    tokenScript(dir, ['--jurisdiction', 'NL', '--roles', 'admin']),
    tokenScript(dir, ['--roles', 'investigator,superuser']),
    tokenScript(dir, ['--jurisdiction', 'NL'], { EVX_ENV: 'production', EVX_ISSUERS: '[]', EVX_LOG_ORIGIN: 'x.example/log' }),
    tokenScript(dir, ['--jurisdiction', 'NL'], { EVX_ISSUERS: configured }),
  ]);
}

t.test('embedded PostgreSQL: ready, npm run token works, SIGTERM leaves nothing behind', async (t) => {
  const spawned = Date.now();
  const s = startServer(t, { EVX_DATA_DIR: dataDir }, await freePort());
  // Readiness time is measured and reported, not asserted (no timing asserts in tests): the issue's
  // 15 s is a figure for the README, and a busy CI machine must not turn it into a red run.
  const eventually = await waitReady(s, spawned, 120_000);
  t.comment(`first start (initdb included) ready after ${eventually.ms} ms (target 15,000 ms)`);
  t.ok(eventually.ready, `GET /readyz answered 200 after a first start\n${eventually.ready ? '' : s.output()}`);
  if (!eventually.ready) return;

  t.equal((await fetch(`${s.base}/healthz`)).status, 200);
  t.ok(existsSync(path.join(dataDir, 'postgres', 'PG_VERSION')), 'the cluster lives in EVX_DATA_DIR/postgres');
  t.ok((await processesUsing(dataDir)).length > 0, 'a postgres process runs on the data directory');
  t.match(s.output(), /DEVELOPMENT ISSUER IN USE/, 'the development issuer is announced loudly');

  const minted = await tokenScript(dataDir, ['--jurisdiction', 'NL', '--roles', 'investigator']);
  t.equal(minted.code, 0, minted.stderr);
  const token = minted.stdout.trim();
  t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'the script prints one JWT');
  let res = await fetch(`${s.base}/v1/jurisdictions`, { headers: { authorization: `Bearer ${token}` } });
  t.equal(res.status, 200, 'the running server accepts the minted token');
  res = await fetch(`${s.base}/v1/jurisdictions`, { headers: { authorization: `Bearer ${token.slice(0, -3)}AAA` } });
  t.equal(res.status, 401, 'and refuses a tampered one');

  res = await fetch(`${s.base}/v1/jurisdictions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${devToken(dataDir, { roles: ['admin'] })}`, 'content-type': 'application/json' },
    body: JSON.stringify({ code: 'NL', name: 'Netherlands', kind: 'state' }),
  });
  t.equal(res.status, 201, 'an operator admin token registers a jurisdiction');
  // The service runs as a role that owns nothing: the foundation writes must work with its grants.
  const nlOfficer = devToken(dataDir, { jurisdiction: 'NL', roles: ['agreement_officer'], sub: 'nl-officer' });
  res = await fetch(`${s.base}/v1/jurisdictions/NL/keys`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${nlOfficer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ boxPublicKey: Buffer.from(nacl.box.keyPair().publicKey).toString('base64') }),
  });
  t.equal(res.status, 201, `a key version is added under the service role: ${await res.text()}`);
  res = await fetch(`${s.base}/v1/officers/me/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${nlOfficer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ publicKey: ed25519Generate().publicKey.toString('base64') }),
  });
  t.equal(res.status, 201, `an officer key is registered under the service role: ${await res.text()}`);

  s.child.kill('SIGTERM');
  t.same(await s.exited, { code: 0, signal: null }, 'SIGTERM: exit code 0');
  t.same(await processesUsing(dataDir), [], 'no postgres process is left on the data directory');
  t.notOk(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')), 'the cluster was shut down cleanly');
});

t.test('a second start on the same data directory keeps the data; SIGINT stops it even with a request stuck in flight', async (t) => {
  const s = startServer(t, { EVX_DATA_DIR: dataDir }, await freePort());
  const again = await waitReady(s, Date.now(), 60_000);
  t.ok(again.ready, `ready again\n${again.ready ? '' : s.output()}`);
  if (!again.ready) return;
  const auditor = devToken(dataDir, { jurisdiction: 'DE', roles: ['auditor'] });
  const res = await fetch(`${s.base}/v1/jurisdictions`, { headers: { authorization: `Bearer ${auditor}` } });
  t.equal(res.status, 200);
  const body = (await res.json()) as { items: Array<{ code: string; name: string }> };
  t.match(body.items, [{ code: 'NL', name: 'Netherlands' }], 'the jurisdiction registered before the restart is still there');
  const entries = await fetch(`${s.base}/v1/log/entries?start=0&end=1`, { headers: { authorization: `Bearer ${auditor}` } });
  t.equal(entries.status, 200, 'and so is its custody entry');
  t.match(await entries.json(), { entries: [{ type: 'jurisdiction.registered', subject: 'jurisdiction:NL' }] });
  const nl = (await (await fetch(`${s.base}/v1/jurisdictions/NL`, { headers: { authorization: `Bearer ${auditor}` } })).json()) as { keys: unknown[] };
  t.equal(nl.keys.length, 1, 'the key version too');

  // A client that sent its headers and part of its body, then stalled: the shutdown gives it a grace period, then cuts it.
  const stuck = connect(s.port, '127.0.0.1');
  stuck.on('error', () => undefined);
  let stuckClosed = false;
  stuck.on('close', () => (stuckClosed = true));
  stuck.write(
    `POST /v1/jurisdictions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${devToken(dataDir, { roles: ['admin'] })}\r\nX-Request-Id: stuck-upload\r\n` +
      'Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{"code": "SE", ',
  );
  const seen = Date.now() + 10_000;
  while (Date.now() < seen && !s.output().includes('"reqId":"stuck-upload"')) await new Promise((r) => setTimeout(r, 20));
  t.match(s.output(), '"reqId":"stuck-upload"', 'the stalled request reached the service');

  s.child.kill('SIGINT');
  // The grace period leaves the CPU idle: boot the DATABASE_URL service and the config-error runs meanwhile.
  // They belong to the whole file (top), not to this subtest, whose teardown would stop them.
  const databaseUrl = await createDatabase(top, { migrate: false });
  const dbUrlDir = tempDir(top, 'evx-server-url-');
  background = {
    databaseUrl,
    dbUrlDir,
    dbUrl: startServer(top, { EVX_DATA_DIR: dbUrlDir, DATABASE_URL: databaseUrl }, await freePort()),
    configErrors: Promise.all([
      runToExit({ EVX_DATA_DIR: tempDir(top), EVX_ENV: 'production', EVX_LOG_ORIGIN: 'evx.example.org/log', PORT: '0' }),
      runToExit({ EVX_DATA_DIR: tempDir(top), PORT: 'eighty' }),
    ]),
    tokenRefusals: tokenRefusals(tempDir(top)),
  };

  t.same(await s.exited, { code: 0, signal: null }, 'SIGINT: exit code 0, not the forced exit');
  t.match(s.output(), /requests still in flight after \d+ ms; closing their connections/);
  t.same(await processesUsing(dataDir), [], 'no postgres process is left');
  await new Promise((r) => setTimeout(r, 50));
  t.ok(stuckClosed || stuck.destroyed, 'the stalled connection was closed by the service');
  stuck.destroy();
});

t.test('with DATABASE_URL it uses that server, not an embedded one', async (t) => {
  if (!background) return t.fail('the previous test did not start the DATABASE_URL service');
  const { dbUrl: s, dbUrlDir, databaseUrl } = background;
  const ready = await waitReady(s, Date.now(), 60_000);
  t.ok(ready.ready, `ready on DATABASE_URL\n${ready.ready ? '' : s.output()}`);
  if (!ready.ready) return;
  t.notOk(existsSync(path.join(dbUrlDir, 'postgres')), 'no embedded cluster was created');
  t.same(await processesUsing(dbUrlDir), []);
  const res = await fetch(`${s.base}/v1/jurisdictions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${devToken(dbUrlDir, { roles: ['admin'] })}`, 'content-type': 'application/json' },
    body: JSON.stringify({ code: 'ICC', name: 'International Criminal Court', kind: 'tribunal' }),
  });
  t.equal(res.status, 201);
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const rows = (await c.query<{ code: string }>('SELECT code FROM jurisdictions')).rows;
    t.same(rows, [{ code: 'ICC' }], 'the service migrated and wrote to the DATABASE_URL database');
  } finally {
    await c.end();
  }
  s.child.kill('SIGTERM');
  t.same(await s.exited, { code: 0, signal: null });
});

t.test('configuration errors: production without issuers, a bad PORT', async (t) => {
  if (!background) return t.fail('the previous test did not start the runs');
  const [production, badPort] = (await background.configErrors) as [{ code: number | null; out: string }, { code: number | null; out: string }];
  t.equal(production.code, 2, 'production without issuers does not start');
  t.match(production.out, /EVX_ISSUERS or EVX_ISSUERS_FILE is required when EVX_ENV=production/, 'the message names EVX_ISSUERS');
  t.equal(badPort.code, 2, 'a bad PORT exits 2');
  t.match(badPort.out, /PORT: "eighty" is not a port number/);
  for (const r of [production, badPort]) t.notMatch(r.out, /\n\s+at /, 'a message, not a stack trace');
});

t.test('a start that fails after the database started (port taken) stops the database and exits non-zero', async (t) => {
  const port = await freePort();
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const s = startServer(t, { EVX_DATA_DIR: dataDir }, port);
  const exit = await s.exited;
  t.equal(exit.code, 1, 'exit code 1');
  t.match(s.output(), /embedded PostgreSQL listening/, 'the database had been started');
  t.match(s.output(), /EADDRINUSE|address already in use/i, 'the reason is in the log');
  t.same(await processesUsing(dataDir), [], 'the embedded database was stopped');
});

t.test('SIGTERM while starting still stops the embedded database', async (t) => {
  const s = startServer(t, { EVX_DATA_DIR: dataDir }, await freePort());
  // Wait until the postmaster is up (the service is then migrating or building the app), then stop.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && s.child.exitCode === null && !s.output().includes('embedded PostgreSQL listening')) await new Promise((r) => setTimeout(r, 20));
  t.ok((await processesUsing(dataDir)).length > 0, 'the database was started');
  s.child.kill('SIGTERM');
  t.same(await s.exited, { code: 0, signal: null });
  t.same(await processesUsing(dataDir), [], 'no postgres process is left');
});

/** A bare embedded PostgreSQL in a child process: prints `started <url>` or `failed: <message>`; SIGTERM stops it. */
const EMBEDDED_SCRIPT = `
import { startEmbeddedPostgres } from './services/db/embedded.ts';
try {
  const e = await startEmbeddedPostgres({ dataDir: process.argv[1] });
  process.on('SIGTERM', () => e.stop().then(() => process.exit(0)));
  console.log('started ' + e.url);
  setInterval(() => {}, 60_000);
} catch (err) {
  console.log('failed: ' + err.message);
  process.exit(1);
}`;

function startEmbeddedChild(t: Test, dir: string): { child: ChildProcess; line: Promise<string>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', EMBEDDED_SCRIPT, dir], { cwd: root, env: cleanEnv({}), stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const line = new Promise<string>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('exit', () => resolve(out.split('\n')[0] ?? ''));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  return { child, line, exited };
}

t.test('two processes on one data directory at once: one is refused, the other keeps its database', async (t) => {
  // Start from a stale claim: the owner file of a process that no longer exists.
  const dead = spawn(process.execPath, ['-e', '0']);
  const deadPid = dead.pid!;
  await new Promise((r) => dead.on('exit', r));
  writeFileSync(path.join(dataDir, 'postgres.owner'), `${deadPid}\n`);

  const a = startEmbeddedChild(t, dataDir);
  const b = startEmbeddedChild(t, dataDir);
  const lines = await Promise.all([a.line, b.line]);
  const winners = lines.filter((l) => l.startsWith('started '));
  const losers = lines.filter((l) => l.startsWith('failed: '));
  t.equal(winners.length, 1, `exactly one starts: ${JSON.stringify(lines)}`);
  t.equal(losers.length, 1, 'the other is refused');
  t.match(losers[0] ?? '', /is in use by process \d+; stop it first or use another EVX_DATA_DIR/, 'with a clear message');
  const winner = lines[0]!.startsWith('started ') ? a : b;
  const loser = winner === a ? b : a;
  t.equal(await loser.exited, 1);

  const c = new pg.Client({ connectionString: winners[0]!.slice('started '.length) });
  await c.connect();
  t.same((await c.query('SELECT 1 AS one')).rows, [{ one: 1 }], "the winner's database was not disturbed by the loser");
  await c.end();
  winner.child.kill('SIGTERM');
  t.equal(await winner.exited, 0);
  t.same(await processesUsing(dataDir), []);
  t.notOk(existsSync(path.join(dataDir, 'postgres.owner')), 'the claim is released');
});

t.test('a database orphaned by a SIGKILLed owner is taken over by the next start', async (t) => {
  const first = startEmbeddedChild(t, dataDir);
  t.match(await first.line, /^started /);
  first.child.kill('SIGKILL');
  await first.exited;
  t.ok((await processesUsing(dataDir)).length > 0, 'SIGKILL cannot stop the postmaster: it is orphaned');

  const next = startEmbeddedChild(t, dataDir);
  const line = await next.line;
  t.match(line, /^started /, 'the next start succeeds');
  const c = new pg.Client({ connectionString: line.slice('started '.length) });
  await c.connect();
  t.same((await c.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
  await c.end();
  next.child.kill('SIGTERM');
  t.equal(await next.exited, 0);
  t.same(await processesUsing(dataDir), [], 'and stops it on SIGTERM: nothing left');
});

t.test('the token script refuses what it cannot do', async (t) => {
  const [lower, admin, neither, badConfig, withIssuers] = (await (background?.tokenRefusals ?? tokenRefusals(tempDir(t)))) as [ScriptRun, ScriptRun, ScriptRun, ScriptRun, ScriptRun];
  t.equal(lower.code, 2);
  t.match(lower.stderr, /--jurisdiction must match/);
  t.equal(admin.code, 2, 'admin is an operator role: no token the service would refuse');
  t.match(admin.stderr, /admin role is only for operator tokens/);
  t.equal(neither.code, 2);
  t.match(neither.stderr, /exactly one of --jurisdiction CODE or --operator/);
  t.equal(badConfig.code, 2, 'a bad configuration is reported, not thrown');
  t.match(badConfig.stderr, /EVX_ISSUERS: lists no issuers/);
  t.notMatch(badConfig.stderr, /\n\s+at /);
  t.equal(withIssuers.code, 2, 'with real issuers configured the development issuer is not used');
  t.match(withIssuers.stderr, /token issuers are configured/);
  for (const r of [lower, admin, neither, badConfig, withIssuers]) t.equal(r.stdout, '', 'no token printed');
});
