/**
 * `npm run token -- --jurisdiction NL --roles investigator [--sub alice] [--ttl 3600]`
 * Mint a token from the local development issuer (only when no issuers are configured).
 * `--operator --roles admin` mints an operator token.
 */
import { parseArgs } from 'node:util';
import { loadOrCreateDevIssuer, mintEdDSAToken } from '../services/auth/dev-issuer.js';
import { ConfigError, loadConfig, type Config } from '../services/config.js';
import { JURISDICTION_CODE_PATTERN, ROLES } from '../services/shared/vocabulary.js';

function fail(msg: string): never {
  process.stderr.write(`evx token: ${msg}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    jurisdiction: { type: 'string' },
    roles: { type: 'string', default: '' },
    sub: { type: 'string' },
    ttl: { type: 'string', default: '43200' },
    operator: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write('usage: npm run token -- --jurisdiction NL --roles investigator[,registry] [--sub NAME] [--ttl SECONDS]\n       npm run token -- --operator --roles admin\n');
  process.exit(0);
}
let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  throw err;
}
if (config.issuers.length > 0) fail('token issuers are configured (EVX_ISSUERS); the development issuer is not trusted, get a token from your identity provider');
if (config.production) fail('the development issuer is never used in production');
if (values.operator === (values.jurisdiction !== undefined)) fail('give exactly one of --jurisdiction CODE or --operator');
if (values.jurisdiction !== undefined && !new RegExp(JURISDICTION_CODE_PATTERN).test(values.jurisdiction)) fail(`--jurisdiction must match ${JURISDICTION_CODE_PATTERN}`);
const roles = values.roles.split(',').map((r) => r.trim()).filter(Boolean);
for (const r of roles) if (!(ROLES as readonly string[]).includes(r)) fail(`unknown role "${r}" (roles: ${ROLES.join(', ')})`);
// The service refuses admin from anyone but the operator: do not mint a token it would refuse.
if (roles.includes('admin') && !values.operator) fail('the admin role is only for operator tokens: use --operator --roles admin');
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) fail('--ttl must be a positive number of seconds');
const dev = loadOrCreateDevIssuer(config.dataDir);
const sub = values.sub ?? `${values.jurisdiction ?? 'operator'}-${roles[0] ?? 'user'}`.toLowerCase();
const token = mintEdDSAToken(dev.issuer, dev.privateKeyPem, {
  sub,
  ...(values.jurisdiction !== undefined ? { jurisdiction: values.jurisdiction } : {}),
  roles,
  audience: config.audience,
  ttl,
});
process.stdout.write(`${token}\n`);
