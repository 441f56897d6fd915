/**
 * Ed25519 on Node's crypto (OpenSSL): byte-compatible with NaCl/libsodium,
 * ~100x faster than tweetnacl here, and strict about non-canonical S values,
 * which tweetnacl's verify accepts. All signatures in evx go through this.
 *
 * Keys are raw: a 32-byte seed (private) and a 32-byte public key.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/**
 * Small-order points, sign bit cleared (libsodium's ed25519 blocklist). With
 * such a public key, signatures prove nothing: with the identity point,
 * R = identity and S = 0 verify for every message under OpenSSL and tweetnacl.
 */
const SMALL_ORDER_POINTS = new Set([
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4
  '0100000000000000000000000000000000000000000000000000000000000000', // identity, order 1
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p - 1, order 2
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p (= 0), order 4
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1 (= 1), order 1
]);

/** y (little-endian, sign bit cleared) >= p = 2^255 - 19: one point under several byte strings. */
function isNonCanonical(key: Uint8Array): boolean {
  if ((key[31]! & 0x7f) !== 0x7f) return false;
  for (let i = 30; i >= 1; i--) if (key[i] !== 0xff) return false;
  return key[0]! >= 0xed;
}

/** A public key no signature should ever be accepted under (libsodium's rules). */
export function isWeakEd25519PublicKey(key: Uint8Array): boolean {
  if (key.length !== 32) return true;
  const masked = Buffer.from(key);
  masked[31] = masked[31]! & 0x7f;
  return SMALL_ORDER_POINTS.has(masked.toString('hex')) || isNonCanonical(key);
}

export interface Ed25519KeyPair {
  seed: Buffer;
  publicKey: Buffer;
}

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

export function ed25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== 32) throw new RangeError('Ed25519 public key must be 32 bytes');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(publicKey) }, format: 'jwk' });
}

export function ed25519PrivateKeyObject(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new RangeError('Ed25519 seed must be 32 bytes');
  const publicKey = ed25519PublicFromSeed(seed);
  return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(publicKey), d: b64url(seed) }, format: 'jwk' });
}

export function ed25519PublicFromSeed(seed: Uint8Array): Buffer {
  // Node cannot derive the public key from a JWK without x, so go through PKCS#8.
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url');
}

export function ed25519Generate(): Ed25519KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const priv = privateKey.export({ format: 'jwk' });
  const pub = publicKey.export({ format: 'jwk' });
  return { seed: Buffer.from(priv.d as string, 'base64url'), publicKey: Buffer.from(pub.x as string, 'base64url') };
}

export function ed25519Sign(seedOrKey: Uint8Array | KeyObject, message: Uint8Array): Buffer {
  const key = seedOrKey instanceof Uint8Array ? ed25519PrivateKeyObject(seedOrKey) : seedOrKey;
  return sign(null, message, key);
}

/** True only for a valid 64-byte signature under a sound key; never throws on malformed input. */
export function ed25519Verify(publicKey: Uint8Array | KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  if (publicKey instanceof Uint8Array && isWeakEd25519PublicKey(publicKey)) return false;
  try {
    const key = publicKey instanceof Uint8Array ? ed25519PublicKeyObject(publicKey) : publicKey;
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
