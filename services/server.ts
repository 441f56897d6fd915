/**
 * The service entry: read the configuration, start, and stop cleanly on
 * SIGINT/SIGTERM. Everything else lives in start.ts and app.ts.
 */
import pino from 'pino';
import { loggerOptions } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { startService } from './start.js';

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
  const logger = pino(loggerOptions(config.logLevel));
  const log = { info: (m: string) => logger.info(m), warn: (m: string) => logger.warn(m) };

  // A signal during start-up waits for the start to finish (or fail) and
  // then stops what was started, so no embedded PostgreSQL is left behind.
  const starting = startService(config, { logger, log });
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 20s; exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    try {
      const service = await starting.catch(() => null);
      await service?.close();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

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
