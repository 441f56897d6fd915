/**
 * Configuration (SPEC §5): `loadConfig(env, cwd)` is pure, so every bad value
 * is checked here directly. Each refusal must name the variable, and all
 * problems of one environment are reported together.
 */
import { generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ConfigError, loadConfig, parseDuration, type Config } from '../../services/config.js';
import { buildTestApp } from '../helpers/app.js';
import { makeIssuer, mint } from '../helpers/tokens.js';

const cwd = mkdtempSync(path.join(os.tmpdir(), 'evx-config-'));
t.teardown(() => rmSync(cwd, { recursive: true, force: true }));

const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pemOf = (pair: { publicKey: KeyObject }): string => pair.publicKey.export({ format: 'pem', type: 'spki' }) as string;
const ED_PEM = pemOf(ed);
const EC_PEM = pemOf(ec);
const RSA_PEM = pemOf(rsa);

interface IssuerEntry {
  issuer?: unknown;
  jurisdiction?: unknown;
  operator?: unknown;
  publicKey?: unknown;
  algorithms?: unknown;
  [k: string]: unknown;
}
const nl = (over: IssuerEntry = {}): IssuerEntry => ({ issuer: 'https://idp.nl.example', jurisdiction: 'NL', publicKey: ED_PEM, algorithms: ['EdDSA'], ...over });
const op = (over: IssuerEntry = {}): IssuerEntry => ({ issuer: 'https://operator.example', operator: true, publicKey: EC_PEM, algorithms: ['ES256'], ...over });
const issuers = (...list: IssuerEntry[]): string => JSON.stringify(list);

/** The problems loadConfig reports for `env` (fails the test if it accepts it). */
function problemsOf(t: Test, env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env, cwd);
  } catch (err) {
    if (err instanceof ConfigError) {
      t.ok(err.message.startsWith('invalid configuration'), 'message says what failed');
      for (const p of err.problems) t.ok(err.message.includes(p), 'every problem is in the message');
      return err.problems;
    }
    throw err;
  }
  t.fail(`configuration was accepted: ${JSON.stringify(env)}`);
  return [];
}

/** Exactly one problem, naming `variable` and matching `pattern`. */
function refused(t: Test, env: Record<string, string | undefined>, variable: string, pattern?: RegExp): void {
  const problems = problemsOf(t, env);
  t.equal(problems.length, 1, `one problem for ${variable}: ${JSON.stringify(problems)}`);
  t.match(problems[0] ?? '', variable, `the problem names ${variable}`);
  if (pattern) t.match(problems[0] ?? '', pattern);
}

t.test('defaults', async (t) => {
  const c: Config = loadConfig({}, cwd);
  t.equal(c.databaseUrl, null, 'no DATABASE_URL: embedded database');
  t.equal(c.dataDir, path.join(cwd, 'data'), 'data directory ./data relative to cwd');
  t.equal(c.port, 8080);
  t.equal(c.host, '127.0.0.1');
  t.same(c.issuers, [], 'no issuers: the development issuer will be used');
  t.equal(c.audience, 'evx');
  t.equal(c.production, false);
  t.equal(c.env, 'development');
  t.equal(c.logOrigin, 'evx.local/custody-log');
  t.equal(c.logKey, null, 'log key generated into the data directory');
  t.equal(c.checkpointIntervalMs, 1000, 'checkpoint every 1 s by default');
  t.equal(c.logLevel, 'info');
  t.equal(c.blobDir, path.join(cwd, 'data', 'blobs'));
  t.equal(c.clockToleranceSeconds, 30);
  t.ok(c.clockToleranceSeconds <= 30, 'SPEC §1: at most 30 s of skew');
  // Empty and blank values count as unset.
  const blank = loadConfig({ PORT: '', DATABASE_URL: '  ', EVX_ISSUERS: '', LOG_LEVEL: ' ' }, cwd);
  t.equal(blank.port, 8080);
  t.equal(blank.databaseUrl, null);
  t.same(blank.issuers, []);
  t.equal(blank.logLevel, 'info');
});

t.test('good values are taken', async (t) => {
  const c = loadConfig(
    {
      DATABASE_URL: 'postgres://evx@db.example:5432/evx',
      EVX_DATA_DIR: 'var/evx',
      PORT: '9090',
      HOST: '0.0.0.0',
      EVX_ISSUERS: issuers(nl(), op()),
      EVX_AUDIENCE: 'evx-prod',
      EVX_LOG_ORIGIN: 'evx.example.org/log',
      EVX_CHECKPOINT_INTERVAL: '250ms',
      LOG_LEVEL: 'debug',
      EVX_BLOB_DIR: '/srv/blobs',
    },
    cwd,
  );
  t.equal(c.databaseUrl, 'postgres://evx@db.example:5432/evx');
  t.equal(c.dataDir, path.join(cwd, 'var/evx'));
  t.equal(c.port, 9090);
  t.equal(c.host, '0.0.0.0');
  t.equal(c.audience, 'evx-prod');
  t.equal(c.logOrigin, 'evx.example.org/log');
  t.equal(c.checkpointIntervalMs, 250);
  t.equal(c.logLevel, 'debug');
  t.equal(c.blobDir, '/srv/blobs');
  t.equal(c.issuers.length, 2);
  const [a, b] = c.issuers;
  t.match(a, { issuer: 'https://idp.nl.example', jurisdiction: 'NL', operator: false, algorithms: ['EdDSA'] });
  t.match(b, { issuer: 'https://operator.example', jurisdiction: null, operator: true, algorithms: ['ES256'] });
  t.equal(loadConfig({ EVX_CHECKPOINT_INTERVAL: '2s' }, cwd).checkpointIntervalMs, 2000);
  t.equal(loadConfig({ EVX_CHECKPOINT_INTERVAL: '1m' }, cwd).checkpointIntervalMs, 60_000);
  t.equal(loadConfig({ EVX_CHECKPOINT_INTERVAL: '1500' }, cwd).checkpointIntervalMs, 1500, 'a bare number is milliseconds');
  t.equal(loadConfig({ DATABASE_URL: 'postgresql://u:p@h/d' }, cwd).databaseUrl, 'postgresql://u:p@h/d');
  t.equal(parseDuration('x1s'), null);
});

t.test('PORT', async (t) => {
  for (const bad of ['http', '-1', '65536', '80.5', '0x50', '1e3', '99999999999999999999']) refused(t, { PORT: bad }, 'PORT', /port number/);
  t.equal(loadConfig({ PORT: '0' }, cwd).port, 0, '0 (any free port) is allowed');
  t.equal(loadConfig({ PORT: '65535' }, cwd).port, 65535);
});

t.test('DATABASE_URL', async (t) => {
  refused(t, { DATABASE_URL: 'not a url' }, 'DATABASE_URL', /not a URL/);
  refused(t, { DATABASE_URL: 'mysql://root@localhost/evx' }, 'DATABASE_URL', /postgres/);
  refused(t, { DATABASE_URL: 'localhost:5432' }, 'DATABASE_URL');
});

t.test('EVX_ISSUERS: structure', async (t) => {
  refused(t, { EVX_ISSUERS: '[{"issuer": ' }, 'EVX_ISSUERS', /not valid JSON/);
  refused(t, { EVX_ISSUERS: '{"issuer": "x"}' }, 'EVX_ISSUERS', /array/);
  refused(t, { EVX_ISSUERS: '"x"' }, 'EVX_ISSUERS', /array/);
  refused(t, { EVX_ISSUERS: '[]' }, 'EVX_ISSUERS', /no issuers/);
  refused(t, { EVX_ISSUERS: '[42]' }, 'EVX_ISSUERS[0]', /object/);
  refused(t, { EVX_ISSUERS: issuers(nl({ audience: 'evx' })) }, 'EVX_ISSUERS[0]', /unknown field "audience"/);
  refused(t, { EVX_ISSUERS: issuers(nl({ issuer: '' })) }, 'EVX_ISSUERS[0].issuer');
  refused(t, { EVX_ISSUERS: issuers(nl({ issuer: 42 })) }, 'EVX_ISSUERS[0].issuer');
});

t.test('EVX_ISSUERS: jurisdiction binding', async (t) => {
  refused(t, { EVX_ISSUERS: issuers(nl({ jurisdiction: undefined })) }, 'EVX_ISSUERS[0].jurisdiction', /required/);
  refused(t, { EVX_ISSUERS: issuers(nl({ jurisdiction: 'nl' })) }, 'EVX_ISSUERS[0].jurisdiction');
  refused(t, { EVX_ISSUERS: issuers(nl({ jurisdiction: ['NL', 'DE'] })) }, 'EVX_ISSUERS[0].jurisdiction');
  refused(t, { EVX_ISSUERS: issuers(nl({ operator: false, jurisdiction: undefined })) }, 'EVX_ISSUERS[0].jurisdiction');
  refused(t, { EVX_ISSUERS: issuers(op({ jurisdiction: 'NL' })) }, 'EVX_ISSUERS[0]', /operator issuer must not be bound to a jurisdiction/);
  t.match(problemsOf(t, { EVX_ISSUERS: issuers(op({ operator: 'yes' })) }), [/EVX_ISSUERS\[0\]\.operator: must be true or false/]);
  refused(t, { EVX_ISSUERS: issuers(nl({ operator: 'yes' })) }, 'EVX_ISSUERS[0].operator');
  // The second entry is named by its index.
  refused(t, { EVX_ISSUERS: issuers(nl(), op({ jurisdiction: 'DE' })) }, 'EVX_ISSUERS[1]');
});

t.test('EVX_ISSUERS: algorithms', async (t) => {
  for (const alg of ['HS256', 'HS512', 'none', 'None', 'hs256']) {
    refused(t, { EVX_ISSUERS: issuers(nl({ algorithms: [alg] })) }, 'EVX_ISSUERS[0].algorithms', new RegExp(`"${alg}" is not accepted`));
  }
  // A bad algorithm next to a good one is still refused.
  refused(t, { EVX_ISSUERS: issuers(nl({ algorithms: ['EdDSA', 'HS256'] })) }, 'EVX_ISSUERS[0].algorithms', /HS256/);
  refused(t, { EVX_ISSUERS: issuers(nl({ algorithms: [] })) }, 'EVX_ISSUERS[0].algorithms', /non-empty/);
  refused(t, { EVX_ISSUERS: issuers(nl({ algorithms: 'EdDSA' })) }, 'EVX_ISSUERS[0].algorithms');
  refused(t, { EVX_ISSUERS: issuers(nl({ algorithms: undefined })) }, 'EVX_ISSUERS[0].algorithms');
  // Algorithms must fit the key.
  refused(t, { EVX_ISSUERS: issuers(nl({ algorithms: ['ES256'] })) }, 'EVX_ISSUERS[0].algorithms', /"ES256" does not fit a ed25519 key/);
  refused(t, { EVX_ISSUERS: issuers(nl({ publicKey: RSA_PEM, algorithms: ['EdDSA'] })) }, 'EVX_ISSUERS[0].algorithms', /does not fit a rsa key/);
  refused(t, { EVX_ISSUERS: issuers(op({ algorithms: ['RS256'] })) }, 'EVX_ISSUERS[0].algorithms', /does not fit a ec key/);
  refused(t, { EVX_ISSUERS: issuers(op({ algorithms: ['ES384'] })) }, 'EVX_ISSUERS[0].algorithms', /ES384/);
  // RSA keys may be used with RS* and PS*.
  const c = loadConfig({ EVX_ISSUERS: issuers(nl({ publicKey: RSA_PEM, algorithms: ['RS256', 'PS256'] })) }, cwd);
  t.same(c.issuers[0]?.algorithms, ['RS256', 'PS256']);
});

t.test('EVX_ISSUERS: keys', async (t) => {
  const privatePem = ed.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  refused(t, { EVX_ISSUERS: issuers(nl({ publicKey: privatePem })) }, 'EVX_ISSUERS[0].publicKey', /private keys are refused/);
  const rsaPkcs1Private = rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string;
  refused(t, { EVX_ISSUERS: issuers(nl({ publicKey: rsaPkcs1Private, algorithms: ['RS256'] })) }, 'EVX_ISSUERS[0].publicKey');
  refused(t, { EVX_ISSUERS: issuers(nl({ publicKey: 'a shared secret' })) }, 'EVX_ISSUERS[0].publicKey', /PEM/);
  refused(t, { EVX_ISSUERS: issuers(nl({ publicKey: '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n' })) }, 'EVX_ISSUERS[0].publicKey', /not a readable PEM/);
  refused(t, { EVX_ISSUERS: issuers(nl({ publicKey: '' })) }, 'EVX_ISSUERS[0].publicKey');
  refused(t, { EVX_ISSUERS: issuers(nl({ publicKey: undefined })) }, 'EVX_ISSUERS[0].publicKey');
  // An X25519 key is a public key but cannot verify any JWS.
  const x = pemOf(generateKeyPairSync('x25519'));
  refused(t, { EVX_ISSUERS: issuers(nl({ publicKey: x })) }, 'EVX_ISSUERS[0].algorithms', /does not fit/);
  const weak = pemOf(generateKeyPairSync('rsa', { modulusLength: 1024 }));
  refused(t, { EVX_ISSUERS: issuers(nl({ publicKey: weak, algorithms: ['RS256'] })) }, 'EVX_ISSUERS[0].publicKey', /at least 2048 bits/);
});

t.test('EVX_ISSUERS: duplicate issuer', async (t) => {
  refused(t, { EVX_ISSUERS: issuers(nl(), nl({ jurisdiction: 'DE' })) }, 'EVX_ISSUERS[1].issuer', /listed twice/);
});

t.test('EVX_ISSUERS and EVX_ISSUERS_FILE', async (t) => {
  const file = path.join(cwd, 'issuers.json');
  writeFileSync(file, issuers(nl(), op()));
  const c = loadConfig({ EVX_ISSUERS_FILE: 'issuers.json' }, cwd);
  t.equal(c.issuers.length, 2, 'a relative file is read from cwd');
  t.equal(loadConfig({ EVX_ISSUERS_FILE: file }, cwd).issuers.length, 2, 'an absolute one too');

  const both = problemsOf(t, { EVX_ISSUERS: issuers(nl()), EVX_ISSUERS_FILE: file });
  t.equal(both.length, 1);
  t.match(both[0], /EVX_ISSUERS and EVX_ISSUERS_FILE are both set/);

  refused(t, { EVX_ISSUERS_FILE: 'no-such-file.json' }, 'EVX_ISSUERS_FILE', /cannot read no-such-file\.json \(ENOENT\)/);
  refused(t, { EVX_ISSUERS_FILE: cwd }, 'EVX_ISSUERS_FILE', /cannot read/);
  if (process.getuid?.() !== 0) {
    const locked = path.join(cwd, 'locked.json');
    writeFileSync(locked, issuers(nl()));
    chmodSync(locked, 0o000);
    refused(t, { EVX_ISSUERS_FILE: locked }, 'EVX_ISSUERS_FILE', /EACCES/);
  }
  // Problems inside the file are named after the variable that pointed at it.
  writeFileSync(path.join(cwd, 'bad.json'), '{not json');
  refused(t, { EVX_ISSUERS_FILE: 'bad.json' }, 'EVX_ISSUERS_FILE', /not valid JSON/);
  writeFileSync(path.join(cwd, 'hs.json'), issuers(nl({ algorithms: ['HS256'] })));
  refused(t, { EVX_ISSUERS_FILE: 'hs.json' }, 'EVX_ISSUERS_FILE[0].algorithms', /HS256/);
});

t.test('EVX_CHECKPOINT_INTERVAL', async (t) => {
  for (const bad of ['soon', '0', '5ms', '2h', '61m', '-1s', '1.5s']) {
    refused(t, { EVX_CHECKPOINT_INTERVAL: bad }, 'EVX_CHECKPOINT_INTERVAL', /duration/);
  }
});

t.test('LOG_LEVEL', async (t) => {
  refused(t, { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL', /must be one of/);
  refused(t, { LOG_LEVEL: 'INFO' }, 'LOG_LEVEL');
  for (const ok of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) t.equal(loadConfig({ LOG_LEVEL: ok }, cwd).logLevel, ok);
});

t.test('EVX_LOG_ORIGIN', async (t) => {
  refused(t, { EVX_LOG_ORIGIN: 'evx example' }, 'EVX_LOG_ORIGIN', /without spaces/);
  refused(t, { EVX_LOG_ORIGIN: 'evx+log' }, 'EVX_LOG_ORIGIN');
  refused(t, { EVX_LOG_ORIGIN: 'évx.example/log' }, 'EVX_LOG_ORIGIN');
  refused(t, { EVX_LOG_ORIGIN: 'evx\texample' }, 'EVX_LOG_ORIGIN');
});

t.test('EVX_LOG_KEY', async (t) => {
  refused(t, { EVX_LOG_KEY: 'a-secret' }, 'EVX_LOG_KEY', /PRIVATE\+KEY\+/);
});

t.test('EVX_S3_* is refused (not available in this build), naming each variable', async (t) => {
  const problems = problemsOf(t, { EVX_S3_BUCKET: 'evidence', EVX_S3_ENDPOINT: 'https://s3.example' });
  t.equal(problems.length, 1);
  t.match(problems[0], /EVX_S3_BUCKET/);
  t.match(problems[0], /EVX_S3_ENDPOINT/);
  t.match(problems[0], /EVX_BLOB_DIR/);
  t.doesNotThrow(() => loadConfig({ EVX_S3_BUCKET: '' }, cwd), 'an empty EVX_S3_ variable counts as unset');
});

t.test('EVX_DB_POOL_SIZE and EVX_CLOCK_TOLERANCE', async (t) => {
  for (const bad of ['1', '201', 'ten', '5.5']) refused(t, { EVX_DB_POOL_SIZE: bad }, 'EVX_DB_POOL_SIZE');
  t.equal(loadConfig({ EVX_DB_POOL_SIZE: '20' }, cwd).dbPoolSize, 20);
  refused(t, { EVX_CLOCK_TOLERANCE: '31s' }, 'EVX_CLOCK_TOLERANCE', /at most 30s/);
  refused(t, { EVX_CLOCK_TOLERANCE: '1m' }, 'EVX_CLOCK_TOLERANCE');
  refused(t, { EVX_CLOCK_TOLERANCE: 'lots' }, 'EVX_CLOCK_TOLERANCE');
  t.equal(loadConfig({ EVX_CLOCK_TOLERANCE: '5s' }, cwd).clockToleranceSeconds, 5);
  t.equal(loadConfig({ EVX_CLOCK_TOLERANCE: '0' }, cwd).clockToleranceSeconds, 0);
});

t.test('several problems are reported at once', async (t) => {
  const problems = problemsOf(t, {
    PORT: 'eighty',
    DATABASE_URL: 'nope',
    LOG_LEVEL: 'loud',
    EVX_LOG_ORIGIN: 'has space',
    EVX_CHECKPOINT_INTERVAL: 'never',
    EVX_ISSUERS: issuers(nl({ algorithms: ['HS256'] }), op({ jurisdiction: 'NL' })),
  });
  for (const name of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'EVX_LOG_ORIGIN', 'EVX_CHECKPOINT_INTERVAL', 'EVX_ISSUERS[0].algorithms', 'EVX_ISSUERS[1]']) {
    t.ok(
      problems.some((p) => p.includes(name)),
      `${name} is reported`,
    );
  }
  t.equal(problems.length, 7, JSON.stringify(problems));
});

t.test('EVX_ENV', async (t) => {
  const prodOk = { EVX_ENV: 'production', EVX_ISSUERS: issuers(nl(), op()), EVX_LOG_ORIGIN: 'evx.example.org/log' };
  const c = loadConfig(prodOk, cwd);
  t.equal(c.production, true);
  t.equal(c.env, 'production');

  refused(t, { ...prodOk, EVX_ISSUERS: undefined }, 'EVX_ISSUERS', /required when EVX_ENV=production/);
  refused(t, { ...prodOk, EVX_ISSUERS: '' }, 'EVX_ISSUERS', /required when EVX_ENV=production/);
  refused(t, { ...prodOk, EVX_ISSUERS: '[]' }, 'EVX_ISSUERS', /no issuers/);
  refused(t, { ...prodOk, EVX_LOG_ORIGIN: undefined }, 'EVX_LOG_ORIGIN', /required when EVX_ENV=production/);
  const both = problemsOf(t, { EVX_ENV: 'production' });
  t.equal(both.length, 2, 'production without issuers and without a log origin: both reported');

  t.equal(loadConfig({ EVX_ENV: 'test' }, cwd).production, false);
  t.equal(loadConfig({ EVX_ENV: 'development' }, cwd).production, false);
  // A misspelt production must not silently fall back to the development issuer, which can mint tokens for anyone.
  for (const typo of ['Production', 'PRODUCTION', 'prod', 'production ', 'staging']) {
    if (typo.trim() === 'production') {
      t.equal(loadConfig({ ...prodOk, EVX_ENV: typo }, cwd).production, true, 'surrounding blanks are trimmed');
      continue;
    }
    refused(t, { EVX_ENV: typo }, 'EVX_ENV', /production/);
  }
});

t.test('a PEM with leading whitespace is trimmed and works', async (t) => {
  const issuer = makeIssuer('https://idp.ws.example', 'EdDSA', { jurisdiction: 'NL' });
  const operator = makeIssuer('https://op.ws.example', 'ES256', { operator: true });
  const padded = `\n\n   \t${issuer.publicKeyPem}\n\n  `;
  const json = JSON.stringify([
    { issuer: issuer.issuer, jurisdiction: 'NL', publicKey: padded, algorithms: ['EdDSA'] },
    { issuer: operator.issuer, operator: true, publicKey: `  ${operator.publicKeyPem}`, algorithms: ['ES256'] },
  ]);
  const c = loadConfig({ EVX_ISSUERS: json }, cwd);
  const parsed = c.issuers[0]!;
  t.ok(parsed.publicKeyPem.startsWith('-----BEGIN PUBLIC KEY-----'), 'no leading whitespace');
  t.ok(parsed.publicKeyPem.endsWith('-----END PUBLIC KEY-----'), 'no trailing whitespace');
  t.equal(parsed.publicKey.asymmetricKeyType, 'ed25519');
  const msg = Buffer.from('evx');
  t.ok(
    verify(null, msg, parsed.publicKey, sign(null, msg, issuer.privateKey)),
    'the parsed key verifies the issuer signature',
  );

  // And through the real app: a token from that issuer is accepted, an HS256 one keyed with the padded PEM is not.
  const ta = await buildTestApp(t, { EVX_ISSUERS: json });
  const ok = await ta.app.inject({ method: 'GET', url: '/v1/jurisdictions', headers: { authorization: `Bearer ${mint(issuer, { roles: ['auditor'] })}` } });
  t.equal(ok.statusCode, 200, ok.body);
  const opOk = await ta.app.inject({ method: 'GET', url: '/v1/jurisdictions', headers: { authorization: `Bearer ${mint(operator, { roles: ['auditor'] })}` } });
  t.equal(opOk.statusCode, 200, opOk.body);
});
