/**
 * The database as kysely sees it: one interface per table, snake_case as in
 * SQL. Repositories map rows to API shapes explicitly, so these names never
 * leave the data layer.
 */
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface JurisdictionsTable {
  code: string;
  name: string;
  kind: 'state' | 'tribunal' | 'organisation';
  created_at: CreatedAt;
}
export type JurisdictionRow = Selectable<JurisdictionsTable>;
export type NewJurisdictionRow = Insertable<JurisdictionsTable>;

export interface JurisdictionKeysTable {
  jurisdiction: string;
  key_version: number;
  box_public_key: Buffer;
  created_at: CreatedAt;
}
export type JurisdictionKeyRow = Selectable<JurisdictionKeysTable>;

export interface OfficerKeysTable {
  key_id: string;
  issuer: string;
  sub: string;
  jurisdiction: string;
  public_key: Buffer;
  created_at: CreatedAt;
}
export type OfficerKeyRow = Selectable<OfficerKeysTable>;

export interface MigrationsTable {
  name: string;
  sha256: string;
  applied_at: Generated<Date>;
}

export interface Database {
  jurisdictions: JurisdictionsTable;
  jurisdiction_keys: JurisdictionKeysTable;
  officer_keys: OfficerKeysTable;
  evx_migrations: MigrationsTable;
  log_entries: LogEntriesTable;
  log_nodes: LogNodesTable;
  log_checkpoints: LogCheckpointsTable;
  log_head: LogHeadTable;
  bundles: BundlesTable;
  bundle_files: BundleFilesTable;
  key_wraps: KeyWrapsTable;
  agreements: AgreementsTable;
  agreement_history: AgreementHistoryTable;
  releases: ReleasesTable;
  receipts: ReceiptsTable;
}

export interface LogEntriesTable {
  seq: number;
  subject: string;
  type: string;
  leaf_hash: Buffer;
  canonical: Buffer;
  created_at: CreatedAt;
}
export type LogEntryRow = Selectable<LogEntriesTable>;

export interface LogNodesTable {
  level: number;
  idx: number;
  hash: Buffer;
}

export interface LogCheckpointsTable {
  size: number;
  root_hash: Buffer;
  note: string;
  created_at: CreatedAt;
}
export type LogCheckpointRow = Selectable<LogCheckpointsTable>;

export interface LogHeadTable {
  singleton: boolean;
  size: number;
  last_leaf_hash: Buffer;
  frontier: Buffer[];
}

export interface BundlesTable {
  id: string;
  owner_jurisdiction: string;
  status: 'open' | 'sealed';
  manifest: Buffer;
  manifest_sha256: string;
  signature: string;
  signer_key_id: string;
  uploader_issuer: string;
  uploader_sub: string;
  crime_category: string;
  classification: 'public' | 'restricted' | 'confidential' | 'secret';
  created_at: CreatedAt;
  sealed_at: Date | null;
}
export type BundleRow = Selectable<BundlesTable>;

export interface BundleFilesTable {
  bundle_id: string;
  n: number;
  cipher_size: number;
  cipher_sha256: string;
  received_at: Date | null;
}
export type BundleFileRow = Selectable<BundleFilesTable>;

export interface KeyWrapsTable {
  bundle_id: string;
  jurisdiction: string;
  key_version: number;
  /** The SPEC §4 key wrap object as the client sent it (validated). */
  wrap: ColumnType<KeyWrapJson, string, string>;
  created_at: CreatedAt;
}
export interface KeyWrapJson {
  jurisdiction: string;
  keyVersion: number;
  ephemeralPublicKey: string;
  nonce: string;
  box: string;
}

export interface AgreementsTable {
  id: string;
  party_low: string;
  party_high: string;
  version: number;
  status: 'draft' | 'active' | 'suspended' | 'terminated';
  terms: ColumnType<unknown, string, string>;
  terms_sha256: string;
  signatures: ColumnType<unknown, string, string>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}
export type AgreementRow = Selectable<AgreementsTable>;

export interface AgreementHistoryTable {
  agreement_id: string;
  seq: number;
  item: ColumnType<unknown, string, never>;
}

export interface ReleasesTable {
  id: string;
  bundle_id: string;
  recipient: string;
  purpose: string;
  request_reference: string;
  agreement_id: string;
  agreement_version: number;
  granted_by_issuer: string;
  granted_by_sub: string;
  granted_at: CreatedAt;
  revoked_at: Date | null;
}
export type ReleaseRow = Selectable<ReleasesTable>;

export interface ReceiptsTable {
  id: string;
  bundle_id: string;
  jurisdiction: string;
  issuer: string;
  sub: string;
  key_id: string;
  signature: string;
  manifest_sha256: string;
  recorded_at: CreatedAt;
}
