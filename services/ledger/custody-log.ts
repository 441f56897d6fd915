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
function parseStoredEntry(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return bytes.toString('utf8');
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
  async verify(batchSize = 5000): Promise<LogVerifyReport> {
    const notes = await allCheckpointNotes(this.db);
    const verifier = new LogVerifier(this.signer.vkey, notes, { origin: this.origin });
    // Keyset pagination on the stored seq column: robust to rows removed behind our back. The
    // stored leaf hash is extra evidence only the server has: an entry edited in place without
    // recomputing it is located exactly, even where the checkpoints alone could only bound it.
    let after = -1;
    for (;;) {
      const rows = await this.db
        .selectFrom('log_entries')
        .select(['seq', 'canonical', 'leaf_hash'])
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(batchSize)
        .execute();
      for (const r of rows) verifier.push(parseStoredEntry(r.canonical), r.leaf_hash);
      if (rows.length < batchSize) break;
      after = rows[rows.length - 1]!.seq;
    }
    return verifier.finish();
  }
}
