/**
 * A separate service process appending custody entries: used by the ledger
 * tests for "many processes on one database" and "SIGKILL mid-append".
 * Usage: node --import tsx test/helpers/append-worker.ts <databaseUrl> <dataDir> <concurrency> <appendsEach|forever> <tag>
 * Prints "ready" once connected and "done <n>" when finished.
 */
import { createDb } from '../../services/db/connect.js';
import { CustodyLog } from '../../services/ledger/custody-log.js';
import { loadOrCreateLogSigner } from '../../services/ledger/log-key.js';

const [url, dataDir, concurrencyText, countText, tag] = process.argv.slice(2);
if (!url || !dataDir || !concurrencyText || !countText || !tag) {
  process.stderr.write('usage: append-worker <databaseUrl> <dataDir> <concurrency> <appendsEach|forever> <tag>\n');
  process.exit(2);
}
const concurrency = Number(concurrencyText);
const forever = countText === 'forever';
const each = forever ? Number.POSITIVE_INFINITY : Number(countText);
const { db } = createDb(url, Math.min(concurrency + 2, 20));
const origin = 'evx.test/log';
const log = new CustodyLog(db, loadOrCreateLogSigner(dataDir, origin, null), origin);
process.stdout.write('ready\n');
let total = 0;
await Promise.all(
  Array.from({ length: concurrency }, async (_, worker) => {
    for (let i = 0; i < each; i++) {
      await log.run((tx) =>
        log.append(tx, { type: 'test.appended', actor: null, subject: `test:${tag}-${worker % 4}`, data: { tag, worker, i } }),
      );
      total += 1;
    }
  }),
);
await db.destroy();
process.stdout.write(`done ${total}\n`);
