import type { Executor, Tx } from '../db/connect.js';
import type { JurisdictionKeyRow, JurisdictionRow } from '../db/schema.js';

export type JurisdictionKind = JurisdictionRow['kind'];

export interface JurisdictionKey {
  keyVersion: number;
  boxPublicKey: string;
  createdAt: string;
}

export interface Jurisdiction {
  code: string;
  name: string;
  kind: JurisdictionKind;
  createdAt: string;
  currentKeyVersion: number | null;
  keys: JurisdictionKey[];
}

function toKey(row: JurisdictionKeyRow): JurisdictionKey {
  return { keyVersion: row.key_version, boxPublicKey: row.box_public_key.toString('base64'), createdAt: row.created_at.toISOString() };
}

function toJurisdiction(row: JurisdictionRow, keys: JurisdictionKeyRow[]): Jurisdiction {
  const mine = keys.filter((k) => k.jurisdiction === row.code).sort((a, b) => a.key_version - b.key_version);
  return {
    code: row.code,
    name: row.name,
    kind: row.kind,
    createdAt: row.created_at.toISOString(),
    currentKeyVersion: mine.length > 0 ? mine[mine.length - 1]!.key_version : null,
    keys: mine.map(toKey),
  };
}

/** Insert; false when the code is taken (the caller reports the conflict). */
export async function insertJurisdiction(db: Executor, j: { code: string; name: string; kind: JurisdictionKind }): Promise<Jurisdiction | null> {
  const row = await db.insertInto('jurisdictions').values(j).onConflict((oc) => oc.column('code').doNothing()).returningAll().executeTakeFirst();
  return row ? toJurisdiction(row, []) : null;
}

export async function getJurisdiction(db: Executor, code: string): Promise<Jurisdiction | null> {
  const row = await db.selectFrom('jurisdictions').selectAll().where('code', '=', code).executeTakeFirst();
  if (!row) return null;
  const keys = await db.selectFrom('jurisdiction_keys').selectAll().where('jurisdiction', '=', code).execute();
  return toJurisdiction(row, keys);
}

export async function listJurisdictions(db: Executor, page: { after?: string; limit: number }): Promise<{ items: Jurisdiction[]; next: string | null }> {
  let q = db.selectFrom('jurisdictions').selectAll().orderBy('code').limit(page.limit + 1);
  if (page.after !== undefined) q = q.where('code', '>', page.after);
  const rows = await q.execute();
  const more = rows.length > page.limit;
  const pageRows = rows.slice(0, page.limit);
  const codes = pageRows.map((r) => r.code);
  const keys = codes.length > 0 ? await db.selectFrom('jurisdiction_keys').selectAll().where('jurisdiction', 'in', codes).execute() : [];
  return { items: pageRows.map((r) => toJurisdiction(r, keys)), next: more ? pageRows[pageRows.length - 1]!.code : null };
}

export async function allJurisdictionCodes(db: Executor): Promise<Set<string>> {
  const rows = await db.selectFrom('jurisdictions').select('code').execute();
  return new Set(rows.map((r) => r.code));
}

/**
 * Add the next key version. The jurisdiction row is locked so that two
 * concurrent rotations get versions n+1 and n+2, never the same number.
 * Returns null if the jurisdiction does not exist, 'duplicate' if the key is
 * already one of its versions.
 */
export async function addJurisdictionKey(tx: Tx, code: string, boxPublicKey: Buffer): Promise<JurisdictionKey | null | 'duplicate'> {
  const locked = await tx.selectFrom('jurisdictions').select('code').where('code', '=', code).forUpdate().executeTakeFirst();
  if (!locked) return null;
  const existing = await tx.selectFrom('jurisdiction_keys').select(['key_version', 'box_public_key']).where('jurisdiction', '=', code).execute();
  if (existing.some((k) => k.box_public_key.equals(boxPublicKey))) return 'duplicate';
  const version = existing.reduce((max, k) => Math.max(max, k.key_version), 0) + 1;
  const row = await tx.insertInto('jurisdiction_keys').values({ jurisdiction: code, key_version: version, box_public_key: boxPublicKey }).returningAll().executeTakeFirstOrThrow();
  return toKey(row);
}

/** The key version new wraps must use, or null if the jurisdiction has none. */
export async function currentJurisdictionKey(db: Executor, code: string): Promise<{ keyVersion: number; boxPublicKey: Buffer } | null> {
  const row = await db
    .selectFrom('jurisdiction_keys')
    .select(['key_version', 'box_public_key'])
    .where('jurisdiction', '=', code)
    .orderBy('key_version', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? { keyVersion: row.key_version, boxPublicKey: row.box_public_key } : null;
}
