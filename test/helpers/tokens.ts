/**
 * Test identity providers: real key pairs for several issuers (EdDSA,
 * ES256, RS256) and a JWS signer, so auth is tested with real signatures.
 */
import { createHmac, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export interface TestIssuer {
  issuer: string;
  jurisdiction?: string;
  operator?: boolean;
  alg: 'EdDSA' | 'ES256' | 'RS256' | 'PS256';
  privateKey: KeyObject;
  publicKeyPem: string;
}

function makeKeys(alg: TestIssuer['alg']): { privateKey: KeyObject; publicKeyPem: string } {
  const pair =
    alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey: pair.privateKey, publicKeyPem: pair.publicKey.export({ format: 'pem', type: 'spki' }) as string };
}

export function makeIssuer(issuer: string, alg: TestIssuer['alg'], binding: { jurisdiction: string } | { operator: true }): TestIssuer {
  return { issuer, alg, ...binding, ...makeKeys(alg) };
}

export function issuersJson(issuers: TestIssuer[]): string {
  return JSON.stringify(
    issuers.map((i) => ({
      issuer: i.issuer,
      ...(i.operator ? { operator: true } : { jurisdiction: i.jurisdiction }),
      publicKey: i.publicKeyPem,
      algorithms: [i.alg],
    })),
  );
}

function b64url(x: string | Buffer): string {
  return Buffer.from(x).toString('base64url');
}

/** Sign a JWS with any header/payload (including wrong ones, for refusal tests). */
export function signJws(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject | Buffer | null): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const alg = header['alg'];
  let sig: Buffer;
  if (alg === 'none' || key === null) sig = Buffer.alloc(0);
  else if (Buffer.isBuffer(key)) {
    // HMAC with raw bytes as secret: used to forge "public key as HMAC secret" tokens.
    sig = createHmac('sha256', key).update(input).digest();
  } else if (alg === 'EdDSA') sig = sign(null, Buffer.from(input), key);
  else if (alg === 'ES256') sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  else if (alg === 'PS256') sig = sign('sha256', Buffer.from(input), { key, padding: 6, saltLength: 32 });
  else sig = sign('sha256', Buffer.from(input), key);
  return `${input}.${b64url(sig)}`;
}

export interface ClaimsInput {
  sub?: string;
  roles?: string[];
  jurisdiction?: string;
  aud?: string | string[];
  exp?: number;
  iat?: number;
  nbf?: number;
  iss?: string;
  [claim: string]: unknown;
}

export function mint(issuer: TestIssuer, claims: ClaimsInput = {}, header: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iss: issuer.issuer,
    sub: 'officer-1',
    aud: 'evx',
    iat: now,
    exp: now + 600,
    roles: [],
    ...claims,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return signJws({ alg: issuer.alg, typ: 'JWT', ...header }, payload, issuer.privateKey);
}

export function privateKeyFromPem(pem: string): KeyObject {
  return createPrivateKey(pem);
}
