/**
 * `evx token`: a development token from the local development issuer
 * (SPEC §1), for a server running without configured issuers on the same
 * data directory. Real deployments get tokens from their identity provider.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { devIssuerFile, loadOrCreateDevIssuer, mintEdDSAToken } from '../../auth/dev-issuer.js';
import { ConfigError, loadConfig, type Config } from '../../config.js';
import { JURISDICTION_CODE_PATTERN, ROLES } from '../../shared/vocabulary.js';
import type { Command } from '../context.js';
import { UsageError } from '../errors.js';

export const token: Command = {
  path: ['token'],
  summary: 'mint a development token from the local development issuer',
  usage: 'token (--jurisdiction CODE | --operator) --roles ROLE[,ROLE] [--sub NAME] [--ttl SECONDS] [--data-dir DIR]',
  details: [
    'Only for a server started without EVX_ISSUERS outside production: it trusts the development issuer whose key is',
    'kept in its data directory (EVX_DATA_DIR, default ./data). Run this with the same data directory. The token is',
    'printed on stdout, e.g. for export EVX_TOKEN=$(evx token ...).',
    `Roles: ${ROLES.join(', ')} (admin only with --operator).`,
  ],
  options: {
    jurisdiction: { type: 'string', value: 'CODE', help: 'the jurisdiction the token acts for, e.g. NL' },
    operator: { type: 'boolean', help: 'a platform operator token (for admin, or an all-seeing auditor)' },
    roles: { type: 'string', value: 'LIST', help: 'comma-separated roles' },
    sub: { type: 'string', value: 'NAME', help: 'the subject (officer name); default <jurisdiction>-<first role>' },
    ttl: { type: 'string', value: 'SECONDS', help: 'lifetime in seconds (default 43200, 12 h)' },
    'data-dir': { type: 'string', value: 'DIR', help: "the server's data directory (default EVX_DATA_DIR or ./data)" },
  },
  positionals: { min: 0, max: 0 },
  examples: ['export EVX_TOKEN=$(evx token --jurisdiction NL --roles investigator --sub nl-investigator)', 'evx token --operator --roles admin'],
  async run(ctx) {
    const env = { ...ctx.io.env };
    const dataDirFlag = ctx.flags.string('data-dir');
    if (dataDirFlag !== undefined) env['EVX_DATA_DIR'] = path.resolve(ctx.io.cwd, dataDirFlag);
    let config: Config;
    try {
      config = loadConfig(env, ctx.io.cwd);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    if (config.issuers.length > 0) throw new UsageError('token issuers are configured (EVX_ISSUERS): the server does not trust the development issuer; get a token from your identity provider');
    if (config.production) throw new UsageError('the development issuer is never used in production (EVX_ENV=production)');
    const jurisdiction = ctx.flags.string('jurisdiction');
    const operator = ctx.flags.bool('operator');
    if (operator === (jurisdiction !== undefined)) throw new UsageError('give exactly one of --jurisdiction CODE or --operator');
    if (jurisdiction !== undefined && !new RegExp(JURISDICTION_CODE_PATTERN).test(jurisdiction)) throw new UsageError(`--jurisdiction must be a code like NL or ICC (${JURISDICTION_CODE_PATTERN})`);
    const roles = ctx.flags.list('roles');
    if (roles.length === 0) throw new UsageError('--roles is required', [`roles: ${ROLES.join(', ')}`]);
    for (const r of roles) if (!(ROLES as readonly string[]).includes(r)) throw new UsageError(`unknown role "${r}" (roles: ${ROLES.join(', ')})`);
    // The server refuses admin from anyone but the operator: do not mint a token it would refuse.
    if (roles.includes('admin') && !operator) throw new UsageError('the admin role is only for operator tokens: use --operator --roles admin');
    const ttl = ctx.flags.int('ttl', { min: 1, max: 30 * 24 * 3600 }) ?? 12 * 3600;
    const existed = existsSync(devIssuerFile(config.dataDir));
    const dev = loadOrCreateDevIssuer(config.dataDir);
    if (!existed) ctx.warn(`note: created a new development issuer in ${config.dataDir}; a server only accepts its tokens if it uses this data directory`);
    const sub = ctx.flags.string('sub') ?? `${jurisdiction ?? 'operator'}-${roles[0]}`.toLowerCase();
    const minted = mintEdDSAToken(dev.issuer, dev.privateKeyPem, { sub, ...(jurisdiction !== undefined ? { jurisdiction } : {}), roles, audience: config.audience, ttl });
    ctx.out(minted);
    ctx.outJson({ token: minted, sub, jurisdiction: jurisdiction ?? null, roles, expiresIn: ttl });
  },
};
