/**
 * The HTTP contract shared by every route (SPEC §2): RFC 9457 problem+json
 * errors with a `code`, strict body validation (no coercion, no stripping),
 * coerced query strings, opaque 500s, health checks, request ids, OpenAPI
 * and log redaction. Real app, real database, requests through app.inject.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import pino from 'pino';
import t, { type Test as Tap } from 'tap';
import { Type } from 'typebox';
import { buildApp, loggerOptions } from '../../services/app.js';
import { loadConfig } from '../../services/config.js';
import { buildTestApp, tempDir, testIssuers } from '../helpers/app.js';
import { adminUrl, createDatabase } from '../helpers/database.js';
import { issuersJson, mint } from '../helpers/tokens.js';

const issuers = testIssuers();
const bearer = (who: keyof typeof issuers, roles: string[]): { authorization: string } => ({ authorization: `Bearer ${mint(issuers[who], { roles })}` });
const admin = (): { authorization: string } => bearer('operator', ['admin']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface LogCapture {
  lines: string[];
  text(): string;
}

/**
 * An app built the way the server builds it (same redaction options), with a
 * capturing log stream and optional extra routes registered before ready.
 */
async function buildApp2(
  t: Tap,
  options: { databaseUrl?: string; env?: Record<string, string>; extraRoutes?: (app: FastifyInstance) => void; level?: string } = {},
): Promise<{ app: FastifyInstance; logs: LogCapture; databaseUrl: string }> {
  const databaseUrl = options.databaseUrl ?? (await createDatabase(t));
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    EVX_DATA_DIR: tempDir(t),
    EVX_ISSUERS: issuersJson(Object.values(issuers)),
    EVX_CHECKPOINT_INTERVAL: '50ms',
    ...(options.env ?? {}),
  });
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = pino(loggerOptions(options.level ?? 'trace'), stream);
  const app = await buildApp(config, { logger });
  options.extraRoutes?.(app);
  t.teardown(() => app.close());
  await app.ready();
  return { app, logs: { lines, text: () => lines.join('\n') }, databaseUrl };
}

/** The strict-body echo route used to test the validator for every JSON type. */
function echoRoute(app: FastifyInstance): void {
  app.post(
    '/test/echo',
    {
      config: { access: 'public' },
      schema: {
        body: Type.Object(
          {
            n: Type.Integer(),
            s: Type.String(),
            b: Type.Optional(Type.Boolean()),
            list: Type.Optional(Type.Array(Type.Integer())),
            nested: Type.Optional(Type.Object({ x: Type.String() }, { additionalProperties: false })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => ({ received: request.body }),
  );
  app.get('/test/boom', { config: { access: 'public' } }, async () => {
    const err = new Error('SELECT secret FROM evx_internal WHERE x = 1 -- relation "evx_internal" does not exist') as Error & { code: string };
    err.code = '42P01';
    throw err;
  });
  app.get('/test/log', { config: { access: { roles: 'any' } } }, async (request) => {
    // What a careless log call might do; redaction must still hide the credentials.
    request.log.info({ req: { headers: request.headers } }, 'headers (req.headers)');
    request.log.info({ headers: request.headers }, 'headers (headers)');
    request.log.info({ key: { privateKey: 'PRIVATE-KEY-MATERIAL', signature: 'SIGNATURE-MATERIAL' } }, 'key material');
    request.log.info({ body: { secretThing: 'BODY-MATERIAL' } }, 'a body');
    request.log.info({ privateKey: 'TOP-LEVEL-KEY', signature: 'TOP-LEVEL-SIG' }, 'top-level key material');
    return { ok: true };
  });
}

const ta = await buildApp2(t, { extraRoutes: echoRoute });
const { app } = ta;

function expectProblem(t: Tap, res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, code: string): Record<string, unknown> {
  t.equal(res.statusCode, status, `status ${status}: ${res.body}`);
  t.match(String(res.headers['content-type']), /^application\/problem\+json/, 'problem+json');
  const body = JSON.parse(res.body) as Record<string, unknown>;
  t.equal(body['code'], code, 'code');
  t.equal(body['status'], status, 'status member equals the HTTP status');
  t.type(body['type'], 'string');
  t.type(body['title'], 'string');
  t.type(body['detail'], 'string');
  t.ok((body['title'] as string).length > 0 && (body['detail'] as string).length > 0, 'title and detail are not empty');
  t.notOk('stack' in body, 'no stack');
  t.notOk('message' in body, 'no raw error message');
  return body;
}

t.test('unknown route → 404 route_not_found as problem+json', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/v1/nothing-here?x=1' });
  const body = expectProblem(t, res, 404, 'route_not_found');
  t.match(body['detail'], '/v1/nothing-here');
  t.notMatch(body['detail'], 'x=1', 'the query string is not echoed');
  expectProblem(t, await app.inject({ method: 'DELETE', url: '/v1/jurisdictions' }), 404, 'route_not_found');
  // Unknown routes reveal nothing and need no token.
  expectProblem(t, await app.inject({ method: 'GET', url: '/v1/secret', headers: { authorization: 'Bearer junk' } }), 404, 'route_not_found');
});

t.test('every kind of refusal is problem+json with type/title/status/detail/code', async (t) => {
  expectProblem(t, await app.inject({ method: 'GET', url: '/v1/jurisdictions' }), 401, 'unauthorized');
  expectProblem(t, await app.inject({ method: 'GET', url: '/v1/jurisdictions', headers: { authorization: 'Bearer x.y.z' } }), 401, 'token_invalid');
  expectProblem(
    t,
    await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: bearer('NL', ['investigator']), payload: { code: 'XX', name: 'x', kind: 'state' } }),
    403,
    'forbidden_role',
  );
  expectProblem(t, await app.inject({ method: 'GET', url: '/v1/jurisdictions/ZZ', headers: bearer('NL', []) }), 404, 'not_found');
  const res = await app.inject({ method: 'GET', url: '/v1/jurisdictions/ZZ', headers: bearer('NL', []) });
  t.match(JSON.parse(res.body), { type: 'urn:evx:problem:not_found' }, 'type is a stable URI derived from the code');
});

t.test('a body with an unknown field → 400 validation_failed naming the field', async (t) => {
  let res = await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: admin(), payload: { code: 'FR', name: 'France', kind: 'state', admin: true } });
  let body = expectProblem(t, res, 400, 'validation_failed');
  t.match(body['detail'], /unknown field "admin"/);
  t.match(body['errors'], [{ location: 'body', message: /unknown field "admin"/ }]);
  // Nothing was created: the field was not silently dropped.
  res = await app.inject({ method: 'GET', url: '/v1/jurisdictions/FR', headers: bearer('NL', []) });
  t.equal(res.statusCode, 404, 'the request was not half-accepted');

  res = await app.inject({ method: 'POST', url: '/test/echo', payload: { n: 1, s: 'a', nested: { x: 'y', extra: 1 } } });
  body = expectProblem(t, res, 400, 'validation_failed');
  t.match(body['detail'], /body\/nested has an unknown field "extra"/, 'nested unknown fields are named with their path');
});

t.test('body types are NOT coerced', async (t) => {
  const ok = await app.inject({ method: 'POST', url: '/test/echo', payload: { n: 42, s: 'x', b: true, list: [1, 2] } });
  t.equal(ok.statusCode, 200, ok.body);
  t.same(ok.json(), { received: { n: 42, s: 'x', b: true, list: [1, 2] } });

  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['"42" for an integer', { n: '42', s: 'x' }, /body\/n must be integer/],
    ['null for an integer', { n: null, s: 'x' }, /body\/n/],
    ['a float for an integer', { n: 4.2, s: 'x' }, /body\/n/],
    ['true for an integer', { n: true, s: 'x' }, /body\/n/],
    ['a number for a string', { n: 1, s: 42 }, /body\/s must be string/],
    ['null for a string', { n: 1, s: null }, /body\/s/],
    ['"true" for a boolean', { n: 1, s: 'x', b: 'true' }, /body\/b/],
    ['1 for a boolean', { n: 1, s: 'x', b: 1 }, /body\/b/],
    ['a scalar for an array', { n: 1, s: 'x', list: 7 }, /body\/list/],
    ['strings in an integer array', { n: 1, s: 'x', list: ['1'] }, /body\/list\/0/],
    ['a missing required field', { s: 'x' }, /body must have required property 'n'/],
  ];
  for (const [what, payload, detail] of cases) {
    const res = await app.inject({ method: 'POST', url: '/test/echo', payload });
    const body = expectProblem(t, res, 400, 'validation_failed');
    t.match(body['detail'], detail, what);
  }
  // The same through a real route: a number or null where a string is expected.
  for (const name of [42, null, ['x'], { x: 1 }]) {
    const res = await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: admin(), payload: { code: 'FR', name, kind: 'state' } });
    expectProblem(t, res, 400, 'validation_failed');
  }
  // An array or a scalar as the whole body.
  for (const whole of ['[]', '42', '"FR"', 'null']) {
    const res = await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: { ...admin(), 'content-type': 'application/json' }, payload: whole });
    t.equal(res.statusCode, 400, `${whole} as the body: ${res.body}`);
    t.match(res.headers['content-type'], /problem\+json/);
  }
});

t.test('invalid JSON → 400 bad_request without parser internals', async (t) => {
  for (const payload of ['{"code": "FR",', '{code: FR}', "{'a':1}", 'nul', '{"a":1}}']) {
    const res = await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: { ...admin(), 'content-type': 'application/json' }, payload });
    const body = expectProblem(t, res, 400, 'bad_request');
    t.equal(body['detail'], 'the body is not valid JSON');
    t.notMatch(res.body, /position|Unexpected|SyntaxError|token|JSON\.parse/i, 'no parser message');
  }
  const empty = await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: { ...admin(), 'content-type': 'application/json' }, payload: '' });
  expectProblem(t, empty, 400, 'bad_request');
  // __proto__ poisoning is refused by the parser, not merged.
  const proto = await app.inject({
    method: 'POST',
    url: '/test/echo',
    headers: { 'content-type': 'application/json' },
    payload: '{"n": 1, "s": "x", "__proto__": {"admin": true}}',
  });
  t.equal(proto.statusCode, 400, proto.body);
  t.match(proto.headers['content-type'], /problem\+json/);
});

t.test('wrong content type → 415 unsupported_media_type', async (t) => {
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x']) {
    const res = await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: { ...admin(), 'content-type': type }, payload: 'code=FR&name=France&kind=state' });
    expectProblem(t, res, 415, 'unsupported_media_type');
  }
});

t.test('a body over the limit → 413 payload_too_large', async (t) => {
  const big = JSON.stringify({ code: 'FR', name: 'x'.repeat(1024 * 1024 + 10), kind: 'state' });
  const res = await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: { ...admin(), 'content-type': 'application/json' }, payload: big });
  const body = expectProblem(t, res, 413, 'payload_too_large');
  t.notMatch(body['detail'], /\d{6,}/, 'no internals');
  // Just under the limit is a validation problem (name too long), not 413.
  const under = await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: admin(), payload: { code: 'FR', name: 'x'.repeat(1000), kind: 'state' } });
  expectProblem(t, under, 400, 'validation_failed');
});

t.test('query strings ARE coerced, and still validated', async (t) => {
  const h = admin();
  for (const code of ['AA', 'BB', 'CC']) {
    const r = await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: h, payload: { code, name: code, kind: 'state' } });
    t.equal(r.statusCode, 201, r.body);
  }
  let res = await app.inject({ method: 'GET', url: '/v1/jurisdictions?limit=2', headers: bearer('NL', []) });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().items.length, 2, 'limit=2 was read as the number 2');
  t.equal(res.json().next, 'BB');
  res = await app.inject({ method: 'GET', url: '/v1/jurisdictions?limit=5&after=AA', headers: bearer('NL', []) });
  t.equal(res.statusCode, 200, res.body);
  t.same(
    res.json().items.map((j: { code: string }) => j.code),
    ['BB', 'CC'],
  );
  for (const q of ['limit=abc', 'limit=0', 'limit=1001', 'limit=1.5', 'limit=', 'unknown=1', 'limit=-1']) {
    const r = await app.inject({ method: 'GET', url: `/v1/jurisdictions?${q}`, headers: bearer('NL', []) });
    const body = expectProblem(t, r, 400, 'validation_failed');
    t.match(body['detail'], /^querystring/, `${q}: the detail says where`);
  }
  // Params are validated too.
  const bad = await app.inject({ method: 'GET', url: '/v1/jurisdictions/nl', headers: bearer('NL', []) });
  const b = expectProblem(t, bad, 400, 'validation_failed');
  t.match(b['detail'], /^params\/code/);
});

t.test('an internal error is an opaque 500: no stack, no SQL, no SQLSTATE, the request id in the detail', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/test/boom', headers: { 'x-request-id': 'req-boom-1' } });
  const body = expectProblem(t, res, 500, 'internal_error');
  t.match(body['detail'], 'req-boom-1');
  t.notMatch(res.body, /SELECT|evx_internal|42P01|does not exist|\bat \/|\.ts:\d+/);
  const logged = ta.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['reqId'] === 'req-boom-1' && l['level'] === 50);
  t.ok(logged, 'the error is logged under the request id');
  t.match(JSON.stringify(logged), /evx_internal/, 'with its details, for the operator');
});

t.test('with the database gone: 500 internal_error for data routes, /readyz 503, /healthz 200', async (t) => {
  const url = await createDatabase(t);
  // No checkpoint publisher ticking: only idle pooled connections are cut by the DROP (see the report on connect.ts).
  const gone = await buildApp2(t, { databaseUrl: url, env: { EVX_CHECKPOINT_INTERVAL: '60m' } });
  const name = new URL(url).pathname.slice(1);
  const h = bearer('NL', ['auditor']);
  let res = await gone.app.inject({ method: 'GET', url: '/v1/jurisdictions', headers: h });
  t.equal(res.statusCode, 200, 'works before');
  t.equal((await gone.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'ready before');

  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  await c.query(`DROP DATABASE ${name} WITH (FORCE)`);
  await c.end();

  res = await gone.app.inject({ method: 'GET', url: '/v1/jurisdictions', headers: { ...h, 'x-request-id': 'req-db-gone' } });
  const body = expectProblem(t, res, 500, 'internal_error');
  t.equal(body['detail'], 'an internal error occurred; it was logged with request id req-db-gone');
  t.notMatch(res.body, new RegExp(`${name}|3D000|57P01|database|terminat|SELECT|select|postgres`, 'i'), 'nothing about the database leaks');
  t.equal(res.headers['x-request-id'], 'req-db-gone');

  res = await gone.app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: admin(), payload: { code: 'FR', name: 'France', kind: 'state' } });
  expectProblem(t, res, 500, 'internal_error');
  t.notMatch(res.body, /INSERT|jurisdictions|log_head/i);

  res = await gone.app.inject({ method: 'GET', url: '/readyz' });
  const ready = expectProblem(t, res, 503, 'service_unavailable');
  t.notMatch(ready['detail'], name);
  res = await gone.app.inject({ method: 'GET', url: '/healthz' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { status: 'ok' });
});

t.test('/healthz and /readyz need no token', async (t) => {
  let res = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { status: 'ok' });
  res = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { status: 'ready' });
});

t.test('x-request-id is echoed; a malicious one is replaced', async (t) => {
  let res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123_x.y:z' } });
  t.equal(res.headers['x-request-id'], 'abc-123_x.y:z');
  res = await app.inject({ method: 'GET', url: '/healthz' });
  t.match(res.headers['x-request-id'], UUID, 'generated when absent');
  for (const evil of ['<script>alert(1)</script>', 'a'.repeat(65), 'id with spaces', '../../etc/passwd', 'x\u00e9', '"quoted"']) {
    res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': evil } });
    t.match(res.headers['x-request-id'], UUID, `replaced: ${evil.slice(0, 20)}`);
  }
  // Errors carry the id too.
  res = await app.inject({ method: 'GET', url: '/v1/nope', headers: { 'x-request-id': 'trace-404' } });
  t.equal(res.headers['x-request-id'], 'trace-404');
  res = await app.inject({ method: 'GET', url: '/v1/jurisdictions', headers: { 'x-request-id': 'trace-401' } });
  t.equal(res.headers['x-request-id'], 'trace-401');
});

t.test('/openapi.json is OpenAPI 3 with the /v1 routes, their schemas and bearer security; /docs is HTML', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /application\/json/);
  const doc = res.json() as {
    openapi: string;
    paths: Record<string, Record<string, { security?: unknown[]; requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }; parameters?: Array<{ name: string; in: string }>; responses: Record<string, unknown> }>>;
    components: { securitySchemes: Record<string, unknown> };
    security: unknown[];
  };
  t.match(doc.openapi, /^3\./);
  t.match(doc.components.securitySchemes, { bearer: { type: 'http', scheme: 'bearer' } });
  t.same(doc.security, [{ bearer: [] }], 'bearer security by default');

  const expected: Array<[string, string]> = [
    ['/v1/jurisdictions', 'post'],
    ['/v1/jurisdictions', 'get'],
    ['/v1/jurisdictions/{code}', 'get'],
    ['/v1/jurisdictions/{code}/keys', 'put'],
    ['/v1/officers/me/keys', 'post'],
    ['/v1/officers/me/keys', 'get'],
    ['/v1/log/key', 'get'],
    ['/v1/log/checkpoint', 'get'],
    ['/v1/log/entries', 'get'],
    ['/v1/log/proofs/inclusion', 'get'],
    ['/v1/log/proofs/consistency', 'get'],
    ['/v1/log/verify', 'get'],
    ['/healthz', 'get'],
    ['/readyz', 'get'],
  ];
  for (const [p, m] of expected) t.ok(doc.paths[p]?.[m], `${m.toUpperCase()} ${p} is described`);

  const post = doc.paths['/v1/jurisdictions']!['post']!;
  const schema = post.requestBody!.content['application/json']!.schema;
  t.match(schema, { type: 'object', additionalProperties: false, required: ['code', 'name', 'kind'], properties: { code: { pattern: '^[A-Z][A-Z0-9_-]{1,15}$' } } }, 'the request body schema is the validated one');
  t.ok(post.responses['201'] && post.responses['400'] && post.responses['409'], 'responses are described');
  t.notOk(post.security && post.security.length === 0, 'an admin route is not marked public');
  const list = doc.paths['/v1/jurisdictions']!['get']!;
  t.same(list.parameters?.map((p) => `${p.in}:${p.name}`).sort(), ['query:after', 'query:limit']);
  t.match(doc.paths['/v1/jurisdictions/{code}/keys']!['put']!.requestBody!.content['application/json']!.schema, { additionalProperties: false, properties: { boxPublicKey: { type: 'string' } } });
  t.match(doc.paths['/v1/officers/me/keys']!['post']!.requestBody!.content['application/json']!.schema, { additionalProperties: false, required: ['publicKey'] });

  t.same(doc.paths['/healthz']!['get']!.security, [], 'public routes need no token');
  t.same(doc.paths['/v1/log/checkpoint']!['get']!.security, [], 'the checkpoint is public');
  for (const [p, ops] of Object.entries(doc.paths)) {
    if (!p.startsWith('/v1/')) continue;
    for (const [m, op] of Object.entries(ops)) {
      const publicRoute = ['/v1/log/key', '/v1/log/checkpoint', '/v1/log/proofs/consistency'].includes(p);
      if (!publicRoute) t.notSame(op.security, [], `${m} ${p} requires a bearer token`);
    }
  }
  t.notOk(doc.paths['/openapi.json'], 'the document does not describe itself');
  t.notOk(Object.keys(doc.paths).some((p) => p.startsWith('/test/') === false && p.startsWith('/docs')), 'the docs UI is not an API route');

  let docs = await app.inject({ method: 'GET', url: '/docs' });
  for (let hops = 0; docs.statusCode >= 300 && docs.statusCode < 400 && hops < 3; hops++) {
    const loc = String(docs.headers['location']);
    docs = await app.inject({ method: 'GET', url: loc.startsWith('/') ? loc : `/docs/${loc.replace(/^\.\//, '')}` });
  }
  t.equal(docs.statusCode, 200);
  t.match(docs.headers['content-type'], /text\/html/);
  t.match(docs.body, /<html/i);
});

t.test('logs redact the authorization header and key material', async (t) => {
  const token = mint(issuers.NL, { roles: ['auditor'] });
  const badToken = `${token.slice(0, -4)}AAAA`;
  const before = ta.logs.lines.length;
  let res = await app.inject({ method: 'GET', url: '/test/log', headers: { authorization: `Bearer ${token}`, 'x-request-id': 'log-redact-1' } });
  t.equal(res.statusCode, 200, res.body);
  res = await app.inject({ method: 'GET', url: '/v1/jurisdictions', headers: { authorization: `Bearer ${badToken}` } });
  t.equal(res.statusCode, 401);
  res = await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: { authorization: `Bearer ${token}` }, payload: { code: 'ZZ', name: 'x', kind: 'state' } });
  t.equal(res.statusCode, 403);

  const lines = ta.logs.lines.slice(before);
  const text = lines.join('\n');
  t.ok(lines.length >= 6, 'the requests were logged (trace level)');
  t.ok(
    lines.some((l) => l.includes('"log-redact-1"')),
    'request log lines carry the request id',
  );
  const signature = token.split('.')[2]!;
  t.notOk(text.includes(signature), 'the token signature never appears in the log');
  t.notOk(text.includes(token.split('.')[1]!), 'the token payload never appears in the log');
  t.notOk(text.includes(badToken.split('.')[2]!), 'nor that of a refused token');
  t.notOk(text.includes('PRIVATE-KEY-MATERIAL'), 'private keys are redacted');
  t.notOk(text.includes('SIGNATURE-MATERIAL'), 'signatures are redacted');
  t.notOk(text.includes('BODY-MATERIAL'), 'bodies are redacted');
  const headerLine = lines.map((l) => JSON.parse(l) as { msg?: string; req?: { headers?: Record<string, string> }; headers?: Record<string, string> });
  // `req` goes through fastify's request serializer (which keeps no headers); a bare `headers` object is redacted.
  t.not(headerLine.find((l) => l.msg === 'headers (req.headers)')?.req?.headers?.['authorization'], `Bearer ${token}`);
  t.equal(headerLine.find((l) => l.msg === 'headers (headers)')?.headers?.['authorization'], '[redacted]');
  const top = headerLine.find((l) => l.msg === 'top-level key material') as Record<string, unknown> | undefined;
  t.ok(top, 'the top-level line was logged');
  t.equal(top?.['privateKey'], '[redacted]', 'a top-level privateKey is redacted');
  t.equal(top?.['signature'], '[redacted]', 'a top-level signature is redacted');
});
