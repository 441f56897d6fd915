/**
 * `npm run migrate`: apply pending migrations to EVX_MIGRATION_DATABASE_URL
 * (the schema owner) or DATABASE_URL, or to the embedded database in
 * EVX_DATA_DIR — the same choice the service makes at start.
 */
import { ConfigError, loadConfig } from '../services/config.js';
import { startEmbeddedPostgres } from '../services/db/embedded.js';
import { migrate } from '../services/db/migrate.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`evx migrate: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = { info: (m: string) => process.stderr.write(`${m}\n`), warn: (m: string) => process.stderr.write(`warning: ${m}\n`) };
  const embedded = config.databaseUrl === null ? await startEmbeddedPostgres({ dataDir: config.dataDir, log }) : null;
  try {
    // As the owner: migrating as the service role would make it own the tables (and so able to disable the log's triggers).
    const result = await migrate(embedded?.url ?? config.migrationDatabaseUrl ?? config.databaseUrl!, { log: log.info });
    process.stderr.write(`migrations: ${result.applied.length} applied, ${result.alreadyApplied} already applied\n`);
  } finally {
    await embedded?.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`evx migrate: ${(err as Error).message}\n`);
  process.exit(1);
});
