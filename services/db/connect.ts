import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

// int8 (bigint) arrives as a string by default; our bigints (seq, sizes) stay
// far below 2^53, and numbers are what the API speaks.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${v} exceeds the safe integer range`);
  return n;
});

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** What a repository function runs on: the pool, or the caller's transaction. */
export type Executor = Db | Tx;

export function createDb(connectionString: string, poolSize = 10): { db: Db; pool: pg.Pool } {
  // A database that does not answer must not hang requests: fail the connection attempt after 5 s.
  const pool = new pg.Pool({ connectionString, max: poolSize, application_name: 'evx', connectionTimeoutMillis: 5000, keepAlive: true });
  // A connection lost while idle in the pool, or while checked out between two
  // queries (restart, failover, pg_terminate_backend), emits 'error' on the
  // pool or on the client; unheard, Node would crash the whole process. The
  // query in progress fails on its own and the pool replaces the client.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool };
}
