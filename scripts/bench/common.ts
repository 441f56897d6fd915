/** Shared by the benchmarks: a database to measure against, and a description of the machine. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../services/db/embedded.js';
import { migrate } from '../../services/db/migrate.js';

export interface BenchDatabase {
  url: string;
  label: string;
  close(): Promise<void>;
}

/** A fresh, migrated database: on DATABASE_URL's server if set, else on an embedded PostgreSQL. */
export async function benchDatabase(name: string): Promise<BenchDatabase> {
  let stop = async (): Promise<void> => {};
  let serverUrl = process.env['DATABASE_URL'];
  let label = 'DATABASE_URL';
  if (!serverUrl) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'evx-bench-'));
    const embedded = await startEmbeddedPostgres({ dataDir: dir, database: 'evx_bench_admin' });
    serverUrl = embedded.url;
    label = 'embedded PostgreSQL 18';
    stop = async () => {
      await embedded.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const dbName = `${name}_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
  await admin.query(`CREATE DATABASE ${dbName}`);
  const version = (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
  const sync = (await admin.query<{ s: string }>("SELECT current_setting('synchronous_commit') AS s")).rows[0]!.s;
  const fsync = (await admin.query<{ s: string }>("SELECT current_setting('fsync') AS s")).rows[0]!.s;
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${dbName}`;
  await migrate(u.toString());
  return {
    url: u.toString(),
    label: `${label} (server ${version}, fsync=${fsync}, synchronous_commit=${sync})`,
    close: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await c.end();
      await stop();
    },
  };
}

export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
}

/** Run `worker` on `concurrency` loops for `ms` milliseconds; returns operations per second. */
export async function throughput(concurrency: number, ms: number, op: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const deadline = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await op();
        count += 1;
      }
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}
