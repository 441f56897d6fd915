/**
 * The auditor's trust anchor: the log's verifier key. Everything `evx
 * verify` and `evx log` conclude rests on it, so it must come from the
 * user (--vkey, EVX_VKEY, the profile), not from the server being checked.
 * Fetching it from the server is possible only with an explicit flag and a
 * loud warning (trust on first use).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseVerifierKey, verifyCheckpoint, type Checkpoint, type NoteVerifier } from '../ledger/note.js';
import type { Context } from './context.js';
import { IntegrityError, UsageError } from './errors.js';

export interface TrustedKey {
  verifier: NoteVerifier;
  text: string;
  source: string;
}

export async function logKey(ctx: Context): Promise<TrustedKey> {
  const pinned = ctx.settings.vkey();
  if (pinned) return { verifier: pinned.verifier, text: pinned.value, source: pinned.source };
  if (!ctx.flags.bool('trust-server-key')) {
    throw new UsageError('no pinned log verifier key: verification against a key the server itself supplies proves nothing', [
      'pin the key you obtained out of band: --vkey FILE, EVX_VKEY, or "vkey" in your profile',
      'to fetch it from the server anyway (trust on first use): add --trust-server-key, or save it once with: evx log key --save FILE',
    ]);
  }
  const text = (await ctx.client({ auth: false }).text('/v1/log/key', { auth: false })).trim();
  let verifier: NoteVerifier;
  try {
    verifier = parseVerifierKey(text);
  } catch (err) {
    throw new IntegrityError(`the server's log key is malformed: ${(err as Error).message}`);
  }
  ctx.warn(`WARNING: using the log key the server sent (${text}) because of --trust-server-key.`);
  ctx.warn('         A dishonest operator can sign anything with a key of their choosing: compare it with the key published');
  ctx.warn('         by the operator through another channel, then pin it (--vkey FILE, EVX_VKEY or "vkey" in your profile).');
  return { verifier, text, source: 'the server (--trust-server-key)' };
}

export function readCheckpointFile(ctx: Context, file: string, key: TrustedKey): { note: string; checkpoint: Checkpoint; file: string } {
  const resolved = path.resolve(ctx.io.cwd, file);
  let note: string;
  try {
    note = readFileSync(resolved, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the saved checkpoint ${resolved}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return { note, checkpoint: verifyCheckpoint(note, key.verifier, { origin: key.verifier.name }), file: resolved };
  } catch (err) {
    throw new IntegrityError(`the saved checkpoint ${resolved} does not verify with the log key from ${key.source}: ${(err as Error).message}`);
  }
}
