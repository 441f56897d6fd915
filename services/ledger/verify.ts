/**
 * Offline verification of the custody log: the library behind the server's
 * GET /v1/log/verify and the auditor CLI. Nothing here trusts the server: all
 * input is `unknown` and checked, and every verdict is recomputed from entries,
 * proofs and signed checkpoints.
 */
import { decodeHex } from '../shared/encoding.js';
import {
  GENESIS_PREV,
  custodyEntryProblem,
  entryLeafHashHexUnchecked,
  entryProblem,
  type CustodyEntry,
} from './entry.js';
import { EMPTY_ROOT, MerkleAccumulator, verifyConsistency, verifyInclusion } from './merkle.js';
import {
  NoteError,
  parseCheckpoint,
  parseVerifierKey,
  verifyCheckpoint,
  type Checkpoint,
  type NoteVerifier,
} from './note.js';

/** An entry as the workers of parallel-verify.ts report it: its shape problem or its leaf hash, and its chain fields. */
export interface PreparedEntry {
  problem: string | null;
  leafHex: string | null;
  seq: number;
  subject: string;
  prev: string;
  subjectPrev: string | null;
}

export interface BadEntry {
  seq: number;
  reason: string;
}

/** The SPEC §2.1 verify shape. */
export interface LogVerifyReport {
  ok: boolean;
  /** Entries received. */
  size: number;
  /** Entries read and checked in order (stops at a missing, misplaced or malformed entry). */
  checked: number;
  firstBad: BadEntry | null;
}

export interface LogVerifierOptions {
  /** The origin every checkpoint must carry; defaults to the key name. */
  origin?: string;
}

interface CheckpointRecord {
  /** Position in the list given to the constructor, for messages. */
  position: number;
  /** Infinity when even the body could not be read: ordered after all others. */
  size: number;
  rootHex: string | null;
  /** Signature, origin or syntax problem; such a checkpoint vouches for nothing. */
  problem: string | null;
}

/** What we know about the first broken `prev` link (entry j-1 → entry j). */
interface BrokenLink {
  j: number;
  prevSubject: string | null;
  prevLeafHex: string;
  subject: string;
  subjectPrev: string | null;
  /** Whether the link j → j+1 is broken too; null when there is no usable entry j+1. */
  nextBroken: boolean | null;
}

function resolveKey(vkey: string | NoteVerifier): NoteVerifier {
  return typeof vkey === 'string' ? parseVerifierKey(vkey) : vkey;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Reads the size of a checkpoint whose signature we could not accept, for ordering only. */
function unverifiedSize(note: unknown): number {
  if (typeof note !== 'string') return Number.POSITIVE_INFINITY;
  const split = note.lastIndexOf('\n\n');
  try {
    return parseCheckpoint(note.slice(0, split + 1)).size;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * Incremental whole-log verifier: give it the log key and the stored signed
 * checkpoints (any order), push every entry in seq order, then finish().
 *
 * Checks: entry shape; gapless seq from 0; the prev chain; each subject's
 * subjectPrev chain; every checkpoint's signature and origin; the recomputed
 * root at each checkpoint size; forks (same size, different roots); and
 * checkpoints beyond the end of the log (truncation).
 *
 * firstBad names the entry that was altered, not merely where a check first
 * failed (see docs/FORMATS.md, A8 "Verifying"):
 * - a missing, extra or reordered entry: the position where seq stops matching;
 * - a broken link j-1 → j with j → j+1 intact: entry j-1's content changed;
 *   with j → j+1 broken too, or entry j-1 covered by a matching checkpoint:
 *   entry j (its prev changed);
 * - all links intact but a checkpoint root mismatch (a consistently rewritten
 *   tail, or a changed last entry), or a bad checkpoint: the first seq not
 *   covered by the last good checkpoint below it;
 * - a signed checkpoint larger than the log: the first missing seq.
 * Memory is O(log n) for the tree plus one hash per distinct subject.
 */
export class LogVerifier {
  readonly #records: CheckpointRecord[];
  readonly #neededSizes: number[];
  #nextNeeded = 0;
  readonly #roots = new Map<number, string>();
  readonly #acc = new MerkleAccumulator();
  readonly #subjects = new Map<string, string>();
  #received = 0;
  #count = 0;
  #prevLeafHex = GENESIS_PREV;
  #prevSubject: string | null = null;
  #stopped: BadEntry | null = null;
  #brokenLink: BrokenLink | null = null;
  #subjectBreak: BadEntry | null = null;
  #storedMismatch: BadEntry | null = null;
  #finished = false;

  constructor(vkey: string | NoteVerifier, checkpoints: Iterable<string>, options: LogVerifierOptions = {}) {
    const key = resolveKey(vkey);
    const origin = options.origin ?? key.name;
    const records: CheckpointRecord[] = [];
    let position = 0;
    for (const note of checkpoints) {
      try {
        const cp = verifyCheckpoint(note, key, { origin });
        records.push({ position, size: cp.size, rootHex: cp.rootHash.toString('hex'), problem: null });
      } catch (err) {
        const why = err instanceof NoteError ? err.message : errorText(err);
        records.push({ position, size: unverifiedSize(note), rootHex: null, problem: why });
      }
      position++;
    }
    records.sort((a, b) => a.size - b.size || a.position - b.position);
    this.#records = records;
    this.#neededSizes = [...new Set(records.filter((r) => r.problem === null).map((r) => r.size))].sort((a, b) => a - b);
    this.#recordRoots();
  }

  /**
   * Feeds the next entry (as received: it is checked, not trusted). A server
   * that stored each entry's leaf hash when appending can pass it: an entry
   * edited in place then shows up exactly, even where only a later checkpoint
   * would otherwise bound it (e.g. the last entry, or sparse checkpoints).
   */
  push(value: unknown, storedLeafHash?: string | Uint8Array): void {
    if (this.#finished) throw new Error('LogVerifier: push() after finish()');
    this.#received++;
    if (this.#stopped) return;
    const position = this.#count;
    const subjectName = typeof value === 'object' && value !== null ? (value as { subject?: unknown }).subject : undefined;
    const subjectLast = typeof subjectName === 'string' ? (this.#subjects.get(subjectName) ?? null) : null;
    const problem = entryProblem(value, this.#prevLeafHex, subjectLast);
    if (problem) {
      this.#stopped = { seq: position, reason: `entry ${position} is malformed: ${problem}` };
      return;
    }
    const entry = value as CustodyEntry;
    if (entry.seq !== position) {
      this.#stopped = {
        seq: position,
        reason: `expected entry ${position} but found seq ${entry.seq}: an entry is missing, duplicated or out of order`,
      };
      return;
    }
    let leafHex: string;
    try {
      leafHex = entryLeafHashHexUnchecked(entry);
    } catch (err) {
      this.#stopped = { seq: position, reason: `entry ${position} cannot be canonicalized: ${errorText(err)}` };
      return;
    }
    this.#accept(entry, leafHex, storedLeafHash);
  }

  /**
   * Feeds the next entry already checked and hashed elsewhere (by
   * parallel-verify.ts's workers, with the same entry.ts code): `problem` is
   * its shape problem or null, `leafHex` its leaf hash. Same verdicts as push().
   */
  pushPrepared(prepared: PreparedEntry, storedLeafHash?: string | Uint8Array): void {
    if (this.#finished) throw new Error('LogVerifier: push() after finish()');
    this.#received++;
    if (this.#stopped) return;
    const position = this.#count;
    if (prepared.problem !== null || prepared.leafHex === null) {
      this.#stopped = { seq: position, reason: `entry ${position} is malformed: ${prepared.problem ?? 'no leaf hash'}` };
      return;
    }
    if (prepared.seq !== position) {
      this.#stopped = {
        seq: position,
        reason: `expected entry ${position} but found seq ${prepared.seq}: an entry is missing, duplicated or out of order`,
      };
      return;
    }
    this.#accept(prepared, prepared.leafHex, storedLeafHash);
  }

  #accept(entry: Pick<CustodyEntry, 'subject' | 'prev' | 'subjectPrev'>, leafHex: string, storedLeafHash: string | Uint8Array | undefined): void {
    const position = this.#count;
    const subjectLast = this.#subjects.get(entry.subject) ?? null;
    if (storedLeafHash !== undefined && this.#storedMismatch === null) {
      const stored = typeof storedLeafHash === 'string' ? storedLeafHash : Buffer.from(storedLeafHash).toString('hex');
      if (stored !== leafHex) {
        this.#storedMismatch = {
          seq: position,
          reason: `entry ${position} no longer hashes to the leaf hash stored when it was appended: it was altered in place`,
        };
      }
    }

    const linkBroken = entry.prev !== this.#prevLeafHex;
    this.#noteNextLink(linkBroken);
    if (linkBroken && this.#brokenLink === null) {
      this.#brokenLink = {
        j: position,
        prevSubject: this.#prevSubject,
        prevLeafHex: this.#prevLeafHex,
        subject: entry.subject,
        subjectPrev: entry.subjectPrev,
        nextBroken: null,
      };
    }

    if (entry.subjectPrev !== subjectLast && this.#subjectBreak === null) {
      this.#subjectBreak = {
        seq: position,
        reason:
          subjectLast === null
            ? `entry ${position} has a subjectPrev but is the first entry of ${entry.subject} in the log`
            : entry.subjectPrev === null
              ? `entry ${position} has no subjectPrev but ${entry.subject} has earlier entries`
              : `subjectPrev of entry ${position} does not match the previous entry of ${entry.subject}`,
      };
    }
    this.#subjects.set(entry.subject, leafHex);

    this.#acc.pushComputedHex(leafHex);
    this.#count++;
    this.#prevLeafHex = leafHex;
    this.#prevSubject = entry.subject;
    if (this.#count === this.#neededSizes[this.#nextNeeded]) this.#recordRoots();
  }

  /** Records whether link j → j+1 holds, when entry j+1 is the one just read after the first break at j. */
  #noteNextLink(broken: boolean): void {
    const b = this.#brokenLink;
    if (b !== null && b.nextBroken === null && b.j === this.#count - 1) b.nextBroken = broken;
  }

  #recordRoots(): void {
    while (this.#neededSizes[this.#nextNeeded] === this.#count) {
      this.#roots.set(this.#count, this.#acc.rootHex());
      this.#nextNeeded++;
    }
  }

  finish(): LogVerifyReport {
    if (this.#finished) throw new Error('LogVerifier: finish() called twice');
    this.#finished = true;
    const n = this.#count;
    const matched = (r: CheckpointRecord): boolean => r.problem === null && this.#roots.get(r.size) === r.rootHex;

    // Walk the checkpoints by size; the first bad group ends the walk.
    let lastGood = 0;
    let checkpointBad: (BadEntry & { size: number }) | null = null;
    const records = this.#records;
    for (let i = 0; i < records.length && checkpointBad === null; ) {
      const size = (records[i] as CheckpointRecord).size;
      const group: CheckpointRecord[] = [];
      for (; i < records.length && (records[i] as CheckpointRecord).size === size; i++) group.push(records[i] as CheckpointRecord);
      const invalid = group.find((r) => r.problem !== null);
      const roots = new Set(group.filter((r) => r.problem === null).map((r) => r.rootHex));
      const since = `entries from seq ${lastGood} on are not vouched for by any good checkpoint`;
      if (invalid) {
        const what = Number.isFinite(size) ? `the stored checkpoint of size ${size}` : `stored checkpoint #${invalid.position}`;
        checkpointBad = { size, seq: lastGood, reason: `${what} does not verify (${invalid.problem}); ${since}` };
      } else if (roots.size > 1) {
        checkpointBad = { size, seq: lastGood, reason: `two signed checkpoints of size ${size} have different roots (a fork); ${since}` };
      } else if (size > n) {
        checkpointBad = {
          size,
          seq: n,
          reason: `a signed checkpoint of size ${size} exists but the log ends after ${n} entries: entries from seq ${n} on are missing`,
        };
      } else if (!group.every(matched)) {
        checkpointBad = {
          size,
          seq: lastGood,
          reason:
            `the log's root at size ${size} does not match its signed checkpoint while the entry chain holds there: ` +
            `entries from seq ${lastGood} (the first not covered by the last matching checkpoint) on were rewritten`,
        };
      } else {
        lastGood = size;
      }
    }

    const candidates: BadEntry[] = [];
    if (this.#stopped) candidates.push(this.#stopped);
    if (this.#storedMismatch) candidates.push(this.#storedMismatch);
    const chain = this.#attributeBrokenLink(matched);
    if (chain) candidates.push(chain);
    if (this.#subjectBreak) candidates.push(this.#subjectBreak);
    // Stable sort keeps the more specific explanation first on ties.
    const fromEntries = candidates.sort((a, b) => a.seq - b.seq)[0] ?? null;

    let firstBad: BadEntry | null;
    if (checkpointBad === null) firstBad = fromEntries;
    else if (fromEntries !== null && fromEntries.seq < checkpointBad.size) firstBad = fromEntries;
    else firstBad = { seq: checkpointBad.seq, reason: checkpointBad.reason };
    return { ok: firstBad === null, size: this.#received, checked: n, firstBad };
  }

  #attributeBrokenLink(matched: (r: CheckpointRecord) => boolean): BadEntry | null {
    const b = this.#brokenLink;
    if (b === null) return null;
    const j = b.j;
    if (j === 0) return { seq: 0, reason: 'prev of entry 0 is not 64 zeros' };
    const prevVouched = this.#records.some((r) => r.size >= j && matched(r));
    const prevAltered = (): BadEntry => ({
      seq: j,
      reason: `prev of entry ${j} does not match the leaf hash of entry ${j - 1}: entry ${j} was altered`,
    });
    const earlierAltered = (): BadEntry => ({
      seq: j - 1,
      reason: `entry ${j - 1} no longer hashes to the prev of entry ${j}: entry ${j - 1} was altered`,
    });
    if (prevVouched || b.nextBroken === true) return prevAltered();
    if (b.nextBroken === false) return earlierAltered();
    // Entry j is the last usable one: its subjectPrev can still say whether entry j-1 is intact.
    if (b.prevSubject === b.subject && b.subjectPrev === b.prevLeafHex) return prevAltered();
    return {
      seq: j - 1,
      reason: `entry ${j - 1} no longer hashes to the prev of entry ${j}: entry ${j - 1}, or the prev of entry ${j}, was altered`,
    };
  }
}

/** Verifies a whole log held in memory (convenience for tests and small logs). */
export function verifyLog(
  vkey: string | NoteVerifier,
  checkpoints: Iterable<string>,
  entries: Iterable<unknown>,
  options: LogVerifierOptions = {},
): LogVerifyReport {
  const verifier = new LogVerifier(vkey, checkpoints, options);
  for (const entry of entries) verifier.push(entry);
  return verifier.finish();
}

// ---- per-bundle custody (GET /v1/bundles/:id/custody) ----

export interface CustodyEntryResult {
  index: number;
  seq: number | null;
  ok: boolean;
  problem: string | null;
}

export interface CustodyVerdict {
  ok: boolean;
  checkpoint: Checkpoint | null;
  subject: string | null;
  entries: CustodyEntryResult[];
  /** index is null for a problem with the response or checkpoint as a whole. */
  firstProblem: { index: number | null; seq: number | null; reason: string } | null;
}

export interface CustodyOptions {
  /** The checkpoint origin to require; defaults to the key name. */
  origin?: string;
  /** The subject the entries must be about, e.g. `bundle:<id>`. */
  subject?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hexHashes(value: unknown): Buffer[] | null {
  if (!Array.isArray(value)) return null;
  const out: Buffer[] = [];
  for (const item of value) {
    const bytes = typeof item === 'string' ? decodeHex(item, 32) : null;
    if (bytes === null) return null;
    out.push(bytes);
  }
  return out;
}

/**
 * Checks a custody response `{checkpoint, entries: [{entry, leafHash, proof}]}`:
 * the checkpoint's signature, each entry's shape and recomputed leaf hash, each
 * inclusion proof against the checkpoint (leafIndex = seq, treeSize = the
 * checkpoint's size), increasing seq, one subject, and that subject's chain
 * unbroken from `subjectPrev: null` through every entry, so no entry can be
 * left out of the middle or the start. (Leaving out the newest entries can
 * only be caught against the full log.)
 */
export function verifyCustody(response: unknown, vkey: string | NoteVerifier, options: CustodyOptions = {}): CustodyVerdict {
  const verdict: CustodyVerdict = { ok: false, checkpoint: null, subject: options.subject ?? null, entries: [], firstProblem: null };
  const fail = (index: number | null, seq: number | null, reason: string): CustodyVerdict => {
    verdict.firstProblem ??= { index, seq, reason };
    return verdict;
  };
  let key: NoteVerifier;
  try {
    key = resolveKey(vkey);
  } catch (err) {
    return fail(null, null, `log key: ${errorText(err)}`);
  }
  if (!isRecord(response) || typeof response.checkpoint !== 'string' || !Array.isArray(response.entries)) {
    return fail(null, null, 'response is not {checkpoint, entries}');
  }
  try {
    verdict.checkpoint = verifyCheckpoint(response.checkpoint, key, { origin: options.origin ?? key.name });
  } catch (err) {
    fail(null, null, `checkpoint: ${errorText(err)}`);
  }
  const checkpoint = verdict.checkpoint;
  if (response.entries.length === 0) fail(null, null, 'no custody entries');

  let previous: { seq: number; leafHex: string } | null = null;
  response.entries.forEach((item: unknown, index: number) => {
    const result: CustodyEntryResult = { index, seq: null, ok: false, problem: null };
    verdict.entries.push(result);
    const before = previous;
    previous = null;
    const problem = ((): string | null => {
      if (!isRecord(item)) return 'item is not {entry, leafHash, proof}';
      const shape = custodyEntryProblem(item.entry);
      if (shape) return `entry is malformed: ${shape}`;
      const entry = item.entry as CustodyEntry;
      result.seq = entry.seq;
      const leafHex = entryLeafHashHexUnchecked(entry);
      previous = { seq: entry.seq, leafHex };
      if (item.leafHash !== leafHex) return 'leafHash does not match the entry';
      verdict.subject ??= entry.subject;
      if (entry.subject !== verdict.subject) return `entry is about ${entry.subject}, not ${verdict.subject}`;
      if (index === 0) {
        if (entry.subjectPrev !== null) return 'the first entry has a subjectPrev: earlier entries of the subject are missing';
      } else if (before === null) {
        return 'cannot check the subject chain: the previous item is malformed';
      } else if (entry.seq <= before.seq) {
        return 'entries are not in increasing seq order';
      } else if (entry.subjectPrev !== before.leafHex) {
        return 'subjectPrev does not match the previous entry: an entry of the subject is missing or altered';
      }
      const proof = item.proof;
      if (!isRecord(proof)) return 'proof is not {leafIndex, treeSize, hashes}';
      if (proof.leafIndex !== entry.seq) return 'proof leafIndex is not the entry seq';
      if (checkpoint === null) return 'inclusion not verifiable: the checkpoint is invalid';
      if (proof.treeSize !== checkpoint.size) return 'proof treeSize is not the checkpoint size';
      const hashes = hexHashes(proof.hashes);
      if (hashes === null) return 'proof hashes are not 64-digit hex strings';
      if (!verifyInclusion(entry.seq, checkpoint.size, Buffer.from(leafHex, 'hex'), hashes, checkpoint.rootHash)) {
        return 'inclusion proof does not lead to the checkpoint root';
      }
      return null;
    })();
    result.problem = problem;
    result.ok = problem === null;
    if (problem) fail(index, result.seq, problem);
  });
  verdict.ok = verdict.firstProblem === null;
  return verdict;
}

// ---- checkpoint to checkpoint (an auditor who saved an earlier one) ----

export interface ConsistencyVerdict {
  ok: boolean;
  reason: string | null;
  old: Checkpoint | null;
  new: Checkpoint | null;
}

function proofHashes(proof: unknown, from: number, to: number): Buffer[] | string {
  if (Array.isArray(proof)) {
    if (proof.every((p) => p instanceof Uint8Array)) return proof.map((p: Uint8Array) => Buffer.from(p));
    return hexHashes(proof) ?? 'proof hashes are not 64-digit hex strings';
  }
  if (isRecord(proof)) {
    if (proof.from !== from || proof.to !== to) return `the proof is from ${String(proof.from)} to ${String(proof.to)}, not ${from} to ${to}`;
    return hexHashes(proof.hashes) ?? 'proof hashes are not 64-digit hex strings';
  }
  return 'proof is not a list of hashes or {from, to, hashes}';
}

/**
 * Checks that `newNote` extends `oldNote` (both signed checkpoints of the log):
 * detects rollback (the new one is smaller), forks at equal size and split
 * views (no valid consistency proof). `proof` is the hashes (hex or bytes) or
 * the server's `{from, to, hashes}`.
 */
export function verifyConsistencyBetween(
  oldNote: string,
  newNote: string,
  proof: unknown,
  vkey: string | NoteVerifier,
  options: { origin?: string } = {},
): ConsistencyVerdict {
  const verdict: ConsistencyVerdict = { ok: false, reason: null, old: null, new: null };
  const fail = (reason: string): ConsistencyVerdict => ({ ...verdict, reason });
  let key: NoteVerifier;
  try {
    key = resolveKey(vkey);
  } catch (err) {
    return fail(`log key: ${errorText(err)}`);
  }
  const origin = options.origin ?? key.name;
  try {
    verdict.old = verifyCheckpoint(oldNote, key, { origin });
  } catch (err) {
    return fail(`saved checkpoint: ${errorText(err)}`);
  }
  try {
    verdict.new = verifyCheckpoint(newNote, key, { origin });
  } catch (err) {
    return fail(`new checkpoint: ${errorText(err)}`);
  }
  const a = verdict.old;
  const b = verdict.new;
  if (b.size < a.size) return fail(`rollback: the new checkpoint has size ${b.size}, smaller than the saved one (${a.size})`);
  const hashes = proofHashes(proof, a.size, b.size);
  if (typeof hashes === 'string') return fail(hashes);
  if (a.size === b.size) {
    if (!a.rootHash.equals(b.rootHash)) return fail(`fork: two signed checkpoints of size ${a.size} have different roots`);
    if (hashes.length !== 0) return fail('checkpoints of equal size need an empty proof');
    return { ...verdict, ok: true };
  }
  if (a.size === 0) {
    // Every tree extends the empty one; there is nothing to prove.
    if (!a.rootHash.equals(EMPTY_ROOT)) return fail('the saved checkpoint of size 0 does not carry the empty-tree root');
    if (hashes.length !== 0) return fail('a proof from size 0 must be empty');
    return { ...verdict, ok: true };
  }
  if (!verifyConsistency(a.size, b.size, hashes, a.rootHash, b.rootHash)) {
    return fail(`the consistency proof does not show that the checkpoint of size ${b.size} extends the saved one of size ${a.size} (a split view or a bad proof)`);
  }
  return { ...verdict, ok: true };
}
