/**
 * The custody log in PostgreSQL: appends under the head lock, tree node reads
 * for roots and proofs, checkpoints. Pure formats live in entry.ts,
 * merkle.ts and note.ts; this file only moves their bytes in and out.
 */
import { sql } from 'kysely';
import type { Actor, Principal } from '../auth/principal.js';
import type { Executor, Tx } from '../db/connect.js';
import type { LogCheckpointRow } from '../db/schema.js';
import { canonicalBytes, type JsonValue } from '../shared/jcs.js';
import { GENESIS_PREV, type CustodyEntry } from './entry.js';
import { appendLeaves, leafHash, type NodeKey, type NodeReader } from './merkle.js';

export interface AppendInput {
  type: string;
  /** A principal is reduced to {iss, sub, jurisdiction}; null for the system itself. */
  actor: Principal | Actor | null;
  subject: string;
  data: Record<string, JsonValue>;
}

export interface AppendedEntry {
  entry: CustodyEntry;
  leafHash: string;
}

/**
 * The log head as seen by the transaction that holds its lock. Cached per
 * transaction so a batch of appends costs one round trip each; valid only
 * while that transaction holds the row lock, which it does until it ends.
 */
export interface HeadState {
  size: number;
  lastLeafHash: Buffer;
  frontier: Buffer[];
  subjectHeads: Map<string, string | null>;
}

const heads = new WeakMap<Tx, HeadState>();

function toActor(actor: Principal | Actor | null): CustodyEntry['actor'] {
  if (actor === null) return null;
  if ('iss' in actor) return { iss: actor.iss, sub: actor.sub, jurisdiction: actor.jurisdiction };
  return { iss: actor.issuer, sub: actor.sub, jurisdiction: actor.jurisdiction };
}

/** Lock the head row (serializing all appenders, in every process) and cache it for this transaction. */
export async function lockLogHead(tx: Tx): Promise<HeadState> {
  const cached = heads.get(tx);
  if (cached) return cached;
  const row = await tx.selectFrom('log_head').select(['size', 'last_leaf_hash', 'frontier']).where('singleton', '=', true).forUpdate().executeTakeFirstOrThrow();
  const state: HeadState = { size: row.size, lastLeafHash: row.last_leaf_hash, frontier: row.frontier, subjectHeads: new Map() };
  heads.set(tx, state);
  return state;
}

export function snapshotHead(tx: Tx): HeadState | undefined {
  const s = heads.get(tx);
  return s && { size: s.size, lastLeafHash: s.lastLeafHash, frontier: [...s.frontier], subjectHeads: new Map(s.subjectHeads) };
}

/** After a savepoint rollback the appends it undid must be forgotten too. */
export function restoreHead(tx: Tx, snapshot: HeadState | undefined): void {
  if (snapshot) heads.set(tx, snapshot);
  else heads.delete(tx);
}

async function subjectHead(tx: Tx, state: HeadState, subject: string): Promise<string | null> {
  if (state.subjectHeads.has(subject)) return state.subjectHeads.get(subject)!;
  const row = await tx.selectFrom('log_entries').select('leaf_hash').where('subject', '=', subject).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const head = row ? row.leaf_hash.toString('hex') : null;
  state.subjectHeads.set(subject, head);
  return head;
}

/**
 * Append one custody entry inside the caller's transaction: it commits or
 * rolls back with the change it records. `seq`, `prev` and `subjectPrev` come
 * from the database under the head lock, never from process memory that
 * another process could have outdated.
 */
export async function appendCustodyEntry(tx: Tx, input: AppendInput, now: Date = new Date()): Promise<AppendedEntry> {
  const state = await lockLogHead(tx);
  const subjectPrev = await subjectHead(tx, state, input.subject);
  const entry: CustodyEntry = {
    v: 1,
    seq: state.size,
    time: now.toISOString(),
    type: input.type,
    actor: toActor(input.actor),
    subject: input.subject,
    data: input.data,
    prev: state.size === 0 ? GENESIS_PREV : state.lastLeafHash.toString('hex'),
    subjectPrev,
  };
  const canonical = canonicalBytes(entry);
  const leaf = leafHash(canonical);
  const { nodes, frontier } = appendLeaves(state.size, state.frontier, [leaf]);
  const size = state.size + 1;
  // One round trip: the entry, the subtrees it completes, and the new head.
  await sql`
    WITH entry AS (
      INSERT INTO log_entries (seq, subject, type, leaf_hash, canonical)
      VALUES (${entry.seq}, ${entry.subject}, ${entry.type}, ${leaf}, ${canonical})
    ), nodes AS (
      INSERT INTO log_nodes (level, idx, hash)
      SELECT * FROM unnest(${nodes.map((n) => n.level)}::smallint[], ${nodes.map((n) => n.index)}::bigint[], ${nodes.map((n) => n.hash)}::bytea[])
    )
    UPDATE log_head SET size = ${size}, last_leaf_hash = ${leaf}, frontier = ${frontier}::bytea[] WHERE singleton`.execute(tx);
  state.size = size;
  state.lastLeafHash = leaf;
  state.frontier = frontier;
  const hex = leaf.toString('hex');
  state.subjectHeads.set(input.subject, hex);
  return { entry, leafHash: hex };
}

/** The committed log size (what a new checkpoint may cover). */
export async function committedLogSize(db: Executor): Promise<number> {
  const row = await db.selectFrom('log_head').select('size').where('singleton', '=', true).executeTakeFirstOrThrow();
  return row.size;
}

export class LogCorruptError extends Error {
  override name = 'LogCorruptError';
}

/** Fetch exactly the tree nodes `keys` in one query and serve them as a NodeReader. */
export async function readNodes(db: Executor, keys: NodeKey[]): Promise<NodeReader> {
  const leaves = keys.filter((k) => k.level === 0).map((k) => k.index);
  const inner = keys.filter((k) => k.level > 0);
  const found = new Map<string, Buffer>();
  if (keys.length > 0) {
    const rows = await sql<{ level: number; idx: number; hash: Buffer }>`
      SELECT 0 AS level, seq AS idx, leaf_hash AS hash FROM log_entries WHERE seq = ANY(${leaves}::bigint[])
      UNION ALL
      SELECT n.level, n.idx, n.hash FROM log_nodes n
        JOIN unnest(${inner.map((k) => k.level)}::smallint[], ${inner.map((k) => k.index)}::bigint[]) AS want(level, idx)
        ON n.level = want.level AND n.idx = want.idx`.execute(db);
    for (const r of rows.rows) found.set(`${r.level}:${r.idx}`, r.hash);
  }
  return (level, index) => {
    const hash = found.get(`${level}:${index}`);
    if (!hash) throw new LogCorruptError(`tree node (${level}, ${index}) is missing from the database`);
    return hash;
  };
}

export async function latestCheckpointRow(db: Executor): Promise<LogCheckpointRow | undefined> {
  return db.selectFrom('log_checkpoints').selectAll().orderBy('size', 'desc').limit(1).executeTakeFirst();
}

export async function insertCheckpoint(db: Executor, row: { size: number; rootHash: Buffer; note: string }): Promise<void> {
  await db.insertInto('log_checkpoints').values({ size: row.size, root_hash: row.rootHash, note: row.note }).execute();
}

export async function allCheckpointNotes(db: Executor): Promise<string[]> {
  const rows = await db.selectFrom('log_checkpoints').select('note').orderBy('size').execute();
  return rows.map((r) => r.note);
}

/** Entries [start, end) from their stored canonical bytes, in order. */
export async function readEntries(db: Executor, start: number, end: number): Promise<Array<{ entry: CustodyEntry; leafHash: string }>> {
  const rows = await db.selectFrom('log_entries').select(['canonical', 'leaf_hash']).where('seq', '>=', start).where('seq', '<', end).orderBy('seq').execute();
  return rows.map((r) => ({ entry: JSON.parse(r.canonical.toString('utf8')) as CustodyEntry, leafHash: r.leaf_hash.toString('hex') }));
}

export async function readSubjectEntries(db: Executor, subject: string): Promise<Array<{ entry: CustodyEntry; leafHash: string }>> {
  const rows = await db.selectFrom('log_entries').select(['canonical', 'leaf_hash']).where('subject', '=', subject).orderBy('seq').execute();
  return rows.map((r) => ({ entry: JSON.parse(r.canonical.toString('utf8')) as CustodyEntry, leafHash: r.leaf_hash.toString('hex') }));
}

export async function entrySubject(db: Executor, seq: number): Promise<string | null> {
  const row = await db.selectFrom('log_entries').select('subject').where('seq', '=', seq).executeTakeFirst();
  return row ? row.subject : null;
}
