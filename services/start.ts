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
  /**
   * Graceful: stop accepting, let in-flight requests finish (at most
   * SHUTDOWN_GRACE_MS, then their connections are cut), close the pool,
   * stop the embedded database.
   */
  close(): Promise<void>;
}

export interface StartLog {
  info(msg: string): void;
  warn(msg: string): void;
}

/** How long a shutdown waits for requests in flight before cutting their connections. */
export const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Close the app, giving requests in flight `graceMs` to finish. A request
 * that does not (a stalled upload, a slow download) must not hold the
 * shutdown forever — the embedded database would then never be stopped — so
 * its connection is cut and the close completes.
 */
async function closeApp(app: FastifyInstance, graceMs: number, log: StartLog): Promise<void> {
  const closed = app.close();
  closed.catch(() => undefined); // a late failure after the grace period must not become an unhandled rejection
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'grace_over'>((resolve) => {
    timer = setTimeout(() => resolve('grace_over'), graceMs);
  });
  try {
    if ((await Promise.race([closed, graceOver])) !== 'grace_over') return;
  } finally {
    clearTimeout(timer);
  }
  log.warn(`requests still in flight after ${graceMs} ms; closing their connections`);
  app.server.closeAllConnections();
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
}

export async function startService(config: Config, options: BuildAppOptions & { log?: StartLog; shutdownGraceMs?: number } = {}): Promise<RunningService> {
  const log = options.log ?? { info: () => {}, warn: () => {} };
  const graceMs = options.shutdownGraceMs ?? SHUTDOWN_GRACE_MS;
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
            await closeApp(running, graceMs, log);
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
