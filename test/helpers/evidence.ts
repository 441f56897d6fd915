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
import { ed25519Generate, type Ed25519KeyPair } from '../../services/shared/ed25519.js';
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
