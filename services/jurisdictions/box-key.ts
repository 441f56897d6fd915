/**
 * X25519 public keys for key wraps. A low-order point makes every box to it
 * use a shared secret an attacker can guess, so such keys are refused (the
 * same list libsodium rejects in crypto_scalarmult).
 */
import { decodeBase64 } from '../shared/encoding.js';

const LOW_ORDER_POINTS = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

/** Decode a box public key; null when malformed or a low-order point. */
export function parseBoxPublicKey(text: string): Buffer | null {
  const key = decodeBase64(text, 32);
  if (!key) return null;
  const masked = Buffer.from(key);
  masked[31] = masked[31]! & 0x7f;
  return LOW_ORDER_POINTS.includes(masked.toString('hex')) ? null : key;
}
