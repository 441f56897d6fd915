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

function toActor(actor: Principal | Actor | null): CustodyEntry['actor'] {
  if (actor === null) return null;
  if ('iss' in actor) return { iss: actor.iss, sub: actor.sub, jurisdiction: actor.jurisdiction };
  return { iss: actor.issuer, sub: actor.sub, jurisdiction: actor.jurisdiction };
}

/** An append waiting for its seq: what the caller said, and when. */
export interface PendingAppend {
  input: AppendInput;
  time: Date;
}

/**
 * Write `appends` in order as the next entries of the log, inside `tx`, in
 * two round trips whatever their number: one that locks the head and reads
 * the latest entry of each subject they touch (evx_lock_log_head, after the
 * lock), one for the entries, the subtrees they complete and the new head.
 * `seq`, `prev` and `subjectPrev` come from the database under the lock,
 * never from another transaction's memory. Calling it again in the same
 * transaction is safe: the lock is already held and the head row read back
 * includes this transaction's own update.
 */
export async function writeEntries(tx: Tx, appends: readonly PendingAppend[]): Promise<AppendedEntry[]> {
  if (appends.length === 0) return [];
  const subjects = [...new Set(appends.map((a) => a.input.subject))];
  const heads = new Map<string, string | null>(subjects.map((s) => [s, null]));
  const row = (
    await sql<{ size: number; last_leaf_hash: Buffer; frontier: Buffer[]; head_subjects: string[] | null; head_hashes: Buffer[] | null }>`
      SELECT * FROM evx_lock_log_head(${subjects}::text[])`.execute(tx)
  ).rows[0]!;
  const head = { size: row.size, lastLeafHash: row.last_leaf_hash, frontier: row.frontier };
  (row.head_subjects ?? []).forEach((subject, i) => heads.set(subject, row.head_hashes![i]!.toString('hex')));

  const written: AppendedEntry[] = [];
  const leaves: Buffer[] = [];
  const canonicals: Buffer[] = [];
  let size = head.size;
  let last = head.lastLeafHash;
  for (const { input, time } of appends) {
    const entry: CustodyEntry = {
      v: 1,
      seq: size,
      time: time.toISOString(),
      type: input.type,
      actor: toActor(input.actor),
      subject: input.subject,
      data: input.data,
      prev: size === 0 ? GENESIS_PREV : last.toString('hex'),
      subjectPrev: heads.get(input.subject) ?? null,
    };
    const canonical = canonicalBytes(entry);
    const leaf = leafHash(canonical);
    const hex = leaf.toString('hex');
    heads.set(input.subject, hex);
    canonicals.push(canonical);
    leaves.push(leaf);
    written.push({ entry, leafHash: hex });
    last = leaf;
    size += 1;
  }
  const { nodes, frontier } = appendLeaves(head.size, head.frontier, leaves);
  // One statement: the entries, the subtrees they complete, and the new head.
  await sql`
    WITH entries AS (
      INSERT INTO log_entries (seq, subject, type, leaf_hash, canonical)
      SELECT * FROM unnest(
        ${written.map((w) => w.entry.seq)}::bigint[], ${written.map((w) => w.entry.subject)}::text[],
        ${written.map((w) => w.entry.type)}::text[], ${leaves}::bytea[], ${canonicals}::bytea[])
    ), nodes AS (
      INSERT INTO log_nodes (level, idx, hash)
      SELECT * FROM unnest(${nodes.map((n) => n.level)}::smallint[], ${nodes.map((n) => n.index)}::bigint[], ${nodes.map((n) => n.hash)}::bytea[])
    )
    UPDATE log_head SET size = ${size}, last_leaf_hash = ${last}, frontier = ${frontier}::bytea[] WHERE singleton`.execute(tx);
  return written;
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
