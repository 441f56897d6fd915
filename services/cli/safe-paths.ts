/**
 * File names in a manifest are chosen by whoever signed it: to the recipient
 * they are untrusted input. A name becomes a path under the output
 * directory only if it is a plain relative path that stays there: no
 * absolute paths, drive letters or backslashes, no empty, "." or ".."
 * segments, no NUL or other control characters, and (checked again when
 * writing) no symlinked directory leading outside.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';

const CONTROL = /[\u0000-\u001f\u007f]/;

/** Why `name` may not be written under an output directory, or null if it may. */
export function unsafeNameReason(name: string): string | null {
  if (name.length === 0) return 'the name is empty';
  if (name.includes('\u0000')) return 'the name contains NUL';
  if (CONTROL.test(name)) return 'the name contains control characters';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'the name is an absolute path';
  if (name.includes('\\')) return 'the name contains a backslash';
  const segments = name.split('/');
  if (segments.some((s) => s === '..')) return 'the name contains a ".." segment';
  if (segments.some((s) => s === '' || s === '.')) return 'the name contains an empty or "." segment';
  if (segments.some((s) => s.startsWith('.evx-fetch-'))) return 'the name collides with evx\'s temporary files';
  return null;
}

/** The path `name` would get under `dir`, or a reason it may not be written there. */
export function targetPath(dir: string, name: string): { path: string } | { reason: string } {
  const reason = unsafeNameReason(name);
  if (reason) return { reason };
  const root = path.resolve(dir);
  const target = path.resolve(root, ...name.split('/'));
  if (!target.startsWith(root + path.sep)) return { reason: 'the name leads outside the output directory' };
  return { path: target };
}

/** After the parent directories exist: true if the real parent is still inside the real root (no symlink escape). */
export function staysInside(root: string, file: string): boolean {
  const realRoot = realpathSync(root);
  const realParent = realpathSync(path.dirname(file));
  return realParent === realRoot || realParent.startsWith(realRoot + path.sep);
}
