/**
 * Bundle manifest (SPEC §4): what the investigator signs before any byte is
 * uploaded, and what the server checks the stored ciphertext against at seal.
 * The signature is Ed25519 over the RFC 8785 canonical JSON of the manifest.
 */
import { createHash } from 'node:crypto';
import { ed25519PublicFromSeed, ed25519Sign, ed25519Verify } from '../shared/ed25519.js';
import { encodeBase64 } from '../shared/encoding.js';
import { canonicalBytes } from '../shared/jcs.js';
import {
  CLASSIFICATIONS,
  CRIME_CATEGORIES,
  JURISDICTION_CODE_PATTERN,
  isClassification,
  isCrimeCategory,
  type Classification,
  type CrimeCategory,
} from '../shared/vocabulary.js';
import { MAX_CHUNK_SIZE, NONCE_PREFIX_BYTES, cipherSizeFor } from './chunked.js';
import {
  ProblemList,
  checkBase64,
  checkInteger,
  checkNoUnknownFields,
  checkSha256Hex,
  checkText,
  decodeCanonicalBase64,
  isPlainObject,
  pointer,
} from './checks.js';
import type { Validation } from './errors.js';

export const MANIFEST_VERSION = 1;
export const MAX_MANIFEST_FILES = 10_000;
/** Below this, per-chunk overhead and the number of chunks of a large file become unreasonable. */
export const MIN_MANIFEST_CHUNK_SIZE = 1024;
export const MAX_CASE_REFERENCE_LENGTH = 200;
export const MAX_FILE_NAME_LENGTH = 255;
export const MAX_SIGNER_SUB_LENGTH = 255;

export interface ManifestFile {
  /** Display name only: never used as a path by anything in evx. */
  name: string;
  size: number;
  /** Hex SHA-256 of the plaintext. */
  sha256: string;
  chunkSize: number;
  /** Base64 of 16 bytes. */
  noncePrefix: string;
  cipherSize: number;
  /** Hex SHA-256 of the ciphertext. */
  cipherSha256: string;
}

export interface ManifestSigner {
  jurisdiction: string;
  sub: string;
  /** Base64 of the signer's raw 32-byte Ed25519 public key. */
  publicKey: string;
}

export interface Manifest {
  v: 1;
  caseReference: string;
  crimeCategory: CrimeCategory;
  classification: Classification;
  /** RFC 3339, UTC ("Z"). */
  createdAt: string;
  files: ManifestFile[];
  signer: ManifestSigner;
}

const MANIFEST_FIELDS = ['v', 'caseReference', 'crimeCategory', 'classification', 'createdAt', 'files', 'signer'] as const;
const FILE_FIELDS = ['name', 'size', 'sha256', 'chunkSize', 'noncePrefix', 'cipherSize', 'cipherSha256'] as const;
const SIGNER_FIELDS = ['jurisdiction', 'sub', 'publicKey'] as const;

const JURISDICTION_CODE = new RegExp(JURISDICTION_CODE_PATTERN);
const RFC3339_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

/**
 * RFC 3339 date-time in UTC with an upper-case "T" and "Z", real calendar
 * date. Leap seconds (:60) are refused: no JavaScript clock can produce or
 * order them, and the server compares these times.
 */
export function isRfc3339Utc(text: string): boolean {
  const m = RFC3339_UTC.exec(text);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return day <= daysInMonth;
}

function checkFile(input: unknown, index: number, problems: ProblemList): ManifestFile | null {
  const at = pointer('files', index);
  if (!isPlainObject(input)) {
    problems.add(at, 'must be an object');
    return null;
  }
  const before = problems.items.length;
  checkNoUnknownFields(input, FILE_FIELDS, at, problems);

  const { name, size, sha256, chunkSize, noncePrefix, cipherSize, cipherSha256 } = input;
  if (checkText(name, at + '/name', problems, MAX_FILE_NAME_LENGTH, { allowBlank: true }) && name.includes('\u0000')) {
    problems.add(at + '/name', 'must not contain NUL');
  }
  const sizeOk = checkInteger(size, at + '/size', problems, 0, Number.MAX_SAFE_INTEGER, 'a non-negative integer');
  checkSha256Hex(sha256, at + '/sha256', problems);
  const chunkOk = checkInteger(chunkSize, at + '/chunkSize', problems, MIN_MANIFEST_CHUNK_SIZE, MAX_CHUNK_SIZE);
  checkBase64(noncePrefix, NONCE_PREFIX_BYTES, at + '/noncePrefix', problems);
  if (checkInteger(cipherSize, at + '/cipherSize', problems, 0, Number.MAX_SAFE_INTEGER, 'a non-negative integer') && sizeOk && chunkOk) {
    let expected: number | null;
    try {
      expected = cipherSizeFor(size, chunkSize);
    } catch {
      expected = null;
    }
    if (expected === null) problems.add(at + '/size', 'is too large: its ciphertext size would exceed 2^53 - 1');
    else if (cipherSize !== expected) {
      problems.add(at + '/cipherSize', `must be ${expected} for size ${size} and chunkSize ${chunkSize} (is ${cipherSize})`);
    }
  }
  checkSha256Hex(cipherSha256, at + '/cipherSha256', problems);

  if (problems.items.length !== before) return null;
  return {
    name: name as string,
    size: size as number,
    sha256: sha256 as string,
    chunkSize: chunkSize as number,
    noncePrefix: noncePrefix as string,
    cipherSize: cipherSize as number,
    cipherSha256: cipherSha256 as string,
  };
}

function checkSigner(input: unknown, problems: ProblemList): ManifestSigner | null {
  const at = '/signer';
  if (input === undefined) {
    problems.add(at, 'is required');
    return null;
  }
  if (!isPlainObject(input)) {
    problems.add(at, 'must be an object');
    return null;
  }
  const before = problems.items.length;
  checkNoUnknownFields(input, SIGNER_FIELDS, at, problems);
  const { jurisdiction, sub, publicKey } = input;
  if (jurisdiction === undefined) problems.add(at + '/jurisdiction', 'is required');
  else if (typeof jurisdiction !== 'string' || !JURISDICTION_CODE.test(jurisdiction)) {
    problems.add(at + '/jurisdiction', `must be a jurisdiction code matching ${JURISDICTION_CODE_PATTERN}`);
  }
  checkText(sub, at + '/sub', problems, MAX_SIGNER_SUB_LENGTH);
  checkBase64(publicKey, 32, at + '/publicKey', problems);
  if (problems.items.length !== before) return null;
  return { jurisdiction: jurisdiction as string, sub: sub as string, publicKey: publicKey as string };
}

/**
 * Checks an untrusted manifest (e.g. a parsed request body). On success the
 * value is a fresh copy holding exactly the manifest's fields; otherwise every
 * problem found (up to 100), each at a JSON Pointer.
 */
export function validateManifest(input: unknown): Validation<Manifest> {
  const problems = new ProblemList();
  if (!isPlainObject(input)) {
    problems.add('', 'manifest must be a JSON object');
    return { ok: false, problems: problems.list() };
  }
  checkNoUnknownFields(input, MANIFEST_FIELDS, '', problems);

  if (input.v === undefined) problems.add('/v', 'is required');
  else if (input.v !== MANIFEST_VERSION) problems.add('/v', `must be ${MANIFEST_VERSION} (the only manifest version)`);

  checkText(input.caseReference, '/caseReference', problems, MAX_CASE_REFERENCE_LENGTH);

  if (input.crimeCategory === undefined) problems.add('/crimeCategory', 'is required');
  else if (!isCrimeCategory(input.crimeCategory)) problems.add('/crimeCategory', `must be one of: ${CRIME_CATEGORIES.join(', ')}`);

  if (input.classification === undefined) problems.add('/classification', 'is required');
  else if (!isClassification(input.classification)) problems.add('/classification', `must be one of: ${CLASSIFICATIONS.join(', ')}`);

  if (input.createdAt === undefined) problems.add('/createdAt', 'is required');
  else if (typeof input.createdAt !== 'string' || !isRfc3339Utc(input.createdAt)) {
    problems.add('/createdAt', 'must be an RFC 3339 date-time in UTC, e.g. 2026-01-31T09:30:00Z');
  }

  const files: ManifestFile[] = [];
  if (input.files === undefined) problems.add('/files', 'is required');
  else if (!Array.isArray(input.files)) problems.add('/files', 'must be an array');
  else if (input.files.length === 0) problems.add('/files', 'must list at least one file');
  else if (input.files.length > MAX_MANIFEST_FILES) {
    problems.add('/files', `must list at most ${MAX_MANIFEST_FILES} files (lists ${input.files.length})`);
  } else {
    const firstUse = new Map<string, number>();
    input.files.forEach((entry: unknown, i: number) => {
      const file = checkFile(entry, i, problems);
      if (file !== null) files.push(file);
      // Compare decoded bytes, not strings, so only the bytes that form nonces matter.
      const prefix = isPlainObject(entry) ? decodeCanonicalBase64(entry.noncePrefix, NONCE_PREFIX_BYTES) : null;
      if (prefix === null) return;
      const key = prefix.toString('hex');
      const first = firstUse.get(key);
      if (first === undefined) firstUse.set(key, i);
      else problems.add(pointer('files', i, 'noncePrefix'), `duplicates /files/${first}/noncePrefix: every file needs its own nonce prefix`);
    });
  }

  const signer = checkSigner(input.signer, problems);

  if (!problems.empty || signer === null) return { ok: false, problems: problems.list() };
  return {
    ok: true,
    value: {
      v: MANIFEST_VERSION,
      caseReference: input.caseReference as string,
      crimeCategory: input.crimeCategory as CrimeCategory,
      classification: input.classification as Classification,
      createdAt: input.createdAt as string,
      files,
      signer,
    },
  };
}

/** Hex SHA-256 of JCS(manifest): the bundle's identity in receipts and custody entries. */
export function manifestHash(manifest: Manifest): string {
  return createHash('sha256').update(canonicalBytes(manifest)).digest('hex');
}

/**
 * Detached Ed25519 signature (base64) over JCS(manifest). Refuses a seed
 * whose public key is not `manifest.signer.publicKey`: such a signature could
 * never verify and the mistake is better caught before the upload starts.
 */
export function signManifest(manifest: Manifest, seed: Uint8Array): string {
  if (seed.length !== 32) throw new RangeError('Ed25519 seed must be 32 bytes');
  const publicKey = encodeBase64(ed25519PublicFromSeed(seed));
  if (publicKey !== manifest.signer.publicKey) {
    throw new Error('signing seed does not belong to manifest.signer.publicKey');
  }
  return encodeBase64(ed25519Sign(seed, canonicalBytes(manifest)));
}

/**
 * True only if `signature` (canonical base64 of 64 bytes) is a valid Ed25519
 * signature over JCS(manifest) by `publicKey` (raw 32 bytes or its base64;
 * default: manifest.signer.publicKey). The server passes the signer's
 * registered key instead. Never throws.
 */
export function verifyManifestSignature(manifest: Manifest, signature: string, publicKey?: Uint8Array | string): boolean {
  try {
    const sig = decodeCanonicalBase64(signature, 64);
    if (sig === null) return false;
    const keySource = publicKey ?? manifest.signer.publicKey;
    const key = keySource instanceof Uint8Array ? keySource : decodeCanonicalBase64(keySource, 32);
    if (key === null || key.length !== 32) return false;
    return ed25519Verify(key, canonicalBytes(manifest), sig);
  } catch {
    return false;
  }
}
