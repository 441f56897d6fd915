/**
 * Whole-log verification on several cores. The per-entry work (parse, shape
 * check, canonicalization, leaf hash: ~6 µs of a ~8 µs entry) is independent
 * per entry and runs in worker threads; the ordered checks (seq, both hash
 * chains, the Merkle tree, the checkpoints) stay in one LogVerifier on this
 * thread, fed in log order. Verdicts are those of LogVerifier.push.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LeafJob, LeafResult } from './leaf-worker.js';
import type { NoteVerifier } from './note.js';
import { LogVerifier, type LogVerifierOptions, type LogVerifyReport, type PreparedEntry } from './verify.js';

/** Entries as their JSON text (the stored canonical bytes), with the stored leaf hash if the caller has one. */
export interface TextBatch {
  texts: string[];
  storedLeafHashes?: Array<string | Uint8Array>;
}

const WORKER_URL = new URL(`./leaf-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/**
 * Start a worker. Run from TypeScript sources (tsx), a worker does not get the
 * TypeScript loader from execArgv on Node 20, so a tiny JavaScript bootstrap
 * registers it (by absolute URL) and then imports the worker module.
 */
function startWorker(): Worker {
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL);
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const entry = JSON.stringify(WORKER_URL.href);
  return new Worker(`import(${api}).then(({ register }) => { register(); return import(${entry}); })`, { eval: true });
}

export class LeafHasherPool {
  readonly #workers: Worker[];
  readonly #waiting = new Map<number, { resolve: (p: LeafResult) => void; reject: (e: unknown) => void }>();
  #next = 0;
  #turn = 0;

  constructor(size = Math.max(1, Math.min(4, availableParallelism()))) {
    this.#workers = Array.from({ length: size }, () => {
      const w = startWorker();
      w.on('message', (r: LeafResult) => {
        const pending = this.#waiting.get(r.id);
        this.#waiting.delete(r.id);
        pending?.resolve(r);
      });
      w.on('error', (err) => {
        for (const p of this.#waiting.values()) p.reject(err);
        this.#waiting.clear();
      });
      return w;
    });
  }

  get size(): number {
    return this.#workers.length;
  }

  prepare(texts: string[]): Promise<LeafResult> {
    const id = this.#next++;
    const worker = this.#workers[this.#turn++ % this.#workers.length]!;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      const job: LeafJob = { id, texts };
      worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/**
 * Verify a whole log given as batches of entry texts in log order. Up to
 * `2 × workers` batches are in flight, so the workers stay busy while this
 * thread walks the chains.
 */
export async function verifyLogTexts(
  vkey: string | NoteVerifier,
  checkpoints: Iterable<string>,
  batches: AsyncIterable<TextBatch> | Iterable<TextBatch>,
  options: LogVerifierOptions & { workers?: number; pool?: LeafHasherPool } = {},
): Promise<LogVerifyReport> {
  const verifier = new LogVerifier(vkey, checkpoints, options);
  const pool = options.pool ?? new LeafHasherPool(options.workers);
  const inFlight: Array<{ batch: TextBatch; prepared: Promise<LeafResult> }> = [];
  const drainOne = async (): Promise<void> => {
    const { batch, prepared } = inFlight.shift()!;
    const r = await prepared;
    const entry: PreparedEntry = { problem: null, leafHex: null, seq: 0, subject: '', prev: '', subjectPrev: null };
    for (let i = 0; i < r.seqs.length; i++) {
      entry.problem = r.problems[i]!;
      entry.leafHex = r.leaves[i]!;
      entry.seq = r.seqs[i]!;
      entry.subject = r.subjects[i]!;
      entry.prev = r.prevs[i]!;
      entry.subjectPrev = r.subjectPrevs[i]!;
      verifier.pushPrepared(entry, batch.storedLeafHashes?.[i]);
    }
  };
  try {
    for await (const batch of batches) {
      const prepared = pool.prepare(batch.texts);
      // A worker failure rejects every batch in flight; it is reported by the one awaited first.
      prepared.catch(() => undefined);
      inFlight.push({ batch, prepared });
      if (inFlight.length >= pool.size * 2) await drainOne();
    }
    while (inFlight.length > 0) await drainOne();
  } finally {
    if (!options.pool) await pool.close();
  }
  return verifier.finish();
}
