/**
 * First resources (SPEC §2): jurisdictions with X25519 box key versions, and
 * officers' Ed25519 signing keys. Every successful change appends exactly the
 * custody entries it should; every refusal appends nothing.
 */
import nacl from 'tweetnacl';
import t, { type Test } from 'tap';
import { ed25519Generate } from '../../services/shared/ed25519.js';
import { buildTestApp, registerJurisdictions } from '../helpers/app.js';

const ta = await buildTestApp(t);
const { app, issuers } = ta;

const admin = (sub = 'platform-admin'): { authorization: string } => ta.auth('operator', ['admin'], { sub });
const auditor = ta.auth('ICC', ['auditor'], { sub: 'icc-auditor' });
const boxKey = (): string => Buffer.from(nacl.box.keyPair().publicKey).toString('base64');
const signingKey = (): string => ed25519Generate().publicKey.toString('base64');

interface Entry {
  seq: number;
  type: string;
  subject: string;
  actor: { iss: string; sub: string; jurisdiction: string | null } | null;
  data: Record<string, unknown>;
}

async function logSize(): Promise<number> {
  return app.custody.size();
}

/** Entries [start, end) through the auditor API. */
async function entries(start: number, end?: number): Promise<Entry[]> {
  const stop = end ?? (await logSize());
  const res = await app.inject({ method: 'GET', url: `/v1/log/entries?start=${start}&end=${stop}`, headers: auditor });
  if (res.statusCode !== 200) throw new Error(`log entries: ${res.statusCode} ${res.body}`);
  return (res.json() as { entries: Entry[] }).entries;
}

/** Run `fn`; it must not append any custody entry. */
async function appendsNothing(t: Test, what: string, fn: () => Promise<unknown>): Promise<void> {
  const before = await logSize();
  await fn();
  t.equal(await logSize(), before, `${what}: no custody entry`);
}

function problem(t: Test, res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, code: string): void {
  t.equal(res.statusCode, status, `status ${status}`);
  t.match(String(res.headers['content-type']), /application\/problem\+json/);
  t.match(res.json(), { status, code });
}

t.test('register: admin only, code pattern enforced, 409 on duplicate, one custody entry', async (t) => {
  const start = await logSize();
  const res = await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: admin(), payload: { code: 'NL', name: 'Netherlands', kind: 'state' } });
  t.equal(res.statusCode, 201, res.body);
  t.match(res.json(), { code: 'NL', name: 'Netherlands', kind: 'state', keys: [], currentKeyVersion: null });
  t.match(res.json().createdAt, /^\d{4}-\d\d-\d\dT/);

  const logged = await entries(start);
  t.equal(logged.length, 1, 'exactly one entry');
  t.match(logged[0], {
    type: 'jurisdiction.registered',
    subject: 'jurisdiction:NL',
    actor: { iss: issuers.operator.issuer, sub: 'platform-admin', jurisdiction: null },
    data: { code: 'NL', name: 'Netherlands', kind: 'state' },
  });

  await appendsNothing(t, 'duplicate', async () => {
    const dup = await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: admin(), payload: { code: 'NL', name: 'Again', kind: 'tribunal' } });
    problem(t, dup, 409, 'jurisdiction_exists');
  });
  const still = await app.inject({ method: 'GET', url: '/v1/jurisdictions/NL', headers: auditor });
  t.equal(still.json().name, 'Netherlands', 'the duplicate changed nothing');

  for (const code of ['nl', 'N', 'N'.repeat(17), 'N L', '1NL', 'NL\n', 'NL!', '', 'ÑL']) {
    await appendsNothing(t, `code ${JSON.stringify(code)}`, async () => {
      const bad = await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: admin(), payload: { code, name: 'x', kind: 'state' } });
      problem(t, bad, 400, 'validation_failed');
    });
  }
  const longest = await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: admin(), payload: { code: `N${'X'.repeat(15)}`, name: 'Sixteen', kind: 'organisation' } });
  t.equal(longest.statusCode, 201, '16 characters is the maximum');
  for (const code of ['ICC', 'IRMCT', 'EU_JUST', 'STL-2']) {
    const ok = await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: admin(), payload: { code, name: code, kind: 'tribunal' } });
    t.equal(ok.statusCode, 201, `${code} is a valid code`);
  }
  for (const payload of [{ code: 'FR', name: '', kind: 'state' }, { code: 'FR', name: 'France', kind: 'country' }, { code: 'FR', name: 'France' }]) {
    await appendsNothing(t, JSON.stringify(payload), async () => problem(t, await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: admin(), payload }), 400, 'validation_failed'));
  }

  // Not an admin: refused whatever else the token says.
  for (const [who, roles] of [
    ['NL', ['agreement_officer']],
    ['NL', ['investigator', 'registry', 'auditor', 'agreement_officer']],
    ['operator', ['auditor']],
    ['operator', []],
  ] as const) {
    await appendsNothing(t, `${who} ${roles.join(',')}`, async () => {
      const res = await app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: ta.auth(who, [...roles]), payload: { code: 'FR', name: 'France', kind: 'state' } });
      problem(t, res, 403, 'forbidden_role');
    });
  }
  await appendsNothing(t, 'no token', async () => problem(t, await app.inject({ method: 'POST', url: '/v1/jurisdictions', payload: { code: 'FR', name: 'France', kind: 'state' } }), 401, 'unauthorized'));
  t.equal((await app.inject({ method: 'GET', url: '/v1/jurisdictions/FR', headers: auditor })).statusCode, 404, 'FR was never created');
});

t.test('concurrent registrations of one code: exactly one wins', async (t) => {
  const start = await logSize();
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, i) => app.inject({ method: 'POST', url: '/v1/jurisdictions', headers: admin(`admin-${i}`), payload: { code: 'RACE', name: `try ${i}`, kind: 'state' } })),
  );
  const codes = results.map((r) => r.statusCode).sort();
  t.same(codes, [201, 409, 409, 409, 409, 409]);
  const logged = await entries(start);
  t.equal(logged.length, 1, 'one custody entry');
  t.equal(logged[0]?.subject, 'jurisdiction:RACE');
});

t.test('list with cursor pagination; get one; 404 unknown', async (t) => {
  await registerJurisdictions(ta, [{ code: 'AT' }, { code: 'BE' }, { code: 'ES' }, { code: 'FR' }, { code: 'IT' }]); // not DE: its officers stay unregistered
  const all = await app.inject({ method: 'GET', url: '/v1/jurisdictions?limit=1000', headers: ta.auth('DE', []) });
  t.equal(all.statusCode, 200);
  const allCodes = (all.json().items as Array<{ code: string }>).map((j) => j.code);
  t.same(allCodes, [...allCodes].sort(), 'ordered by code');
  t.equal(all.json().next, null, 'no next page');
  t.ok(allCodes.includes('AT') && allCodes.includes('NL'));

  // Walk in pages of 2: every code exactly once, in order.
  const walked: string[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 50; pages++) {
    const url: string = `/v1/jurisdictions?limit=2${after ? `&after=${encodeURIComponent(after)}` : ''}`;
    const res = await app.inject({ method: 'GET', url, headers: ta.auth('DE', []) });
    t.equal(res.statusCode, 200);
    const page = res.json() as { items: Array<{ code: string }>; next: string | null };
    t.ok(page.items.length <= 2);
    walked.push(...page.items.map((j) => j.code));
    if (page.next === null) break;
    t.equal(page.next, page.items[page.items.length - 1]?.code, 'next is the last code of the page');
    after = page.next;
  }
  t.same(walked, allCodes, 'pages cover the list exactly once');

  const tail = await app.inject({ method: 'GET', url: `/v1/jurisdictions?after=${allCodes[allCodes.length - 1]}`, headers: ta.auth('DE', []) });
  t.same(tail.json(), { items: [], next: null }, 'after the last code: an empty page');

  const one = await app.inject({ method: 'GET', url: '/v1/jurisdictions/BE', headers: ta.auth('NL', ['investigator']) });
  t.equal(one.statusCode, 200);
  t.match(one.json(), { code: 'BE', name: 'BE authority', kind: 'state', keys: [] });
  problem(t, await app.inject({ method: 'GET', url: '/v1/jurisdictions/XX', headers: auditor }), 404, 'not_found');
  problem(t, await app.inject({ method: 'GET', url: '/v1/jurisdictions', headers: {} }), 401, 'unauthorized');
});

t.test('key versions: rotation keeps old versions; admin or agreement_officer of that code', async (t) => {
  await registerJurisdictions(ta, [{ code: 'SE' }]);
  const start = await logSize();
  const keys = [boxKey(), boxKey(), boxKey()];

  let res = await app.inject({ method: 'PUT', url: '/v1/jurisdictions/SE/keys', headers: admin(), payload: { boxPublicKey: keys[0] } });
  t.equal(res.statusCode, 201, res.body);
  t.match(res.json(), { code: 'SE', keyVersion: 1, boxPublicKey: keys[0] });

  // SE has no issuer in the test setup: its keys are rotated by admins here, NL's by NL's own officer below.
  res = await app.inject({ method: 'PUT', url: '/v1/jurisdictions/SE/keys', headers: admin('admin-2'), payload: { boxPublicKey: keys[1] } });
  t.match(res.json(), { code: 'SE', keyVersion: 2, boxPublicKey: keys[1] });
  res = await app.inject({ method: 'PUT', url: '/v1/jurisdictions/SE/keys', headers: admin(), payload: { boxPublicKey: keys[2] } });
  t.match(res.json(), { code: 'SE', keyVersion: 3, boxPublicKey: keys[2] });

  const se = (await app.inject({ method: 'GET', url: '/v1/jurisdictions/SE', headers: auditor })).json();
  t.equal(se.currentKeyVersion, 3);
  t.same(
    se.keys.map((k: { keyVersion: number; boxPublicKey: string }) => [k.keyVersion, k.boxPublicKey]),
    [
      [1, keys[0]],
      [2, keys[1]],
      [3, keys[2]],
    ],
    'all versions kept, in order',
  );
  const listed = (await app.inject({ method: 'GET', url: '/v1/jurisdictions?after=SA&limit=1', headers: auditor })).json();
  t.equal(listed.items[0].code, 'SE');
  t.equal(listed.items[0].keys.length, 3, 'the list shows the keys too');

  const logged = await entries(start);
  t.same(
    logged.map((e) => [e.type, e.subject, e.data['keyVersion'], e.data['boxPublicKey'], e.actor?.sub]),
    [
      ['jurisdiction.key_added', 'jurisdiction:SE', 1, keys[0], 'platform-admin'],
      ['jurisdiction.key_added', 'jurisdiction:SE', 2, keys[1], 'admin-2'],
      ['jurisdiction.key_added', 'jurisdiction:SE', 3, keys[2], 'platform-admin'],
    ],
  );

  // NL's agreement officer may rotate NL's keys …
  const nlOfficer = ta.auth('NL', ['agreement_officer'], { sub: 'nl-officer' });
  const before = await logSize();
  const nlKey = boxKey();
  res = await app.inject({ method: 'PUT', url: '/v1/jurisdictions/NL/keys', headers: nlOfficer, payload: { boxPublicKey: nlKey } });
  t.equal(res.statusCode, 201, res.body);
  t.match(res.json(), { code: 'NL', keyVersion: 1, boxPublicKey: nlKey });
  const [nlEntry] = await entries(before);
  t.match(nlEntry, { type: 'jurisdiction.key_added', subject: 'jurisdiction:NL', actor: { iss: issuers.NL.issuer, sub: 'nl-officer', jurisdiction: 'NL' }, data: { keyVersion: 1 } });

  // … but not SE's; nor may an investigator or auditor of NL, or an operator without admin.
  const refusals: Array<[string, { authorization: string }, string, number, string]> = [
    ['NL officer on SE', nlOfficer, 'SE', 403, 'forbidden'],
    ['DE officer on NL', ta.auth('DE', ['agreement_officer']), 'NL', 403, 'forbidden'],
    ['NL investigator on NL', ta.auth('NL', ['investigator']), 'NL', 403, 'forbidden_role'],
    ['NL auditor on NL', ta.auth('NL', ['auditor', 'registry']), 'NL', 403, 'forbidden_role'],
    ['operator agreement_officer', ta.auth('operator', ['agreement_officer']), 'NL', 403, 'forbidden'],
    ['no token', {} as { authorization: string }, 'NL', 401, 'unauthorized'],
  ];
  for (const [what, headers, code, status, errorCode] of refusals) {
    await appendsNothing(t, what, async () => {
      const r = await app.inject({ method: 'PUT', url: `/v1/jurisdictions/${code}/keys`, headers, payload: { boxPublicKey: boxKey() } });
      t.equal(r.statusCode, status, what);
      t.equal(r.json().code, errorCode, what);
    });
  }
  const nl = (await app.inject({ method: 'GET', url: '/v1/jurisdictions/NL', headers: auditor })).json();
  t.equal(nl.keys.length, 1, 'refused rotations added no key');
});

t.test('key validation: duplicate 409, not 32 bytes 400, low-order point 422, unknown jurisdiction 404', async (t) => {
  await registerJurisdictions(ta, [{ code: 'PL' }]);
  const k = boxKey();
  let res = await app.inject({ method: 'PUT', url: '/v1/jurisdictions/PL/keys', headers: admin(), payload: { boxPublicKey: k } });
  t.equal(res.statusCode, 201);
  await appendsNothing(t, 'duplicate key', async () => {
    res = await app.inject({ method: 'PUT', url: '/v1/jurisdictions/PL/keys', headers: admin(), payload: { boxPublicKey: k } });
    problem(t, res, 409, 'key_already_registered');
  });

  const notKeys = [
    Buffer.alloc(31, 7).toString('base64'),
    Buffer.alloc(33, 7).toString('base64'),
    Buffer.alloc(32, 7).toString('base64').replace(/=$/, ''),
    Buffer.alloc(32, 7).toString('base64url'),
    Buffer.alloc(32, 0xfb).toString('hex'),
    `${k.slice(0, 10)}!${k.slice(11)}`,
    '',
  ];
  for (const boxPublicKey of notKeys) {
    await appendsNothing(t, `malformed ${boxPublicKey}`, async () => {
      problem(t, await app.inject({ method: 'PUT', url: '/v1/jurisdictions/PL/keys', headers: admin(), payload: { boxPublicKey } }), 400, 'validation_failed');
    });
  }
  await appendsNothing(t, 'extra field', async () => {
    problem(t, await app.inject({ method: 'PUT', url: '/v1/jurisdictions/PL/keys', headers: admin(), payload: { boxPublicKey: boxKey(), keyVersion: 9 } }), 400, 'validation_failed');
  });

  const lowOrder = [
    Buffer.alloc(32),
    Buffer.from('0100000000000000000000000000000000000000000000000000000000000000', 'hex'),
    Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex'),
    Buffer.from('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', 'hex'), // p-1 with the unused top bit set
  ];
  for (const key of lowOrder) {
    await appendsNothing(t, `low order ${key.toString('hex').slice(0, 8)}`, async () => {
      const r = await app.inject({ method: 'PUT', url: '/v1/jurisdictions/PL/keys', headers: admin(), payload: { boxPublicKey: key.toString('base64') } });
      problem(t, r, 422, 'invalid_key');
    });
  }

  await appendsNothing(t, 'unknown jurisdiction', async () => {
    problem(t, await app.inject({ method: 'PUT', url: '/v1/jurisdictions/XX/keys', headers: admin(), payload: { boxPublicKey: boxKey() } }), 404, 'not_found');
  });
  const pl = (await app.inject({ method: 'GET', url: '/v1/jurisdictions/PL', headers: auditor })).json();
  t.equal(pl.keys.length, 1, 'only the first key was added');
});

t.test('10 concurrent PUTs get distinct consecutive versions', async (t) => {
  await registerJurisdictions(ta, [{ code: 'CZ' }]);
  const first = boxKey();
  t.equal((await app.inject({ method: 'PUT', url: '/v1/jurisdictions/CZ/keys', headers: admin(), payload: { boxPublicKey: first } })).statusCode, 201);
  const start = await logSize();
  const keys = Array.from({ length: 10 }, boxKey);
  const results = await Promise.all(keys.map((boxPublicKey) => app.inject({ method: 'PUT', url: '/v1/jurisdictions/CZ/keys', headers: admin(), payload: { boxPublicKey } })));
  t.same(
    results.map((r) => r.statusCode),
    Array(10).fill(201),
  );
  const versions = results.map((r) => r.json().keyVersion as number).sort((a, b) => a - b);
  t.same(versions, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'distinct and consecutive after version 1');
  results.forEach((r, i) => t.equal(r.json().boxPublicKey, keys[i], 'each answer is about its own key'));

  const cz = (await app.inject({ method: 'GET', url: '/v1/jurisdictions/CZ', headers: auditor })).json();
  t.equal(cz.currentKeyVersion, 11);
  t.same(
    cz.keys.map((k: { keyVersion: number }) => k.keyVersion),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  );
  const logged = await entries(start);
  t.equal(logged.length, 10, 'one entry per rotation');
  t.same(logged.map((e) => e.data['keyVersion']).sort((a, b) => (a as number) - (b as number)), versions);

  // The same key sent concurrently: one 201, the rest 409.
  const same = boxKey();
  const dup = await Promise.all(Array.from({ length: 5 }, () => app.inject({ method: 'PUT', url: '/v1/jurisdictions/CZ/keys', headers: admin(), payload: { boxPublicKey: same } })));
  t.same(dup.map((r) => r.statusCode).sort(), [201, 409, 409, 409, 409]);
});

t.test('officer keys: register, idempotent, conflicts, refusals, custody', async (t) => {
  await registerJurisdictions(ta, [{ code: 'DK' }]);
  const alice = ta.auth('NL', ['investigator'], { sub: 'alice' });
  const bob = ta.auth('NL', ['agreement_officer'], { sub: 'bob' });
  const key = signingKey();
  const start = await logSize();

  let res = await app.inject({ method: 'POST', url: '/v1/officers/me/keys', headers: alice, payload: { publicKey: key } });
  t.equal(res.statusCode, 201, res.body);
  const created = res.json();
  t.match(created, { publicKey: key, jurisdiction: 'NL', sub: 'alice' });
  t.match(created.keyId, /^[0-9a-f-]{36}$/);
  const logged = await entries(start);
  t.equal(logged.length, 1);
  t.match(logged[0], {
    type: 'officer.key_registered',
    subject: 'jurisdiction:NL',
    actor: { iss: issuers.NL.issuer, sub: 'alice', jurisdiction: 'NL' },
    data: { keyId: created.keyId, publicKey: key, sub: 'alice', issuer: issuers.NL.issuer },
  });

  await appendsNothing(t, 'same key again by the same officer', async () => {
    res = await app.inject({ method: 'POST', url: '/v1/officers/me/keys', headers: alice, payload: { publicKey: key } });
    t.equal(res.statusCode, 200, 'already registered: 200');
    t.equal(res.json().keyId, created.keyId, 'the same keyId');
  });
  await appendsNothing(t, 'same key by another officer', async () => {
    problem(t, await app.inject({ method: 'POST', url: '/v1/officers/me/keys', headers: bob, payload: { publicKey: key } }), 409, 'key_already_registered');
  });
  await appendsNothing(t, 'same key, same sub, other issuer', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/officers/me/keys', headers: ta.auth('ICC', [], { sub: 'alice' }), payload: { publicKey: key } });
    problem(t, r, 409, 'key_already_registered');
  });
  await appendsNothing(t, 'operator token', async () => {
    problem(t, await app.inject({ method: 'POST', url: '/v1/officers/me/keys', headers: admin(), payload: { publicKey: signingKey() } }), 403, 'forbidden');
  });
  await appendsNothing(t, 'unregistered jurisdiction (DE)', async () => {
    problem(t, await app.inject({ method: 'POST', url: '/v1/officers/me/keys', headers: ta.auth('DE', ['investigator']), payload: { publicKey: signingKey() } }), 422, 'jurisdiction_unknown');
  });
  for (const publicKey of ['not base64!', Buffer.alloc(31, 1).toString('base64'), Buffer.alloc(64, 1).toString('base64'), key.replace(/=$/, ''), Buffer.from(key, 'base64').toString('base64url'), '']) {
    await appendsNothing(t, `malformed ${publicKey}`, async () => {
      problem(t, await app.inject({ method: 'POST', url: '/v1/officers/me/keys', headers: alice, payload: { publicKey } }), 400, 'validation_failed');
    });
  }
  await appendsNothing(t, 'unknown field', async () => {
    problem(t, await app.inject({ method: 'POST', url: '/v1/officers/me/keys', headers: alice, payload: { publicKey: signingKey(), jurisdiction: 'DK' } }), 400, 'validation_failed');
  });
  await appendsNothing(t, 'no token', async () => {
    problem(t, await app.inject({ method: 'POST', url: '/v1/officers/me/keys', payload: { publicKey: signingKey() } }), 401, 'unauthorized');
  });

  // A second key for alice, one for bob: lists are per officer.
  const key2 = signingKey();
  res = await app.inject({ method: 'POST', url: '/v1/officers/me/keys', headers: alice, payload: { publicKey: key2 } });
  t.equal(res.statusCode, 201);
  const bobKey = signingKey();
  res = await app.inject({ method: 'POST', url: '/v1/officers/me/keys', headers: bob, payload: { publicKey: bobKey } });
  t.equal(res.statusCode, 201);
  t.match(res.json(), { sub: 'bob', jurisdiction: 'NL' });

  const mine = await app.inject({ method: 'GET', url: '/v1/officers/me/keys', headers: alice });
  t.equal(mine.statusCode, 200);
  t.same(
    mine.json().items.map((k: { publicKey: string }) => k.publicKey).sort(),
    [key, key2].sort(),
    "alice sees her two keys, not bob's",
  );
  const bobs = await app.inject({ method: 'GET', url: '/v1/officers/me/keys', headers: bob });
  t.same(
    bobs.json().items.map((k: { publicKey: string }) => k.publicKey),
    [bobKey],
  );
  const aliceIcc = await app.inject({ method: 'GET', url: '/v1/officers/me/keys', headers: ta.auth('ICC', [], { sub: 'alice' }) });
  t.same(aliceIcc.json().items, [], 'the same sub at another issuer is another officer');
  problem(t, await app.inject({ method: 'GET', url: '/v1/officers/me/keys', headers: admin() }), 403, 'forbidden');
});

t.test('officer keys: small-order and non-canonical Ed25519 points are refused (they make signatures forgeable)', async (t) => {
  const alice = ta.auth('NL', ['investigator'], { sub: 'alice-weak' });
  const weak = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000080',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    'f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 3: non-canonical
  ];
  for (const hex of weak) {
    await appendsNothing(t, hex.slice(0, 8), async () => {
      const r = await app.inject({ method: 'POST', url: '/v1/officers/me/keys', headers: alice, payload: { publicKey: Buffer.from(hex, 'hex').toString('base64') } });
      problem(t, r, 422, 'invalid_key');
    });
  }
  const ok = await app.inject({ method: 'GET', url: '/v1/officers/me/keys', headers: alice });
  t.same(ok.json().items, [], 'none was registered');
});

t.test('the custody log of this file verifies', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/v1/log/verify', headers: auditor });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { ok: true, firstBad: null });
  const all = await entries(0);
  t.equal(all.length, await logSize());
  t.same(
    [...new Set(all.map((e) => e.type))].sort(),
    ['jurisdiction.key_added', 'jurisdiction.registered', 'officer.key_registered'],
    'only these kinds of changes happened',
  );
  all.forEach((e, i) => t.equal(e.seq, i, `seq ${i}`, { diagnostic: false }));
});
