/**
 * `evx receipt BUNDLE`: the recipient registry acknowledges custody with an
 * Ed25519 signature over `evx/receipt/v1\n<id>\n<sha256 of JCS(manifest)>\n`
 * — after checking the manifest's signature and hash itself, so the receipt
 * is for the manifest it verified, not for whatever hash the server names.
 */
import { manifestHash } from '../../envelope/index.js';
import { ed25519Sign } from '../../shared/ed25519.js';
import { encodeBase64 } from '../../shared/encoding.js';
import { checkBundleId, getBundle } from '../api.js';
import type { Command } from '../context.js';
import { checkedManifest } from './fetch.js';

export const receipt: Command = {
  path: ['receipt'],
  summary: 'sign and record the receipt of a released bundle (registry of the recipient)',
  usage: 'receipt BUNDLE',
  details: ['Fetch and check the files first (evx fetch): the receipt says your jurisdiction took custody of exactly this manifest.'],
  options: {},
  positionals: { min: 1, max: 1 },
  examples: ['evx receipt 0b7e6d1c-3f7a-4c55-9a49-5e3f7d1c2b3a --signing-key icc-registry-signing.json'],
  async run(ctx) {
    const bundleId = checkBundleId(ctx.positionals[0]);
    const key = ctx.signingKey();
    const client = ctx.client();
    const manifest = checkedManifest(await getBundle(client, bundleId));
    const hash = manifestHash(manifest);
    // The server's own definition of the signed bytes; imported here only, because its module loads the
    // server's routes (seconds of start-up every other command should not pay).
    const { receiptMessage } = await import('../../agreements/release-routes.js');
    const signature = encodeBase64(ed25519Sign(key.seed, receiptMessage(bundleId, hash)));
    const r = await client.json<{ bundleId: string; jurisdiction: string; keyId: string; manifestSha256: string; recordedAt: string }>('POST', `/v1/bundles/${bundleId}/receipts`, { signature });
    ctx.info(`receipt recorded for ${r.jurisdiction} at ${r.recordedAt}: manifest ${hash}, signing key ${r.keyId}`);
    ctx.out(r.recordedAt);
    ctx.outJson({ ...r, signature });
  },
};
