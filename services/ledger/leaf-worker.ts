/**
 * Worker thread for parallel-verify.ts: parses entries from their JSON text,
 * checks their shape and computes their leaf hash — the per-entry work of
 * LogVerifier.push, done with the same entry.ts code — and sends back only
 * what the ordered checks need.
 */
import { parentPort } from 'node:worker_threads';
import { custodyEntryProblem, entryLeafHashHexUnchecked, type CustodyEntry } from './entry.js';
import type { PreparedEntry } from './verify.js';

export interface LeafJob {
  id: number;
  texts: string[];
}
/** Column arrays: structured clone copies flat arrays of strings much faster than arrays of objects. */
export interface LeafResult {
  id: number;
  problems: Array<string | null>;
  leaves: Array<string | null>;
  seqs: number[];
  subjects: string[];
  prevs: string[];
  subjectPrevs: Array<string | null>;
}

function prepare(text: string): PreparedEntry {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'entry is not JSON', leafHex: null, seq: -1, subject: '', prev: '', subjectPrev: null };
  }
  const problem = custodyEntryProblem(value);
  if (problem !== null) {
    const seq = typeof (value as { seq?: unknown })?.seq === 'number' ? (value as { seq: number }).seq : -1;
    return { problem, leafHex: null, seq, subject: '', prev: '', subjectPrev: null };
  }
  const entry = value as CustodyEntry;
  try {
    return { problem: null, leafHex: entryLeafHashHexUnchecked(entry), seq: entry.seq, subject: entry.subject, prev: entry.prev, subjectPrev: entry.subjectPrev };
  } catch (err) {
    return { problem: `entry cannot be canonicalized: ${(err as Error).message}`, leafHex: null, seq: entry.seq, subject: '', prev: '', subjectPrev: null };
  }
}

parentPort?.on('message', (job: LeafJob) => {
  const n = job.texts.length;
  const result: LeafResult = { id: job.id, problems: new Array(n), leaves: new Array(n), seqs: new Array(n), subjects: new Array(n), prevs: new Array(n), subjectPrevs: new Array(n) };
  for (let i = 0; i < n; i++) {
    const p = prepare(job.texts[i]!);
    result.problems[i] = p.problem;
    result.leaves[i] = p.leafHex;
    result.seqs[i] = p.seq;
    result.subjects[i] = p.subject;
    result.prevs[i] = p.prev;
    result.subjectPrevs[i] = p.subjectPrev;
  }
  parentPort!.postMessage(result);
});
