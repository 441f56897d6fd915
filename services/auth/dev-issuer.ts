/**
 * The development issuer (SPEC §1): used only when no issuers are configured
 * and EVX_ENV is not production. Its Ed25519 key lives in the data
 * directory; unlike a real issuer it may speak for any jurisdiction named in
 * the token and for the operator, which is exactly why it never runs in
 * production.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TrustedIssuer } from './issuers.js';

export const DEV_ISSUER = 'evx-dev-issuer';

export interface DevIssuer extends TrustedIssuer {
  privateKeyPem: string;
}

export function devIssuerFile(dataDir: string): string {
  return path.join(dataDir, 'dev-issuer.json');
}

/** Load the development issuer's key from the data directory, creating it once. */
export function loadOrCreateDevIssuer(dataDir: string): DevIssuer {
  const file = devIssuerFile(dataDir);
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    const { privateKey } = generateKeyPairSync('ed25519');
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ issuer: DEV_ISSUER, privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }) }, null, 2) + '\n', { mode: 0o600 });
    // Two processes may race here; rename is atomic and both keys are valid, the last one wins for both.
    renameSync(tmp, file);
  }
  const stored = JSON.parse(readFileSync(file, 'utf8')) as { issuer: string; privateKey: string };
  const privateKey = createPrivateKey(stored.privateKey);
  const publicKey = createPublicKey(privateKey);
  return {
    issuer: stored.issuer,
    jurisdiction: null,
    operator: false,
    development: true,
    publicKeyPem: (publicKey.export({ format: 'pem', type: 'spki' }) as string).trim(),
    publicKey,
    algorithms: ['EdDSA'],
    privateKeyPem: stored.privateKey,
  };
}

export interface TokenClaims {
  sub: string;
  jurisdiction?: string;
  roles: string[];
  audience: string;
  /** Lifetime in seconds. */
  ttl?: number;
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/** Mint a compact EdDSA JWT from a private key (the development issuer, or test issuers). */
export function mintEdDSAToken(issuer: string, privateKeyPem: string, claims: TokenClaims, now = Math.floor(Date.now() / 1000)): string {
  const header = { alg: 'EdDSA', typ: 'JWT' };
  const payload: Record<string, unknown> = {
    iss: issuer,
    sub: claims.sub,
    aud: claims.audience,
    iat: now,
    exp: now + (claims.ttl ?? 12 * 3600),
    roles: claims.roles,
  };
  if (claims.jurisdiction !== undefined) payload['jurisdiction'] = claims.jurisdiction;
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = sign(null, Buffer.from(input), createPrivateKey(privateKeyPem));
  return `${input}.${b64url(signature)}`;
}
