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
import { isWeakEd25519PublicKey } from '../shared/ed25519.js';
import { decodeBase64 } from '../shared/encoding.js';

export type SigningKeyProblem = 'malformed' | 'weak';

/** Decode an officer's Ed25519 public key, or say why it is not acceptable. */
export function parseSigningPublicKey(text: string): { key: Buffer } | { problem: SigningKeyProblem } {
  const key = decodeBase64(text, 32);
  if (!key) return { problem: 'malformed' };
  if (isWeakEd25519PublicKey(key)) return { problem: 'weak' };
  return { key };
}
