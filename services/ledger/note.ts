/**
 * C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 keys, and the
 * C2SP tlog-checkpoint body it carries (https://c2sp.org/tlog-checkpoint).
 * Key strings are those of golang.org/x/mod/sumdb/note, so checkpoints verify
 * with Go's note package and any other C2SP tooling:
 *
 *   verifier key  <name>+<8 hex key ID>+<base64(0x01 ‖ 32-byte public key)>
 *   signer key    PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 ‖ 32-byte seed)>
 *   key ID        SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4], big-endian uint32
 *
 * Parsing is strict on purpose (lower-case key IDs, canonical padded base64):
 * these strings are trust anchors and there is exactly one right way to write
 * each of them.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { decodeBase64, encodeBase64 } from '../shared/encoding.js';
import {
  ed25519PrivateKeyObject,
  ed25519PublicFromSeed,
  ed25519PublicKeyObject,
  ed25519Generate,
  ed25519Sign,
  ed25519Verify,
} from '../shared/ed25519.js';

export type NoteErrorCode =
  | 'malformed_key'
  | 'malformed_note'
  | 'unknown_key'
  | 'invalid_signature'
  | 'malformed_checkpoint'
  | 'origin_mismatch';

export class NoteError extends Error {
  override name = 'NoteError';
  constructor(
    readonly code: NoteErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const ALG_ED25519 = 0x01;
const SIG_PREFIX = '\u2014 '; // em dash, space
/** Go's note package rejects more; C2SP requires accepting at least 16. */
const MAX_SIGNATURES = 100;
const HEX_KEY_ID = /^[0-9a-f]{8}$/;
// C2SP "Unicode spaces" is the White_Space property, as Go's unicode.IsSpace.
// (JS \s differs: it includes U+FEFF and lacks U+0085.)
const WHITE_SPACE = /\p{White_Space}/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// Signed notes are UTF-8 text without ASCII controls other than newline.
const FORBIDDEN_CONTROL = /[\u0000-\u0009\u000B-\u001F]/;

/** Non-empty, well-formed, no Unicode white space and no '+'. */
export function isValidKeyName(name: string): boolean {
  return (
    typeof name === 'string' && name !== '' && !LONE_SURROGATE.test(name) && !WHITE_SPACE.test(name) && !name.includes('+')
  );
}

/** The C2SP key ID of an Ed25519 key. */
export function noteKeyId(name: string, publicKey: Uint8Array): number {
  const digest = createHash('sha256')
    .update(Buffer.from(name, 'utf8'))
    .update(Buffer.from([0x0a, ALG_ED25519]))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

function keyIdHex(id: number): string {
  return id.toString(16).padStart(8, '0');
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Buffer;
  /** The canonical verifier key string. */
  readonly vkey: string;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Buffer;
  /** The matching verifier key string, for publishing. */
  readonly vkey: string;
  sign(message: Uint8Array): Buffer;
}

function makeVerifier(name: string, publicKey: Buffer): NoteVerifier {
  const keyObject: KeyObject = ed25519PublicKeyObject(publicKey);
  const keyId = noteKeyId(name, publicKey);
  const vkey = `${name}+${keyIdHex(keyId)}+${encodeBase64(Buffer.concat([Buffer.from([ALG_ED25519]), publicKey]))}`;
  return Object.freeze({
    name,
    keyId,
    publicKey,
    vkey,
    verify: (message: Uint8Array, signature: Uint8Array) => ed25519Verify(keyObject, message, signature),
  });
}

export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) throw new NoteError('malformed_key', 'invalid key name');
  if (publicKey.length !== 32) throw new NoteError('malformed_key', 'an Ed25519 public key is 32 bytes');
  return makeVerifier(name, Buffer.from(publicKey)).vkey;
}

/** Splits `<name>+<key id>+<key>`; the name cannot contain '+', base64 can. */
function splitKey(text: string): { name: string; id: string; key: string } | null {
  const a = text.indexOf('+');
  if (a < 0) return null;
  const b = text.indexOf('+', a + 1);
  if (b < 0) return null;
  return { name: text.slice(0, a), id: text.slice(a + 1, b), key: text.slice(b + 1) };
}

/** Decodes `0x01 ‖ 32 bytes`, checking name and key ID; null if anything is off. */
function decodeKeyParts(parts: { name: string; id: string; key: string }): { name: string; keyId: number; raw: Buffer } | null {
  if (!isValidKeyName(parts.name) || !HEX_KEY_ID.test(parts.id)) return null;
  const bytes = decodeBase64(parts.key, 33);
  if (bytes === null || bytes[0] !== ALG_ED25519) return null;
  return { name: parts.name, keyId: Number.parseInt(parts.id, 16), raw: bytes.subarray(1) };
}

// Verifiers are rebuilt for every checkpoint a server or CLI checks; keep the
// KeyObjects. Bounded so hostile input cannot grow it without limit.
const VERIFIER_CACHE = new Map<string, NoteVerifier>();
const VERIFIER_CACHE_LIMIT = 256;

export function parseVerifierKey(vkey: string): NoteVerifier {
  if (typeof vkey !== 'string') throw new NoteError('malformed_key', 'verifier key must be a string');
  const cached = VERIFIER_CACHE.get(vkey);
  if (cached) return cached;
  const parts = splitKey(vkey);
  const decoded = parts && decodeKeyParts(parts);
  if (!decoded) throw new NoteError('malformed_key', 'malformed verifier key (want <name>+<8 hex>+<base64(0x01 ‖ Ed25519 key)>)');
  let verifier: NoteVerifier;
  try {
    verifier = makeVerifier(decoded.name, Buffer.from(decoded.raw));
  } catch {
    throw new NoteError('malformed_key', 'verifier key is not a valid Ed25519 public key');
  }
  if (verifier.keyId !== decoded.keyId) throw new NoteError('malformed_key', 'verifier key ID does not match the key');
  if (VERIFIER_CACHE.size >= VERIFIER_CACHE_LIMIT) VERIFIER_CACHE.clear();
  VERIFIER_CACHE.set(vkey, verifier);
  return verifier;
}

export function formatSignerKey(name: string, seed: Uint8Array): string {
  if (!isValidKeyName(name)) throw new NoteError('malformed_key', 'invalid key name');
  if (seed.length !== 32) throw new NoteError('malformed_key', 'an Ed25519 seed is 32 bytes');
  const keyId = noteKeyId(name, ed25519PublicFromSeed(seed));
  return `PRIVATE+KEY+${name}+${keyIdHex(keyId)}+${encodeBase64(Buffer.concat([Buffer.from([ALG_ED25519]), seed]))}`;
}

export function parseSignerKey(skey: string): NoteSigner {
  const bad = (): NoteError => new NoteError('malformed_key', 'malformed signer key (want PRIVATE+KEY+<name>+<8 hex>+<base64(0x01 ‖ seed)>)');
  if (typeof skey !== 'string' || !skey.startsWith('PRIVATE+KEY+')) throw bad();
  const parts = splitKey(skey.slice('PRIVATE+KEY+'.length));
  const decoded = parts && decodeKeyParts(parts);
  if (!decoded) throw bad();
  const seed = Buffer.from(decoded.raw);
  const publicKey = ed25519PublicFromSeed(seed);
  const keyId = noteKeyId(decoded.name, publicKey);
  // The key ID is of the public key: only checkable after deriving it.
  if (keyId !== decoded.keyId) throw new NoteError('malformed_key', 'signer key ID does not match the key');
  const privateKey = ed25519PrivateKeyObject(seed);
  const vkey = makeVerifier(decoded.name, publicKey).vkey;
  return Object.freeze({
    name: decoded.name,
    keyId,
    publicKey,
    vkey,
    sign: (message: Uint8Array) => ed25519Sign(privateKey, message),
  });
}

/** A fresh key pair as C2SP key strings. */
export function generateNoteKeys(name: string): { signerKey: string; verifierKey: string } {
  const { seed, publicKey } = ed25519Generate();
  return { signerKey: formatSignerKey(name, seed), verifierKey: formatVerifierKey(name, publicKey) };
}

export interface NoteSignature {
  name: string;
  keyId: number;
  /** The signature proper, without the 4-byte key ID. */
  signature: Buffer;
}

export interface OpenedNote {
  /** The signed text, ending in a newline. */
  text: string;
  /** The signature by the verifier's key. */
  verified: NoteSignature;
  /** Signatures by other keys (e.g. witness cosignatures): kept, not checked. */
  others: NoteSignature[];
}

function checkNoteCharacters(text: string): void {
  if (LONE_SURROGATE.test(text)) throw new NoteError('malformed_note', 'note is not well-formed UTF-8');
  if (FORBIDDEN_CONTROL.test(text)) throw new NoteError('malformed_note', 'note contains an ASCII control character');
}

/** Signs `text` (which must end in a newline) and returns the signed note. */
export function signNote(text: string, signer: NoteSigner | string): string {
  const key = typeof signer === 'string' ? parseSignerKey(signer) : signer;
  if (typeof text !== 'string' || !text.endsWith('\n')) throw new NoteError('malformed_note', 'note text must end with a newline');
  checkNoteCharacters(text);
  const id = Buffer.alloc(4);
  id.writeUInt32BE(key.keyId, 0);
  const signature = key.sign(Buffer.from(text, 'utf8'));
  return `${text}\n${SIG_PREFIX}${key.name} ${encodeBase64(Buffer.concat([id, signature]))}\n`;
}

function decodeNoteBytes(note: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(note);
  } catch {
    throw new NoteError('malformed_note', 'note is not well-formed UTF-8');
  }
}

/**
 * Parses a signed note and checks the signature(s) by `verifier`'s key. Lines
 * by other keys are returned unchecked, as C2SP requires. Throws NoteError:
 * `malformed_note` for any syntax problem, `invalid_signature` if a line
 * claiming the verifier's key does not verify, `unknown_key` if no line does.
 */
export function openNote(note: string | Uint8Array, verifier: NoteVerifier | string): OpenedNote {
  const key = typeof verifier === 'string' ? parseVerifierKey(verifier) : verifier;
  const msg = typeof note === 'string' ? note : note instanceof Uint8Array ? decodeNoteBytes(note) : null;
  if (msg === null) throw new NoteError('malformed_note', 'note must be text');
  checkNoteCharacters(msg);
  // The text is separated from the signatures by the last empty line.
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('malformed_note', 'note has no signature block');
  const text = msg.slice(0, split + 1);
  const block = msg.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) throw new NoteError('malformed_note', 'signature block must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new NoteError('malformed_note', 'too many signatures');
  const textBytes = Buffer.from(text, 'utf8');
  let verified: NoteSignature | null = null;
  const others: NoteSignature[] = [];
  for (const line of lines) {
    if (!line.startsWith(SIG_PREFIX)) throw new NoteError('malformed_note', 'signature line must start with an em dash and a space');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? rest : rest.slice(0, space);
    const b64 = space < 0 ? '' : rest.slice(space + 1);
    const raw = decodeBase64(b64);
    if (!isValidKeyName(name) || raw === null || raw.length < 5) throw new NoteError('malformed_note', 'malformed signature line');
    const sig: NoteSignature = { name, keyId: raw.readUInt32BE(0), signature: raw.subarray(4) };
    if (sig.name !== key.name || sig.keyId !== key.keyId) {
      others.push(sig);
      continue;
    }
    // Every line claiming our key must verify, not only the first one.
    if (!key.verify(textBytes, sig.signature)) {
      throw new NoteError('invalid_signature', `invalid signature for key ${key.name}+${keyIdHex(key.keyId)}`);
    }
    verified ??= sig;
  }
  if (!verified) throw new NoteError('unknown_key', `note has no signature by key ${key.name}+${keyIdHex(key.keyId)}`);
  return { text, verified, others };
}

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
  /** Extension lines after the root, without newlines; we never write any. */
  extensions: string[];
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

export function formatCheckpoint(checkpoint: {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions?: readonly string[];
}): string {
  const { origin, size, rootHash, extensions = [] } = checkpoint;
  if (typeof origin !== 'string' || origin === '' || origin.includes('\n')) {
    throw new NoteError('malformed_checkpoint', 'origin must be a non-empty single line');
  }
  if (!Number.isSafeInteger(size) || size < 0) throw new NoteError('malformed_checkpoint', 'size must be a non-negative safe integer');
  if (!(rootHash instanceof Uint8Array) || rootHash.length !== 32) throw new NoteError('malformed_checkpoint', 'root hash must be 32 bytes');
  for (const line of extensions) {
    if (line === '' || line.includes('\n')) throw new NoteError('malformed_checkpoint', 'extension lines must be non-empty single lines');
  }
  return [origin, String(size), encodeBase64(rootHash), ...extensions].join('\n') + '\n';
}

/** Parses a checkpoint body (the note text, not the signed note). */
export function parseCheckpoint(text: string): Checkpoint {
  const bad = (why: string): NoteError => new NoteError('malformed_checkpoint', `malformed checkpoint: ${why}`);
  if (typeof text !== 'string' || !text.endsWith('\n')) throw bad('text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (origin === undefined || sizeText === undefined || rootText === undefined) throw bad('needs origin, size and root lines');
  if (origin === '') throw bad('empty origin');
  if (!DECIMAL.test(sizeText)) throw bad('size must be decimal without leading zeros');
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw bad('size too large');
  const rootHash = decodeBase64(rootText, 32);
  if (rootHash === null) throw bad('root must be base64 of 32 bytes');
  if (extensions.some((line) => line === '')) throw bad('empty extension line');
  return { origin, size, rootHash, extensions };
}

/**
 * Opens a signed checkpoint with the log's key and parses it. With
 * `origin`, the checkpoint must name that log.
 */
export function verifyCheckpoint(signedNote: string | Uint8Array, vkey: NoteVerifier | string, options: { origin?: string } = {}): Checkpoint {
  const { text } = openNote(signedNote, vkey);
  const checkpoint = parseCheckpoint(text);
  if (options.origin !== undefined && checkpoint.origin !== options.origin) {
    throw new NoteError('origin_mismatch', `checkpoint origin "${checkpoint.origin}" is not "${options.origin}"`);
  }
  return checkpoint;
}
