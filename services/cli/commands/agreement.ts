/**
 * `evx agreement draft|sign|show|list|suspend|terminate|resume|amend`: the
 * bilateral agreements (SPEC §3) that decide who may receive what. Terms
 * are validated here with the server's own rules before anything is sent,
 * and signatures are made over exactly the bytes the server will check
 * (JCS of the terms), after the terms were shown to the officer.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DIRECTIONS, termsBytes, termsHash, validateTerms, type AgreementTerms } from '../../agreements/terms.js';
import { ed25519Sign } from '../../shared/ed25519.js';
import { encodeBase64 } from '../../shared/encoding.js';
import { CLASSIFICATIONS, CRIME_CATEGORIES, JURISDICTION_CODE_PATTERN } from '../../shared/vocabulary.js';
import { checkAgreementId, getAgreement, tokenClaims, type AgreementView } from '../api.js';
import type { OptionDefs } from '../args.js';
import type { Command, Context } from '../context.js';
import { IntegrityError, UsageError } from '../errors.js';

const DAY_MS = 24 * 3600 * 1000;

const TERMS_OPTIONS: OptionDefs = {
  'legal-basis': { type: 'string', value: 'TEXT', help: 'the treaty or arrangement, e.g. "Rome Statute, Part 9"' },
  direction: { type: 'string', value: 'DIR', help: `${DIRECTIONS.join(' | ')}: a_to_b is the first party to the second (default a_to_b)` },
  crimes: { type: 'string', value: 'LIST', help: `comma-separated crime categories (${CRIME_CATEGORIES.join(', ')})` },
  'max-classification': { type: 'string', value: 'LEVEL', help: `highest classification covered (${CLASSIFICATIONS.join(' < ')})` },
  purposes: { type: 'string', value: 'LIST', help: 'comma-separated purposes, e.g. trial,investigation' },
  'valid-from': { type: 'string', value: 'TIME', help: 'RFC 3339 start (default now)' },
  'valid-until': { type: 'string', value: 'TIME', help: 'RFC 3339 end (default one year from the start)' },
  'onward-transfer': { type: 'boolean', help: 'the recipient may transfer onwards (default no)' },
  'no-onward-transfer': { type: 'boolean', help: 'the recipient may not transfer onwards (to turn it off when amending)' },
  terms: { type: 'string', value: 'FILE', help: 'the whole terms as a JSON file instead of the flags above' },
};

function readTermsFile(ctx: Context, file: string): Record<string, unknown> {
  const resolved = path.resolve(ctx.io.cwd, file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(resolved, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read terms from ${resolved}: ${err instanceof SyntaxError ? 'not valid JSON' : ((err as NodeJS.ErrnoException).code ?? String(err))}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`${resolved} must hold a JSON object (the terms)`);
  return parsed as Record<string, unknown>;
}

/** Terms from the flags, over `base` (the current terms when amending). */
function termsFromFlags(ctx: Context, base: Partial<AgreementTerms>, parties: [string, string]): Record<string, unknown> {
  const f = ctx.flags;
  const validFrom = f.string('valid-from') ?? base.validFrom ?? new Date().toISOString();
  const fromMs = Date.parse(validFrom);
  const validUntil = f.string('valid-until') ?? base.validUntil ?? (Number.isNaN(fromMs) ? '' : new Date(fromMs + 365 * DAY_MS).toISOString());
  const crimes = f.list('crimes');
  const purposes = f.list('purposes');
  return {
    parties,
    legalBasis: f.string('legal-basis') ?? base.legalBasis,
    direction: f.string('direction') ?? base.direction ?? 'a_to_b',
    crimeCategories: crimes.length > 0 ? crimes : base.crimeCategories,
    maxClassification: f.string('max-classification') ?? base.maxClassification,
    purposes: purposes.length > 0 ? purposes : base.purposes,
    validFrom,
    validUntil,
    onwardTransfer: f.bool('no-onward-transfer') ? false : f.bool('onward-transfer') || (base.onwardTransfer ?? false),
  };
}

/** The server's own validation, run before sending, so mistakes are named per field. */
function checkTerms(terms: Record<string, unknown>): AgreementTerms {
  const parties = Array.isArray(terms['parties']) ? (terms['parties'] as unknown[]).filter((p): p is string => typeof p === 'string') : [];
  const result = validateTerms(terms, { knownJurisdictions: new Set(parties) });
  if (!result.ok) {
    const flagOf: Record<string, string> = {
      legalBasis: '--legal-basis',
      direction: '--direction',
      crimeCategories: '--crimes',
      maxClassification: '--max-classification',
      purposes: '--purposes',
      validFrom: '--valid-from',
      validUntil: '--valid-until',
      parties: '--with/--parties',
    };
    const lines = result.problems.map((p) => {
      const field = p.path.split('/')[1] ?? '';
      return `${flagOf[field] ?? p.path}: ${p.detail}`;
    });
    throw new UsageError(`the terms are not valid:\n  ${lines.join('\n  ')}`);
  }
  return result.terms;
}

export function describeTerms(t: AgreementTerms): string[] {
  const arrow = t.direction === 'both' ? '↔' : t.direction === 'a_to_b' ? '→' : '←';
  return [
    `  parties          ${t.parties[0]} ${arrow} ${t.parties[1]} (${t.direction})`,
    `  legal basis      ${t.legalBasis}`,
    `  crime categories ${t.crimeCategories.join(', ')}`,
    `  up to            ${t.maxClassification}`,
    `  purposes         ${t.purposes.join(', ')}`,
    `  valid            ${t.validFrom} → ${t.validUntil}`,
    `  onward transfer  ${t.onwardTransfer ? 'allowed' : 'not allowed'}`,
  ];
}

function describeAgreement(a: AgreementView, withHistory: boolean): string[] {
  const lines = [`agreement ${a.id}, version ${a.version}: ${a.status.toUpperCase()}`, ...describeTerms(a.terms), `  terms sha256     ${a.termsSha256}`];
  const signed = a.signatures.map((s) => `${s.jurisdiction} (${s.sub})`);
  const missing = a.terms.parties.filter((p) => !a.signatures.some((s) => s.jurisdiction === p));
  lines.push(`  signatures       ${signed.length > 0 ? signed.join(', ') : 'none'}${missing.length > 0 && a.status === 'draft' ? `; awaiting ${missing.join(', ')}` : ''}`);
  if (withHistory) {
    lines.push('  history:');
    for (const h of a.history) {
      const reason = typeof h.data['reason'] === 'string' ? `: ${h.data['reason']}` : '';
      lines.push(`    ${h.at}  ${h.actor.jurisdiction}/${h.actor.sub}  ${h.type.replace('agreement.', '')} → v${h.version} ${h.status}${reason}`);
    }
  }
  return lines;
}

function show(ctx: Context, a: AgreementView, withHistory = true): void {
  for (const l of describeAgreement(a, withHistory)) ctx.info(l);
  ctx.out(a.id);
  ctx.outJson(a);
}

/** Signs the agreement's current terms after showing them; refuses if the server's copy does not hash as it says. */
async function sign(ctx: Context, id: string, expectVersion: number | undefined, showTerms = true): Promise<AgreementView> {
  const key = ctx.signingKey();
  const client = ctx.client();
  const current = await getAgreement(client, id);
  if (expectVersion !== undefined && current.version !== expectVersion) {
    throw new UsageError(`agreement ${id} is at version ${current.version}, not ${expectVersion}: review it again (evx agreement show ${id})`);
  }
  const terms = checkTerms(current.terms as unknown as Record<string, unknown>);
  const hash = termsHash(terms);
  if (hash !== current.termsSha256) throw new IntegrityError(`the server's terms hash ${current.termsSha256} is not the hash of the terms it sent (${hash}); not signing`);
  const expected = ctx.flags.string('expect-sha256');
  if (expected !== undefined && expected.trim().toLowerCase() !== hash) {
    throw new IntegrityError(`the terms now hash to ${hash}, not the ${expected} you reviewed; not signing`);
  }
  ctx.info(`signing version ${current.version} of agreement ${id}${showTerms ? ':' : ''}`);
  if (showTerms) for (const l of describeTerms(terms)) ctx.info(l);
  const signature = encodeBase64(ed25519Sign(key.seed, termsBytes(terms)));
  return client.json<AgreementView>('POST', `/v1/agreements/${id}/signatures`, { version: current.version, signature });
}

function ownJurisdiction(ctx: Context): string | null {
  const token = ctx.settings.token();
  const claimed = token ? tokenClaims(token.value)['jurisdiction'] : undefined;
  return typeof claimed === 'string' ? claimed : null;
}

export const agreementDraft: Command = {
  path: ['agreement', 'draft'],
  summary: 'draft an agreement with another jurisdiction (agreement officer)',
  usage: 'agreement draft --with CODE --legal-basis TEXT --crimes LIST --max-classification LEVEL --purposes LIST [options]',
  details: [
    'The parties are your jurisdiction (from your token) and --with, in that order, so a_to_b means from you to them;',
    'or name both with --parties A,B. The draft needs a signature of each party (evx agreement sign) to become active.',
  ],
  options: {
    with: { type: 'string', value: 'CODE', help: 'the other party' },
    parties: { type: 'string', value: 'A,B', help: 'both parties in order, instead of --with' },
    ...TERMS_OPTIONS,
    sign: { type: 'boolean', help: 'sign it for your jurisdiction right away' },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    'evx agreement draft --with ICC --legal-basis "Rome Statute, Part 9" --crimes war_crimes,crimes_against_humanity --max-classification confidential --purposes trial,investigation --sign',
  ],
  async run(ctx) {
    if (ctx.flags.bool('onward-transfer') && ctx.flags.bool('no-onward-transfer')) throw new UsageError('--onward-transfer and --no-onward-transfer contradict each other');
    let terms: Record<string, unknown>;
    const file = ctx.flags.string('terms');
    if (file !== undefined) {
      terms = readTermsFile(ctx, file);
    } else {
      let parties = ctx.flags.list('parties');
      if (parties.length === 0) {
        const other = ctx.flags.string('with');
        if (other === undefined) throw new UsageError('name the other party with --with CODE (or both with --parties A,B)');
        const own = ownJurisdiction(ctx);
        if (own === null) throw new UsageError('cannot tell your jurisdiction from the token: name both parties with --parties A,B');
        parties = [own, other.trim()];
      }
      if (parties.length !== 2 || parties.some((p) => !new RegExp(JURISDICTION_CODE_PATTERN).test(p))) throw new UsageError('--parties must be two jurisdiction codes, e.g. NL,ICC');
      terms = termsFromFlags(ctx, {}, [parties[0]!, parties[1]!]);
    }
    const checked = checkTerms(terms);
    let a = await ctx.client().json<AgreementView>('POST', '/v1/agreements', { terms: checked });
    ctx.info(`drafted agreement ${a.id}`);
    if (ctx.flags.bool('sign')) a = await sign(ctx, a.id, a.version, false);
    show(ctx, a, false);
  },
};

export const agreementSign: Command = {
  path: ['agreement', 'sign'],
  summary: "sign an agreement's current terms for your jurisdiction (agreement officer)",
  usage: 'agreement sign ID [--version N] [--expect-sha256 HEX]',
  details: [
    'Signs Ed25519 over the canonical JSON (RFC 8785) of the terms as the server holds them, after printing them.',
    'Pin what you reviewed with --version and --expect-sha256 (the "terms sha256" of evx agreement show): the',
    'CLI refuses to sign anything else. The agreement becomes active when both parties signed the same version.',
  ],
  options: {
    version: { type: 'string', value: 'N', help: 'refuse unless this is the current version' },
    'expect-sha256': { type: 'string', value: 'HEX', help: 'refuse unless the terms hash to this' },
  },
  positionals: { min: 1, max: 1 },
  examples: ['evx agreement sign 6c0f3f0e-8a4e-4b7e-9d44-1f0a4f1c2b3d --version 1'],
  async run(ctx) {
    const id = checkAgreementId(ctx.positionals[0]);
    const a = await sign(ctx, id, ctx.flags.int('version', { min: 1, max: Number.MAX_SAFE_INTEGER }));
    ctx.info(a.status === 'active' ? 'signed: the agreement is now ACTIVE' : 'signed: waiting for the other party');
    show(ctx, a, false);
  },
};

export const agreementShow: Command = {
  path: ['agreement', 'show'],
  summary: 'show an agreement: terms, status, signatures and history',
  usage: 'agreement show ID',
  options: {},
  positionals: { min: 1, max: 1 },
  examples: ['evx agreement show 6c0f3f0e-8a4e-4b7e-9d44-1f0a4f1c2b3d'],
  async run(ctx) {
    const a = await getAgreement(ctx.client(), checkAgreementId(ctx.positionals[0]));
    show(ctx, a, true);
  },
};

export const agreementList: Command = {
  path: ['agreement', 'list'],
  summary: "list your jurisdiction's agreements",
  usage: 'agreement list',
  options: {},
  positionals: { min: 0, max: 0 },
  examples: ['evx agreement list'],
  async run(ctx) {
    const client = ctx.client();
    const all: AgreementView[] = [];
    let after: string | null = null;
    do {
      const page: { items: AgreementView[]; next: string | null } = await client.json('GET', `/v1/agreements?limit=200${after ? `&after=${after}` : ''}`);
      all.push(...page.items);
      after = page.next;
    } while (after !== null);
    for (const a of all) ctx.out(`${a.id}  v${a.version}  ${a.status.padEnd(10)}  ${a.terms.parties.join(a.terms.direction === 'both' ? '↔' : a.terms.direction === 'a_to_b' ? '→' : '←')}  ${a.terms.purposes.join(',')}`);
    if (all.length === 0) ctx.info('no agreements');
    ctx.outJson({ items: all });
  },
};

function stateChange(verb: 'suspend' | 'terminate'): Command {
  return {
    path: ['agreement', verb],
    summary: verb === 'suspend' ? 'suspend an agreement at once (either party; resume needs both signatures again)' : 'terminate an agreement at once and for good (either party)',
    usage: `agreement ${verb} ID --reason TEXT`,
    details: ['Takes effect immediately: releases under it stop working at the next request.'],
    options: { reason: { type: 'string', value: 'TEXT', help: 'why (recorded in the history and the custody log)' } },
    positionals: { min: 1, max: 1 },
    examples: [`evx agreement ${verb} 6c0f3f0e-8a4e-4b7e-9d44-1f0a4f1c2b3d --reason "review of the request"`],
    async run(ctx) {
      const id = checkAgreementId(ctx.positionals[0]);
      const reason = ctx.flags.requireString('reason');
      const a = await ctx.client().json<AgreementView>('POST', `/v1/agreements/${id}/${verb}`, { reason });
      ctx.info(`agreement ${id} is now ${a.status.toUpperCase()}`);
      show(ctx, a, false);
    },
  };
}

export const agreementSuspend = stateChange('suspend');
export const agreementTerminate = stateChange('terminate');

export const agreementResume: Command = {
  path: ['agreement', 'resume'],
  summary: 'resume a suspended agreement: a new draft version both parties must sign again',
  usage: 'agreement resume ID',
  options: {},
  positionals: { min: 1, max: 1 },
  examples: ['evx agreement resume 6c0f3f0e-8a4e-4b7e-9d44-1f0a4f1c2b3d && evx agreement sign 6c0f3f0e-8a4e-4b7e-9d44-1f0a4f1c2b3d'],
  async run(ctx) {
    const id = checkAgreementId(ctx.positionals[0]);
    const a = await ctx.client().json<AgreementView>('POST', `/v1/agreements/${id}/resume`, {});
    ctx.info(`agreement ${id} has a new draft version ${a.version}: both parties must sign it (evx agreement sign ${id})`);
    show(ctx, a, false);
  },
};

export const agreementAmend: Command = {
  path: ['agreement', 'amend'],
  summary: 'amend the terms: a new draft version both parties must sign (releases stop until then)',
  usage: 'agreement amend ID [terms options | --terms FILE]',
  details: ['Flags not given keep their current value; the parties cannot change.'],
  options: { ...TERMS_OPTIONS },
  positionals: { min: 1, max: 1 },
  examples: ['evx agreement amend 6c0f3f0e-8a4e-4b7e-9d44-1f0a4f1c2b3d --purposes trial,investigation,appeal'],
  async run(ctx) {
    const id = checkAgreementId(ctx.positionals[0]);
    if (ctx.flags.bool('onward-transfer') && ctx.flags.bool('no-onward-transfer')) throw new UsageError('--onward-transfer and --no-onward-transfer contradict each other');
    const client = ctx.client();
    const file = ctx.flags.string('terms');
    let terms: Record<string, unknown>;
    if (file !== undefined) terms = readTermsFile(ctx, file);
    else {
      const current = await getAgreement(client, id);
      terms = termsFromFlags(ctx, current.terms, current.terms.parties);
    }
    const a = await client.json<AgreementView>('POST', `/v1/agreements/${id}/versions`, { terms: checkTerms(terms) });
    ctx.info(`agreement ${id} has a new draft version ${a.version}: both parties must sign it`);
    show(ctx, a, false);
  },
};
