/** Releases of bundles to recipient jurisdictions, and the live check every access re-runs. */
import type { Executor, Tx } from '../db/connect.js';
import type { ReleaseRow } from '../db/schema.js';
import type { ReleaseFacts } from '../bundles/access.js';
import type { ReleaseLookup, ReleaseView } from '../bundles/release-lookup.js';
import { agreementSnapshots } from './repository.js';
import { liveReleaseDecision, type BundleFacts } from './release-rule.js';

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

/**
 * Releases re-judged against their agreements as they stand now (SPEC §3:
 * checked again at every access). Bundle facts already known to the caller
 * are not fetched again.
 */
async function liveness(db: Executor, rows: ReleaseRow[], now: Date, known?: Map<string, BundleFacts>): Promise<Array<{ row: ReleaseRow; live: boolean }>> {
  if (rows.length === 0) return [];
  const agreements = await agreementSnapshots(db, rows.map((r) => r.agreement_id));
  const missing = rows.map((r) => r.bundle_id).filter((id) => !known?.has(id));
  const bundles = missing.length > 0 ? new Map([...(known ?? []), ...(await bundleFacts(db, missing))]) : known!;
  return rows.map((row) => {
    const bundle = bundles.get(row.bundle_id);
    if (!bundle || row.revoked_at !== null) return { row, live: false };
    const decision = liveReleaseDecision({
      bundle,
      accessor: { jurisdiction: row.recipient },
      release: toView(row),
      agreement: agreements.get(row.agreement_id) ?? null,
      now,
    });
    return { row, live: decision.allow };
  });
}

export function releaseLookup(db: Executor, clock: () => Date = () => new Date()): ReleaseLookup {
  return {
    async facts(bundleId: string, jurisdiction: string | null, bundle?: BundleFacts): Promise<ReleaseFacts> {
      if (jurisdiction === null) return { live: false, any: false };
      const rows = await db.selectFrom('releases').selectAll().where('bundle_id', '=', bundleId).where('recipient', '=', jurisdiction).execute();
      if (rows.length === 0) return { live: false, any: false };
      const judged = await liveness(db, rows, clock(), bundle ? new Map([[bundleId, bundle]]) : undefined);
      return { live: judged.some((j) => j.live), any: true };
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
