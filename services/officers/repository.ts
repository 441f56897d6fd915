import { randomUUID } from 'node:crypto';
import type { Executor } from '../db/connect.js';
import type { OfficerKeyRow } from '../db/schema.js';

export interface OfficerKey {
  keyId: string;
  publicKey: string;
  jurisdiction: string;
  issuer: string;
  sub: string;
  createdAt: string;
}

function toOfficerKey(row: OfficerKeyRow): OfficerKey {
  return {
    keyId: row.key_id,
    publicKey: row.public_key.toString('base64'),
    jurisdiction: row.jurisdiction,
    issuer: row.issuer,
    sub: row.sub,
    createdAt: row.created_at.toISOString(),
  };
}

export interface Officer {
  issuer: string;
  sub: string;
  jurisdiction: string;
}

/**
 * Register a signing key for an officer. Registering the same key again for
 * the same officer returns the existing record; a key held by anyone else is
 * a conflict, since a key must identify exactly one officer.
 */
export async function registerOfficerKey(db: Executor, officer: Officer, publicKey: Buffer): Promise<{ key: OfficerKey; created: boolean } | 'taken'> {
  const inserted = await db
    .insertInto('officer_keys')
    .values({ key_id: randomUUID(), issuer: officer.issuer, sub: officer.sub, jurisdiction: officer.jurisdiction, public_key: publicKey })
    .onConflict((oc) => oc.column('public_key').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { key: toOfficerKey(inserted), created: true };
  const existing = await db.selectFrom('officer_keys').selectAll().where('public_key', '=', publicKey).executeTakeFirstOrThrow();
  if (existing.issuer === officer.issuer && existing.sub === officer.sub && existing.jurisdiction === officer.jurisdiction) {
    return { key: toOfficerKey(existing), created: false };
  }
  return 'taken';
}

export async function listOfficerKeys(db: Executor, officer: Officer): Promise<OfficerKey[]> {
  const rows = await db
    .selectFrom('officer_keys')
    .selectAll()
    .where('issuer', '=', officer.issuer)
    .where('sub', '=', officer.sub)
    .where('jurisdiction', '=', officer.jurisdiction)
    .orderBy('created_at')
    .execute();
  return rows.map(toOfficerKey);
}

/** The registered key with these bytes, if any: who signed with it is then known. */
export async function findOfficerKeyByPublicKey(db: Executor, publicKey: Buffer): Promise<OfficerKey | null> {
  const row = await db.selectFrom('officer_keys').selectAll().where('public_key', '=', publicKey).executeTakeFirst();
  return row ? toOfficerKey(row) : null;
}
