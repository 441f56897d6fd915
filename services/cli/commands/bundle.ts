/**
 * `evx bundle list|show`: what bundles the caller's jurisdiction owns or has
 * a live release for, and one bundle's metadata (manifest checked offline).
 */
import { checkBundleId, getBundle, type BundleSummaryView } from '../api.js';
import type { Command } from '../context.js';
import { formatBytes } from '../progress.js';
import { checkedManifest } from './fetch.js';

export const bundleList: Command = {
  path: ['bundle', 'list'],
  summary: 'list the bundles your jurisdiction owns or has a live release for',
  usage: 'bundle list',
  options: {},
  positionals: { min: 0, max: 0 },
  examples: ['evx bundle list'],
  async run(ctx) {
    const client = ctx.client();
    const all: BundleSummaryView[] = [];
    let after: string | null = null;
    do {
      const page: { items: BundleSummaryView[]; next: string | null } = await client.json('GET', `/v1/bundles?limit=500${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      all.push(...page.items);
      after = page.next;
    } while (after !== null);
    for (const b of all) ctx.out(`${b.id}  ${b.ownerJurisdiction.padEnd(5)} ${b.status.padEnd(7)} ${b.crimeCategory} ${b.classification}  ${b.createdAt}`);
    if (all.length === 0) ctx.info('no bundles visible to your jurisdiction');
    ctx.outJson({ items: all });
  },
};

export const bundleShow: Command = {
  path: ['bundle', 'show'],
  summary: "show a bundle's manifest (signature checked), status and releases",
  usage: 'bundle show BUNDLE',
  options: {},
  positionals: { min: 1, max: 1 },
  examples: ['evx bundle show 0b7e6d1c-3f7a-4c55-9a49-5e3f7d1c2b3a'],
  async run(ctx) {
    const id = checkBundleId(ctx.positionals[0]);
    const view = await getBundle(ctx.client(), id);
    const m = checkedManifest(view);
    ctx.out(`bundle ${view.id} of ${view.ownerJurisdiction}: ${view.status}${view.sealedAt ? ` since ${view.sealedAt}` : ''}`);
    ctx.out(`  case ${m.caseReference}, ${m.crimeCategory}, ${m.classification}; created ${m.createdAt} by ${m.signer.jurisdiction}/${m.signer.sub} (signature verified)`);
    ctx.out(`  manifest sha256 ${view.manifestSha256}`);
    for (const [n, f] of m.files.entries()) {
      const state = view.files.find((x) => x.n === n);
      ctx.out(`  [${n}] ${f.name}  ${formatBytes(f.size)}  sha256 ${f.sha256}${state && state.received < f.cipherSize ? `  (uploaded ${state.received} of ${f.cipherSize} bytes)` : ''}`);
    }
    for (const r of view.releases ?? []) ctx.out(`  released to ${r.recipient} for "${r.purpose}" (${r.requestReference}) at ${r.grantedAt}${r.revokedAt ? `, revoked ${r.revokedAt}` : ''}`);
    ctx.outJson(view);
  },
};
