/**
 * `evx verify BUNDLE`: the auditor's command. Fetches the bundle's custody
 * entries with their inclusion proofs and the signed checkpoint they lead
 * to, and verifies all of it offline against the pinned log key: each
 * entry's leaf hash, its inclusion in the checkpoint's tree, the signature on
 * the checkpoint, and the bundle's own chain of entries (subjectPrev) from
 * its first entry on, so none can be dropped from the start or the middle.
 * Prints the custody story as a timeline with a verdict; exit 0 only if
 * everything verified.
 */
import { verifyCustody, type CustodyVerdict } from '../../ledger/verify.js';
import { checkBundleId } from '../api.js';
import type { Command } from '../context.js';
import { IntegrityError } from '../errors.js';
import { logKey, readCheckpointFile } from '../trust.js';
import { entryDetails, entryTypeInWords } from '../words.js';
import { TRUST_OPTION, consistency } from './log.js';

interface TimelineRow {
  seq: number | null;
  time: string;
  who: string;
  type: string;
  what: string;
  details: string;
  ok: boolean;
  problem: string | null;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function timeline(response: unknown, verdict: CustodyVerdict): TimelineRow[] {
  const items = isRecord(response) && Array.isArray(response['entries']) ? (response['entries'] as unknown[]) : [];
  return items.map((item, i) => {
    const entry = isRecord(item) && isRecord(item['entry']) ? item['entry'] : {};
    const actor = isRecord(entry['actor']) ? entry['actor'] : null;
    const type = typeof entry['type'] === 'string' ? entry['type'] : '?';
    const result = verdict.entries[i];
    return {
      seq: typeof entry['seq'] === 'number' ? entry['seq'] : null,
      time: typeof entry['time'] === 'string' ? entry['time'] : '?',
      who: actor ? `${typeof actor['jurisdiction'] === 'string' ? actor['jurisdiction'] : 'operator'}/${String(actor['sub'])}` : 'evx',
      type,
      what: entryTypeInWords(type),
      details: entryDetails(type, isRecord(entry['data']) ? entry['data'] : {}),
      ok: result?.ok ?? false,
      problem: result?.problem ?? null,
    };
  });
}

function shortTime(t: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(t);
  return m ? `${m[1]} ${m[2]}Z` : t;
}

export const verify: Command = {
  path: ['verify'],
  summary: "verify a bundle's custody chain offline against the pinned log key, and print it as a timeline (auditor)",
  usage: 'verify BUNDLE [--vkey FILE | --trust-server-key] [--since CHECKPOINT_FILE] [--json]',
  details: [
    "Checks every custody entry's hash and inclusion proof against the signed checkpoint, the checkpoint's signature",
    "against the pinned log key (never the server's word for it), and that the bundle's entries form one unbroken",
    'chain from its first entry. Entries left out at the very end can only be detected against the whole log',
    '(evx log verify); --since also checks the checkpoint extends one you saved earlier. Exit 0 only if verified.',
  ],
  options: { since: { type: 'string', value: 'FILE', help: 'a checkpoint saved earlier that this one must extend' }, ...TRUST_OPTION },
  positionals: { min: 1, max: 1 },
  examples: ['evx verify 0b7e6d1c-3f7a-4c55-9a49-5e3f7d1c2b3a --vkey ~/.config/evx/log.vkey'],
  async run(ctx) {
    const bundleId = checkBundleId(ctx.positionals[0]);
    const key = await logKey(ctx);
    const client = ctx.client();
    const saved = ctx.flags.string('since') !== undefined ? readCheckpointFile(ctx, ctx.flags.string('since')!, key) : null;
    const response = await client.json<unknown>('GET', `/v1/bundles/${bundleId}/custody`);
    const verdict = verifyCustody(response, key.verifier, { subject: `bundle:${bundleId}`, origin: key.verifier.name });
    const rows = timeline(response, verdict);
    const problems: string[] = [];
    if (verdict.firstProblem) {
      const p = verdict.firstProblem;
      problems.push(p.index === null ? p.reason : `entry #${p.index + 1}${p.seq !== null ? ` (log seq ${p.seq})` : ''}: ${p.reason}`);
    }
    let extendsSaved: boolean | null = null;
    if (saved && verdict.checkpoint && isRecord(response) && typeof response['checkpoint'] === 'string') {
      const c = await consistency(client, key, saved, { note: response['checkpoint'], checkpoint: verdict.checkpoint });
      extendsSaved = c.ok;
      if (!c.ok) problems.push(`against the saved checkpoint of size ${saved.checkpoint.size}: ${c.reason ?? 'inconsistent'}`);
    }
    const ok = problems.length === 0;
    const cp = verdict.checkpoint;

    if (ctx.json) {
      ctx.outJson({
        ok,
        bundleId,
        checkpoint: cp ? { origin: cp.origin, size: cp.size, root: cp.rootHash.toString('base64') } : null,
        key: key.text,
        entries: rows,
        problems,
        extendsSavedCheckpoint: extendsSaved,
      });
    } else {
      const out = (l: string): void => ctx.out(l);
      out(`custody of bundle ${bundleId}: ${rows.length} entr${rows.length === 1 ? 'y' : 'ies'}`);
      const whoWidth = Math.min(28, Math.max(4, ...rows.map((r) => r.who.length)));
      for (const r of rows) {
        out(`${r.ok ? ' ' : '✗'} ${shortTime(r.time)}  ${r.who.padEnd(whoWidth)}  ${r.what}${r.details ? ` — ${r.details}` : ''}`);
        if (!r.ok && r.problem) out(`    ✗ ${r.problem}`);
      }
      out('');
      if (ok) {
        out(
          `VERIFIED: all ${rows.length} entries are in the custody log's checkpoint of size ${cp!.size} (root ${cp!.rootHash.toString('base64')}), ` +
            `signed by the pinned key ${key.verifier.name} (from ${key.source}); the bundle's chain of entries is unbroken from its first entry` +
            (extendsSaved ? `, and the checkpoint extends the one of size ${saved!.checkpoint.size} saved before.` : '.'),
        );
      } else {
        out(`NOT VERIFIED: ${problems.join('; ')}`);
      }
    }
    if (!ok) throw new IntegrityError(`the custody of bundle ${bundleId} does NOT verify: ${problems.join('; ')}`);
  },
};
