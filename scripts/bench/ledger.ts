/**
 * `npm run bench:ledger`: custody appends per second with 1, 8 and 64
 * concurrent appenders, next to a plain single-row INSERT baseline measured
 * in the same run on the same database; then offline verification speed.
 * Set DATABASE_URL to measure another server; BENCH_SECONDS per measurement.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb } from '../../services/db/connect.js';
import { CustodyLog } from '../../services/ledger/custody-log.js';
import { parseSignerKey, generateNoteKeys } from '../../services/ledger/note.js';
import { benchDatabase, machine, throughput } from './common.js';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 4);
const levels = [1, 8, 64];
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const db = await benchDatabase('evx_bench_ledger');
const { db: kdb, pool } = createDb(db.url, 64);
await pool.query('CREATE TABLE bench_plain (id bigserial PRIMARY KEY, subject text NOT NULL, payload bytea NOT NULL)');
const origin = 'evx.bench/log';
const log = new CustodyLog(kdb, parseSignerKey(generateNoteKeys(origin).signerKey), origin);
const payload = Buffer.alloc(200, 1);

const rows: Array<{ concurrency: number; baseline: number; ledger: number; batch: number }> = [];
for (const concurrency of levels) {
  // Baseline: each INSERT its own autocommit transaction, as concurrent requests would do without a log.
  let k = 0;
  const baseline = await throughput(concurrency, seconds * 1000, () => pool.query('INSERT INTO bench_plain (subject, payload) VALUES ($1, $2)', [`s${k++ % 64}`, payload]));
  const before = { ...log.writer.stats };
  let i = 0;
  const ledger = await throughput(concurrency, seconds * 1000, () => {
    const n = i++;
    return log.run((tx) =>
      log.append(tx, {
        type: 'bundle.accessed',
        actor: { iss: 'https://idp.nl.example', sub: `officer-${n % 50}`, jurisdiction: 'NL' },
        subject: `bundle:${(n % 64).toString().padStart(8, '0')}-0000-4000-8000-000000000000`,
        data: { file: n % 3, recipient: 'ICC', reason: 'bench' },
      }),
    );
  });
  const units = log.writer.stats.units - before.units;
  const batches = log.writer.stats.batches - before.batches;
  rows.push({ concurrency, baseline, ledger, batch: units / Math.max(1, batches) });
  process.stderr.write(`concurrency ${concurrency}: baseline ${baseline.toFixed(0)}/s, ledger ${ledger.toFixed(0)}/s\n`);
}
await log.publishCheckpoint();
const report = await log.verify();
await kdb.destroy();
await db.close();
if (!report.ok) throw new Error(`the benchmark's log does not verify: ${JSON.stringify(report)}`);

const verify = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts/bench/verify-speed.ts'), '200000', '3'], { cwd: root, encoding: 'utf8' });
const single = /^best of \d+: (\d+) entries\/s wall, (\d+) entries per CPU-second/m.exec(verify.stdout);
const parallel = /^parallel best of \d+: (\d+) entries\/s wall \((\d+) workers/m.exec(verify.stdout);
if (!single || !parallel) throw new Error(`verify-speed printed no figures:\n${verify.stdout}\n${verify.stderr}`);

console.log(`## bench:ledger — ${new Date().toISOString()}`);
console.log('');
console.log(`Machine: ${machine()}; database: ${db.label}; ${seconds} s per measurement.`);
console.log('');
console.log('| appenders | plain INSERT/s (baseline) | custody appends/s | ratio | entries per commit |');
console.log('|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.concurrency} | ${r.baseline.toFixed(0)} | ${r.ledger.toFixed(0)} | ${((r.ledger / r.baseline) * 100).toFixed(0)}% | ${r.batch.toFixed(1)} |`);
}
console.log('');
console.log(
  `Offline verification of 200,000 entries (best of 3): LogVerifier on one thread ${single[1]} entries/s (${single[2]} per CPU-second, JSON parsing not counted); ` +
    `verifyLogTexts from entry texts with ${parallel[2]} worker threads ${parallel[1]} entries/s (parsing counted).`,
);
console.log(`The benchmark's own log (${report.size} entries) verified: ${report.ok}.`);
