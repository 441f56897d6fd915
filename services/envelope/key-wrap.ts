/**
 * Key wrap (SPEC §4): the bundle key K sealed to one jurisdiction's X25519
 * box key with a fresh ephemeral key pair, so the server only ever stores
 * wrapped keys and a wrap reveals nothing about who made it.
 *   box = nacl.box(K, nonce, boxPublicKey, ephemeralSecretKey)   (= crypto_box_easy)
 */
import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { encodeBase64 } from '../shared/encoding.js';
import { JURISDICTION_CODE_PATTERN } from '../shared/vocabulary.js';
import { BUNDLE_KEY_BYTES, NONCE_PREFIX_BYTES } from './chunked.js';
import { ProblemList, checkBase64, checkInteger, checkNoUnknownFields, decodeCanonicalBase64, isPlainObject } from './checks.js';
import type { Validation } from './errors.js';

export const BOX_KEY_BYTES = 32;
export const BOX_NONCE_BYTES = 24;
/** K (32 bytes) plus the 16-byte Poly1305 tag. */
export const WRAPPED_KEY_BYTES = BUNDLE_KEY_BYTES + 16;

export interface KeyWrap {
  jurisdiction: string;
  keyVersion: number;
  /** Base64, 32 bytes. */
  ephemeralPublicKey: string;
  /** Base64, 24 bytes. */
  nonce: string;
  /** Base64, 48 bytes: MAC ‖ encrypted K. */
  box: string;
}

export interface BoxKeyPair {
  /** X25519 public key, 32 bytes. */
  publicKey: Uint8Array;
  /** X25519 secret key, 32 bytes. */
  secretKey: Uint8Array;
}

export interface WrapRecipient {
  jurisdiction: string;
  keyVersion: number;
  /** The jurisdiction's X25519 key of that version: raw 32 bytes or base64 as served by the API. */
  boxPublicKey: Uint8Array | string;
}

const KEY_WRAP_FIELDS = ['jurisdiction', 'keyVersion', 'ephemeralPublicKey', 'nonce', 'box'] as const;
const JURISDICTION_CODE = new RegExp(JURISDICTION_CODE_PATTERN);

export function generateBundleKey(): Buffer {
  return randomBytes(BUNDLE_KEY_BYTES);
}

export function generateNoncePrefix(): Buffer {
  return randomBytes(NONCE_PREFIX_BYTES);
}

export function generateBoxKeyPair(): BoxKeyPair {
  return nacl.box.keyPair();
}

function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (const b of bytes) acc |= b;
  return acc === 0;
}

/**
 * tweetnacl happily derives an all-zero shared secret from a low-order
 * public key, where libsodium's crypto_box refuses. Refusing too keeps the
 * two byte-compatible, and stops a wrap that anyone could have opened.
 */
function sharedSecretIsDegenerate(secretKey: Uint8Array, publicKey: Uint8Array): boolean {
  const shared = nacl.scalarMult(secretKey, publicKey);
  const degenerate = isAllZero(shared);
  shared.fill(0);
  return degenerate;
}

function checkRecipient(recipient: WrapRecipient): Uint8Array {
  if (typeof recipient.jurisdiction !== 'string' || !JURISDICTION_CODE.test(recipient.jurisdiction)) {
    throw new RangeError(`jurisdiction must match ${JURISDICTION_CODE_PATTERN}`);
  }
  if (!Number.isSafeInteger(recipient.keyVersion) || recipient.keyVersion < 1) {
    throw new RangeError('keyVersion must be a positive integer');
  }
  const pk = recipient.boxPublicKey instanceof Uint8Array ? recipient.boxPublicKey : decodeCanonicalBase64(recipient.boxPublicKey, BOX_KEY_BYTES);
  if (pk === null || pk.length !== BOX_KEY_BYTES) throw new RangeError('boxPublicKey must be 32 bytes (raw or canonical base64)');
  return pk;
}

/**
 * Deterministic core of wrapBundleKey. Only for test vectors: reusing an
 * ephemeral secret key with the same nonce and recipient is catastrophic.
 */
export function wrapBundleKeyWith(bundleKey: Uint8Array, recipient: WrapRecipient, ephemeralSecretKey: Uint8Array, nonce: Uint8Array): KeyWrap {
  if (bundleKey.length !== BUNDLE_KEY_BYTES) throw new RangeError('bundle key must be 32 bytes');
  if (ephemeralSecretKey.length !== BOX_KEY_BYTES) throw new RangeError('ephemeral secret key must be 32 bytes');
  if (nonce.length !== BOX_NONCE_BYTES) throw new RangeError('nonce must be 24 bytes');
  const boxPublicKey = checkRecipient(recipient);
  if (sharedSecretIsDegenerate(ephemeralSecretKey, boxPublicKey)) {
    throw new RangeError('boxPublicKey is a low-order point: refusing to wrap to it');
  }
  const ephemeral = nacl.box.keyPair.fromSecretKey(ephemeralSecretKey);
  const box = nacl.box(bundleKey, nonce, boxPublicKey, ephemeral.secretKey);
  ephemeral.secretKey.fill(0);
  return {
    jurisdiction: recipient.jurisdiction,
    keyVersion: recipient.keyVersion,
    ephemeralPublicKey: encodeBase64(ephemeral.publicKey),
    nonce: encodeBase64(nonce),
    box: encodeBase64(box),
  };
}

/** Seal K to a jurisdiction's box key version with a fresh ephemeral key and random nonce. */
export function wrapBundleKey(bundleKey: Uint8Array, recipient: WrapRecipient): KeyWrap {
  const ephemeralSecretKey = randomBytes(BOX_KEY_BYTES);
  try {
    return wrapBundleKeyWith(bundleKey, recipient, ephemeralSecretKey, randomBytes(BOX_NONCE_BYTES));
  } finally {
    ephemeralSecretKey.fill(0);
  }
}

/** Checks an untrusted key wrap's shape: exactly these fields, canonical base64 of 32/24/48 bytes, keyVersion ≥ 1. */
export function validateKeyWrap(input: unknown): Validation<KeyWrap> {
  const problems = new ProblemList();
  if (!isPlainObject(input)) {
    problems.add('', 'key wrap must be a JSON object');
    return { ok: false, problems: problems.list() };
  }
  checkNoUnknownFields(input, KEY_WRAP_FIELDS, '', problems);
  const { jurisdiction, keyVersion, ephemeralPublicKey, nonce, box } = input;
  if (jurisdiction === undefined) problems.add('/jurisdiction', 'is required');
  else if (typeof jurisdiction !== 'string' || !JURISDICTION_CODE.test(jurisdiction)) {
    problems.add('/jurisdiction', `must be a jurisdiction code matching ${JURISDICTION_CODE_PATTERN}`);
  }
  checkInteger(keyVersion, '/keyVersion', problems, 1, Number.MAX_SAFE_INTEGER, 'a positive integer');
  checkBase64(ephemeralPublicKey, BOX_KEY_BYTES, '/ephemeralPublicKey', problems);
  checkBase64(nonce, BOX_NONCE_BYTES, '/nonce', problems);
  checkBase64(box, WRAPPED_KEY_BYTES, '/box', problems);
  if (!problems.empty) return { ok: false, problems: problems.list() };
  return {
    ok: true,
    value: {
      jurisdiction: jurisdiction as string,
      keyVersion: keyVersion as number,
      ephemeralPublicKey: ephemeralPublicKey as string,
      nonce: nonce as string,
      box: box as string,
    },
  };
}

/**
 * K, or null if the wrap is malformed, was not made for this secret key, was
 * altered, or uses a low-order ephemeral key.
 */
export function unwrapBundleKey(wrap: KeyWrap, boxSecretKey: Uint8Array): Uint8Array | null {
  if (!(boxSecretKey instanceof Uint8Array) || boxSecretKey.length !== BOX_KEY_BYTES) {
    throw new RangeError('box secret key must be 32 bytes');
  }
  const checked = validateKeyWrap(wrap);
  if (!checked.ok) return null;
  const ephemeralPublicKey = decodeCanonicalBase64(checked.value.ephemeralPublicKey, BOX_KEY_BYTES);
  const nonce = decodeCanonicalBase64(checked.value.nonce, BOX_NONCE_BYTES);
  const box = decodeCanonicalBase64(checked.value.box, WRAPPED_KEY_BYTES);
  if (ephemeralPublicKey === null || nonce === null || box === null) return null;
  if (sharedSecretIsDegenerate(boxSecretKey, ephemeralPublicKey)) return null;
  const key = nacl.box.open(box, nonce, ephemeralPublicKey, boxSecretKey);
  return key !== null && key.length === BUNDLE_KEY_BYTES ? key : null;
}
