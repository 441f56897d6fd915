import { sql } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Executor, Tx } from '../db/connect.js';
import type { BundleFileRow, BundleRow, KeyWrapJson } from '../db/schema.js';
import type { Manifest } from '../envelope/index.js';
import type { Classification } from '../shared/vocabulary.js';

export interface BundleFile {
  n: number;
  cipherSize: number;
  cipherSha256: string;
  receivedAt: Date | null;
}

export interface Bundle {
  id: string;
  ownerJurisdiction: string;
  status: 'open' | 'sealed';
  manifest: Manifest;
  manifestSha256: string;
  signature: string;
  signerKeyId: string;
  uploader: { issuer: string; sub: string };
  crimeCategory: string;
  classification: Classification;
  createdAt: Date;
  sealedAt: Date | null;
  files: BundleFile[];
}

function toFile(row: BundleFileRow): BundleFile {
  return { n: row.n, cipherSize: row.cipher_size, cipherSha256: row.cipher_sha256, receivedAt: row.received_at };
}

function toBundle(row: BundleRow, files: BundleFileRow[]): Bundle {
  return {
    id: row.id,
    ownerJurisdiction: row.owner_jurisdiction,
    status: row.status,
    // The stored bytes are the canonical text that was signed; parsing them gives back the same manifest.
    manifest: JSON.parse(row.manifest.toString('utf8')) as Manifest,
    manifestSha256: row.manifest_sha256,
    signature: row.signature,
    signerKeyId: row.signer_key_id,
    uploader: { issuer: row.uploader_issuer, sub: row.uploader_sub },
    crimeCategory: row.crime_category,
    classification: row.classification,
    createdAt: row.created_at,
    sealedAt: row.sealed_at,
    files: files.sort((a, b) => a.n - b.n).map(toFile),
  };
}

export interface NewBundle {
  id: string;
  ownerJurisdiction: string;
  manifestBytes: Buffer;
  manifestSha256: string;
  signature: string;
  signerKeyId: string;
  uploader: { issuer: string; sub: string };
  crimeCategory: string;
  classification: Classification;
  files: Array<{ n: number; cipherSize: number; cipherSha256: string }>;
  ownerWrap: KeyWrapJson;
}

export async function insertBundle(tx: Tx, b: NewBundle): Promise<void> {
  await tx
    .insertInto('bundles')
    .values({
      id: b.id,
      owner_jurisdiction: b.ownerJurisdiction,
      status: 'open',
      manifest: b.manifestBytes,
      manifest_sha256: b.manifestSha256,
      signature: b.signature,
      signer_key_id: b.signerKeyId,
      uploader_issuer: b.uploader.issuer,
      uploader_sub: b.uploader.sub,
      crime_category: b.crimeCategory,
      classification: b.classification,
      sealed_at: null,
    })
    .execute();
  // One statement for the file rows, however many files the manifest lists.
  await sql`
    INSERT INTO bundle_files (bundle_id, n, cipher_size, cipher_sha256)
    SELECT ${b.id}::uuid, * FROM unnest(${b.files.map((f) => f.n)}::int[], ${b.files.map((f) => f.cipherSize)}::bigint[], ${b.files.map((f) => f.cipherSha256)}::text[])`.execute(tx);
  await upsertKeyWrap(tx, b.id, b.ownerWrap);
}

export async function upsertKeyWrap(tx: Tx, bundleId: string, wrap: KeyWrapJson): Promise<void> {
  await tx
    .insertInto('key_wraps')
    .values({ bundle_id: bundleId, jurisdiction: wrap.jurisdiction, key_version: wrap.keyVersion, wrap: JSON.stringify(wrap) })
    .onConflict((oc) => oc.columns(['bundle_id', 'jurisdiction']).doUpdateSet({ key_version: wrap.keyVersion, wrap: JSON.stringify(wrap) }))
    .execute();
}

/** A bundle loaded for a caller, with that caller's jurisdiction's key wrap — to be served only if access allows. */
export interface BundleWithWrap extends Bundle {
  keyWrapOfCaller: KeyWrapJson | null;
}

export async function getBundle(db: Executor, id: string, options: { forUpdate?: boolean }): Promise<Bundle | null>;
export async function getBundle(db: Executor, id: string, options?: { forUpdate?: boolean; keyWrapFor?: string | null }): Promise<BundleWithWrap | null>;
export async function getBundle(db: Executor, id: string, options: { forUpdate?: boolean; keyWrapFor?: string | null } = {}): Promise<BundleWithWrap | null> {
  // One round trip: the bundle with its files and the caller's key wrap (every bundle route starts here).
  const wrapFor = options.keyWrapFor ?? null;
  let q = db
    .selectFrom('bundles')
    .selectAll('bundles')
    .select((eb) => [
      jsonArrayFrom(eb.selectFrom('bundle_files').selectAll('bundle_files').whereRef('bundle_files.bundle_id', '=', 'bundles.id').orderBy('bundle_files.n')).as('files'),
      eb
        .selectFrom('key_wraps')
        .select('key_wraps.wrap')
        .whereRef('key_wraps.bundle_id', '=', 'bundles.id')
        .where('key_wraps.jurisdiction', '=', wrapFor ?? '')
        .as('caller_wrap'),
    ])
    .where('id', '=', id);
  if (options.forUpdate) q = q.forUpdate('bundles');
  const row = await q.executeTakeFirst();
  if (!row) return null;
  const { files, caller_wrap, ...bundle } = row;
  // JSON aggregation turns bigint into number and timestamps into text: bring them back to row types.
  const loaded = toBundle(
    bundle,
    files.map((f) => ({ ...f, cipher_size: Number(f.cipher_size), received_at: f.received_at === null ? null : new Date(f.received_at as unknown as string) })),
  );
  return { ...loaded, keyWrapOfCaller: wrapFor === null ? null : ((caller_wrap as KeyWrapJson | null) ?? null) };
}

export async function markFileReceived(tx: Tx, bundleId: string, n: number): Promise<boolean> {
  const r = await tx
    .updateTable('bundle_files')
    .set({ received_at: sql`now()` })
    .where('bundle_id', '=', bundleId)
    .where('n', '=', n)
    .where('received_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function markSealed(tx: Tx, bundleId: string): Promise<Date> {
  const row = await tx
    .updateTable('bundles')
    .set({ status: 'sealed', sealed_at: sql`now()` })
    .where('id', '=', bundleId)
    .where('status', '=', 'open')
    .returning('sealed_at')
    .executeTakeFirstOrThrow();
  return row.sealed_at!;
}

export interface BundleSummary {
  id: string;
  ownerJurisdiction: string;
  status: 'open' | 'sealed';
  crimeCategory: string;
  classification: string;
  createdAt: Date;
  sealedAt: Date | null;
  /**
   * created_at to the microsecond, as RFC 3339 UTC text: the keyset cursor.
   * A JS Date keeps milliseconds only, and a cursor cut to milliseconds
   * sorts before its own row, which the next page would then repeat.
   */
  createdAtExact: string;
}

/** RFC 3339 UTC with exactly six fractional digits, as `createdAtExact` is written. */
export const EXACT_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/**
 * Bundles `jurisdiction` owns, or is allowed by `extraIds` (live releases),
 * in creation order, keyset-paginated on (created_at, id).
 */
export async function listBundles(
  db: Executor,
  jurisdiction: string,
  extraIds: readonly string[],
  page: { after: { createdAtExact: string; id: string } | null; limit: number },
): Promise<BundleSummary[]> {
  let q = db
    .selectFrom('bundles')
    .select(['id', 'owner_jurisdiction', 'status', 'crime_category', 'classification', 'created_at', 'sealed_at'])
    .select(sql<string>`to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('created_at_exact'))
    .where((eb) => (extraIds.length > 0 ? eb.or([eb('owner_jurisdiction', '=', jurisdiction), eb('id', 'in', extraIds)]) : eb('owner_jurisdiction', '=', jurisdiction)))
    .orderBy('created_at')
    .orderBy('id')
    .limit(page.limit);
  if (page.after) {
    if (!EXACT_TIMESTAMP.test(page.after.createdAtExact)) throw new Error('listBundles: after.createdAtExact is not an exact timestamp');
    const at = sql<Date>`${page.after.createdAtExact}::timestamptz`;
    const afterId = page.after.id;
    q = q.where((eb) => eb.or([eb('created_at', '>', at), eb.and([eb('created_at', '=', at), eb('id', '>', afterId)])]));
  }
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    ownerJurisdiction: r.owner_jurisdiction,
    status: r.status,
    crimeCategory: r.crime_category,
    classification: r.classification,
    createdAt: r.created_at,
    sealedAt: r.sealed_at,
    createdAtExact: r.created_at_exact,
  }));
}
