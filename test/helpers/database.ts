/**
 * Each test file gets its own fresh database on the server named by
 * DATABASE_URL (the embedded one `npm test` starts, or CI's), migrated and
 * dropped afterwards. No mocks: this is the same PostgreSQL code path the
 * service uses.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../services/db/migrate.js';

export function adminUrl(): string {
  const url = process.env['DATABASE_URL'];
  if (!url) throw new Error('DATABASE_URL is not set: run the tests with `npm test`, which starts an embedded PostgreSQL');
  return url;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function createDatabase(t: Teardown, options: { migrate?: boolean } = {}): Promise<string> {
  const name = `evx_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: adminUrl() });
    await c.connect();
    try {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await c.end();
    }
  });
  const url = withDatabase(adminUrl(), name);
  if (options.migrate !== false) await migrate(url);
  return url;
}
