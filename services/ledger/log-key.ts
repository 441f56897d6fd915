/**
 * The log's Ed25519 signing key: EVX_LOG_KEY, or generated once into the
 * data directory. Several processes sharing a data directory share the key;
 * the file is created exclusively, so a race leaves exactly one key.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { generateNoteKeys, parseSignerKey, type NoteSigner } from './note.js';

export function logKeyFile(dataDir: string): string {
  return path.join(dataDir, 'log-signing-key');
}

export function loadOrCreateLogSigner(dataDir: string, origin: string, configured: string | null): NoteSigner {
  let text = configured;
  if (text === null) {
    const file = logKeyFile(dataDir);
    mkdirSync(dataDir, { recursive: true });
    try {
      writeFileSync(file, generateNoteKeys(origin).signerKey + '\n', { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    text = readFileSync(file, 'utf8').trim();
  }
  const signer = parseSignerKey(text);
  // The checkpoint's origin line and the note's key name are the same string (C2SP tlog-checkpoint).
  if (signer.name !== origin) {
    throw new Error(`the log signing key is named "${signer.name}" but EVX_LOG_ORIGIN is "${origin}"; they must match`);
  }
  return signer;
}
