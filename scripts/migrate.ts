/** `npm run migrate`: apply pending migrations to DATABASE_URL, or to the embedded database in EVX_DATA_DIR. */
import { ConfigError, loadConfig } from '../services/config.js';
import { startEmbeddedPostgres } from '../services/db/embedded.js';
import { migrate } from '../services/db/migrate.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = { info: (m: string) => process.stderr.write(`${m}\n`), warn: (m: string) => process.stderr.write(`warning: ${m}\n`) };
  const embedded = config.databaseUrl === null ? await startEmbeddedPostgres({ dataDir: config.dataDir, log }) : null;
  try {
    const result = await migrate(embedded?.url ?? config.databaseUrl!, { log: log.info });
    process.stderr.write(`migrations: ${result.applied.length} applied, ${result.alreadyApplied} already applied\n`);
  } finally {
    await embedded?.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`evx migrate: ${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
  process.exit(1);
});
