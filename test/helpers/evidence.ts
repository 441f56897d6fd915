/**
 * Building real evidence for tests: jurisdiction box keys, officer signing
 * keys, encrypted files, signed manifests and key wraps — all through the
 * envelope library and the HTTP API, as a client would.
 */
import { createHash } from 'node:crypto';
import {
  encryptBytes,
  generateBoxKeyPair,
  generateBundleKey,
  generateNoncePrefix,
  cipherSizeFor,
  signManifest,
  wrapBundleKey,
  type BoxKeyPair,
  type KeyWrap,
  type Manifest,
} from '../../services/envelope/index.js';
import { ed25519Generate, ed25519Sign, type Ed25519KeyPair } from '../../services/shared/ed25519.js';
import { canonicalBytes } from '../../services/shared/jcs.js';
import type { LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import type { TestApp, TestIssuers } from './app.js';

export interface JurisdictionKeys {
  code: string;
  box: BoxKeyPair;
  keyVersion: number;
}

export async function addBoxKey(ta: TestApp, code: string): Promise<JurisdictionKeys> {
  const box = generateBoxKeyPair();
  const res = await ta.app.inject({
    method: 'PUT',
    url: `/v1/jurisdictions/${code}/keys`,
    headers: ta.auth('operator', ['admin']),
    payload: { boxPublicKey: Buffer.from(box.publicKey).toString('base64') },
  });
  if (res.statusCode !== 201) throw new Error(`PUT keys ${code}: ${res.statusCode} ${res.body}`);
  return { code, box, keyVersion: res.json().keyVersion as number };
}

export interface Officer {
  who: keyof TestIssuers;
  sub: string;
  jurisdiction: string;
  roles: string[];
  key: Ed25519KeyPair;
  headers: { authorization: string };
}

export async function registerOfficer(ta: TestApp, who: keyof TestIssuers, sub: string, roles: string[]): Promise<Officer> {
  const key = ed25519Generate();
  const headers = ta.auth(who, roles, { sub });
  const res = await ta.app.inject({ method: 'POST', url: '/v1/officers/me/keys', headers, payload: { publicKey: key.publicKey.toString('base64') } });
  if (res.statusCode !== 201) throw new Error(`register officer ${sub}: ${res.statusCode} ${res.body}`);
  return { who, sub, jurisdiction: ta.issuers[who].jurisdiction!, roles, key, headers };
}

export interface PreparedBundle {
  manifest: Manifest;
  signature: string;
  keyWraps: KeyWrap[];
  bundleKey: Buffer;
  plaintexts: Buffer[];
  ciphertexts: Buffer[];
}

export function prepareBundle(
  signer: Officer,
  owner: JurisdictionKeys,
  plaintexts: Buffer[],
  options: { chunkSize?: number; crimeCategory?: Manifest['crimeCategory']; classification?: Manifest['classification']; names?: string[] } = {},
): PreparedBundle {
  const chunkSize = options.chunkSize ?? 1024;
  const bundleKey = generateBundleKey();
  const ciphertexts: Buffer[] = [];
  const files = plaintexts.map((p, i) => {
    const noncePrefix = generateNoncePrefix();
    const c = encryptBytes(p, { key: bundleKey, noncePrefix, chunkSize });
    ciphertexts.push(c);
    return {
      name: options.names?.[i] ?? `exhibit-${i}.bin`,
      size: p.length,
      sha256: createHash('sha256').update(p).digest('hex'),
      chunkSize,
      noncePrefix: noncePrefix.toString('base64'),
      cipherSize: cipherSizeFor(p.length, chunkSize),
      cipherSha256: createHash('sha256').update(c).digest('hex'),
    };
  });
  const manifest: Manifest = {
    v: 1,
    caseReference: 'NL-2026-0042',
    crimeCategory: options.crimeCategory ?? 'war_crimes',
    classification: options.classification ?? 'confidential',
    createdAt: '2026-11-30T09:00:00Z',
    files,
    signer: { jurisdiction: signer.jurisdiction, sub: signer.sub, publicKey: signer.key.publicKey.toString('base64') },
  };
  const signature = signManifest(manifest, signer.key.seed);
  const keyWraps = [wrapBundleKey(bundleKey, { jurisdiction: owner.code, keyVersion: owner.keyVersion, boxPublicKey: owner.box.publicKey })];
  return { manifest, signature, keyWraps, bundleKey, plaintexts, ciphertexts };
}

/** Create the bundle, upload every file with PUT, and (unless told not to) seal it. Returns the bundle id. */
export async function uploadBundle(ta: TestApp, officer: Officer, prepared: PreparedBundle, options: { seal?: boolean } = {}): Promise<string> {
  const created = await ta.app.inject({
    method: 'POST',
    url: '/v1/bundles',
    headers: officer.headers,
    payload: { manifest: prepared.manifest, signature: prepared.signature, keyWraps: prepared.keyWraps },
  });
  if (created.statusCode !== 201) throw new Error(`create bundle: ${created.statusCode} ${created.body}`);
  const id = created.json().id as string;
  for (const [n, c] of prepared.ciphertexts.entries()) {
    const res = await ta.app.inject({ method: 'PUT', url: `/v1/bundles/${id}/files/${n}`, headers: { ...officer.headers, 'content-type': 'application/octet-stream' }, payload: c });
    if (res.statusCode !== 200) throw new Error(`upload ${n}: ${res.statusCode} ${res.body}`);
  }
  if (options.seal !== false) {
    const res = await ta.app.inject({ method: 'POST', url: `/v1/bundles/${id}/seal`, headers: officer.headers });
    if (res.statusCode !== 200) throw new Error(`seal: ${res.statusCode} ${res.body}`);
  }
  return id;
}

/** The POST /v1/bundles body for a prepared bundle. */
export function createBody(prepared: PreparedBundle): { manifest: unknown; signature: string; keyWraps: unknown[] } {
  return { manifest: prepared.manifest, signature: prepared.signature, keyWraps: prepared.keyWraps };
}

/** POST /v1/bundles through inject; the response as is. */
export async function postBundle(ta: TestApp, headers: Record<string, string>, body: unknown): Promise<LightMyRequestResponse> {
  return ta.app.inject({ method: 'POST', url: '/v1/bundles', headers, payload: body as Record<string, unknown> });
}

export interface CustodyItem {
  entry: { seq: number; type: string; subject: string; actor: { iss: string; sub: string; jurisdiction: string | null } | null; data: Record<string, unknown> };
  leafHash: string;
  proof: { leafIndex: number; treeSize: number; hashes: string[] };
}

/** GET /v1/bundles/:id/custody as `headers`; throws unless 200. */
export async function custodyOf(ta: TestApp, id: string, headers: Record<string, string>): Promise<{ checkpoint: string; entries: CustodyItem[] }> {
  const res = await ta.app.inject({ url: `/v1/bundles/${id}/custody`, headers });
  if (res.statusCode !== 200) throw new Error(`custody ${id}: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** Assert a problem+json response with this status and code (and, optionally, more members). */
export function expectProblem(
  t: Test,
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
  code: string,
  more: Record<string, unknown> = {},
  what = '',
): void {
  const label = what ? `${what}: ` : '';
  t.equal(res.statusCode, status, `${label}status ${status} (${res.body.slice(0, 300)})`);
  t.match(String(res.headers['content-type']), /^application\/problem\+json/, `${label}problem+json`);
  let body: unknown = null;
  try {
    body = JSON.parse(res.body);
  } catch {
    // left null: the match below fails
  }
  t.match(body, { status, code, ...more }, `${label}code ${code}`);
}

export interface HttpResult {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  rawPayload: Buffer;
}

/**
 * One request over a real socket (node:http, no keep-alive). `body` may be a
 * Buffer or an async iterable of Buffers (sent chunked unless a
 * Content-Length header is given).
 */
export async function httpRequest(
  baseUrl: string,
  options: { method: string; path: string; headers?: Record<string, string>; body?: Buffer | AsyncIterable<Buffer> },
): Promise<HttpResult> {
  const { request } = await import('node:http');
  const url = new URL(options.path, baseUrl);
  return new Promise<HttpResult>((resolve, reject) => {
    const req = request(url, { method: options.method, headers: { connection: 'close', ...options.headers }, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const rawPayload = Buffer.concat(parts);
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: rawPayload.toString('utf8'), rawPayload });
      });
    });
    req.on('error', reject);
    const body = options.body;
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      void (async () => {
        try {
          for await (const chunk of body) {
            if (req.destroyed) return;
            if (!req.write(chunk)) await new Promise<void>((r) => req.once('drain', () => r()));
          }
          req.end();
        } catch (err) {
          req.destroy(err as Error);
        }
      })();
    }
  });
}

/** Start listening on a free loopback port; returns the base URL. Closed with the app. */
export async function listen(ta: TestApp): Promise<string> {
  return ta.app.listen({ port: 0, host: '127.0.0.1' });
}

// ---------------------------------------------------------------------------
// Agreements, releases and the custody log, as a client drives them over HTTP
// (used by test/agreements/*: authorization matrix, denial reasons, lifecycle
// routes, key rotation).
// ---------------------------------------------------------------------------

/** Terms between `a` and `b` that cover a confidential war-crimes bundle released a → b for `trial`, valid now. */
export function agreementTerms(a: string, b: string, overrides: Partial<AgreementTermsInput> = {}): AgreementTermsInput {
  const day = 24 * 3600 * 1000;
  return {
    parties: [a, b],
    legalBasis: `Cooperation arrangement ${a}–${b}`,
    direction: 'a_to_b',
    crimeCategories: ['war_crimes', 'crimes_against_humanity'],
    maxClassification: 'confidential',
    purposes: ['trial', 'investigation'],
    validFrom: new Date(Date.now() - day).toISOString(),
    validUntil: new Date(Date.now() + 365 * day).toISOString(),
    onwardTransfer: false,
    ...overrides,
  };
}

/** SPEC §3 terms as a client sends them (validated by the server, so loosely typed here). */
export interface AgreementTermsInput {
  parties: [string, string];
  legalBasis: string;
  direction: 'both' | 'a_to_b' | 'b_to_a';
  crimeCategories: string[];
  maxClassification: string;
  purposes: string[];
  validFrom: string;
  validUntil: string;
  onwardTransfer: boolean;
}

/** Base64 Ed25519 signature by `officer` over JCS(terms): what POST …/signatures takes. */
export function signTerms(officer: Pick<Officer, 'key'>, terms: AgreementTermsInput): string {
  return ed25519Sign(officer.key.seed, canonicalBytes(terms)).toString('base64');
}

/** POST /v1/agreements/:id/signatures as `officer` over `terms` (default: a correct signature). */
export function postSignature(ta: TestApp, officer: Officer, id: string, version: number, terms: AgreementTermsInput, signature = signTerms(officer, terms)): Promise<LightResponse> {
  return ta.app.inject({ method: 'POST', url: `/v1/agreements/${id}/signatures`, headers: officer.headers, payload: { version, signature } });
}

export interface MadeAgreement {
  id: string;
  version: number;
  terms: AgreementTermsInput;
}

/**
 * Draft an agreement as `drafter` and have `signers` sign it, in order; throws
 * on any refusal. With both parties' officers as signers it ends active.
 */
export async function makeAgreement(ta: TestApp, drafter: Officer, terms: AgreementTermsInput, signers: Officer[] = []): Promise<MadeAgreement> {
  const drafted = await ta.app.inject({ method: 'POST', url: '/v1/agreements', headers: drafter.headers, payload: { terms } });
  if (drafted.statusCode !== 201) throw new Error(`draft agreement: ${drafted.statusCode} ${drafted.body}`);
  const made: MadeAgreement = { id: drafted.json().id as string, version: drafted.json().version as number, terms };
  for (const s of signers) {
    const res = await postSignature(ta, s, made.id, made.version, terms);
    if (res.statusCode !== 200) throw new Error(`sign agreement as ${s.sub}: ${res.statusCode} ${res.body}`);
  }
  return made;
}

/** POST /v1/agreements/:id/{suspend,terminate,resume}; throws unless 200. */
export async function agreementAction(ta: TestApp, officer: Officer, id: string, action: 'suspend' | 'terminate' | 'resume', reason = 'test'): Promise<{ version: number; status: string }> {
  const res = await ta.app.inject({ method: 'POST', url: `/v1/agreements/${id}/${action}`, headers: officer.headers, payload: action === 'resume' ? {} : { reason } });
  if (res.statusCode !== 200) throw new Error(`${action} agreement: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** A key wrap of the prepared bundle's key for `to` (its current version unless told otherwise). */
export function wrapFor(prepared: Pick<PreparedBundle, 'bundleKey'>, to: JurisdictionKeys, keyVersion = to.keyVersion): KeyWrap {
  return wrapBundleKey(prepared.bundleKey, { jurisdiction: to.code, keyVersion, boxPublicKey: to.box.publicKey });
}

/** POST /v1/bundles/:id/releases as `officer`; the response as is. */
export function postRelease(
  ta: TestApp,
  officer: { headers: Record<string, string> },
  bundleId: string,
  body: { recipient: string; purpose?: string; requestReference?: string; keyWrap: unknown },
): Promise<LightResponse> {
  return ta.app.inject({
    method: 'POST',
    url: `/v1/bundles/${bundleId}/releases`,
    headers: officer.headers,
    payload: { purpose: 'trial', requestReference: 'REQ-2026-001', ...body },
  });
}

/** Release `prepared` (uploaded as `bundleId`) to `to` for `purpose`; throws unless 201. */
export async function releaseBundle(ta: TestApp, officer: Officer, bundleId: string, prepared: PreparedBundle, to: JurisdictionKeys, purpose = 'trial'): Promise<void> {
  const res = await postRelease(ta, officer, bundleId, { recipient: to.code, purpose, keyWrap: wrapFor(prepared, to) });
  if (res.statusCode !== 201) throw new Error(`release to ${to.code}: ${res.statusCode} ${res.body}`);
}

export interface LoggedEntry {
  seq: number;
  type: string;
  subject: string;
  actor: { iss: string; sub: string; jurisdiction: string | null } | null;
  data: Record<string, unknown>;
}

/** The custody log's size now (entries are committed before a response is sent). */
export function logSize(ta: TestApp): Promise<number> {
  return ta.app.custody.size();
}

/** Raw log entries [start, end-of-log) via GET /v1/log/entries with the operator's auditor token. */
export async function logEntriesSince(ta: TestApp, start: number): Promise<LoggedEntry[]> {
  const end = await logSize(ta);
  const out: LoggedEntry[] = [];
  for (let from = start; from < end; from += 1000) {
    const to = Math.min(end, from + 1000);
    const res = await ta.app.inject({ url: `/v1/log/entries?start=${from}&end=${to}`, headers: ta.auth('operator', ['auditor']) });
    if (res.statusCode !== 200) throw new Error(`log entries ${from}..${to}: ${res.statusCode} ${res.body}`);
    out.push(...(res.json().entries as LoggedEntry[]));
  }
  return out;
}

type LightResponse = Awaited<ReturnType<TestApp['app']['inject']>>;

/** Create the bundle only (no upload); returns its id. */
export async function createOpenBundle(ta: TestApp, officer: Officer, prepared: PreparedBundle): Promise<string> {
  const res = await postBundle(ta, officer.headers, createBody(prepared));
  if (res.statusCode !== 201) throw new Error(`create bundle: ${res.statusCode} ${res.body}`);
  return res.json().id as string;
}

/** Deterministic pseudo-random bytes (xorshift32), for content that does not compress or repeat. */
export { pseudoRandomBytes as pseudoRandom } from '../envelope/helpers.js';
