import { sql } from 'kysely';
import type { Executor, Tx } from '../db/connect.js';
import type { AgreementRow } from '../db/schema.js';
import type { AgreementHistoryItem, AgreementSignature, AgreementState } from './lifecycle.js';
import type { AgreementSnapshot } from './release-rule.js';
import type { AgreementTerms } from './terms.js';

function sortedParties(terms: AgreementTerms): [string, string] {
  const [a, b] = terms.parties;
  return a < b ? [a, b] : [b, a];
}

function toSnapshot(row: AgreementRow): AgreementSnapshot {
  return { id: row.id, version: row.version, status: row.status, terms: row.terms as AgreementTerms };
}

export async function loadAgreement(db: Executor, id: string, options: { forUpdate?: boolean } = {}): Promise<AgreementState | null> {
  let q = db.selectFrom('agreements').selectAll().where('id', '=', id);
  if (options.forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  if (!row) return null;
  const history = await db.selectFrom('agreement_history').select('item').where('agreement_id', '=', id).orderBy('seq').execute();
  return {
    id: row.id,
    version: row.version,
    status: row.status,
    terms: row.terms as AgreementTerms,
    termsHash: row.terms_sha256,
    signatures: row.signatures as AgreementSignature[],
    history: history.map((h) => h.item as AgreementHistoryItem),
  };
}

/** Store the state an action produced: the current row, and the history items it added. */
export async function saveAgreement(tx: Tx, prior: AgreementState | null, next: AgreementState): Promise<void> {
  const [low, high] = sortedParties(next.terms);
  const values = {
    version: next.version,
    status: next.status,
    terms: JSON.stringify(next.terms),
    terms_sha256: next.termsHash,
    signatures: JSON.stringify(next.signatures),
  };
  if (prior === null) {
    await tx.insertInto('agreements').values({ id: next.id, party_low: low, party_high: high, ...values }).execute();
  } else {
    await tx.updateTable('agreements').set({ ...values, party_low: low, party_high: high, updated_at: sql<Date>`now()` }).where('id', '=', next.id).execute();
  }
  const added = next.history.slice(prior?.history.length ?? 0);
  if (added.length > 0) {
    await tx
      .insertInto('agreement_history')
      .values(added.map((item) => ({ agreement_id: next.id, seq: item.seq, item: JSON.stringify(item) })))
      .execute();
  }
}

/**
 * Every agreement between the two jurisdictions, in any state. With `lock`
 * (inside a transaction) the rows are locked FOR SHARE, so a suspension,
 * termination or amendment cannot commit between this read and the commit of
 * what the caller decides on it.
 */
export async function agreementsBetween(db: Executor, x: string, y: string, options: { lock?: boolean } = {}): Promise<AgreementSnapshot[]> {
  const [low, high] = x < y ? [x, y] : [y, x];
  let q = db.selectFrom('agreements').selectAll().where('party_low', '=', low).where('party_high', '=', high).orderBy('id');
  if (options.lock) q = q.forShare();
  const rows = await q.execute();
  return rows.map(toSnapshot);
}

export async function agreementSnapshots(db: Executor, ids: readonly string[]): Promise<Map<string, AgreementSnapshot>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('agreements').selectAll().where('id', 'in', [...new Set(ids)]).execute();
  return new Map(rows.map((r) => [r.id, toSnapshot(r)]));
}

export async function listAgreementIds(db: Executor, jurisdiction: string | null, page: { after?: string; limit: number }): Promise<string[]> {
  let q = db.selectFrom('agreements').select('id').orderBy('id').limit(page.limit);
  if (jurisdiction !== null) q = q.where((eb) => eb.or([eb('party_low', '=', jurisdiction), eb('party_high', '=', jurisdiction)]));
  if (page.after !== undefined) q = q.where('id', '>', page.after);
  return (await q.execute()).map((r) => r.id);
}
