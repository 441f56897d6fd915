/**
 * `npm test`: the tap suite against DATABASE_URL when set (CI's PostgreSQL),
 * otherwise against an embedded PostgreSQL started for this run in a
 * temporary directory and removed afterwards. Each test file creates its own
 * database on that server, so files can run in parallel.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../services/db/embedded.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * tap only recognises .ts test files it is pointed at directly (its TypeScript
 * plugin is replaced by tsx here), so a directory argument is expanded to the
 * *.test.ts files under it: `npm test -- test/ledger/`.
 */
function expandArgs(args: string[]): string[] {
  return args.flatMap((arg) => {
    const full = path.resolve(root, arg);
    let isDir = false;
    try {
      isDir = !arg.startsWith('-') && statSync(full).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) return [arg];
    return (readdirSync(full, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.test.ts'))
      .sort()
      .map((f) => path.join(arg, f));
  });
}

async function main(): Promise<number> {
  let embedded: EmbeddedPostgres | null = null;
  let dir: string | null = null;
  const env = { ...process.env };
  if (!env['DATABASE_URL']) {
    dir = mkdtempSync(path.join(os.tmpdir(), 'evx-test-pg-'));
    embedded = await startEmbeddedPostgres({ dataDir: dir, database: 'evx_test_admin' });
    env['DATABASE_URL'] = embedded.url;
    process.stderr.write(`# tests use an embedded PostgreSQL on port ${embedded.port}\n`);
  } else {
    process.stderr.write('# tests use DATABASE_URL\n');
  }
  try {
    return await new Promise<number>((resolve) => {
      const child = spawn(path.join(root, 'node_modules', '.bin', 'tap'), expandArgs(process.argv.slice(2)), { cwd: root, env, stdio: 'inherit' });
      const forward = (sig: NodeJS.Signals): void => void child.kill(sig);
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    await embedded?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`npm test: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
