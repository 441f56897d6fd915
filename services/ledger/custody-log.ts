/**
 * The custody log service: the one way the rest of evx records custody
 * (`run` + `append`) and the read side for auditors (checkpoints, proofs,
 * whole-log verification, a subject's custody with inclusion proofs).
 */
import { sql } from 'kysely';
import type { Db, Executor, Tx } from '../db/connect.js';
import type { CustodyEntry } from './entry.js';
import {
  EMPTY_ROOT,
  consistencyProof,
  consistencyProofNodes,
  inclusionProof,
  inclusionProofNodes,
  rootFromNodes,
  rootNodes,
  verifyConsistency,
} from './merkle.js';
import { formatCheckpoint, signNote, type NoteSigner } from './note.js';
import {
  allCheckpointNotes,
  committedLogSize,
  insertCheckpoint,
  latestCheckpointRow,
  readEntries,
  readNodes,
  readSubjectEntries,
  type AppendInput,
} from './repository.js';
import { LeafHasherPool, verifyLogTexts, type TextBatch } from './parallel-verify.js';
import { LogVerifier, type LogVerifyReport } from './verify.js';
import { CustodyWriter } from './writer.js';

/** Serializes checkpoint publication across processes; 'evxc' in ASCII. */
const CHECKPOINT_LOCK_KEY = 0x65767863;

export interface PublishedCheckpoint {
  size: number;
  rootHash: Buffer;
  note: string;
}

export interface InclusionProof {
  leafIndex: number;
  treeSize: number;
  hashes: string[];
}

export interface SubjectCustody {
  checkpoint: string;
  entries: Array<{ entry: CustodyEntry; leafHash: string; proof: InclusionProof }>;
}

/** Stored bytes that are not even JSON are handed to the verifier as-is, to be reported as malformed. */
function parseStoredEntry(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export class CheckpointConsistencyError extends Error {
  override name = 'CheckpointConsistencyError';
}

export class CustodyLog {
  readonly writer: CustodyWriter;

  constructor(
    private readonly db: Db,
    private readonly signer: NoteSigner,
    readonly origin: string,
  ) {
    this.writer = new CustodyWriter(db);
  }

  /** The verifier key (C2SP vkey) auditors pin. */
  get vkey(): string {
    return this.signer.vkey;
  }

  /** Run a state change that records custody; see writer.ts for the batching. */
  run<T>(work: (tx: Tx) => Promise<T> | T): Promise<T> {
    return this.writer.run(work);
  }

  /**
   * Record a custody entry inside a unit's transaction (one obtained from
   * `run`); it is written with the unit's change, before the same commit.
   */
  append(tx: Tx, input: AppendInput): void {
    this.writer.append(tx, input);
  }

  async size(): Promise<number> {
    return committedLogSize(this.db);
  }

  async rootAt(size: number, db: Executor = this.db): Promise<Buffer> {
    return rootFromNodes(size, await readNodes(db, rootNodes(size)));
  }

  /**
   * Publish a checkpoint of the committed log if it grew, after checking the
   * new tree is consistent with the last published one (never publish a
   * fork). One publisher at a time across processes; returns the latest.
   */
  async publishCheckpoint(): Promise<PublishedCheckpoint> {
    return this.db.transaction().execute(async (tx) => {
      await sql`SELECT pg_advisory_xact_lock(${CHECKPOINT_LOCK_KEY})`.execute(tx);
      const size = await committedLogSize(tx);
      const latest = await latestCheckpointRow(tx);
      if (latest && latest.size >= size) return { size: latest.size, rootHash: latest.root_hash, note: latest.note };
      const root = await this.rootAt(size, tx);
      if (latest) {
        // From the empty tree there is no proof to check (RFC 9162 starts at size 1): its root must be the empty root.
        const consistent =
          latest.size === 0
            ? latest.root_hash.equals(EMPTY_ROOT)
            : verifyConsistency(latest.size, size, consistencyProof(latest.size, size, await readNodes(tx, consistencyProofNodes(latest.size, size))), latest.root_hash, root);
        if (!consistent) {
          throw new CheckpointConsistencyError(
            `refusing to publish: the tree of size ${size} is not consistent with the published checkpoint of size ${latest.size}`,
          );
        }
      }
      const note = signNote(formatCheckpoint({ origin: this.origin, size, rootHash: root }), this.signer);
      await insertCheckpoint(tx, { size, rootHash: root, note });
      return { size, rootHash: root, note };
    });
  }

  /** The latest published checkpoint, publishing one first if none covers `atLeast` entries. */
  async checkpoint(atLeast = 0): Promise<PublishedCheckpoint> {
    const latest = await latestCheckpointRow(this.db);
    if (latest && latest.size >= atLeast) return { size: latest.size, rootHash: latest.root_hash, note: latest.note };
    return this.publishCheckpoint();
  }

  async inclusionProof(seq: number, size: number): Promise<InclusionProof> {
    const hashes = inclusionProof(seq, size, await readNodes(this.db, inclusionProofNodes(seq, size)));
    return { leafIndex: seq, treeSize: size, hashes: hashes.map((h) => h.toString('hex')) };
  }

  async consistencyProof(from: number, to: number): Promise<string[]> {
    const hashes = consistencyProof(from, to, await readNodes(this.db, consistencyProofNodes(from, to)));
    return hashes.map((h) => h.toString('hex'));
  }

  entries(start: number, end: number): Promise<Array<{ entry: CustodyEntry; leafHash: string }>> {
    return readEntries(this.db, start, end);
  }

  /** Every entry of `subject` with an inclusion proof to a checkpoint that covers them all. */
  async custodyOf(subject: string): Promise<SubjectCustody> {
    const entries = await readSubjectEntries(this.db, subject);
    const last = entries[entries.length - 1];
    const checkpoint = await this.checkpoint(last ? last.entry.seq + 1 : 0);
    const out: SubjectCustody['entries'] = [];
    for (const e of entries) {
      out.push({ entry: e.entry, leafHash: e.leafHash, proof: await this.inclusionProof(e.entry.seq, checkpoint.size) });
    }
    return { checkpoint: checkpoint.note, entries: out };
  }

  /**
   * The server-side full check (SPEC §2.1 verify): every entry from the
   * stored canonical bytes, in batches, through the same offline verifier an
   * auditor runs, against every stored checkpoint.
   */
  /** Entries as stored, in seq order, with their stored leaf hashes. */
  private async *storedBatches(batchSize: number): AsyncGenerator<TextBatch> {
    // Keyset pagination on the stored seq column: robust to rows removed behind our back.
    let after = -1;
    for (;;) {
      const rows = await this.db
        .selectFrom('log_entries')
        .select(['seq', 'canonical', 'leaf_hash'])
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(batchSize)
        .execute();
      if (rows.length > 0) yield { texts: rows.map((r) => r.canonical.toString('utf8')), storedLeafHashes: rows.map((r) => r.leaf_hash) };
      if (rows.length < batchSize) return;
      after = rows[rows.length - 1]!.seq;
    }
  }

  /**
   * The server-side full check (SPEC §2.1 verify): every entry from the
   * stored canonical bytes, in batches, through the same offline verifier an
   * auditor runs, against every stored checkpoint. The stored leaf hash is
   * extra evidence only the server has: an entry edited in place without
   * recomputing it is located exactly, even where the checkpoints alone could
   * only bound it. From `parallelFrom` entries on, the per-entry work runs in
   * worker threads, keeping the event loop free for other requests.
   */
  async verify(options: { batchSize?: number; parallelFrom?: number } = {}): Promise<LogVerifyReport> {
    const batchSize = options.batchSize ?? 5000;
    const notes = await allCheckpointNotes(this.db);
    if ((await committedLogSize(this.db)) >= (options.parallelFrom ?? 50_000)) {
      this.leafPool ??= new LeafHasherPool();
      return verifyLogTexts(this.signer.vkey, notes, this.storedBatches(batchSize), { origin: this.origin, pool: this.leafPool });
    }
    const verifier = new LogVerifier(this.signer.vkey, notes, { origin: this.origin });
    for await (const batch of this.storedBatches(batchSize)) {
      batch.texts.forEach((text, i) => verifier.push(parseStoredEntry(text), batch.storedLeafHashes?.[i]));
    }
    return verifier.finish();
  }

  private leafPool: LeafHasherPool | null = null;

  /** Stop the verification workers, if any were started. */
  async close(): Promise<void> {
    await this.leafPool?.close();
    this.leafPool = null;
  }
}
