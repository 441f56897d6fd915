/**
 * How fast LogVerifier checks a log of typical small custody entries.
 * Usage: npx tsx scripts/bench/verify-speed.ts [entries=300000] [runs=3]
 *
 * Entries go through a JSON round trip first, as they would arrive from the
 * database or over HTTP, so the verifier sees fresh objects; only push() and
 * finish() are timed.
 */
import { randomUUID } from 'node:crypto';
import { GENESIS_PREV, entryLeafHashHex, type CustodyEntry } from '../../services/ledger/entry.js';
import { MerkleAccumulator } from '../../services/ledger/merkle.js';
import { formatCheckpoint, generateNoteKeys, signNote } from '../../services/ledger/note.js';
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
const json = JSON.stringify(entries);
const bytesPerEntry = Math.round(json.length / total);

const rates: number[] = [];
for (let run = 0; run < runs; run++) {
  const fresh = JSON.parse(json) as unknown[];
  const t0 = process.hrtime.bigint();
  const verifier = new LogVerifier(verifierKey, checkpoints);
  for (const entry of fresh) verifier.push(entry);
  const report = verifier.finish();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!report.ok || report.checked !== total) throw new Error(`verification failed: ${JSON.stringify(report)}`);
  rates.push(total / seconds);
  console.log(`run ${run + 1}: ${total} entries, ${checkpoints.length} checkpoints in ${seconds.toFixed(3)} s = ${Math.round(total / seconds)} entries/s`);
}
rates.sort((a, b) => a - b);
console.log(
  `median ${Math.round(rates[Math.floor(rates.length / 2)] as number)} entries/s (~${bytesPerEntry} bytes of JSON per entry, node ${process.version})`,
);
