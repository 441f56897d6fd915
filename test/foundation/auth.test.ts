/**
 * SPEC §1 authentication, through real HTTP requests with real signatures.
 * The protected route used is GET /v1/jurisdictions (any authenticated caller).
 */
import { generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import { buildTestApp } from '../helpers/app.js';
import { mint, signJws } from '../helpers/tokens.js';

const ta = await buildTestApp(t);
const { app, issuers } = ta;

async function call(token: string | null, url = '/v1/jurisdictions'): Promise<{ status: number; code: string | undefined; body: Record<string, unknown> }> {
  const res = await app.inject({ method: 'GET', url, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const body = res.json() as Record<string, unknown>;
  return { status: res.statusCode, code: body['code'] as string | undefined, body };
}

const now = Math.floor(Date.now() / 1000);

t.test('valid tokens from each issuer kind are accepted (EdDSA, ES256, RS256, operator)', async (t) => {
  for (const who of ['NL', 'DE', 'ICC', 'operator'] as const) {
    const r = await call(mint(issuers[who], { roles: ['auditor'] }));
    t.equal(r.status, 200, `${who} accepted`);
  }
});

t.test('no token, malformed header, garbage token', async (t) => {
  let r = await call(null);
  t.equal(r.status, 401);
  t.equal(r.code, 'unauthorized');
  const res = await app.inject({ method: 'GET', url: '/v1/jurisdictions', headers: { authorization: 'Basic abc' } });
  t.equal(res.statusCode, 401);
  t.match(res.headers['content-type'], /application\/problem\+json/);
  t.match(res.headers['www-authenticate'], /Bearer/);
  r = await call('not.a.token');
  t.equal(r.status, 401);
  t.equal(r.code, 'token_invalid');
});

t.test('a token from an unknown issuer is refused', async (t) => {
  const r = await call(mint(issuers.NL, { iss: 'https://idp.evil.example' }));
  t.equal(r.status, 401);
  t.equal(r.code, 'token_untrusted_issuer');
});

t.test('a token signed with the wrong key is refused', async (t) => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const forged = signJws({ alg: 'EdDSA', typ: 'JWT' }, { iss: issuers.NL.issuer, sub: 'x', aud: 'evx', exp: now + 600, roles: [] }, privateKey);
  const r = await call(forged);
  t.equal(r.status, 401);
  t.equal(r.code, 'token_invalid');
});

t.test('a token signed by another trusted issuer but naming NL as iss is refused', async (t) => {
  const forged = signJws({ alg: 'EdDSA', typ: 'JWT' }, { iss: issuers.NL.issuer, sub: 'x', aud: 'evx', exp: now + 600 }, issuers.operator.privateKey);
  t.equal((await call(forged)).status, 401);
});

t.test('alg none is refused', async (t) => {
  const unsigned = signJws({ alg: 'none', typ: 'JWT' }, { iss: issuers.NL.issuer, sub: 'x', aud: 'evx', exp: now + 600, roles: ['admin'] }, null);
  const r = await call(unsigned);
  t.equal(r.status, 401);
  t.equal(r.code, 'token_invalid');
  // "none" with a trailing empty signature segment and without it.
  t.equal((await call(unsigned.replace(/\.$/, ''))).status, 401);
});

t.test('HS256 with the issuer public key as the HMAC secret is refused', async (t) => {
  for (const who of ['NL', 'ICC'] as const) {
    const secret = Buffer.from(issuers[who].publicKeyPem);
    const forged = signJws({ alg: 'HS256', typ: 'JWT' }, { iss: issuers[who].issuer, sub: 'x', aud: 'evx', exp: now + 600 }, secret);
    const r = await call(forged);
    t.equal(r.status, 401, `${who}: HS256 forged with the public key`);
    t.equal(r.code, 'token_invalid');
    // The same with leading whitespace in the "secret" (the historical key-confusion bug).
    const forged2 = signJws({ alg: 'HS256', typ: 'JWT' }, { iss: issuers[who].issuer, sub: 'x', aud: 'evx', exp: now + 600 }, Buffer.from(`\n  ${issuers[who].publicKeyPem}`));
    t.equal((await call(forged2)).status, 401);
  }
});

t.test("an algorithm outside the issuer's allow-list is refused even with the right key", async (t) => {
  // ICC is configured for RS256 only: the same RSA key signing PS256 must not pass.
  const ps = signJws({ alg: 'PS256', typ: 'JWT' }, { iss: issuers.ICC.issuer, sub: 'x', aud: 'evx', exp: now + 600 }, issuers.ICC.privateKey);
  const r = await call(ps);
  t.equal(r.status, 401);
  t.equal(r.code, 'token_invalid');
  t.match(r.body['detail'], /PS256/);
});

t.test('expired tokens are refused; 30 s of clock skew is tolerated, no more', async (t) => {
  let r = await call(mint(issuers.NL, { exp: now - 120, iat: now - 600 }));
  t.equal(r.status, 401);
  t.equal(r.code, 'token_expired');
  r = await call(mint(issuers.NL, { exp: now - 10, iat: now - 600 }));
  t.equal(r.status, 200, 'expired 10 s ago is within tolerance');
  r = await call(mint(issuers.NL, { exp: now - 45, iat: now - 600 }));
  t.equal(r.status, 401, 'expired 45 s ago is not');
});

t.test('nbf in the future is refused', async (t) => {
  const r = await call(mint(issuers.NL, { nbf: now + 300 }));
  t.equal(r.status, 401);
  t.equal(r.code, 'token_invalid');
});

t.test('wrong or missing audience is refused', async (t) => {
  let r = await call(mint(issuers.NL, { aud: 'another-service' }));
  t.equal(r.status, 401);
  t.equal(r.code, 'token_invalid');
  r = await call(mint(issuers.NL, { aud: undefined }));
  t.equal(r.status, 401);
});

t.test('missing exp or sub is refused', async (t) => {
  t.equal((await call(mint(issuers.NL, { exp: undefined }))).status, 401);
  t.equal((await call(mint(issuers.NL, { sub: undefined }))).status, 401);
});

t.test('a token from NL claiming jurisdiction DE is refused', async (t) => {
  const r = await call(mint(issuers.NL, { jurisdiction: 'DE' }));
  t.equal(r.status, 401);
  t.equal(r.code, 'token_invalid');
  t.match(r.body['detail'], /speaks only for NL/);
  t.equal((await call(mint(issuers.NL, { jurisdiction: 'NL' }))).status, 200, 'its own jurisdiction is fine');
});

t.test("admin from NL's issuer is refused; admin from the operator works", async (t) => {
  let r = await call(mint(issuers.NL, { roles: ['admin'] }));
  t.equal(r.status, 401);
  t.match(r.body['detail'], /admin role is honoured only from an operator issuer/);
  const res = await app.inject({
    method: 'POST',
    url: '/v1/jurisdictions',
    headers: { authorization: `Bearer ${mint(issuers.operator, { roles: ['admin'] })}` },
    payload: { code: 'NL', name: 'Netherlands', kind: 'state' },
  });
  t.equal(res.statusCode, 201);
  r = await call(mint(issuers.operator, { jurisdiction: 'NL' }));
  t.equal(r.status, 401, 'the operator cannot act for a jurisdiction');
});

t.test('roles are enforced per route: deny by default', async (t) => {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/jurisdictions',
    headers: { authorization: `Bearer ${mint(issuers.operator, { roles: ['auditor'] })}` },
    payload: { code: 'FR', name: 'France', kind: 'state' },
  });
  t.equal(res.statusCode, 403);
  t.equal(res.json().code, 'forbidden_role');
  const bad = await call(mint(issuers.NL, { roles: 'investigator' as unknown as string[] }));
  t.equal(bad.status, 401, 'roles must be an array');
});

t.test('public routes need no token, and a bad token there is ignored', async (t) => {
  for (const url of ['/healthz', '/readyz', '/v1/log/key', '/v1/log/checkpoint', '/openapi.json']) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 200, url);
  }
});
