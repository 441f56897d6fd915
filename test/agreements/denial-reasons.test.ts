/**
 * Every denial reason of SPEC §3, each produced by a real
 * `POST /v1/bundles/:id/releases` with its exact problem `code` and `reason`,
 * and each recorded as `release.denied` with that reason in the bundle's
 * custody. One NL–ICC agreement is taken through the states and amendments
 * that make each reason the first failing one. Also: one party's signature
 * releases nothing; signatures by the wrong key, by a non-party or over other
 * terms are refused; key wraps for the wrong recipient or an old key version
 * are refused; a second live release is a conflict; revocation then
 * re-release works.
 */
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { unwrapBundleKey } from '../../services/envelope/index.js';
import { buildTestApp, registerJurisdictions } from '../helpers/app.js';
import {
  addBoxKey,
  agreementAction,
  agreementTerms,
  logEntriesSince,
  logSize,
  makeAgreement,
  postRelease,
  postSignature,
  prepareBundle,
  registerOfficer,
  signTerms,
  uploadBundle,
  wrapFor,
  type AgreementTermsInput,
  type JurisdictionKeys,
  type Officer,
  type PreparedBundle,
} from '../helpers/evidence.js';

t.test('SPEC §3 denial reasons over HTTP, signatures, wraps, conflicts and re-release', async (t) => {
  const ta = await buildTestApp(t);
  const { app } = ta;
  await registerJurisdictions(ta, [{ code: 'NL' }, { code: 'ICC', kind: 'tribunal' }, { code: 'DE' }]);
  const nlKeys = await addBoxKey(ta, 'NL');
  let iccKeys = await addBoxKey(ta, 'ICC');
  const deKeys = await addBoxKey(ta, 'DE');
  const nlOfficer = await registerOfficer(ta, 'NL', 'nl-agreements', ['agreement_officer']);
  const iccOfficer = await registerOfficer(ta, 'ICC', 'icc-agreements', ['agreement_officer']);
  const deOfficer = await registerOfficer(ta, 'DE', 'de-agreements', ['agreement_officer']);
  const nlInvestigator = await registerOfficer(ta, 'NL', 'nl-investigator', ['investigator']);
  const iccInvestigator = await registerOfficer(ta, 'ICC', 'icc-investigator', ['investigator']);
  const iccRegistry = await registerOfficer(ta, 'ICC', 'icc-registry', ['registry']);

  const sealedBundle = async (): Promise<{ id: string; prepared: PreparedBundle }> => {
    const prepared = prepareBundle(nlInvestigator, nlKeys, [Buffer.from('statement'), Buffer.alloc(1500, 1)], { crimeCategory: 'war_crimes', classification: 'confidential' });
    return { id: await uploadBundle(ta, nlInvestigator, prepared), prepared };
  };
  const bundle = await sealedBundle();
  const openPrepared = prepareBundle(nlInvestigator, nlKeys, [Buffer.from('not yet sealed')], { crimeCategory: 'war_crimes', classification: 'confidential' });
  const openBundle = { id: await uploadBundle(ta, nlInvestigator, openPrepared, { seal: false }), prepared: openPrepared };

  const release = (b: { id: string; prepared: PreparedBundle }, opts: { by?: Officer; to?: JurisdictionKeys; purpose?: string; keyWrap?: unknown } = {}) => {
    const to = opts.to ?? iccKeys;
    return postRelease(ta, opts.by ?? nlInvestigator, b.id, { recipient: to.code, purpose: opts.purpose ?? 'trial', keyWrap: opts.keyWrap ?? wrapFor(b.prepared, to) });
  };

  /** 403 with `code` = `reason` = the SPEC reason, and a `release.denied` entry with that reason by that caller. */
  async function expectDenied(
    t: Test,
    reason: string,
    what: string,
    opts: { bundle?: { id: string; prepared: PreparedBundle }; by?: Officer; to?: JurisdictionKeys; purpose?: string } = {},
  ): Promise<void> {
    const b = opts.bundle ?? bundle;
    const by = opts.by ?? nlInvestigator;
    const before = await logSize(ta);
    const res = await release(b, opts);
    t.equal(res.statusCode, 403, `${what}: 403 (${res.body.slice(0, 200)})`);
    t.match(res.headers['content-type'], /^application\/problem\+json/, `${what}: problem+json`);
    t.match(res.json(), { status: 403, code: reason, reason, type: `urn:evx:problem:${reason}` }, `${what}: code and reason ${reason}`);
    const entries = await logEntriesSince(ta, before);
    t.ok(
      entries.some((e) => e.type === 'release.denied' && e.subject === `bundle:${b.id}` && e.actor?.sub === by.sub && e.data['reason'] === reason),
      `${what}: release.denied with reason ${reason} in the bundle's custody`,
    );
    t.notOk(entries.some((e) => e.type === 'release.granted'), `${what}: nothing granted`);
  }

  /** Amend the agreement to `terms` (a new draft version) and have both parties sign it: active again. */
  async function amendAndSign(id: string, terms: AgreementTermsInput): Promise<number> {
    const res = await app.inject({ method: 'POST', url: `/v1/agreements/${id}/versions`, headers: nlOfficer.headers, payload: { terms } });
    if (res.statusCode !== 200) throw new Error(`amend: ${res.statusCode} ${res.body}`);
    const version = res.json().version as number;
    for (const o of [nlOfficer, iccOfficer]) {
      const s = await postSignature(ta, o, id, version, terms);
      if (s.statusCode !== 200) throw new Error(`sign v${version} as ${o.sub}: ${s.statusCode} ${s.body}`);
    }
    return version;
  }

  // --- no_agreement --------------------------------------------------------
  await t.test('no_agreement: no agreement between owner and recipient at all', async (t) => {
    await expectDenied(t, 'no_agreement', 'NL → ICC before any agreement');
    await expectDenied(t, 'no_agreement', 'NL → DE', { to: deKeys });
  });

  // --- agreement_inactive: draft, and signed by only one party ---------------
  const base = agreementTerms('NL', 'ICC');
  const agreement = await makeAgreement(ta, nlOfficer, base);
  await t.test('agreement_inactive: a draft releases nothing', async (t) => {
    await expectDenied(t, 'agreement_inactive', 'draft');
  });
  await t.test('an agreement signed by one party only releases nothing', async (t) => {
    const signed = await postSignature(ta, nlOfficer, agreement.id, 1, base);
    t.equal(signed.statusCode, 200);
    t.match(signed.json(), { status: 'draft', signatures: [{ jurisdiction: 'NL' }] });
    await expectDenied(t, 'agreement_inactive', 'signed by NL only');
  });

  // --- signatures that must not count --------------------------------------
  await t.test('signatures by the wrong key, by a non-party or over other terms are refused', async (t) => {
    const before = await logSize(ta);
    // A DE officer signing NL–ICC terms: DE is no party and must not even learn the agreement exists.
    const byDe = await postSignature(ta, deOfficer, agreement.id, 1, base);
    const ghostId = randomUUID();
    const ghost = await postSignature(ta, deOfficer, ghostId, 1, base);
    t.equal(byDe.statusCode, 404, 'non-party DE: 404');
    t.same(
      { ...byDe.json(), detail: String(byDe.json().detail).replace(agreement.id, '<id>') },
      { ...ghost.json(), detail: String(ghost.json().detail).replace(ghostId, '<id>') },
      'non-party DE: the same 404 as for an agreement that does not exist',
    );
    const entries = await logEntriesSince(ta, before);
    t.ok(entries.some((e) => e.type === 'access.denied' && e.subject === `agreement:${agreement.id}` && e.actor?.jurisdiction === 'DE'), "DE's attempt is recorded on the agreement");

    // ICC submitting a signature made with DE's key (a key of the wrong jurisdiction) over the right terms.
    const deKeySig = await postSignature(ta, iccOfficer, agreement.id, 1, base, signTerms(deOfficer, base));
    t.equal(deKeySig.statusCode, 422, "ICC with DE's key: 422");
    t.equal(deKeySig.json().code, 'signature_invalid');
    // ICC replaying NL's valid signature: one party's signature cannot stand for the other's.
    const replay = await postSignature(ta, iccOfficer, agreement.id, 1, base, signTerms(nlOfficer, base));
    t.equal(replay.json().code, 'signature_invalid', "ICC replaying NL's signature: signature_invalid");
    // ICC's own key over other terms (a wider crime list than the draft).
    const other = { ...base, crimeCategories: [...base.crimeCategories, 'terrorism'] };
    const otherTerms = await postSignature(ta, iccOfficer, agreement.id, 1, base, signTerms(iccOfficer, other));
    t.equal(otherTerms.statusCode, 422, 'ICC over other terms: 422');
    t.equal(otherTerms.json().code, 'signature_invalid');
    // Terms reordered: JCS keeps array order, so these are other bytes too.
    const reordered = { ...base, purposes: [...base.purposes].reverse() };
    t.equal((await postSignature(ta, iccOfficer, agreement.id, 1, base, signTerms(iccOfficer, reordered))).json().code, 'signature_invalid', 'ICC over reordered terms: signature_invalid');
    // A version that does not exist.
    const v2 = await postSignature(ta, iccOfficer, agreement.id, 2, base);
    t.equal(v2.statusCode, 409);
    t.equal(v2.json().code, 'version_mismatch', 'ICC signing version 2 of a version-1 agreement: version_mismatch');
    // Garbage.
    t.equal((await postSignature(ta, iccOfficer, agreement.id, 1, base, 'AAAA')).json().code, 'signature_invalid', 'not 64 bytes: signature_invalid');
    // An officer without a registered key.
    const keyless = await app.inject({ method: 'POST', url: `/v1/agreements/${agreement.id}/signatures`, headers: ta.auth('ICC', ['agreement_officer'], { sub: 'icc-keyless' }), payload: { version: 1, signature: signTerms(iccOfficer, base) } });
    t.equal(keyless.json().code, 'no_signing_key', "ICC officer without a key, sending a colleague's signature: no_signing_key");

    const view = await app.inject({ url: `/v1/agreements/${agreement.id}`, headers: nlOfficer.headers });
    t.match(view.json(), { status: 'draft', version: 1 }, 'still a draft');
    t.same(view.json().signatures.map((s: { jurisdiction: string }) => s.jurisdiction), ['NL'], 'only the valid NL signature counts');
    const refused = (await logEntriesSince(ta, before)).filter((e) => e.type === 'agreement.refused' && e.subject === `agreement:${agreement.id}`).map((e) => e.data['reason']);
    t.same(refused, ['signature_invalid', 'signature_invalid', 'signature_invalid', 'signature_invalid', 'version_mismatch', 'signature_invalid', 'no_signing_key'], 'every refused signature is recorded on the agreement');
    await expectDenied(t, 'agreement_inactive', 'after the refused signatures');
  });

  // --- ICC signs: active --------------------------------------------------
  const activated = await postSignature(ta, iccOfficer, agreement.id, 1, base);
  t.equal(activated.json().status, 'active', 'both parties signed: active');

  await t.test('purpose_not_permitted: a purpose the terms do not list', async (t) => {
    await expectDenied(t, 'purpose_not_permitted', 'purpose "extradition"', { purpose: 'extradition' });
  });
  await t.test('bundle_not_sealed: everything else allowed, the bundle still open', async (t) => {
    await expectDenied(t, 'bundle_not_sealed', 'open bundle', { bundle: openBundle });
  });

  await t.test('key wraps: for another recipient, or an old key version → 422 (recorded); the current version → 201', async (t) => {
    const before = await logSize(ta);
    const forDe = await release(bundle, { keyWrap: wrapFor(bundle.prepared, deKeys) });
    t.equal(forDe.statusCode, 422, 'a wrap for DE in a release to ICC: 422');
    t.match(forDe.json(), { code: 'key_version_not_current', problem: 'key_version_not_current' });
    const wrongLabel = await release(bundle, { keyWrap: { ...wrapFor(bundle.prepared, iccKeys), jurisdiction: 'DE' } });
    t.equal(wrongLabel.statusCode, 422, 'a wrap labelled for DE: 422');
    const future = await release(bundle, { keyWrap: wrapFor(bundle.prepared, iccKeys, iccKeys.keyVersion + 1) });
    t.equal(future.statusCode, 422, 'a wrap for a key version ICC does not have: 422');

    const old = iccKeys;
    iccKeys = await addBoxKey(ta, 'ICC');
    t.equal(iccKeys.keyVersion, old.keyVersion + 1, 'ICC rotated its box key');
    const stale = await release(bundle, { keyWrap: wrapFor(bundle.prepared, old) });
    t.equal(stale.statusCode, 422, "a wrap for ICC's previous key version: 422");
    t.match(stale.json(), { problem: 'key_version_not_current' });
    const malformed = await release(bundle, { keyWrap: { jurisdiction: 'ICC', keyVersion: iccKeys.keyVersion, box: 'x' } });
    t.equal(malformed.statusCode, 400, 'a malformed wrap: 400');

    const refusals = (await logEntriesSince(ta, before)).filter((e) => e.type === 'release.refused' && e.subject === `bundle:${bundle.id}`).map((e) => e.data['reason']);
    t.same(refusals, ['key_version_not_current', 'key_version_not_current', 'key_version_not_current', 'key_version_not_current', 'key_wrap_invalid'], 'each refused wrap is recorded');
    t.equal((await app.inject({ url: `/v1/bundles/${bundle.id}`, headers: iccRegistry.headers })).statusCode, 404, 'nothing was released');

    const ok = await release(bundle);
    t.equal(ok.statusCode, 201, ok.body);
    t.match(ok.json(), { recipient: 'ICC', agreementId: agreement.id, agreementVersion: 1 });
  });

  await t.test("an upper-case bundle id is the same bundle: the grant, a denial and a revocation all land in the bundle's own custody chain", async (t) => {
    const b = await sealedBundle();
    const upper = b.id.toUpperCase();
    const before = await logSize(ta);
    const denied = await postRelease(ta, nlInvestigator, upper, { recipient: 'ICC', purpose: 'extradition', keyWrap: wrapFor(b.prepared, iccKeys) });
    t.equal(denied.json().code, 'purpose_not_permitted');
    t.equal((await postRelease(ta, nlInvestigator, upper, { recipient: 'ICC', keyWrap: wrapFor(b.prepared, iccKeys) })).statusCode, 201, 'granted');
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/bundles/${upper}/releases/ICC`, headers: nlInvestigator.headers })).statusCode, 200, 'revoked');
    t.equal((await app.inject({ method: 'POST', url: `/v1/bundles/${upper}/receipts`, headers: iccInvestigator.headers, payload: { signature: 'AAAA' } })).statusCode, 403, 'a role refusal');
    const entries = await logEntriesSince(ta, before);
    t.notOk(entries.some((e) => e.subject !== e.subject.toLowerCase()), 'no subject in another spelling');
    const custody = await app.inject({ url: `/v1/bundles/${b.id}/custody`, headers: nlInvestigator.headers });
    const types = (custody.json().entries as Array<{ entry: { type: string } }>).map((e) => e.entry.type);
    for (const type of ['release.denied', 'release.granted', 'release.revoked', 'access.denied']) t.ok(types.includes(type), `the bundle's custody shows ${type}`);
    for (const form of [`urn:uuid:${b.id}`, `{${b.id}}`]) {
      const res = await postRelease(ta, nlInvestigator, encodeURIComponent(form), { recipient: 'ICC', keyWrap: wrapFor(b.prepared, iccKeys) });
      t.equal(res.statusCode, 400, `${form}: 400, not a 500`);
      const del = await app.inject({ method: 'DELETE', url: `/v1/bundles/${encodeURIComponent(form)}/releases/ICC`, headers: nlInvestigator.headers });
      t.equal(del.statusCode, 400, `DELETE ${form}: 400, not a 500`);
    }
  });

  await t.test('a second live release to the same recipient: 409 release_exists, recorded', async (t) => {
    const before = await logSize(ta);
    const again = await release(bundle);
    t.equal(again.statusCode, 409);
    t.equal(again.json().code, 'release_exists');
    const entries = await logEntriesSince(ta, before);
    t.ok(entries.some((e) => e.type === 'release.refused' && e.data['reason'] === 'release_exists'), 'recorded as release.refused');
    t.notOk(entries.some((e) => e.type === 'release.granted'), 'nothing granted');
  });

  await t.test('not_owner: a live recipient cannot pass the bundle on', async (t) => {
    t.equal((await app.inject({ url: `/v1/bundles/${bundle.id}`, headers: iccInvestigator.headers })).statusCode, 200, 'ICC is a live recipient');
    await expectDenied(t, 'not_owner', 'ICC investigator → DE', { by: iccInvestigator, to: deKeys });
    await expectDenied(t, 'not_owner', 'ICC investigator → NL (back to the owner)', { by: iccInvestigator, to: nlKeys });
    await expectDenied(t, 'not_owner', 'ICC investigator → ICC', { by: iccInvestigator, to: iccKeys });
  });

  await t.test('revocation stops access at once; a new release restores it with a new wrap', async (t) => {
    const revoke = await app.inject({ method: 'DELETE', url: `/v1/bundles/${bundle.id}/releases/ICC`, headers: nlInvestigator.headers });
    t.equal(revoke.statusCode, 200);
    t.equal(revoke.json().recipient, 'ICC');
    t.equal((await app.inject({ url: `/v1/bundles/${bundle.id}`, headers: iccRegistry.headers })).statusCode, 404, 'revoked: 404');
    t.equal((await app.inject({ url: `/v1/bundles/${bundle.id}/files/0`, headers: iccRegistry.headers })).statusCode, 404, 'revoked: no download');
    const twice = await app.inject({ method: 'DELETE', url: `/v1/bundles/${bundle.id}/releases/ICC`, headers: nlInvestigator.headers });
    t.equal(twice.statusCode, 404, 'revoking again: 404, nothing live');

    const again = await release(bundle);
    t.equal(again.statusCode, 201, again.body);
    const view = await app.inject({ url: `/v1/bundles/${bundle.id}`, headers: iccRegistry.headers });
    t.equal(view.statusCode, 200, 're-released: visible again');
    t.equal(view.json().keyWrap.keyVersion, iccKeys.keyVersion, 'with the new wrap, for the current key');
    t.same(unwrapBundleKey(view.json().keyWrap, iccKeys.box.secretKey), bundle.prepared.bundleKey, 'which opens to the bundle key');
    const owner = await app.inject({ url: `/v1/bundles/${bundle.id}`, headers: nlInvestigator.headers });
    t.match(owner.json().releases, [{ recipient: 'ICC', revokedAt: String }, { recipient: 'ICC', revokedAt: null }], 'the owner sees the revoked and the new release');
  });

  // --- the agreement's state and terms, one failing condition at a time ----
  const bundle2 = await sealedBundle();
  await t.test('agreement_inactive: suspended', async (t) => {
    await agreementAction(ta, iccOfficer, agreement.id, 'suspend', 'review');
    await expectDenied(t, 'agreement_inactive', 'suspended', { bundle: bundle2 });
    t.equal((await app.inject({ url: `/v1/bundles/${bundle.id}/files/0`, headers: iccRegistry.headers })).statusCode, 404, 'and the live release stops');
  });
  await t.test('agreement_inactive: resumed but not yet signed again by both', async (t) => {
    const resumed = await agreementAction(ta, nlOfficer, agreement.id, 'resume');
    t.equal(resumed.status, 'draft');
    await expectDenied(t, 'agreement_inactive', 'resumed, unsigned', { bundle: bundle2 });
    t.equal((await postSignature(ta, nlOfficer, agreement.id, resumed.version, base)).json().status, 'draft');
    await expectDenied(t, 'agreement_inactive', 'resumed, signed by NL only', { bundle: bundle2 });
    t.equal((await postSignature(ta, iccOfficer, agreement.id, resumed.version, base)).json().status, 'active');
    t.equal((await app.inject({ url: `/v1/bundles/${bundle.id}/files/0`, headers: iccRegistry.headers })).statusCode, 200, 'signed again by both: the release lives again');
  });
  await t.test('agreement_expired: validity window over, or not begun', async (t) => {
    await amendAndSign(agreement.id, { ...base, validFrom: '2020-01-01T00:00:00Z', validUntil: '2021-01-01T00:00:00Z' });
    await expectDenied(t, 'agreement_expired', 'validUntil in the past', { bundle: bundle2 });
    await amendAndSign(agreement.id, { ...base, validFrom: '2999-01-01T00:00:00Z', validUntil: '2999-12-31T00:00:00Z' });
    await expectDenied(t, 'agreement_expired', 'validFrom in the future', { bundle: bundle2 });
  });
  await t.test('direction_not_permitted: b_to_a, or a_to_b with the parties the other way', async (t) => {
    await amendAndSign(agreement.id, { ...base, direction: 'b_to_a' });
    await expectDenied(t, 'direction_not_permitted', 'NL–ICC b_to_a', { bundle: bundle2 });
    await amendAndSign(agreement.id, { ...base, parties: ['ICC', 'NL'], direction: 'a_to_b' });
    await expectDenied(t, 'direction_not_permitted', 'ICC–NL a_to_b', { bundle: bundle2 });
  });
  await t.test('crime_category_not_covered', async (t) => {
    await amendAndSign(agreement.id, { ...base, crimeCategories: ['genocide', 'terrorism'] });
    await expectDenied(t, 'crime_category_not_covered', 'genocide and terrorism only', { bundle: bundle2 });
  });
  await t.test('classification_exceeds', async (t) => {
    await amendAndSign(agreement.id, { ...base, maxClassification: 'restricted' });
    await expectDenied(t, 'classification_exceeds', 'confidential bundle, restricted at most', { bundle: bundle2 });
  });
  await t.test('the first failing reason, in the SPEC order, is the one reported', async (t) => {
    await amendAndSign(agreement.id, { ...base, direction: 'b_to_a', crimeCategories: ['genocide'], maxClassification: 'public', purposes: ['archive'] });
    await expectDenied(t, 'direction_not_permitted', 'direction, category, classification and purpose all wrong', { bundle: bundle2 });
    await amendAndSign(agreement.id, { ...base, crimeCategories: ['genocide'], maxClassification: 'public', purposes: ['archive'] });
    await expectDenied(t, 'crime_category_not_covered', 'category, classification and purpose wrong', { bundle: bundle2 });
    await amendAndSign(agreement.id, { ...base, maxClassification: 'public', purposes: ['archive'] });
    await expectDenied(t, 'classification_exceeds', 'classification and purpose wrong', { bundle: openBundle });
    const amended = await app.inject({ method: 'POST', url: `/v1/agreements/${agreement.id}/versions`, headers: iccOfficer.headers, payload: { terms: { ...base, validUntil: '2021-01-01T00:00:00Z', validFrom: '2020-01-01T00:00:00Z', crimeCategories: ['genocide'] } } });
    t.equal(amended.statusCode, 200);
    await expectDenied(t, 'agreement_inactive', 'an unsigned amendment that is also expired and off-category', { bundle: bundle2 });
  });
  await t.test('agreement_inactive: terminated (for good)', async (t) => {
    const version = await amendAndSign(agreement.id, base);
    t.equal((await release(bundle2)).statusCode, 201, `version ${version}, the original terms signed again: allowed`);
    await agreementAction(ta, nlOfficer, agreement.id, 'terminate', 'treaty withdrawn');
    const bundle3 = await sealedBundle();
    await expectDenied(t, 'agreement_inactive', 'terminated', { bundle: bundle3 });
    t.equal((await app.inject({ url: `/v1/bundles/${bundle2.id}/files/0`, headers: iccRegistry.headers })).statusCode, 404, 'and the releases under it stop');
  });
  await t.test('no_agreement: an agreement between other parties does not count', async (t) => {
    await makeAgreement(ta, iccOfficer, agreementTerms('ICC', 'DE', { direction: 'both' }), [iccOfficer, deOfficer]);
    await expectDenied(t, 'no_agreement', 'NL → DE with only an ICC–DE agreement', { to: deKeys });
  });
  await t.test('text the log cannot hold is a 400, never a 500 or an unrecorded denial', async (t) => {
    const b = await sealedBundle();
    const wrap = JSON.stringify(wrapFor(b.prepared, iccKeys));
    const cases: Array<[string, string]> = [
      ['a lone surrogate in the purpose', `{"recipient":"ICC","purpose":"\\ud800trial","requestReference":"r","keyWrap":${wrap}}`],
      ['a purpose outside the vocabulary pattern', `{"recipient":"ICC","purpose":"Trial Chamber","requestReference":"r","keyWrap":${wrap}}`],
      ['a lone surrogate in the request reference', `{"recipient":"ICC","purpose":"trial","requestReference":"REF\\udc00","keyWrap":${wrap}}`],
      ['NUL in the request reference', `{"recipient":"ICC","purpose":"trial","requestReference":"REF\\u0000","keyWrap":${wrap}}`],
      ['a newline in the request reference', `{"recipient":"ICC","purpose":"trial","requestReference":"REF\\nforged","keyWrap":${wrap}}`],
    ];
    for (const [name, body] of cases) {
      const res = await app.inject({ method: 'POST', url: `/v1/bundles/${b.id}/releases`, headers: { ...nlInvestigator.headers, 'content-type': 'application/json' }, payload: body });
      t.equal(res.statusCode, 400, `${name}: 400 (${res.body.slice(0, 120)})`);
    }
    t.equal((await release(b)).json().code, 'agreement_inactive', 'the same request with clean text gets past validation (to the terminated agreement)');
  });

  await t.test('an unregistered recipient: 422, recorded', async (t) => {
    const before = await logSize(ta);
    const res = await postRelease(ta, nlInvestigator, bundle.id, { recipient: 'XX', keyWrap: { ...wrapFor(bundle.prepared, deKeys), jurisdiction: 'XX' } });
    t.equal(res.statusCode, 422);
    t.equal(res.json().code, 'jurisdiction_unknown');
    t.ok((await logEntriesSince(ta, before)).some((e) => e.type === 'release.refused' && e.data['reason'] === 'jurisdiction_unknown'), 'recorded');
  });
});
