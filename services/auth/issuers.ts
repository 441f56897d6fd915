/**
 * Trusted token issuers (SPEC §1). Each issuer is bound to exactly one
 * jurisdiction, or is the platform operator; only asymmetric algorithms from
 * its own allow-list are accepted, and its key must fit those algorithms.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { JURISDICTION_CODE_PATTERN } from '../shared/vocabulary.js';

/** The asymmetric JWS algorithms evx accepts; `none` and HMAC never are. */
export const ASYMMETRIC_ALGORITHMS = ['EdDSA', 'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

export interface TrustedIssuer {
  issuer: string;
  /** The one jurisdiction this issuer may speak for; null for the operator. */
  jurisdiction: string | null;
  operator: boolean;
  /**
   * The development issuer only (never in production): speaks for the
   * jurisdiction its token names, or for the operator when it names none.
   */
  development?: boolean;
  /** Trimmed PEM: a key with leading whitespace was once mistaken for an HMAC secret. */
  publicKeyPem: string;
  publicKey: KeyObject;
  algorithms: AsymmetricAlgorithm[];
}

function algorithmsForKey(key: KeyObject): readonly AsymmetricAlgorithm[] {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return ['EdDSA'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return ['ES256'];
      if (curve === 'secp384r1') return ['ES384'];
      if (curve === 'secp521r1') return ['ES512'];
      return [];
    }
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    default:
      return [];
  }
}

/**
 * Parse and check the issuer list. Returns the issuers or the list of
 * problems, each naming the entry and field, so a bad configuration can be
 * fixed in one go.
 */
export function parseIssuers(raw: unknown, source: string): { issuers: TrustedIssuer[]; problems: string[] } {
  const problems: string[] = [];
  const issuers: TrustedIssuer[] = [];
  if (!Array.isArray(raw)) {
    return { issuers, problems: [`${source}: must be a JSON array of issuers`] };
  }
  const seen = new Set<string>();
  raw.forEach((item: unknown, i) => {
    const at = `${source}[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.push(`${at}: must be an object`);
      return;
    }
    const entry = item as Record<string, unknown>;
    const allowed = new Set(['issuer', 'jurisdiction', 'operator', 'publicKey', 'algorithms']);
    for (const key of Object.keys(entry)) if (!allowed.has(key)) problems.push(`${at}: unknown field "${key}"`);

    const issuer = entry['issuer'];
    if (typeof issuer !== 'string' || issuer.trim() === '') {
      problems.push(`${at}.issuer: must be a non-empty string`);
      return;
    }
    if (seen.has(issuer)) problems.push(`${at}.issuer: "${issuer}" is listed twice`);
    seen.add(issuer);

    const operator = entry['operator'] ?? false;
    if (typeof operator !== 'boolean') problems.push(`${at}.operator: must be true or false`);
    const jurisdiction = entry['jurisdiction'];
    if (operator === true) {
      if (jurisdiction !== undefined) problems.push(`${at}: an operator issuer must not be bound to a jurisdiction`);
    } else if (typeof jurisdiction !== 'string' || !new RegExp(JURISDICTION_CODE_PATTERN).test(jurisdiction)) {
      problems.push(`${at}.jurisdiction: required for a non-operator issuer, a code like "NL" (${JURISDICTION_CODE_PATTERN})`);
    }

    const algorithms = entry['algorithms'];
    const algs: AsymmetricAlgorithm[] = [];
    if (!Array.isArray(algorithms) || algorithms.length === 0) {
      problems.push(`${at}.algorithms: must be a non-empty array, e.g. ["EdDSA"]`);
    } else {
      for (const alg of algorithms) {
        if (typeof alg === 'string' && (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) algs.push(alg as AsymmetricAlgorithm);
        else problems.push(`${at}.algorithms: "${String(alg)}" is not accepted (only ${ASYMMETRIC_ALGORITHMS.join(', ')})`);
      }
    }

    const pem = entry['publicKey'];
    if (typeof pem !== 'string' || pem.trim() === '') {
      problems.push(`${at}.publicKey: must be a PEM public key`);
      return;
    }
    const trimmed = pem.trim();
    if (!trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) {
      problems.push(`${at}.publicKey: must be a PEM "PUBLIC KEY" (SPKI); secrets and private keys are refused`);
      return;
    }
    let key: KeyObject;
    try {
      key = createPublicKey({ key: trimmed, format: 'pem' });
    } catch {
      problems.push(`${at}.publicKey: not a readable PEM public key`);
      return;
    }
    const fits = algorithmsForKey(key);
    if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
      problems.push(`${at}.publicKey: RSA keys must be at least 2048 bits`);
    }
    for (const alg of algs) {
      if (!fits.includes(alg)) problems.push(`${at}.algorithms: "${alg}" does not fit a ${key.asymmetricKeyType ?? 'unknown'} key`);
    }
    issuers.push({
      issuer,
      jurisdiction: operator === true ? null : (jurisdiction as string),
      operator: operator === true,
      publicKeyPem: trimmed,
      publicKey: key,
      algorithms: algs,
    });
  });
  return { issuers, problems };
}
