/**
 * The service entry: read the configuration, start, and stop cleanly on
 * SIGINT/SIGTERM. Everything else lives in start.ts and app.ts.
 *
 * The configuration is checked before the rest of the service is loaded
 * (which takes seconds), so a bad value is reported at once.
 */
import pino, { type Logger } from 'pino';
import { ConfigError, loadConfig } from './config.js';
import type { RunningService } from './start.js';

/** Last resort if a shutdown hangs; above start.ts's grace for requests in flight plus stopping the database. */
const FORCED_EXIT_MS = 30_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`evx: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  // Signals are handled from here on: one during start-up waits for the start
  // to finish (or fail) and then stops what was started, so no embedded
  // PostgreSQL is left behind.
  let logger: Logger = pino({ level: config.logLevel });
  let starting: Promise<RunningService> | null = null;
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error(`shutdown took longer than ${FORCED_EXIT_MS / 1000}s; exiting`);
      process.exit(1);
    }, FORCED_EXIT_MS);
    force.unref();
    try {
      const service = starting ? await starting.catch(() => null) : null;
      await service?.close();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const { loggerOptions } = await import('./app.js');
  const { startService } = await import('./start.js');
  if (stopping) return;
  logger = pino(loggerOptions(config.logLevel));
  const log = { info: (m: string) => logger.info(m), warn: (m: string) => logger.warn(m) };

  starting = startService(config, { logger, log });
  let service;
  try {
    service = await starting;
  } catch (err) {
    logger.fatal({ err }, 'evx could not start');
    process.exit(1);
  }
  if (stopping) return;
  logger.info({ url: service.url, database: config.databaseUrl === null ? 'embedded' : 'DATABASE_URL' }, 'evx is ready');
}

void main();
