/**
 * Forward-only SQL migrations from `migrations/NNNN_name.sql`.
 *
 * Each file runs in its own transaction; the whole run holds a session
 * advisory lock, so two processes starting at once apply each migration
 * exactly once (the second waits, then finds nothing to do). A migration that
 * was edited after it was applied, or one the code does not know, stops the
 * start: the schema would no longer be what the code expects.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/** Arbitrary but fixed: 'evx' in ASCII, used only for the migration lock. */
export const MIGRATION_LOCK_KEY = 0x657678;

const MIGRATION_NAME = /^(\d{4})_[a-z0-9_]+\.sql$/;

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export interface MigrationFile {
  name: string;
  sql: string;
  sha256: string;
}

/**
 * The migration files in order. A `.sql` file whose name does not follow
 * `NNNN_name.sql`, or two files with the same number, stop the run: either
 * would otherwise be silently skipped or applied in an order nobody chose.
 */
export function readMigrations(dir: string = MIGRATIONS_DIR): MigrationFile[] {
  const sqlFiles = readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.sql'));
  const misnamed = sqlFiles.filter((f) => !MIGRATION_NAME.test(f));
  if (misnamed.length > 0) {
    throw new MigrationError(`migration file ${misnamed.join(', ')} in ${dir} is not named NNNN_lower_case_name.sql; rename it (it would otherwise be skipped)`);
  }
  const byNumber = new Map<string, string>();
  for (const f of sqlFiles.sort()) {
    const n = MIGRATION_NAME.exec(f)![1]!;
    const other = byNumber.get(n);
    if (other) throw new MigrationError(`migrations ${other} and ${f} share the number ${n}; renumber one of them`);
    byNumber.set(n, f);
  }
  return sqlFiles
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name), 'utf8');
      return { name, sql, sha256: createHash('sha256').update(sql).digest('hex') };
    });
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

export async function migrate(connectionString: string, options: { dir?: string; log?: (msg: string) => void } = {}): Promise<MigrateResult> {
  const files = readMigrations(options.dir);
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS evx_migrations (
           name text PRIMARY KEY,
           sha256 text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const done = new Map((await client.query<{ name: string; sha256: string }>('SELECT name, sha256 FROM evx_migrations')).rows.map((r) => [r.name, r.sha256]));
      const known = new Set(files.map((f) => f.name));
      for (const name of done.keys()) {
        if (!known.has(name)) throw new MigrationError(`the database has migration ${name}, which this code does not know: it is newer than this version of evx`);
      }
      const applied: string[] = [];
      for (const file of files) {
        const sha = done.get(file.name);
        if (sha !== undefined) {
          if (sha !== file.sha256) throw new MigrationError(`migration ${file.name} was changed after it was applied; migrations are forward-only, add a new one instead`);
          continue;
        }
        await client.query('BEGIN');
        try {
          await client.query(file.sql);
          await client.query('INSERT INTO evx_migrations (name, sha256) VALUES ($1, $2)', [file.name, file.sha256]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new MigrationError(`migration ${file.name} failed: ${(err as Error).message}`);
        }
        applied.push(file.name);
        options.log?.(`applied migration ${file.name}`);
      }
      return { applied, alreadyApplied: done.size };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}
