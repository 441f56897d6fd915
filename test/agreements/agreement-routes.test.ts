/**
 * Every agreement lifecycle route over HTTP (SPEC §2–3): draft (and its
 * validation), sign, activation, suspend, resume, amend, terminate; reading
 * by parties and auditors with the full history of every version's terms;
 * non-parties get the 404 of a missing agreement; roles; and every step is a
 * custody entry with subject `agreement:<id>`, read back through
 * GET /v1/log/entries with an auditor token.
 */
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { termsHash, type AgreementTerms } from '../../services/agreements/terms.js';
import { buildTestApp, registerJurisdictions } from '../helpers/app.js';
import {
  addBoxKey,
  agreementTerms,
  logEntriesSince,
  logSize,
  postRelease,
  postSignature,
  prepareBundle,
  registerOfficer,
  uploadBundle,
  wrapFor,
  type AgreementTermsInput,
  type LoggedEntry,
} from '../helpers/evidence.js';

interface HistoryItem {
  seq: number;
  type: string;
  version: number;
  status: string;
  actor: { jurisdiction: string; sub: string };
  terms?: AgreementTermsInput;
  data: Record<string, unknown>;
}

t.test('agreement lifecycle over HTTP', async (t) => {
  const ta = await buildTestApp(t);
  const { app } = ta;
  await registerJurisdictions(ta, [{ code: 'NL' }, { code: 'ICC', kind: 'tribunal' }, { code: 'DE' }]);
  const nlKeys = await addBoxKey(ta, 'NL');
  const iccKeys = await addBoxKey(ta, 'ICC');
  const nlOfficer = await registerOfficer(ta, 'NL', 'nl-agreements', ['agreement_officer']);
  const iccOfficer = await registerOfficer(ta, 'ICC', 'icc-agreements', ['agreement_officer']);
  const deOfficer = await registerOfficer(ta, 'DE', 'de-agreements', ['agreement_officer']);
  const nlInvestigator = await registerOfficer(ta, 'NL', 'nl-investigator', ['investigator']);
  const iccRegistry = await registerOfficer(ta, 'ICC', 'icc-registry', ['registry']);
  const operatorAuditor = ta.auth('operator', ['auditor'], { sub: 'op-auditor' });
  const start = await logSize(ta);

  const prepared = prepareBundle(nlInvestigator, nlKeys, [Buffer.from('exhibit')], { crimeCategory: 'war_crimes', classification: 'confidential' });
  const bundleId = await uploadBundle(ta, nlInvestigator, prepared);
  const release = () => postRelease(ta, nlInvestigator, bundleId, { recipient: 'ICC', keyWrap: wrapFor(prepared, iccKeys) });
  const iccDownload = async () => (await app.inject({ url: `/v1/bundles/${bundleId}/files/0`, headers: iccRegistry.headers })).statusCode;

  const post = (path: string, headers: Record<string, string>, payload: unknown) => app.inject({ method: 'POST', url: path, headers, payload: payload as Record<string, unknown> });
  const base = agreementTerms('NL', 'ICC');

  // --- draft ---------------------------------------------------------------
  await t.test('draft: invalid terms are 400 terms_invalid with every problem named', async (t) => {
    const cases: Array<[string, unknown, string[]]> = [
      ['missing fields', { parties: ['NL', 'ICC'] }, ['field_missing']],
      ['an unknown field', { ...base, extra: true }, ['field_unknown']],
      ['a self-agreement', { ...base, parties: ['NL', 'NL'] }, ['parties_identical']],
      ['an unregistered party', { ...base, parties: ['NL', 'XX'] }, ['party_unknown']],
      ['validFrom not before validUntil', { ...base, validFrom: base.validUntil }, ['validity_window_empty']],
      ['no purposes', { ...base, purposes: [] }, ['purposes_empty']],
      ['an unknown crime category', { ...base, crimeCategories: ['jaywalking'] }, ['crime_category_unknown']],
      ['an unknown classification', { ...base, maxClassification: 'top_secret' }, ['classification_unknown']],
      ['a bad direction and a bad date', { ...base, direction: 'sideways', validUntil: 'tomorrow' }, ['direction_invalid', 'valid_until_invalid']],
    ];
    for (const [name, terms, codes] of cases) {
      const res = await post('/v1/agreements', nlOfficer.headers, { terms });
      t.equal(res.statusCode, 400, `${name}: 400`);
      t.equal(res.json().code, 'terms_invalid', `${name}: terms_invalid`);
      const got = (res.json().errors as Array<{ code: string; path: string }>).map((p) => p.code);
      for (const c of codes) t.ok(got.includes(c), `${name}: problem ${c} (${got.join(', ')})`);
    }
    const missing = await post('/v1/agreements', nlOfficer.headers, { terms: { parties: ['NL', 'ICC'] } });
    t.same(
      (missing.json().errors as Array<{ code: string; path: string }>).filter((p) => p.code === 'field_missing').map((p) => p.path).sort(),
      ['/crimeCategories', '/direction', '/legalBasis', '/maxClassification', '/onwardTransfer', '/purposes', '/validFrom', '/validUntil'],
      'every missing field is named',
    );
    for (const [name, terms] of [
      ['NUL in the legal basis', { ...base, legalBasis: 'MLA\u0000treaty' }],
      ['NUL in a purpose', { ...base, purposes: ['trial\u0000'] }],
      ['NUL in a member name', { ...base, ['x\u0000']: 1 }],
    ] as const) {
      const res = await post('/v1/agreements', nlOfficer.headers, { terms });
      t.equal(res.statusCode, 400, `${name}: 400, not a 500`);
    }
    const unknownBody = await post('/v1/agreements', nlOfficer.headers, { terms: base, note: 'hi' });
    t.equal(unknownBody.statusCode, 400, 'an unknown body field: 400');
    t.equal(unknownBody.json().code, 'validation_failed');
    const noTerms = await post('/v1/agreements', nlOfficer.headers, {});
    t.equal(noTerms.statusCode, 400, 'no terms: 400');
  });

  await t.test('draft: only agreement officers of a party', async (t) => {
    const forOthers = await post('/v1/agreements', nlOfficer.headers, { terms: agreementTerms('ICC', 'DE') });
    t.equal(forOthers.statusCode, 403, 'NL drafting ICC–DE terms: 403');
    t.equal(forOthers.json().code, 'not_a_party');
    for (const [name, headers] of [
      ['investigator', nlInvestigator.headers],
      ['registry', iccRegistry.headers],
      ['auditor', ta.auth('NL', ['auditor'])],
      ['no roles', ta.auth('NL', [])],
    ] as const) {
      const res = await post('/v1/agreements', headers, { terms: base });
      t.equal(res.statusCode, 403, `${name} cannot draft: 403`);
      t.equal(res.json().code, 'forbidden_role');
    }
    const operator = await post('/v1/agreements', ta.auth('operator', ['agreement_officer']), { terms: base });
    t.equal(operator.statusCode, 403, 'the operator cannot make agreements');
    t.equal((await app.inject({ url: '/v1/agreements', headers: operatorAuditor })).json().items.length, 0, 'nothing was stored by any refused draft');
  });

  const drafted = await post('/v1/agreements', nlOfficer.headers, { terms: base });
  t.equal(drafted.statusCode, 201, drafted.body);
  const id = drafted.json().id as string;
  const url = `/v1/agreements/${id}`;
  t.match(drafted.json(), { id, version: 1, status: 'draft', terms: base, signatures: [], history: [{ seq: 0, type: 'agreement.drafted', version: 1, status: 'draft', terms: base }] }, 'the draft: version 1, no signatures');

  // --- roles and non-parties on every action --------------------------------
  await t.test('actions need an agreement officer of a party; non-parties get the 404 of a missing agreement, recorded', async (t) => {
    const actions: Array<[string, unknown]> = [
      ['signatures', { version: 1, signature: Buffer.alloc(64).toString('base64') }],
      ['suspend', { reason: 'x' }],
      ['terminate', { reason: 'x' }],
      ['resume', {}],
      ['versions', { terms: base }],
    ];
    for (const [action, payload] of actions) {
      const inv = await post(`${url}/${action}`, nlInvestigator.headers, payload);
      t.equal(inv.statusCode, 403, `${action} by an NL investigator: 403`);
      t.equal(inv.json().code, 'forbidden_role');
      const before = await logSize(ta);
      const de = await post(`${url}/${action}`, deOfficer.headers, payload);
      const ghostId = randomUUID();
      const ghost = await post(`/v1/agreements/${ghostId}/${action}`, deOfficer.headers, payload);
      t.equal(de.statusCode, 404, `${action} by a DE officer (no party): 404`);
      t.same({ ...de.json(), detail: de.json().detail.replace(id, '<id>') }, { ...ghost.json(), detail: ghost.json().detail.replace(ghostId, '<id>') }, `${action} by DE: the same 404 as for a random id`);
      t.ok((await logEntriesSince(ta, before)).some((e) => e.type === 'access.denied' && e.subject === `agreement:${id}` && e.actor?.jurisdiction === 'DE' && e.data['action'] !== undefined), `${action} by DE: recorded`);
    }
    const view = await app.inject({ url, headers: nlOfficer.headers });
    t.match(view.json(), { version: 1, status: 'draft', signatures: [] }, 'none of it changed the agreement');
  });

  // --- sign and activate -----------------------------------------------------
  await t.test('sign: one party leaves it a draft, the second activates it', async (t) => {
    const first = await postSignature(ta, nlOfficer, id, 1, base);
    t.equal(first.statusCode, 200);
    t.match(first.json(), { status: 'draft', signatures: [{ jurisdiction: 'NL', sub: 'nl-agreements' }] });
    t.equal((await release()).json().code, 'agreement_inactive', 'one signature releases nothing');
    const again = await postSignature(ta, nlOfficer, id, 1, base);
    t.equal(again.statusCode, 409, 'NL signing twice: 409');
    t.equal(again.json().code, 'already_signed');
    const second = await postSignature(ta, iccOfficer, id, 1, base);
    t.equal(second.statusCode, 200);
    t.match(second.json(), { status: 'active', version: 1 });
    t.same(second.json().signatures.map((s: { jurisdiction: string }) => s.jurisdiction), ['NL', 'ICC']);
    t.same(second.json().history.map((h: HistoryItem) => `${h.type}/${h.status}`), ['agreement.drafted/draft', 'agreement.signed/draft', 'agreement.signed/draft', 'agreement.activated/active']);
    const afterActive = await postSignature(ta, iccOfficer, id, 1, base);
    t.equal(afterActive.json().code, 'invalid_transition', 'signing an active agreement: 409 invalid_transition');
    const granted = await release();
    t.equal(granted.statusCode, 201, granted.body);
    t.equal(await iccDownload(), 200, 'ICC downloads under the active agreement');
  });

  // --- suspend / resume ----------------------------------------------------
  await t.test('suspend: either party, at once; a reason is required', async (t) => {
    const blank = await post(`${url}/suspend`, iccOfficer.headers, { reason: '   ' });
    t.equal(blank.statusCode, 400, 'a blank reason: 400');
    t.equal(blank.json().code, 'reason_invalid');
    t.equal((await post(`${url}/suspend`, iccOfficer.headers, {})).statusCode, 400, 'no reason: 400');
    t.equal((await post(`${url}/suspend`, iccOfficer.headers, { reason: 'a\u0000b' })).statusCode, 400, 'NUL in the reason: 400, not a 500');
    const res = await post(`${url}/suspend`, iccOfficer.headers, { reason: 'review of the request' });
    t.equal(res.statusCode, 200);
    t.equal(res.json().status, 'suspended');
    t.equal(res.json().version, 1, 'suspension keeps the version');
    t.equal(await iccDownload(), 404, "ICC's next download is refused");
    const twice = await post(`${url}/suspend`, nlOfficer.headers, { reason: 'again' });
    t.equal(twice.statusCode, 409, 'suspending a suspended agreement: 409');
    t.equal(twice.json().code, 'invalid_transition');
    t.equal((await postSignature(ta, nlOfficer, id, 1, base)).json().code, 'invalid_transition', 'signing a suspended agreement: 409');
  });

  await t.test('resume: a new draft version that both parties must sign again; releases refused until then', async (t) => {
    const res = await post(`${url}/resume`, nlOfficer.headers, {});
    t.equal(res.statusCode, 200);
    t.match(res.json(), { version: 2, status: 'draft', signatures: [], terms: base });
    t.equal((await release()).json().code, 'agreement_inactive', 'resumed, unsigned: no release');
    t.equal(await iccDownload(), 404, 'resumed, unsigned: no access');
    t.equal((await post(`${url}/resume`, nlOfficer.headers, {})).json().code, 'invalid_transition', 'resuming a draft: 409');
    const stale = await postSignature(ta, iccOfficer, id, 1, base);
    t.equal(stale.statusCode, 409, 'a signature for version 1: 409');
    t.equal(stale.json().code, 'version_mismatch');
    t.equal((await postSignature(ta, iccOfficer, id, 2, base)).json().status, 'draft', 'ICC signs version 2: still a draft');
    t.equal(await iccDownload(), 404, 'one fresh signature: still no access');
    t.equal((await postSignature(ta, nlOfficer, id, 2, base)).json().status, 'active', 'NL signs version 2: active');
    t.equal(await iccDownload(), 200, 'both signed again: the release lives again');
  });

  // --- amend -----------------------------------------------------------------
  const amendedTerms: AgreementTermsInput = { ...base, purposes: ['trial'], maxClassification: 'secret' };
  await t.test('amend: a new terms version, a draft needing both signatures; releases stop until then', async (t) => {
    const same = await post(`${url}/versions`, iccOfficer.headers, { terms: base });
    t.equal(same.statusCode, 409, 'unchanged terms: 409');
    t.equal(same.json().code, 'terms_unchanged');
    const otherParties = await post(`${url}/versions`, iccOfficer.headers, { terms: { ...base, parties: ['ICC', 'DE'] } });
    t.equal(otherParties.statusCode, 422, 'other parties: 422');
    t.equal(otherParties.json().code, 'parties_changed');
    const invalid = await post(`${url}/versions`, iccOfficer.headers, { terms: { ...base, purposes: [] } });
    t.equal(invalid.statusCode, 400, 'invalid terms: 400');
    t.match(invalid.json(), { code: 'terms_invalid', errors: [{ code: 'purposes_empty', path: '/purposes' }] });

    t.equal((await post(`${url}/versions`, iccOfficer.headers, { terms: { ...amendedTerms, legalBasis: '\u0000' } })).statusCode, 400, 'NUL in amended terms: 400, not a 500');
    const res = await post(`${url}/versions`, iccOfficer.headers, { terms: amendedTerms });
    t.equal(res.statusCode, 200, res.body);
    t.match(res.json(), { version: 3, status: 'draft', signatures: [], terms: amendedTerms });
    t.equal(await iccDownload(), 404, 'amended, unsigned: access stops');
    t.equal((await release()).json().code, 'agreement_inactive', 'amended, unsigned: no release');
    t.equal((await postSignature(ta, nlOfficer, id, 3, base)).json().code, 'signature_invalid', 'a signature over the old terms does not count for the new version');
    t.equal((await postSignature(ta, nlOfficer, id, 3, amendedTerms)).json().status, 'draft');
    t.equal(await iccDownload(), 404, 'one signature on the amendment: still no access');
    t.equal((await postSignature(ta, iccOfficer, id, 3, amendedTerms)).json().status, 'active');
    t.equal(await iccDownload(), 200, 'both signed the amendment, which still covers the release: access again');
  });

  // --- reading -----------------------------------------------------------------
  await t.test('GET: parties (any role) and auditors see the full history of every version; others 404', async (t) => {
    for (const [name, headers] of [
      ['NL agreement officer', nlOfficer.headers],
      ['ICC agreement officer', iccOfficer.headers],
      ['NL investigator', nlInvestigator.headers],
      ['ICC registry', iccRegistry.headers],
      ['NL auditor', ta.auth('NL', ['auditor'])],
      ['operator auditor', operatorAuditor],
    ] as const) {
      const res = await app.inject({ url, headers });
      t.equal(res.statusCode, 200, `${name}: 200`);
      const body = res.json();
      t.match(body, { id, version: 3, status: 'active', terms: amendedTerms, termsSha256: termsHash(amendedTerms as AgreementTerms) }, `${name}: current version`);
      const versions = (body.history as HistoryItem[]).filter((h) => h.terms !== undefined).map((h) => [h.version, h.type, termsHash(h.terms as AgreementTerms)]);
      t.same(
        versions,
        [
          [1, 'agreement.drafted', termsHash(base as AgreementTerms)],
          [2, 'agreement.resumed', termsHash(base as AgreementTerms)],
          [3, 'agreement.amended', termsHash(amendedTerms as AgreementTerms)],
        ],
        `${name}: the terms of every version`,
      );
      const list = await app.inject({ url: '/v1/agreements', headers });
      t.ok((list.json().items as Array<{ id: string }>).some((a) => a.id === id), `${name}: listed`);
    }
    for (const [name, headers] of [
      ['DE agreement officer', deOfficer.headers],
      ['DE auditor', ta.auth('DE', ['auditor'])],
      ['operator admin (not an auditor)', ta.auth('operator', ['admin'])],
    ] as const) {
      const res = await app.inject({ url, headers });
      const ghostId = randomUUID();
      const ghost = await app.inject({ url: `/v1/agreements/${ghostId}`, headers });
      t.equal(res.statusCode, 404, `${name}: 404`);
      t.same({ ...res.json(), detail: res.json().detail.replace(id, '<id>') }, { ...ghost.json(), detail: ghost.json().detail.replace(ghostId, '<id>') }, `${name}: the 404 of a missing agreement`);
      const list = await app.inject({ url: '/v1/agreements', headers });
      t.equal(list.statusCode, 200);
      t.notOk((list.json().items as Array<{ id: string }>).some((a) => a.id === id), `${name}: not listed`);
    }
  });

  await t.test('GET /v1/agreements is paginated', async (t) => {
    const more: string[] = [];
    for (let i = 0; i < 3; i++) more.push((await post('/v1/agreements', iccOfficer.headers, { terms: agreementTerms('ICC', 'NL', { legalBasis: `MoU ${i}` }) })).json().id as string);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res = await app.inject({ url: `/v1/agreements?limit=1${after ? `&after=${after}` : ''}`, headers: nlOfficer.headers });
      t.equal(res.json().items.length <= 1, true);
      seen.push(...(res.json().items as Array<{ id: string }>).map((a) => a.id));
      after = res.json().next as string | null;
      if (after === null) break;
    }
    t.same([...seen].sort(), [id, ...more].sort(), 'every NL agreement once, page by page');
  });

  await t.test('an id is one id however it is spelled: upper case is the same agreement, other forms are 400', async (t) => {
    const before = await logSize(ta);
    const upper = await app.inject({ url: `/v1/agreements/${id.toUpperCase()}`, headers: nlOfficer.headers });
    t.equal(upper.statusCode, 200, 'upper case: the same agreement');
    t.equal(upper.json().id, id);
    for (const form of [`urn:uuid:${id}`, `{${id}}`, id.replace(/-/g, '')]) {
      const read = await app.inject({ url: `/v1/agreements/${encodeURIComponent(form)}`, headers: nlOfficer.headers });
      t.equal(read.statusCode, 400, `GET ${form}: 400, not a 500`);
      const act = await post(`/v1/agreements/${encodeURIComponent(form)}/suspend`, nlOfficer.headers, { reason: 'x' });
      t.equal(act.statusCode, 400, `suspend ${form}: 400, not a 500`);
    }
    const de = await app.inject({ url: `/v1/agreements/${id.toUpperCase()}`, headers: deOfficer.headers });
    t.equal(de.statusCode, 404, 'DE, upper case: 404');
    const entries = await logEntriesSince(ta, before);
    t.ok(entries.some((e) => e.type === 'access.denied' && e.subject === `agreement:${id}`), "DE's upper-case attempt is recorded on the agreement's own chain");
    t.notOk(entries.some((e) => e.subject !== e.subject.toLowerCase()), 'no subject in another spelling');
  });

  // --- terminate -------------------------------------------------------------
  await t.test('terminate: final; every later action is 409 agreement_terminated', async (t) => {
    const res = await post(`${url}/terminate`, nlOfficer.headers, { reason: 'treaty withdrawn' });
    t.equal(res.statusCode, 200);
    t.match(res.json(), { status: 'terminated', version: 3 });
    t.equal(await iccDownload(), 404, 'access stops at once');
    t.equal((await release()).json().code, 'agreement_inactive', 'no release');
    const after: Array<[string, unknown]> = [
      ['signatures', { version: 3, signature: Buffer.alloc(64).toString('base64') }],
      ['suspend', { reason: 'x' }],
      ['terminate', { reason: 'x' }],
      ['resume', {}],
      ['versions', { terms: { ...amendedTerms, purposes: ['investigation'] } }],
    ];
    for (const [action, payload] of after) {
      const r = await post(`${url}/${action}`, iccOfficer.headers, payload);
      t.equal(r.statusCode, 409, `${action} after termination: 409`);
      t.equal(r.json().code, 'agreement_terminated', `${action} after termination: agreement_terminated`);
    }
    t.match((await app.inject({ url, headers: iccOfficer.headers })).json(), { status: 'terminated', version: 3 }, 'still terminated, still version 3');
  });

  // --- custody -----------------------------------------------------------------
  await t.test('every step is a custody entry with subject agreement:<id>, matching the history', async (t: Test) => {
    const entries: LoggedEntry[] = (await logEntriesSince(ta, start)).filter((e) => e.subject === `agreement:${id}`);
    const history = (await app.inject({ url, headers: operatorAuditor })).json().history as HistoryItem[];
    const steps = entries.filter((e) => e.type.startsWith('agreement.') && e.type !== 'agreement.refused');
    t.same(
      steps.map((e) => e.type),
      history.map((h) => h.type),
      'one custody entry per history item, in order',
    );
    t.same(steps.map((e) => e.type), [
      'agreement.drafted',
      'agreement.signed',
      'agreement.signed',
      'agreement.activated',
      'agreement.suspended',
      'agreement.resumed',
      'agreement.signed',
      'agreement.signed',
      'agreement.activated',
      'agreement.amended',
      'agreement.signed',
      'agreement.signed',
      'agreement.activated',
      'agreement.terminated',
    ]);
    for (const [i, e] of steps.entries()) {
      const h = history[i]!;
      t.equal(e.actor?.jurisdiction, h.actor.jurisdiction, `${e.type} #${i}: same actor as the history`);
      t.same(e.data, h.data, `${e.type} #${i}: same data as the history`);
    }
    const hashes = steps.filter((e) => ['agreement.drafted', 'agreement.resumed', 'agreement.amended'].includes(e.type)).map((e) => e.data['termsHash']);
    t.same(hashes, [termsHash(base as AgreementTerms), termsHash(base as AgreementTerms), termsHash(amendedTerms as AgreementTerms)], "each version's terms hash is in the log");
    for (const e of steps) t.notOk(JSON.stringify(e.data).includes(base.legalBasis), `${e.type}: no terms text in the log, only their hash`);
    const refused = entries.filter((e) => e.type === 'agreement.refused').map((e) => `${e.data['action']}:${e.data['reason']}`);
    t.ok(refused.includes('sign:already_signed'), 'refused actions are recorded too (already_signed)');
    t.ok(refused.includes('terminate:agreement_terminated'), 'and after termination (agreement_terminated)');
    t.equal(entries.filter((e) => e.type === 'access.denied' && e.actor?.jurisdiction === 'DE').length, 5 + 3, "DE's attempts (5 actions, 3 reads) are on the agreement's chain");
    t.equal(entries.filter((e) => e.type === 'access.denied' && e.actor?.jurisdiction === null).length, 1, "and the operator admin's read");
    const verify = await app.inject({ url: '/v1/log/verify', headers: operatorAuditor });
    t.same(verify.json().firstBad, null, 'the log verifies');
  });
});

t.test('suspension takes effect at once: a release racing a suspension is not granted after it', async (t) => {
  const ta = await buildTestApp(t);
  const { app } = ta;
  await registerJurisdictions(ta, [{ code: 'NL' }, { code: 'ICC', kind: 'tribunal' }]);
  const nlKeys = await addBoxKey(ta, 'NL');
  const iccKeys = await addBoxKey(ta, 'ICC');
  const nlOfficer = await registerOfficer(ta, 'NL', 'nl-agreements', ['agreement_officer']);
  const iccOfficer = await registerOfficer(ta, 'ICC', 'icc-agreements', ['agreement_officer']);
  const nlInvestigator = await registerOfficer(ta, 'NL', 'nl-investigator', ['investigator']);
  const terms = agreementTerms('NL', 'ICC');
  const drafted = await app.inject({ method: 'POST', url: '/v1/agreements', headers: nlOfficer.headers, payload: { terms } });
  const id = drafted.json().id as string;
  await postSignature(ta, nlOfficer, id, 1, terms);
  await postSignature(ta, iccOfficer, id, 1, terms);
  let version = 1;
  for (let round = 0; round < 8; round++) {
    const prepared = prepareBundle(nlInvestigator, nlKeys, [Buffer.from(`exhibit ${round}`)]);
    const bundleId = await uploadBundle(ta, nlInvestigator, prepared);
    const before = await logSize(ta);
    const [suspended, released] = await Promise.all([
      app.inject({ method: 'POST', url: `/v1/agreements/${id}/suspend`, headers: iccOfficer.headers, payload: { reason: `race ${round}` } }),
      postRelease(ta, nlInvestigator, bundleId, { recipient: 'ICC', keyWrap: wrapFor(prepared, iccKeys) }),
    ]);
    t.equal(suspended.statusCode, 200, `round ${round}: suspended`);
    const log = await logEntriesSince(ta, before);
    const suspendedAt = log.find((e) => e.type === 'agreement.suspended')!.seq;
    const granted = log.find((e) => e.type === 'release.granted');
    if (released.statusCode === 201) t.ok(granted !== undefined && granted.seq < suspendedAt, `round ${round}: granted, and before the suspension in the log`);
    else t.equal(released.json().code, 'agreement_inactive', `round ${round}: refused as inactive`);
    // Active again for the next round.
    const resumed = await app.inject({ method: 'POST', url: `/v1/agreements/${id}/resume`, headers: nlOfficer.headers, payload: {} });
    version = resumed.json().version as number;
    await postSignature(ta, nlOfficer, id, version, terms);
    await postSignature(ta, iccOfficer, id, version, terms);
  }
});
