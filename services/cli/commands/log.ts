/**
 * `evx log key|checkpoint|verify`: the auditor's whole-log commands.
 *
 * `log verify` replays every entry through the offline verifier (gapless
 * seq, the prev chain, every subject's chain, the recomputed Merkle root)
 * against the latest signed checkpoint and, with --since, against a
 * checkpoint saved earlier plus an RFC 6962 consistency proof from it: a log
 * that was rolled back or shows this auditor a different history than
 * before (a split view) fails. `log checkpoint --save` keeps such a
 * checkpoint, refusing to replace a saved one the new one does not extend.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { verifyCheckpoint, type Checkpoint } from '../../ledger/note.js';
import { LogVerifier, verifyConsistencyBetween, type ConsistencyVerdict } from '../../ledger/verify.js';
import type { OptionDefs } from '../args.js';
import type { Command, Context } from '../context.js';
import { IntegrityError } from '../errors.js';
import type { ApiClient } from '../http-client.js';
import { Progress } from '../progress.js';
import { logKey, readCheckpointFile, type TrustedKey } from '../trust.js';

const PAGE = 1000;

export const TRUST_OPTION: OptionDefs = {
  'trust-server-key': { type: 'boolean', help: "without a pinned key, use the server's own /v1/log/key (with a warning)" },
};

/** The latest checkpoint, signature-checked with the trusted key. */
export async function latestCheckpoint(client: ApiClient, key: TrustedKey): Promise<{ note: string; checkpoint: Checkpoint }> {
  const note = await client.text('/v1/log/checkpoint', { auth: false });
  try {
    return { note, checkpoint: verifyCheckpoint(note, key.verifier, { origin: key.verifier.name }) };
  } catch (err) {
    throw new IntegrityError(`the server's checkpoint does not verify with the log key from ${key.source}: ${(err as Error).message}`);
  }
}

/** Does `newer` extend `saved`? Asks the server for the proof and checks it offline. */
export async function consistency(client: ApiClient, key: TrustedKey, saved: { note: string; checkpoint: Checkpoint }, newer: { note: string; checkpoint: Checkpoint }): Promise<ConsistencyVerdict> {
  const from = saved.checkpoint.size;
  const to = newer.checkpoint.size;
  // A smaller new checkpoint is a rollback whatever the proof: the check says so without asking.
  const proof = from > 0 && from < to ? await client.json<unknown>('GET', `/v1/log/proofs/consistency?from=${from}&to=${to}`, undefined, { auth: false }) : [];
  return verifyConsistencyBetween(saved.note, newer.note, proof, key.verifier, { origin: key.verifier.name });
}

function saveCheckpoint(ctx: Context, file: string, note: string): string {
  const resolved = path.resolve(ctx.io.cwd, file);
  mkdirSync(path.dirname(resolved), { recursive: true });
  const tmp = `${resolved}.${process.pid}.tmp`;
  writeFileSync(tmp, note);
  renameSync(tmp, resolved);
  return resolved;
}

function rootText(cp: Checkpoint): string {
  return cp.rootHash.toString('base64');
}

export const logKeyCommand: Command = {
  path: ['log', 'key'],
  summary: "show the log's verifier key as the server publishes it, to compare out of band and pin",
  usage: 'log key [--save FILE]',
  details: [
    'The key is what every checkpoint is verified with. Getting it from the server you are auditing is trust on first',
    'use: compare it with the key the operator published elsewhere before relying on it.',
  ],
  options: { save: { type: 'string', value: 'FILE', help: 'also write it to FILE (to use with --vkey FILE)' } },
  positionals: { min: 0, max: 0 },
  examples: ['evx log key --save ~/.config/evx/log.vkey'],
  async run(ctx) {
    const text = (await ctx.client({ auth: false }).text('/v1/log/key', { auth: false })).trim();
    const file = ctx.flags.string('save');
    if (file !== undefined) ctx.info(`saved to ${saveCheckpoint(ctx, file, `${text}\n`)}`);
    ctx.warn('note: this key comes from the server itself; compare it with the one the operator publishes through another channel before pinning it');
    ctx.out(text);
    ctx.outJson({ vkey: text });
  },
};

export const logCheckpoint: Command = {
  path: ['log', 'checkpoint'],
  summary: 'fetch, verify and save the latest signed checkpoint',
  usage: 'log checkpoint --save FILE [--vkey FILE | --trust-server-key]',
  details: [
    'If FILE already holds a checkpoint, the new one must extend it (RFC 6962 consistency proof); otherwise nothing',
    'is saved and the exit status is 1: the log was rolled back or forked.',
  ],
  options: { save: { type: 'string', value: 'FILE', help: 'where to keep the checkpoint' }, ...TRUST_OPTION },
  positionals: { min: 0, max: 0 },
  examples: ['evx log checkpoint --save ~/audit/evx-checkpoint.txt'],
  async run(ctx) {
    const file = ctx.flags.requireString('save', 'where to keep the checkpoint');
    const key = await logKey(ctx);
    const client = ctx.client({ auth: false });
    const latest = await latestCheckpoint(client, key);
    const resolved = path.resolve(ctx.io.cwd, file);
    // A missing file is the first save; one that is there but does not verify is reported, not replaced.
    const previous = existsSync(resolved) ? readCheckpointFile(ctx, resolved, key) : null;
    if (previous) {
      const verdict = await consistency(client, key, previous, latest);
      if (!verdict.ok) throw new IntegrityError(`not saving: ${verdict.reason ?? 'inconsistent'} (saved checkpoint in ${resolved})`);
    }
    saveCheckpoint(ctx, resolved, latest.note);
    ctx.info(`checkpoint of size ${latest.checkpoint.size} (root ${rootText(latest.checkpoint)}) verified and saved to ${resolved}${previous ? `; it extends the one saved before (size ${previous.checkpoint.size})` : ''}`);
    ctx.out(String(latest.checkpoint.size));
    ctx.outJson({ size: latest.checkpoint.size, root: rootText(latest.checkpoint), origin: latest.checkpoint.origin, file: resolved, extends: previous?.checkpoint.size ?? null });
  },
};

export const logVerify: Command = {
  path: ['log', 'verify'],
  summary: 'verify the whole custody log offline against the pinned key (auditor)',
  usage: 'log verify [--since CHECKPOINT_FILE] [--save FILE] [--vkey FILE | --trust-server-key]',
  details: [
    'Downloads every entry up to the latest checkpoint (1000 per request) and checks the entry chain, each subject\'s',
    'chain and the Merkle root against the signed checkpoint. With --since, also checks that the log still contains',
    'the history of a checkpoint saved earlier (evx log checkpoint --save): this detects a rollback or a split view.',
    'With --save, the new checkpoint is saved after a successful verification. Exit status 0 only if all checks pass.',
  ],
  options: {
    since: { type: 'string', value: 'FILE', help: 'a checkpoint saved earlier that the log must extend' },
    save: { type: 'string', value: 'FILE', help: 'save the verified checkpoint here afterwards' },
    ...TRUST_OPTION,
  },
  positionals: { min: 0, max: 0 },
  examples: ['evx log verify --since ~/audit/evx-checkpoint.txt --save ~/audit/evx-checkpoint.txt'],
  async run(ctx) {
    const key = await logKey(ctx);
    const client = ctx.client();
    const saved = ctx.flags.string('since') !== undefined ? readCheckpointFile(ctx, ctx.flags.string('since')!, key) : null;
    const latest = await latestCheckpoint(client, key);
    const size = latest.checkpoint.size;
    const verifier = new LogVerifier(key.verifier, saved ? [latest.note, saved.note] : [latest.note], { origin: key.verifier.name });
    const progress = new Progress(ctx.io.stderr, 'verify log entries', size, { quiet: ctx.quiet, unit: 'entries' });
    for (let start = 0; start < size; start += PAGE) {
      const end = Math.min(size, start + PAGE);
      const page = await client.json<{ entries?: unknown }>('GET', `/v1/log/entries?start=${start}&end=${end}`);
      const entries = Array.isArray(page?.entries) ? page.entries : [];
      for (const e of entries) verifier.push(e);
      // A short page is the verifier's to report (a gap); keep counting where we asked.
      progress.set(end);
    }
    progress.finish();
    const report = verifier.finish();
    const problems: string[] = [];
    if (!report.ok && report.firstBad) problems.push(`entry ${report.firstBad.seq}: ${report.firstBad.reason}`);
    if (report.size !== size) problems.push(`the server returned ${report.size} entries for a checkpoint of size ${size}`);
    let consistent: ConsistencyVerdict | null = null;
    if (saved) {
      consistent = await consistency(client, key, saved, latest);
      if (!consistent.ok) problems.push(`against the saved checkpoint of size ${saved.checkpoint.size}: ${consistent.reason ?? 'inconsistent'}`);
    }
    const ok = problems.length === 0;
    ctx.outJson({
      ok,
      size,
      checked: report.checked,
      root: rootText(latest.checkpoint),
      origin: latest.checkpoint.origin,
      firstBad: report.firstBad,
      since: saved ? { size: saved.checkpoint.size, consistent: consistent?.ok ?? false, reason: consistent?.reason ?? null } : null,
      key: key.text,
    });
    if (!ok) throw new IntegrityError(`the custody log does NOT verify:\n  ${problems.join('\n  ')}`);
    const file = ctx.flags.string('save');
    if (file !== undefined) saveCheckpoint(ctx, file, latest.note);
    ctx.out(`VERIFIED: all ${size} entries of the custody log match the checkpoint of size ${size} (root ${rootText(latest.checkpoint)}) signed by ${key.verifier.name}${saved ? `, which extends the checkpoint of size ${saved.checkpoint.size} saved before` : ''}`);
  },
};
