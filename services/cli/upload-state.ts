/**
 * What `evx upload --resume` needs to continue an upload in a new process:
 * the bundle key and nonce prefixes (to re-encrypt deterministically), the
 * signed manifest and the local paths, with their size and modification time
 * so a changed file is noticed before bytes are sent.
 *
 * The file holds the bundle key in the clear, so it is written 0600 in a
 * 0700 directory and deleted as soon as the bundle is sealed.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { KeyWrap, Manifest } from '../envelope/index.js';
import { UsageError } from './errors.js';
import { writePrivateFile } from './key-files.js';

export interface UploadStateFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export interface UploadState {
  v: 1;
  /** null until the server created the bundle. */
  bundleId: string | null;
  /** The server URL the upload belongs to. */
  server: string;
  startedAt: string;
  /** Base64 of K: secret. */
  bundleKey: string;
  manifest: Manifest;
  signature: string;
  keyWrap: KeyWrap;
  files: UploadStateFile[];
}

export function uploadsDir(stateDir: string): string {
  return path.join(stateDir, 'uploads');
}

export function statePath(stateDir: string, name: string): string {
  return path.join(uploadsDir(stateDir), `${name}.json`);
}

export function saveState(stateDir: string, name: string, state: UploadState): string {
  mkdirSync(uploadsDir(stateDir), { recursive: true, mode: 0o700 });
  const file = statePath(stateDir, name);
  writePrivateFile(file, JSON.stringify(state, null, 2) + '\n', true);
  return file;
}

export function removeState(stateDir: string, name: string): void {
  rmSync(statePath(stateDir, name), { force: true });
}

export function loadState(stateDir: string, bundleId: string): UploadState {
  const file = statePath(stateDir, bundleId);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT' ? `no unfinished upload of bundle ${bundleId} is recorded in ${uploadsDir(stateDir)}` : `cannot read the upload state ${file}: ${code ?? 'not valid JSON'}`,
      ['list unfinished uploads with: evx upload --pending'],
    );
  }
  const s = parsed as Partial<UploadState>;
  if (s.v !== 1 || typeof s.bundleKey !== 'string' || typeof s.manifest !== 'object' || !Array.isArray(s.files) || typeof s.server !== 'string') {
    throw new UsageError(`${file} is not an evx upload state file`);
  }
  return s as UploadState;
}

export function listStates(stateDir: string): Array<{ name: string; state: UploadState | null }> {
  let names: string[];
  try {
    names = readdirSync(uploadsDir(stateDir)).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.sort().map((n) => {
    try {
      return { name: n.slice(0, -5), state: JSON.parse(readFileSync(path.join(uploadsDir(stateDir), n), 'utf8')) as UploadState };
    } catch {
      return { name: n.slice(0, -5), state: null };
    }
  });
}
