/**
 * Start a complete evx service: the database (embedded unless DATABASE_URL
 * is set), migrations, the app, and the listening socket. Used by the server
 * entry and the demo; stops whatever it started if any step fails.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildAppOptions } from './app.js';
import type { Config } from './config.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded.js';
import { migrate } from './db/migrate.js';
import { ensureServiceLogin, serviceOwnsLog } from './db/roles.js';

export interface RunningService {
  app: FastifyInstance;
  /** Base URL the service listens on. */
  url: string;
  config: Config;
  /** Graceful: stop accepting, finish in-flight requests, close the pool, stop the embedded database. */
  close(): Promise<void>;
}

export interface StartLog {
  info(msg: string): void;
  warn(msg: string): void;
}

export async function startService(config: Config, options: BuildAppOptions & { log?: StartLog } = {}): Promise<RunningService> {
  const log = options.log ?? { info: () => {}, warn: () => {} };
  let embedded: EmbeddedPostgres | null = null;
  let app: FastifyInstance | null = null;
  try {
    let databaseUrl = config.databaseUrl;
    if (databaseUrl === null) {
      // Migrations run as the embedded superuser; the service connects as a role that owns nothing.
      embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, log });
      await migrate(embedded.url, { log: (m) => log.info(m) });
      databaseUrl = await ensureServiceLogin(embedded.url, config.dataDir);
    } else {
      await migrate(config.migrationDatabaseUrl ?? databaseUrl, { log: (m) => log.info(m) });
      if (await serviceOwnsLog(databaseUrl)) {
        log.warn('the service database role owns the custody log tables and could disable their append-only triggers; run the service as a member of evx_service and migrate with EVX_MIGRATION_DATABASE_URL (docs/OPERATIONS.md)');
      }
    }
    const resolved: Config = { ...config, databaseUrl };
    app = await buildApp(resolved, options);
    const url = await app.listen({ port: config.port, host: config.host });
    const running = app;
    const db = embedded;
    let closing: Promise<void> | null = null;
    return {
      app: running,
      url,
      config: resolved,
      close: () => {
        closing ??= (async () => {
          try {
            await running.close();
          } finally {
            await db?.stop();
          }
        })();
        return closing;
      },
    };
  } catch (err) {
    await app?.close().catch(() => undefined);
    await embedded?.stop();
    throw err;
  }
}
