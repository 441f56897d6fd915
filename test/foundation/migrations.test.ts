/**
 * Migrations (issue #2 item 3): forward-only, each in a transaction, safe
 * when two processes start at once. The concurrency case uses two real
 * `scripts/migrate.ts` processes released from the same barrier.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import t, { type Test } from 'tap';
import { MIGRATIONS_DIR, MIGRATION_LOCK_KEY, MigrationError, migrate, readMigrations } from '../../services/db/migrate.js';
import { createDatabase } from '../helpers/database.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const migrationNames = readdirSync(MIGRATIONS_DIR)
  .filter((f) => f.endsWith('.sql'))
  .sort();

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function tableExists(url: string, table: string): Promise<boolean> {
  return withClient(url, async (c) => (await c.query('SELECT to_regclass($1) AS t', [`public.${table}`])).rows[0].t !== null);
}

async function appliedRows(url: string): Promise<string[]> {
  return withClient(url, async (c) => (await c.query<{ name: string }>('SELECT name FROM evx_migrations ORDER BY name')).rows.map((r) => r.name));
}

function copyMigrations(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'evx-migrations-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

async function rejects(t: Test, p: Promise<unknown>, pattern: RegExp, what: string): Promise<void> {
  try {
    await p;
    t.fail(`${what}: expected a refusal`);
  } catch (err) {
    t.type(err, MigrationError, what);
    t.match((err as Error).message, pattern, what);
  }
}

interface Run {
  code: number | null;
  stderr: string;
}

function runMigrateScript(databaseUrl: string): { done: Promise<Run> } {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl };
  delete env['EVX_MIGRATION_DATABASE_URL'];
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  return { done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr }))) };
}

t.test('two migrate processes started at once: both succeed, each migration applied exactly once', async (t) => {
  const url = await createDatabase(t, { migrate: false });
  // A barrier: hold the migration lock so that both processes are provably waiting on it, then let them go together.
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  t.teardown(() => holder.end().catch(() => undefined));
  await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);

  const a = runMigrateScript(url);
  const b = runMigrateScript(url);

  const deadline = Date.now() + 30_000;
  let waiting = 0;
  while (Date.now() < deadline) {
    const r = await holder.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [MIGRATION_LOCK_KEY],
    );
    waiting = r.rows[0]!.n;
    if (waiting >= 2) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(waiting, 2, 'both processes wait for the migration lock');
  t.notOk(await tableExists(url, 'evx_migrations'), 'nothing was touched before the lock was taken');
  t.notOk(await tableExists(url, 'jurisdictions'));
  await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);

  const [ra, rb] = await Promise.all([a.done, b.done]);
  t.equal(ra.code, 0, `first process: ${ra.stderr}`);
  t.equal(rb.code, 0, `second process: ${rb.stderr}`);
  const appliedCounts = [ra, rb].map((r) => Number(/migrations: (\d+) applied/.exec(r.stderr)?.[1] ?? NaN)).sort();
  t.same(appliedCounts, [0, migrationNames.length], 'one process applied everything, the other nothing');
  const appliedLines = (ra.stderr + rb.stderr).split('\n').filter((l) => l.startsWith('applied migration '));
  t.same(appliedLines.map((l) => l.slice('applied migration '.length)).sort(), migrationNames, 'each migration applied once');

  t.same(await appliedRows(url), migrationNames, 'evx_migrations lists every migration exactly once');
  t.ok(await tableExists(url, 'jurisdictions'));
  t.ok(await tableExists(url, 'log_entries'));

  // Re-running is a no-op, in process and as a script.
  const again = await migrate(url);
  t.same(again, { applied: [], alreadyApplied: migrationNames.length });
  const rc = await runMigrateScript(url).done;
  t.equal(rc.code, 0);
  t.match(rc.stderr, `migrations: 0 applied, ${migrationNames.length} already applied`);
  t.same(await appliedRows(url), migrationNames);
});

t.test('migrate() records each file with its hash; a second run is a no-op', async (t) => {
  const url = await createDatabase(t, { migrate: false });
  const logged: string[] = [];
  const first = await migrate(url, { log: (m) => logged.push(m) });
  t.same(first.applied, migrationNames);
  t.equal(first.alreadyApplied, 0);
  t.same(logged, migrationNames.map((n) => `applied migration ${n}`));
  const rows = await withClient(url, async (c) => (await c.query<{ name: string; sha256: string }>('SELECT name, sha256 FROM evx_migrations ORDER BY name')).rows);
  t.same(
    rows,
    readMigrations().map((m) => ({ name: m.name, sha256: m.sha256 })),
  );
  const second = await migrate(url);
  t.same(second, { applied: [], alreadyApplied: migrationNames.length });
});

t.test('a migration edited after it was applied is refused', async (t) => {
  const url = await createDatabase(t, { migrate: false });
  const dir = copyMigrations(t);
  await migrate(url, { dir });
  appendFileSync(path.join(dir, migrationNames[0]!), '\n-- a harmless-looking edit\n');
  await rejects(t, migrate(url, { dir }), new RegExp(`migration ${migrationNames[0]} was changed after it was applied; migrations are forward-only, add a new one instead`), 'edited');
  // A new migration next to the edited one is not applied either.
  writeFileSync(path.join(dir, '9001_later.sql'), 'CREATE TABLE evx_later (x int);');
  await rejects(t, migrate(url, { dir }), /was changed after it was applied/, 'edited, with a pending one');
  t.notOk(await tableExists(url, 'evx_later'), 'the pending migration did not run');
});

t.test('a database with a migration this code does not know is refused', async (t) => {
  const url = await createDatabase(t, { migrate: false });
  const newer = copyMigrations(t);
  writeFileSync(path.join(newer, '9000_from_the_future.sql'), 'CREATE TABLE evx_future (x int);');
  await migrate(url, { dir: newer });
  await rejects(t, migrate(url), /the database has migration 9000_from_the_future\.sql, which this code does not know: it is newer than this version of evx/, 'unknown');
  const rc = await runMigrateScript(url).done;
  t.equal(rc.code, 1, 'the script exits non-zero');
  t.match(rc.stderr, /evx migrate: the database has migration 9000_from_the_future\.sql/);
});

t.test('a failing migration rolls back entirely; earlier ones stay applied', async (t) => {
  const url = await createDatabase(t, { migrate: false });
  const dir = copyMigrations(t);
  writeFileSync(
    path.join(dir, '9000_broken.sql'),
    ['CREATE TABLE evx_partial_a (x int);', "INSERT INTO evx_partial_a VALUES (1);", 'CREATE TABLE evx_partial_b (y int);', 'SELECT 1 / 0;', 'CREATE TABLE evx_partial_c (z int);'].join('\n'),
  );
  await rejects(t, migrate(url, { dir }), /migration 9000_broken\.sql failed: division by zero/, 'broken');
  for (const table of ['evx_partial_a', 'evx_partial_b', 'evx_partial_c']) t.notOk(await tableExists(url, table), `${table} does not exist`);
  t.same(await appliedRows(url), migrationNames, 'the good migrations before it were applied and recorded; the broken one was not');

  // Fixed, it applies on the next run.
  writeFileSync(path.join(dir, '9000_broken.sql'), 'CREATE TABLE evx_partial_a (x int);');
  t.same((await migrate(url, { dir })).applied, ['9000_broken.sql']);
  t.ok(await tableExists(url, 'evx_partial_a'));

  // The lock was released after the failure: another run does not hang.
  t.same((await migrate(url, { dir })).applied, []);
});

t.test('misnamed or duplicate-numbered migration files stop the run instead of being skipped', async (t) => {
  const url = await createDatabase(t, { migrate: false });
  const dir = copyMigrations(t);
  writeFileSync(path.join(dir, '9000-Add-Things.sql'), 'CREATE TABLE evx_misnamed (x int);');
  await rejects(t, migrate(url, { dir }), /9000-Add-Things\.sql .* is not named NNNN_lower_case_name\.sql/, 'misnamed');
  t.notOk(await tableExists(url, 'evx_migrations'), 'nothing ran');
  rmSync(path.join(dir, '9000-Add-Things.sql'));
  writeFileSync(path.join(dir, '9000_a.sql'), 'SELECT 1;');
  writeFileSync(path.join(dir, '9000_b.sql'), 'SELECT 1;');
  await rejects(t, migrate(url, { dir }), /9000_a\.sql and 9000_b\.sql share the number 9000/, 'duplicate number');
  // Other files (notes, a README) are ignored.
  rmSync(path.join(dir, '9000_b.sql'));
  writeFileSync(path.join(dir, 'README.md'), 'notes');
  t.same((await migrate(url, { dir })).applied, [...migrationNames, '9000_a.sql']);
});
