/**
 * How fast LogVerifier checks a log of typical small custody entries.
 * Usage: npx tsx scripts/bench/verify-speed.ts [entries=300000] [runs=3]
 *
 * Entries go through a JSON round trip first, as they would arrive from the
 * database or over HTTP, so the verifier sees fresh objects; only the
 * verifier (constructor with checkpoint signatures, push(), finish()) is timed.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { GENESIS_PREV, entryLeafHashHex, type CustodyEntry } from '../../services/ledger/entry.js';
import { MerkleAccumulator } from '../../services/ledger/merkle.js';
import { formatCheckpoint, generateNoteKeys, signNote } from '../../services/ledger/note.js';
import { LeafHasherPool, verifyLogTexts } from '../../services/ledger/parallel-verify.js';
import { LogVerifier } from '../../services/ledger/verify.js';

const total = Number(process.argv[2] ?? 300_000);
const runs = Number(process.argv[3] ?? 3);
const CHECKPOINT_EVERY = 1000;
const ORIGIN = 'evx.example/log';

const { signerKey, verifierKey } = generateNoteKeys(ORIGIN);
const subjects = Array.from({ length: 2000 }, () => `bundle:${randomUUID()}`);
const types = ['bundle.created', 'bundle.file_uploaded', 'bundle.sealed', 'bundle.release_granted', 'bundle.accessed'];
const subjectLast = new Map<string, string>();
const acc = new MerkleAccumulator();
const checkpoints: string[] = [];
const entries: CustodyEntry[] = [];
let prev = GENESIS_PREV;
const start = Date.parse('2025-03-01T09:00:00.000Z');
for (let seq = 0; seq < total; seq++) {
  const subject = subjects[(seq * 7919) % subjects.length] as string;
  const entry: CustodyEntry = {
    v: 1,
    seq,
    time: new Date(start + seq * 37).toISOString(),
    type: types[seq % types.length] as string,
    actor: { iss: 'https://idp.justice.nl.example', sub: `officer-${seq % 97}`, jurisdiction: 'NL' },
    subject,
    data: { recipient: 'ICC', agreementId: '2f1e0c4d-6a8b-4c3e-9d7f-1a2b3c4d5e6f', purpose: 'prosecution' },
    prev,
    subjectPrev: subjectLast.get(subject) ?? null,
  };
  const leaf = entryLeafHashHex(entry);
  entries.push(entry);
  acc.pushHex(leaf);
  prev = leaf;
  subjectLast.set(subject, leaf);
  if (acc.size % CHECKPOINT_EVERY === 0 || seq === total - 1) {
    checkpoints.push(signNote(formatCheckpoint({ origin: ORIGIN, size: acc.size, rootHash: acc.root() }), signerKey));
  }
}
// Verification streams the log in batches (the server reads 1000 rows at a
// time, the CLI pages through /v1/log/entries), so the entries are kept as
// JSON batches and parsed outside the timed part, batch by batch.
const BATCH = 1000;
const batches: string[] = [];
for (let i = 0; i < entries.length; i += BATCH) batches.push(JSON.stringify(entries.slice(i, i + BATCH)));
const bytesPerEntry = Math.round(batches.reduce((n, b) => n + b.length, 0) / total);
entries.length = 0;

// Wall time is what counts, but on a shared machine other processes steal
// the core; CPU time of this process shows what the verifier itself costs.
const wallRates: number[] = [];
const cpuRates: number[] = [];
for (let run = 0; run < runs; run++) {
  let wall = 0n;
  let cpuMicros = 0;
  const timed = <T>(fn: () => T): T => {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const out = fn();
    const c = process.cpuUsage(c0);
    wall += process.hrtime.bigint() - t0;
    cpuMicros += c.user + c.system;
    return out;
  };
  const verifier = timed(() => new LogVerifier(verifierKey, checkpoints));
  for (const batch of batches) {
    const parsed = JSON.parse(batch) as unknown[];
    timed(() => {
      for (const entry of parsed) verifier.push(entry);
    });
  }
  const report = timed(() => verifier.finish());
  const seconds = Number(wall) / 1e9;
  const cpuSeconds = cpuMicros / 1e6;
  if (!report.ok || report.checked !== total) throw new Error(`verification failed: ${JSON.stringify(report)}`);
  wallRates.push(total / seconds);
  cpuRates.push(total / cpuSeconds);
  console.log(
    `run ${run + 1}: ${total} entries, ${checkpoints.length} checkpoints: ${seconds.toFixed(3)} s wall = ${Math.round(total / seconds)} entries/s; ` +
      `${cpuSeconds.toFixed(3)} s CPU = ${Math.round(total / cpuSeconds)} entries per CPU-second`,
  );
}
const best = (xs: number[]): number => Math.round(Math.max(...xs));
console.log(`best of ${runs}: ${best(wallRates)} entries/s wall, ${best(cpuRates)} entries per CPU-second`);

// The same log from entry texts (as stored by the server), with the per-entry work in worker
// threads: parsing is included here, unlike above. Worker start-up is not timed.
const textBatches = batches.map((b) => ({ texts: (JSON.parse(b) as unknown[]).map((e) => JSON.stringify(e)) }));
const pool = new LeafHasherPool();
await pool.prepare([]);
const parallelRates: number[] = [];
for (let run = 0; run < runs; run++) {
  const t0 = process.hrtime.bigint();
  const report = await verifyLogTexts(verifierKey, checkpoints, textBatches, { pool });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!report.ok || report.checked !== total) throw new Error(`parallel verification failed: ${JSON.stringify(report)}`);
  parallelRates.push(total / seconds);
  console.log(`parallel run ${run + 1}: ${total} entries from text with ${pool.size} workers in ${seconds.toFixed(3)} s = ${Math.round(total / seconds)} entries/s`);
}
await pool.close();
console.log(`parallel best of ${runs}: ${best(parallelRates)} entries/s wall (${pool.size} workers, parsing included)`);
console.log(`(~${bytesPerEntry} bytes of JSON per entry, node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
