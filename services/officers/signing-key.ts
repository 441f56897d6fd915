/**
 * Ed25519 public keys officers register. A key of small order (the identity
 * point, the points of order 2, 4 and 8) makes signatures meaningless: with
 * the identity as public key, R = identity and S = 0 "verifies" for every
 * message under Node's (OpenSSL's) and tweetnacl's verification, so anyone
 * could sign manifests, agreements and receipts in that officer's name.
 * Such keys, and non-canonical encodings (y >= p, which would let one point
 * be registered under several byte strings), are refused — the same rules as
 * libsodium's crypto_sign_verify_detached.
 */
import { decodeBase64 } from '../shared/encoding.js';

/** Small-order points, sign bit cleared (libsodium's ed25519 blocklist). */
const SMALL_ORDER_POINTS = new Set([
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4
  '0100000000000000000000000000000000000000000000000000000000000000', // identity, order 1
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p - 1, order 2
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p (= 0), order 4
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1 (= 1), order 1
]);

/** y (little-endian, sign bit cleared) >= p = 2^255 - 19. */
function isNonCanonical(key: Buffer): boolean {
  if ((key[31]! & 0x7f) !== 0x7f) return false;
  for (let i = 30; i >= 1; i--) if (key[i] !== 0xff) return false;
  return key[0]! >= 0xed;
}

export type SigningKeyProblem = 'malformed' | 'weak';

/** Decode an officer's Ed25519 public key, or say why it is not acceptable. */
export function parseSigningPublicKey(text: string): { key: Buffer } | { problem: SigningKeyProblem } {
  const key = decodeBase64(text, 32);
  if (!key) return { problem: 'malformed' };
  const masked = Buffer.from(key);
  masked[31] = masked[31]! & 0x7f;
  if (SMALL_ORDER_POINTS.has(masked.toString('hex')) || isNonCanonical(key)) return { problem: 'weak' };
  return { key };
}
