/**
 * The service's own database login: a member of evx_service (see
 * migrations/0003_service_role.sql) that owns no table. The embedded
 * database always runs the service this way; with DATABASE_URL, an
 * administrator sets it up (docs/OPERATIONS.md) and runs migrations as the
 * owner through EVX_MIGRATION_DATABASE_URL.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';

export const SERVICE_GROUP_ROLE = 'evx_service';

/**
 * Create or update LOGIN role `login` as a member of evx_service, with the
 * password kept in `<dataDir>/postgres-service.secret`; returns its URL for
 * the same server and database as `ownerUrl`.
 */
export async function ensureServiceLogin(ownerUrl: string, dataDir: string, login = 'evx_app'): Promise<string> {
  const secretFile = path.join(dataDir, 'postgres-service.secret');
  if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(24).toString('hex') + '\n', { mode: 0o600 });
  const password = readFileSync(secretFile, 'utf8').trim();
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const ident = pg.escapeIdentifier(login);
    const literal = pg.escapeLiteral(password);
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [login]);
    if (exists.rowCount === 0) await client.query(`CREATE ROLE ${ident} LOGIN PASSWORD ${literal} NOSUPERUSER NOCREATEDB NOCREATEROLE IN ROLE ${SERVICE_GROUP_ROLE}`);
    else await client.query(`ALTER ROLE ${ident} LOGIN PASSWORD ${literal} NOSUPERUSER NOCREATEDB NOCREATEROLE`);
    await client.query(`GRANT ${SERVICE_GROUP_ROLE} TO ${ident}`);
  } finally {
    await client.end();
  }
  const url = new URL(ownerUrl);
  url.username = login;
  url.password = password;
  return url.toString();
}

/** True when the connected role owns the custody log tables (it could then disable their triggers). */
export async function serviceOwnsLog(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ owns: boolean }>(
      `SELECT pg_has_role(current_user, tableowner, 'MEMBER') AS owns FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'log_entries'`,
    );
    return r.rows[0]?.owns ?? false;
  } finally {
    await client.end();
  }
}
