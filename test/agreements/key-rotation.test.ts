/**
 * Key rotation (SPEC §2 PUT /v1/jurisdictions/:code/keys, issue 5 item 6): a
 * jurisdiction adds a new X25519 box key version; every new wrap (the owner's
 * at bundle creation, a recipient's at release) must use the current
 * version; wraps made before the rotation are still served and still open
 * with the old secret key.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { decryptBytes, generateBoxKeyPair, unwrapBundleKey } from '../../services/envelope/index.js';
import { buildTestApp, registerJurisdictions } from '../helpers/app.js';
import {
  addBoxKey,
  agreementTerms,
  logEntriesSince,
  logSize,
  makeAgreement,
  postRelease,
  prepareBundle,
  registerOfficer,
  uploadBundle,
  wrapFor,
  type JurisdictionKeys,
  type PreparedBundle,
} from '../helpers/evidence.js';

t.test('key rotation: new wraps use the current version, old wraps stay readable', async (t) => {
  const ta = await buildTestApp(t);
  const { app } = ta;
  await registerJurisdictions(ta, [{ code: 'NL' }, { code: 'ICC', kind: 'tribunal' }]);
  const nlV1 = await addBoxKey(ta, 'NL');
  const iccV1 = await addBoxKey(ta, 'ICC');
  const nlOfficer = await registerOfficer(ta, 'NL', 'nl-agreements', ['agreement_officer']);
  const iccOfficer = await registerOfficer(ta, 'ICC', 'icc-agreements', ['agreement_officer']);
  const nlInvestigator = await registerOfficer(ta, 'NL', 'nl-investigator', ['investigator']);
  const iccRegistry = await registerOfficer(ta, 'ICC', 'icc-registry', ['registry']);
  await makeAgreement(ta, nlOfficer, agreementTerms('NL', 'ICC'), [nlOfficer, iccOfficer]);
  const start = await logSize(ta);

  /** PUT a new box key for `code` as `headers`; the new version's keys on success. */
  const rotate = async (code: string, headers: Record<string, string>): Promise<{ status: number; keys?: JurisdictionKeys; body: string }> => {
    const box = generateBoxKeyPair();
    const res = await app.inject({ method: 'PUT', url: `/v1/jurisdictions/${code}/keys`, headers, payload: { boxPublicKey: Buffer.from(box.publicKey).toString('base64') } });
    return res.statusCode === 201 ? { status: 201, keys: { code, box, keyVersion: res.json().keyVersion as number }, body: res.body } : { status: res.statusCode, body: res.body };
  };
  const createBundle = (prepared: PreparedBundle) =>
    app.inject({ method: 'POST', url: '/v1/bundles', headers: nlInvestigator.headers, payload: { manifest: prepared.manifest, signature: prepared.signature, keyWraps: prepared.keyWraps } });
  const openFile = (prepared: PreparedBundle, key: Uint8Array, cipher: Buffer, n: number): string =>
    createHash('sha256').update(decryptBytes(cipher, { key, noncePrefix: Buffer.from(prepared.manifest.files[n]!.noncePrefix, 'base64'), chunkSize: prepared.manifest.files[n]!.chunkSize })).digest('hex');

  // Before the rotation: bundle A, owner wrap v1, released to ICC under ICC v1.
  const a = prepareBundle(nlInvestigator, nlV1, [Buffer.from('exhibit A, made before the rotation'), Buffer.alloc(3000, 5)]);
  const aId = await uploadBundle(ta, nlInvestigator, a);
  t.equal((await postRelease(ta, nlInvestigator, aId, { recipient: 'ICC', keyWrap: wrapFor(a, iccV1) })).statusCode, 201, 'A released to ICC with a v1 wrap');

  let nlV2!: JurisdictionKeys;
  let iccV2!: JurisdictionKeys;
  await t.test('who may rotate: admin, or an agreement officer of that jurisdiction only', async (t) => {
    const other = await rotate('NL', iccOfficer.headers);
    t.equal(other.status, 403, "ICC's agreement officer cannot rotate NL's key");
    t.equal(JSON.parse(other.body).code, 'forbidden');
    const investigator = await rotate('NL', nlInvestigator.headers);
    t.equal(investigator.status, 403, 'an investigator cannot rotate');
    t.equal(JSON.parse(investigator.body).code, 'forbidden_role');
    const own = await rotate('NL', nlOfficer.headers);
    t.equal(own.status, 201, "NL's agreement officer rotates NL's key");
    nlV2 = own.keys!;
    t.equal(nlV2.keyVersion, nlV1.keyVersion + 1, 'the next version');
    const reuse = await app.inject({ method: 'PUT', url: '/v1/jurisdictions/NL/keys', headers: nlOfficer.headers, payload: { boxPublicKey: Buffer.from(nlV1.box.publicKey).toString('base64') } });
    t.equal(reuse.statusCode, 409, 'an old key cannot come back as a new version');
    t.equal(reuse.json().code, 'key_already_registered');
    const byAdmin = await rotate('ICC', ta.auth('operator', ['admin']));
    t.equal(byAdmin.status, 201, "the operator's admin rotates ICC's key");
    iccV2 = byAdmin.keys!;
    const j = await app.inject({ url: '/v1/jurisdictions/NL', headers: nlInvestigator.headers });
    t.equal(j.json().currentKeyVersion, nlV2.keyVersion);
    t.same(j.json().keys.map((k: { keyVersion: number; boxPublicKey: string }) => [k.keyVersion, k.boxPublicKey]), [
      [nlV1.keyVersion, Buffer.from(nlV1.box.publicKey).toString('base64')],
      [nlV2.keyVersion, Buffer.from(nlV2.box.publicKey).toString('base64')],
    ], 'both versions listed, the old one kept');
  });

  await t.test("bundle creation: the owner's wrap must be for the current version", async (t) => {
    const stale = prepareBundle(nlInvestigator, nlV1, [Buffer.from('new exhibit')]);
    const res = await createBundle(stale);
    t.equal(res.statusCode, 422, 'an owner wrap for v1 after the rotation: 422');
    t.match(res.json(), { code: 'key_version_not_current', problem: 'key_version_not_current' });
    const future = prepareBundle(nlInvestigator, { ...nlV2, keyVersion: nlV2.keyVersion + 1 }, [Buffer.from('new exhibit')]);
    const tooNew = await createBundle(future);
    t.equal(tooNew.statusCode, 422, 'a version that does not exist: 422, not a 500');
    const current = prepareBundle(nlInvestigator, nlV2, [Buffer.from('new exhibit')]);
    t.equal((await createBundle(current)).statusCode, 201, 'a v2 owner wrap: 201');
  });

  const b = prepareBundle(nlInvestigator, nlV2, [Buffer.from('exhibit B, made after the rotation')]);
  const bId = await uploadBundle(ta, nlInvestigator, b);

  await t.test("releases: the recipient's wrap must be for its current version", async (t) => {
    const before = await logSize(ta);
    const stale = await postRelease(ta, nlInvestigator, bId, { recipient: 'ICC', keyWrap: wrapFor(b, iccV1) });
    t.equal(stale.statusCode, 422, 'ICC v1 after ICC rotated: 422');
    t.match(stale.json(), { problem: 'key_version_not_current' });
    const future = await postRelease(ta, nlInvestigator, bId, { recipient: 'ICC', keyWrap: wrapFor(b, iccV2, iccV2.keyVersion + 1) });
    t.equal(future.statusCode, 422, 'a version ICC does not have: 422, not a 500');
    t.ok((await logEntriesSince(ta, before)).filter((e) => e.type === 'release.refused' && e.data['reason'] === 'key_version_not_current').length === 2, 'both refusals recorded');
    const ok = await postRelease(ta, nlInvestigator, bId, { recipient: 'ICC', keyWrap: wrapFor(b, iccV2) });
    t.equal(ok.statusCode, 201, 'ICC v2: 201');
    const granted = (await logEntriesSince(ta, before)).find((e) => e.type === 'release.granted');
    t.equal(granted?.data['recipientKeyVersion'], iccV2.keyVersion, 'the grant records the key version');
  });

  await t.test('wraps made before the rotation are still served and still open with the old secret key', async (t) => {
    const ownerView = await app.inject({ url: `/v1/bundles/${aId}`, headers: nlInvestigator.headers });
    t.match(ownerView.json().keyWrap, { jurisdiction: 'NL', keyVersion: nlV1.keyVersion }, "NL still gets A's v1 wrap");
    const nlKey = unwrapBundleKey(ownerView.json().keyWrap, nlV1.box.secretKey);
    t.same(nlKey, a.bundleKey, "NL's old secret key opens it");
    t.equal(unwrapBundleKey(ownerView.json().keyWrap, nlV2.box.secretKey), null, 'the new secret key does not (the server did not re-wrap anything)');

    const iccView = await app.inject({ url: `/v1/bundles/${aId}`, headers: iccRegistry.headers });
    t.match(iccView.json().keyWrap, { jurisdiction: 'ICC', keyVersion: iccV1.keyVersion }, "ICC still gets A's v1 wrap");
    const iccKey = unwrapBundleKey(iccView.json().keyWrap, iccV1.box.secretKey);
    t.same(iccKey, a.bundleKey, "ICC's old secret key opens it");
    for (const n of [0, 1]) {
      const dl = await app.inject({ url: `/v1/bundles/${aId}/files/${n}`, headers: iccRegistry.headers });
      t.equal(openFile(a, iccKey!, dl.rawPayload, n), a.manifest.files[n]!.sha256, `ICC decrypts A's file ${n} after both rotations`);
    }

    const bView = await app.inject({ url: `/v1/bundles/${bId}`, headers: iccRegistry.headers });
    t.match(bView.json().keyWrap, { jurisdiction: 'ICC', keyVersion: iccV2.keyVersion }, 'B comes with a v2 wrap');
    t.same(unwrapBundleKey(bView.json().keyWrap, iccV2.box.secretKey), b.bundleKey, "ICC's new secret key opens it");
    t.match((await app.inject({ url: `/v1/bundles/${bId}`, headers: nlInvestigator.headers })).json().keyWrap, { keyVersion: nlV2.keyVersion }, "and NL's own wrap of B is v2");
  });

  await t.test('a release renewed after the rotation must use the new version', async (t) => {
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/bundles/${aId}/releases/ICC`, headers: nlInvestigator.headers })).statusCode, 200, "A's release revoked");
    t.equal((await postRelease(ta, nlInvestigator, aId, { recipient: 'ICC', keyWrap: wrapFor(a, iccV1) })).statusCode, 422, 'renewed with the old version: 422');
    t.equal((await postRelease(ta, nlInvestigator, aId, { recipient: 'ICC', keyWrap: wrapFor(a, iccV2) })).statusCode, 201, 'renewed with the new version: 201');
    const view = await app.inject({ url: `/v1/bundles/${aId}`, headers: iccRegistry.headers });
    t.equal(view.json().keyWrap.keyVersion, iccV2.keyVersion, 'ICC now gets the v2 wrap');
    t.same(unwrapBundleKey(view.json().keyWrap, iccV2.box.secretKey), a.bundleKey);
  });

  await t.test('at creation only the owner wraps: a wrap for another jurisdiction is refused, never stored', async (t) => {
    const c = prepareBundle(nlInvestigator, nlV2, [Buffer.from('exhibit C')]);
    const withExtra = await app.inject({ method: 'POST', url: '/v1/bundles', headers: nlInvestigator.headers, payload: { manifest: c.manifest, signature: c.signature, keyWraps: [...c.keyWraps, wrapFor(c, iccV2)] } });
    t.equal(withExtra.statusCode, 400, 'owner and ICC wraps: 400');
    const onlyIcc = await app.inject({ method: 'POST', url: '/v1/bundles', headers: nlInvestigator.headers, payload: { manifest: c.manifest, signature: c.signature, keyWraps: [wrapFor(c, iccV2)] } });
    t.equal(onlyIcc.statusCode, 422, 'an ICC wrap instead of the owner one: 422');
    t.match(onlyIcc.json(), { problem: 'owner_key_wrap_missing' });
    const listed = await app.inject({ url: '/v1/bundles', headers: nlInvestigator.headers });
    t.equal(listed.json().items.length, 3, 'nothing stored: still A, B and the v2 bundle');
  });

  await t.test('concurrent rotations get distinct versions', async (t) => {
    const results = await Promise.all([0, 1, 2].map(() => rotate('ICC', iccOfficer.headers)));
    t.same(results.map((r) => r.status), [201, 201, 201]);
    t.same(results.map((r) => r.keys!.keyVersion).sort(), [iccV2.keyVersion + 1, iccV2.keyVersion + 2, iccV2.keyVersion + 3]);
  });

  await t.test('every rotation is in the custody log under jurisdiction:<code>', async (t) => {
    const added = (await logEntriesSince(ta, start)).filter((e) => e.type === 'jurisdiction.key_added').map((e) => `${e.subject}#${e.data['keyVersion']}`);
    t.same(added.sort(), ['jurisdiction:ICC#2', 'jurisdiction:ICC#3', 'jurisdiction:ICC#4', 'jurisdiction:ICC#5', 'jurisdiction:NL#2'].sort());
  });
});
