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
  const pool = new pg.Pool({ connectionString, max: poolSize, application_name: 'evx' });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool };
}
