/** Releases of bundles to recipient jurisdictions, and the live check every access re-runs. */
import type { Executor, Tx } from '../db/connect.js';
import type { ReleaseRow } from '../db/schema.js';
import type { ReleaseFacts } from '../bundles/access.js';
import type { ReleaseLookup, ReleaseView } from '../bundles/release-lookup.js';
import { agreementSnapshots } from './repository.js';
import { liveReleaseDecision, type AgreementSnapshot, type BundleFacts } from './release-rule.js';
import type { AgreementTerms } from './terms.js';

function toView(row: ReleaseRow): ReleaseView {
  return {
    recipient: row.recipient,
    purpose: row.purpose,
    requestReference: row.request_reference,
    agreementId: row.agreement_id,
    agreementVersion: row.agreement_version,
    grantedAt: row.granted_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}

export interface NewRelease {
  id: string;
  bundleId: string;
  recipient: string;
  purpose: string;
  requestReference: string;
  agreementId: string;
  agreementVersion: number;
  grantedBy: { issuer: string; sub: string };
}

/** Insert; null when a live release to that recipient already exists. */
export async function insertRelease(tx: Tx, r: NewRelease): Promise<ReleaseView | null> {
  const row = await tx
    .insertInto('releases')
    .values({
      id: r.id,
      bundle_id: r.bundleId,
      recipient: r.recipient,
      purpose: r.purpose,
      request_reference: r.requestReference,
      agreement_id: r.agreementId,
      agreement_version: r.agreementVersion,
      granted_by_issuer: r.grantedBy.issuer,
      granted_by_sub: r.grantedBy.sub,
      revoked_at: null,
    })
    .onConflict((oc) => oc.columns(['bundle_id', 'recipient']).where('revoked_at', 'is', null).doNothing())
    .returningAll()
    .executeTakeFirst();
  return row ? toView(row) : null;
}

/** Revoke the live release to `recipient` and delete its key wrap; null if there was none. */
export async function revokeRelease(tx: Tx, bundleId: string, recipient: string): Promise<ReleaseView | null> {
  const row = await tx
    .updateTable('releases')
    .set({ revoked_at: new Date() })
    .where('bundle_id', '=', bundleId)
    .where('recipient', '=', recipient)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (!row) return null;
  await tx.deleteFrom('key_wraps').where('bundle_id', '=', bundleId).where('jurisdiction', '=', recipient).execute();
  return toView(row);
}

async function bundleFacts(db: Executor, bundleIds: readonly string[]): Promise<Map<string, BundleFacts>> {
  if (bundleIds.length === 0) return new Map();
  const rows = await db.selectFrom('bundles').select(['id', 'owner_jurisdiction', 'status', 'crime_category', 'classification']).where('id', 'in', [...new Set(bundleIds)]).execute();
  return new Map(rows.map((r) => [r.id, { ownerJurisdiction: r.owner_jurisdiction, status: r.status, crimeCategory: r.crime_category, classification: r.classification }]));
}

/** One release judged now against its agreement as it stands (SPEC §3: checked again at every access). */
function isLive(row: ReleaseRow, agreement: AgreementSnapshot | null, bundle: BundleFacts | undefined, now: Date): boolean {
  if (!bundle || row.revoked_at !== null) return false;
  return liveReleaseDecision({ bundle, accessor: { jurisdiction: row.recipient }, release: toView(row), agreement, now }).allow;
}

/** Releases re-judged against their agreements; bundle facts already known to the caller are not fetched again. */
async function liveness(db: Executor, rows: ReleaseRow[], now: Date): Promise<Array<{ row: ReleaseRow; live: boolean }>> {
  if (rows.length === 0) return [];
  const agreements = await agreementSnapshots(db, rows.map((r) => r.agreement_id));
  const bundles = await bundleFacts(db, rows.map((r) => r.bundle_id));
  return rows.map((row) => ({ row, live: isLive(row, agreements.get(row.agreement_id) ?? null, bundles.get(row.bundle_id), now) }));
}

export function releaseLookup(db: Executor, clock: () => Date = () => new Date()): ReleaseLookup {
  return {
    async facts(bundleId: string, jurisdiction: string | null, bundle?: BundleFacts): Promise<ReleaseFacts> {
      if (jurisdiction === null) return { live: false, any: false };
      // Every bundle request asks this: the releases and their agreements in one round trip.
      const rows = await db
        .selectFrom('releases as r')
        .leftJoin('agreements as a', 'a.id', 'r.agreement_id')
        .selectAll('r')
        .select(['a.id as a_id', 'a.version as a_version', 'a.status as a_status', 'a.terms as a_terms'])
        .where('r.bundle_id', '=', bundleId)
        .where('r.recipient', '=', jurisdiction)
        .execute();
      if (rows.length === 0) return { live: false, any: false };
      const facts = bundle ?? (await bundleFacts(db, [bundleId])).get(bundleId);
      const now = clock();
      const live = rows.some(({ a_id, a_version, a_status, a_terms, ...row }) =>
        isLive(row, a_id === null ? null : { id: a_id, version: a_version!, status: a_status!, terms: a_terms as AgreementTerms }, facts, now),
      );
      return { live, any: true };
    },
    async liveBundleIds(jurisdiction: string): Promise<string[]> {
      const rows = await db.selectFrom('releases').selectAll().where('recipient', '=', jurisdiction).where('revoked_at', 'is', null).execute();
      return (await liveness(db, rows, clock())).filter((j) => j.live).map((j) => j.row.bundle_id);
    },
    async list(bundleId: string): Promise<ReleaseView[]> {
      const rows = await db.selectFrom('releases').selectAll().where('bundle_id', '=', bundleId).orderBy('granted_at').execute();
      return rows.map(toView);
    },
  };
}
