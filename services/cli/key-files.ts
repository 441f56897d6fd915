/**
 * Key files: an officer's Ed25519 signing key and a jurisdiction's X25519
 * box key, as small JSON documents written with mode 0600 (in a 0700
 * directory when the CLI creates it):
 *
 *   {"kind": "evx-signing-key", "v": 1, "publicKey": "<base64 32>", "seed": "<base64 32>"}
 *   {"kind": "evx-box-key", "v": 1, "publicKey": "<base64 32>", "secretKey": "<base64 32>"}
 *
 * The public half is stored too so a user can read it without tools; it is
 * checked against the secret half on every load.
 */
import { chmodSync, closeSync, constants, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import nacl from 'tweetnacl';
import { generateBoxKeyPair } from '../envelope/index.js';
import { ed25519Generate, ed25519PublicFromSeed } from '../shared/ed25519.js';
import { decodeBase64, encodeBase64 } from '../shared/encoding.js';
import { UsageError } from './errors.js';

export interface SigningKey {
  file: string;
  seed: Buffer;
  publicKey: Buffer;
  publicKeyBase64: string;
}

export interface BoxKey {
  file: string;
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  publicKeyBase64: string;
}

/**
 * Writes `content` to `file` with mode 0600, never through an existing
 * symlink; refuses to replace an existing file unless `overwrite`. Atomic:
 * written to a temporary name, fsynced, renamed.
 */
export function writePrivateFile(file: string, content: string, overwrite: boolean): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!overwrite) {
    let exists = true;
    try {
      statSync(file);
    } catch {
      exists = false;
    }
    if (exists) throw new UsageError(`${file} already exists; refusing to overwrite a key (use --force to replace it)`);
  }
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    // The umask cannot widen 0600, but a pre-set ACL default could; be explicit.
    chmodSync(tmp, 0o600);
    writeSync(fd, content);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, file);
}

function readJson(file: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read the ${what} ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(err))}`, [
      code === 'ENOENT' ? `create one with: evx keygen --${what === 'signing key' ? 'signing-key' : 'box-key'} ${file}` : 'check the path and its permissions',
    ]);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new UsageError(`${file} is not an evx ${what} file (not a JSON object)`);
}

function field32(obj: Record<string, unknown>, name: string, file: string, what: string): Buffer {
  const v = obj[name];
  const bytes = typeof v === 'string' ? decodeBase64(v, 32) : null;
  if (bytes === null) throw new UsageError(`${file} is not a valid evx ${what} file: "${name}" must be base64 of 32 bytes`);
  return bytes;
}

/** Like ssh: a secret key others can read is a mistake worth saying out loud. */
export function permissionWarning(file: string): string | null {
  try {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) return `warning: ${file} is readable by others (mode ${mode.toString(8)}); chmod 600 it`;
  } catch {
    // Reported when reading.
  }
  return null;
}

export function readSigningKey(file: string): SigningKey {
  const obj = readJson(file, 'signing key');
  if (obj['kind'] !== 'evx-signing-key') throw new UsageError(`${file} is not an evx signing key file (kind is ${JSON.stringify(obj['kind'])}, expected "evx-signing-key")`);
  const seed = field32(obj, 'seed', file, 'signing key');
  const publicKey = ed25519PublicFromSeed(seed);
  const stated = field32(obj, 'publicKey', file, 'signing key');
  if (!stated.equals(publicKey)) throw new UsageError(`${file}: its publicKey does not belong to its seed; the file is damaged`);
  return { file, seed, publicKey, publicKeyBase64: encodeBase64(publicKey) };
}

export function readBoxKey(file: string): BoxKey {
  const obj = readJson(file, 'box key');
  if (obj['kind'] !== 'evx-box-key') throw new UsageError(`${file} is not an evx box key file (kind is ${JSON.stringify(obj['kind'])}, expected "evx-box-key")`);
  const secretKey = field32(obj, 'secretKey', file, 'box key');
  const publicKey = nacl.box.keyPair.fromSecretKey(secretKey).publicKey;
  const stated = field32(obj, 'publicKey', file, 'box key');
  if (!stated.equals(Buffer.from(publicKey))) throw new UsageError(`${file}: its publicKey does not belong to its secretKey; the file is damaged`);
  return { file, secretKey, publicKey, publicKeyBase64: encodeBase64(publicKey) };
}

export function generateSigningKeyFile(file: string, overwrite: boolean): string {
  const { seed, publicKey } = ed25519Generate();
  const publicKeyBase64 = encodeBase64(publicKey);
  writePrivateFile(file, JSON.stringify({ kind: 'evx-signing-key', v: 1, publicKey: publicKeyBase64, seed: encodeBase64(seed) }, null, 2) + '\n', overwrite);
  seed.fill(0);
  return publicKeyBase64;
}

export function generateBoxKeyFile(file: string, overwrite: boolean): string {
  const pair = generateBoxKeyPair();
  const publicKeyBase64 = encodeBase64(pair.publicKey);
  writePrivateFile(file, JSON.stringify({ kind: 'evx-box-key', v: 1, publicKey: publicKeyBase64, secretKey: encodeBase64(pair.secretKey) }, null, 2) + '\n', overwrite);
  pair.secretKey.fill(0);
  return publicKeyBase64;
}
