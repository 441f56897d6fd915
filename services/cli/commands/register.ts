/**
 * `evx register`: put identities on the server — a jurisdiction (admin), the
 * caller's signing key (any officer), a jurisdiction's box key version
 * (admin, or that jurisdiction's agreement officer).
 */
import { decodeBase64 } from '../../shared/encoding.js';
import { JURISDICTION_CODE_PATTERN } from '../../shared/vocabulary.js';
import type { JurisdictionView, OfficerKeyView } from '../api.js';
import type { Command } from '../context.js';
import { UsageError } from '../errors.js';

const KINDS = ['state', 'tribunal', 'organisation'] as const;

function jurisdictionCode(text: string | undefined): string {
  const code = (text ?? '').trim();
  if (!new RegExp(JURISDICTION_CODE_PATTERN).test(code)) throw new UsageError(`"${text ?? ''}" is not a jurisdiction code (e.g. NL, ICC)`);
  return code;
}

export const registerJurisdiction: Command = {
  path: ['register', 'jurisdiction'],
  summary: 'register a jurisdiction (admin)',
  usage: 'register jurisdiction CODE --name NAME [--kind state|tribunal|organisation]',
  options: {
    name: { type: 'string', value: 'NAME', help: 'its full name' },
    kind: { type: 'string', value: 'KIND', help: 'state (default), tribunal or organisation' },
  },
  positionals: { min: 1, max: 1 },
  examples: ['evx register jurisdiction ICC --name "International Criminal Court" --kind tribunal'],
  async run(ctx) {
    const code = jurisdictionCode(ctx.positionals[0]);
    const name = ctx.flags.requireString('name');
    const kind = ctx.flags.string('kind') ?? 'state';
    if (!(KINDS as readonly string[]).includes(kind)) throw new UsageError(`--kind must be one of ${KINDS.join(', ')}`);
    const j = await ctx.client().json<JurisdictionView>('POST', '/v1/jurisdictions', { code, name, kind });
    ctx.info(`registered ${j.code} (${j.kind}): ${j.name}`);
    ctx.out(j.code);
    ctx.outJson(j);
  },
};

export const registerOfficerKey: Command = {
  path: ['register', 'officer-key'],
  summary: 'register your signing key with the server (bound to your token\'s issuer, subject and jurisdiction)',
  usage: 'register officer-key [--signing-key FILE]',
  details: ['Manifests, agreement signatures and receipts are checked against the keys registered this way.'],
  options: {},
  positionals: { min: 0, max: 0 },
  examples: ['evx register officer-key --signing-key ~/.config/evx/signing-key.json'],
  async run(ctx) {
    const key = ctx.signingKey();
    const res = await ctx.client().call<OfficerKeyView>('POST', '/v1/officers/me/keys', { publicKey: key.publicKeyBase64 });
    const k = res.body;
    ctx.info(`${res.status === 201 ? 'registered' : 'already registered'}: signing key ${k.keyId} for ${k.jurisdiction}/${k.sub}`);
    ctx.out(k.keyId);
    ctx.outJson(k);
  },
};

export const registerBoxKey: Command = {
  path: ['register', 'box-key'],
  summary: "add a new box key version for a jurisdiction (admin, or the jurisdiction's agreement officer)",
  usage: 'register box-key CODE [--box-key FILE | --public-key BASE64]',
  details: [
    'New key wraps (uploads, releases) use the newest version; older versions stay for the wraps made with them.',
    'Only the public half is sent. With --public-key, no key file is needed (e.g. an admin registering the key a',
    'jurisdiction sent them).',
  ],
  options: {
    'public-key': { type: 'string', value: 'BASE64', help: 'the X25519 public key itself instead of a key file' },
  },
  positionals: { min: 1, max: 1 },
  examples: ['evx register box-key NL --box-key ./nl-box-key.json'],
  async run(ctx) {
    const code = jurisdictionCode(ctx.positionals[0]);
    const given = ctx.flags.string('public-key');
    let publicKey: string;
    if (given !== undefined) {
      if (decodeBase64(given.trim(), 32) === null) throw new UsageError('--public-key must be base64 of 32 bytes');
      publicKey = given.trim();
    } else {
      publicKey = ctx.boxKey().publicKeyBase64;
    }
    const res = await ctx.client().json<{ code: string; keyVersion: number; boxPublicKey: string }>('PUT', `/v1/jurisdictions/${code}/keys`, { boxPublicKey: publicKey });
    ctx.info(`registered box key version ${res.keyVersion} for ${res.code}`);
    ctx.out(String(res.keyVersion));
    ctx.outJson(res);
  },
};
