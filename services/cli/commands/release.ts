/**
 * `evx release BUNDLE --to CODE --purpose P --request-ref R`: the owner's
 * investigator opens K with the jurisdiction's box key, wraps it for the
 * recipient's current box key and asks the server, which judges the
 * release by the agreements (SPEC §3). A refusal is explained in words.
 * `--revoke` withdraws a live release.
 */
import { wrapBundleKey } from '../../envelope/index.js';
import { JURISDICTION_CODE_PATTERN } from '../../shared/vocabulary.js';
import { checkBundleId, currentBoxKey, getBundle, getJurisdiction } from '../api.js';
import type { Command } from '../context.js';
import { ApiError, CliError, UsageError } from '../errors.js';
import { releaseRefusalInWords } from '../words.js';
import { checkedManifest, unwrapKey } from './fetch.js';
import { checkWrapKey } from './upload.js';

export const release: Command = {
  path: ['release'],
  summary: 'release a sealed bundle to another jurisdiction under an agreement, or revoke a release (investigator of the owner)',
  usage: 'release BUNDLE --to CODE --purpose PURPOSE --request-ref REF\n       evx release BUNDLE --to CODE --revoke',
  details: [
    "Needs your jurisdiction's box key (to open the bundle key) and wraps the bundle key for the recipient's current",
    'box key as published by the server (checked against "boxKeyPins" in your profile when present). The server allows',
    'the release only under an active agreement that covers the bundle, the direction and the purpose; otherwise the',
    'reason is printed and the exit status is 3.',
  ],
  options: {
    to: { type: 'string', value: 'CODE', help: 'the recipient jurisdiction, e.g. ICC' },
    purpose: { type: 'string', value: 'PURPOSE', help: 'the purpose, as listed in the agreement, e.g. trial' },
    'request-ref': { type: 'string', value: 'REF', help: "the recipient's request reference (e.g. the MLA request number)" },
    revoke: { type: 'boolean', help: 'revoke the live release to --to instead' },
  },
  positionals: { min: 1, max: 1 },
  examples: ['evx release 0b7e6d1c-3f7a-4c55-9a49-5e3f7d1c2b3a --to ICC --purpose trial --request-ref ICC-OTP-2026-117'],
  async run(ctx) {
    const bundleId = checkBundleId(ctx.positionals[0]);
    const to = ctx.flags.requireString('to', 'the recipient jurisdiction').trim();
    if (!new RegExp(JURISDICTION_CODE_PATTERN).test(to)) throw new UsageError(`--to must be a jurisdiction code like ICC (got "${to}")`);
    const client = ctx.client();
    if (ctx.flags.bool('revoke')) {
      const r = await client.json<{ recipient: string; revokedAt: string }>('DELETE', `/v1/bundles/${bundleId}/releases/${to}`);
      ctx.info(`revoked the release of ${bundleId} to ${r.recipient} at ${r.revokedAt}`);
      ctx.out(r.revokedAt);
      ctx.outJson(r);
      return;
    }
    const purpose = ctx.flags.requireString('purpose', 'e.g. trial').trim();
    const requestReference = ctx.flags.requireString('request-ref', "the recipient's request reference").trim();
    const view = await getBundle(client, bundleId);
    const manifest = checkedManifest(view);
    const key = unwrapKey(ctx, view, `only investigators of the owner (${view.ownerJurisdiction}) can release it`);
    let granted: { recipient: string; agreementId: string; agreementVersion: number; grantedAt: string };
    try {
      const recipientKey = currentBoxKey(await getJurisdiction(client, to));
      checkWrapKey(ctx, to, recipientKey, null);
      const keyWrap = wrapBundleKey(key, { jurisdiction: to, keyVersion: recipientKey.keyVersion, boxPublicKey: recipientKey.boxPublicKey });
      granted = await client.json('POST', `/v1/bundles/${bundleId}/releases`, { recipient: to, purpose, requestReference, keyWrap });
    } catch (err) {
      if (err instanceof ApiError) {
        const code = typeof err.problem.reason === 'string' ? err.problem.reason : err.code;
        const words = releaseRefusalInWords(code, { owner: view.ownerJurisdiction, recipient: to, purpose, crimeCategory: manifest.crimeCategory, classification: manifest.classification });
        if (words !== null) throw new CliError(err.exitCode, `release to ${to} refused: ${words} (${code})`, err.hints.filter((h) => !h.startsWith('it does not exist')));
      }
      throw err;
    } finally {
      key.fill(0);
    }
    ctx.info(`released bundle ${bundleId} to ${granted.recipient} for "${purpose}" under agreement ${granted.agreementId} (version ${granted.agreementVersion}) at ${granted.grantedAt}`);
    ctx.out(granted.agreementId);
    ctx.outJson(granted);
  },
};
