/**
 * The server answers the CLI relies on (SPEC §2.1), typed, with the checks
 * that matter before their values are used for anything: a malformed answer
 * stops the command instead of producing a confusing failure later.
 * Cryptographic checks (manifests, wraps, custody) are not here: they are
 * done by the envelope and ledger libraries on the raw values.
 */
import type { AgreementTerms } from '../agreements/terms.js';
import type { KeyWrap } from '../envelope/index.js';
import { CliError, EXIT } from './errors.js';
import type { ApiClient } from './http-client.js';

export interface JurisdictionKeyView {
  keyVersion: number;
  boxPublicKey: string;
  createdAt: string;
}

export interface JurisdictionView {
  code: string;
  name: string;
  kind: 'state' | 'tribunal' | 'organisation';
  currentKeyVersion: number | null;
  keys: JurisdictionKeyView[];
}

export interface OfficerKeyView {
  keyId: string;
  publicKey: string;
  jurisdiction: string;
  sub: string;
  issuer: string;
  createdAt: string;
}

export interface AgreementSignatureView {
  jurisdiction: string;
  sub: string;
  keyId: string;
  signature: string;
}

export interface AgreementHistoryView {
  seq: number;
  at: string;
  actor: { iss: string; sub: string; jurisdiction: string };
  type: string;
  version: number;
  status: string;
  data: Record<string, unknown>;
}

export interface AgreementView {
  id: string;
  version: number;
  status: 'draft' | 'active' | 'suspended' | 'terminated';
  terms: AgreementTerms;
  termsSha256: string;
  signatures: AgreementSignatureView[];
  history: AgreementHistoryView[];
}

export interface FileStateView {
  n: number;
  cipherSize: number;
  received: number;
}

export interface ReleaseView {
  recipient: string;
  purpose: string;
  requestReference: string;
  agreementId: string;
  agreementVersion: number;
  grantedAt: string;
  revokedAt: string | null;
}

export interface BundleView {
  id: string;
  ownerJurisdiction: string;
  status: 'open' | 'sealed';
  /** Unchecked: validateManifest() decides what it is. */
  manifest: unknown;
  manifestSha256: string;
  signature: string;
  /** Unchecked: unwrapBundleKey() validates it. */
  keyWrap: KeyWrap | null;
  files: FileStateView[];
  createdAt: string;
  sealedAt: string | null;
  releases?: ReleaseView[];
}

export interface BundleSummaryView {
  id: string;
  ownerJurisdiction: string;
  status: 'open' | 'sealed';
  crimeCategory: string;
  classification: string;
  createdAt: string;
  sealedAt: string | null;
}

export function malformed(what: string): CliError {
  return new CliError(EXIT.unavailable, `the server's answer is malformed: ${what}`);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Bundle ids are UUIDs; checked before they go into a URL or a file name. */
export function checkBundleId(text: string | undefined): string {
  const id = (text ?? '').trim().toLowerCase();
  if (!UUID.test(id)) throw new CliError(EXIT.usage, `"${text ?? ''}" is not a bundle id (a UUID such as 0b7e6d1c-…)`);
  return id;
}

export function checkAgreementId(text: string | undefined): string {
  const id = (text ?? '').trim().toLowerCase();
  if (!UUID.test(id)) throw new CliError(EXIT.usage, `"${text ?? ''}" is not an agreement id (a UUID)`);
  return id;
}

export async function getJurisdiction(client: ApiClient, code: string): Promise<JurisdictionView> {
  const j = await client.json<unknown>('GET', `/v1/jurisdictions/${encodeURIComponent(code)}`);
  if (!isObject(j) || j['code'] !== code || !Array.isArray(j['keys'])) throw malformed(`jurisdiction ${code}`);
  return j as unknown as JurisdictionView;
}

/** A jurisdiction's current box key version: the one new wraps must use. */
export function currentBoxKey(j: JurisdictionView): JurisdictionKeyView {
  const current = j.keys.find((k) => k.keyVersion === j.currentKeyVersion);
  if (j.currentKeyVersion === null || !current) {
    throw new CliError(EXIT.refused, `${j.code} has no box key registered, so nothing can be wrapped for it`, [`its agreement officer or an admin registers one with: evx register box-key ${j.code}`]);
  }
  if (typeof current.boxPublicKey !== 'string' || !Number.isSafeInteger(current.keyVersion)) throw malformed(`box key of ${j.code}`);
  return current;
}

export async function myOfficerKeys(client: ApiClient): Promise<OfficerKeyView[]> {
  const res = await client.json<unknown>('GET', '/v1/officers/me/keys');
  if (!isObject(res) || !Array.isArray(res['items'])) throw malformed('officer keys');
  return res['items'] as OfficerKeyView[];
}

export async function getBundle(client: ApiClient, id: string): Promise<BundleView> {
  const b = await client.json<unknown>('GET', `/v1/bundles/${id}`);
  if (!isObject(b) || b['id'] !== id || typeof b['signature'] !== 'string' || typeof b['manifestSha256'] !== 'string' || !Array.isArray(b['files'])) {
    throw malformed(`bundle ${id}`);
  }
  return b as unknown as BundleView;
}

export async function getAgreement(client: ApiClient, id: string): Promise<AgreementView> {
  const a = await client.json<unknown>('GET', `/v1/agreements/${id}`);
  if (!isObject(a) || a['id'] !== id || !isObject(a['terms']) || typeof a['version'] !== 'number') throw malformed(`agreement ${id}`);
  return a as unknown as AgreementView;
}

/** The unverified claims of a JWT: only to fill in defaults (own jurisdiction); the server decides. */
export function tokenClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) return {};
  try {
    const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return isObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}
