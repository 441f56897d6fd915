/**
 * The story of issue 5: NL and ICC sign an agreement covering war crimes up to
 * confidential; NL uploads, seals and releases to ICC; ICC downloads,
 * decrypts and records a receipt; DE (no agreement) is refused at every step;
 * NL suspends and ICC's next download is refused; the bundle's custody chain
 * verifies and shows every step.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { receiptMessage } from '../../services/agreements/release-routes.js';
import { termsBytes, type AgreementTerms } from '../../services/agreements/terms.js';
import { decryptBytes, unwrapBundleKey, wrapBundleKey } from '../../services/envelope/index.js';
import { verifyCustody } from '../../services/ledger/verify.js';
import { ed25519Sign } from '../../services/shared/ed25519.js';
import { buildTestApp, registerJurisdictions } from '../helpers/app.js';
import { addBoxKey, prepareBundle, registerOfficer, uploadBundle } from '../helpers/evidence.js';

t.test('NL → ICC under a bilateral agreement, DE refused, suspension stops access, custody verifies', async (t) => {
  const ta = await buildTestApp(t);
  const { app } = ta;
  await registerJurisdictions(ta, [{ code: 'NL' }, { code: 'ICC', kind: 'tribunal' }, { code: 'DE' }]);
  const nlKeys = await addBoxKey(ta, 'NL');
  const iccKeys = await addBoxKey(ta, 'ICC');
  await addBoxKey(ta, 'DE');
  const nlOfficer = await registerOfficer(ta, 'NL', 'nl-agreements', ['agreement_officer']);
  const iccOfficer = await registerOfficer(ta, 'ICC', 'icc-agreements', ['agreement_officer']);
  const nlInvestigator = await registerOfficer(ta, 'NL', 'nl-investigator', ['investigator']);
  const iccRegistry = await registerOfficer(ta, 'ICC', 'icc-registry', ['registry']);
  const deInvestigator = await registerOfficer(ta, 'DE', 'de-investigator', ['investigator']);

  const day = 24 * 3600 * 1000;
  const terms: AgreementTerms = {
    parties: ['NL', 'ICC'],
    legalBasis: 'Rome Statute, Part 9 (Art. 93)',
    direction: 'a_to_b',
    crimeCategories: ['war_crimes', 'crimes_against_humanity'],
    maxClassification: 'confidential',
    purposes: ['trial', 'investigation'],
    validFrom: new Date(Date.now() - day).toISOString(),
    validUntil: new Date(Date.now() + 365 * day).toISOString(),
    onwardTransfer: false,
  };
  const drafted = await app.inject({ method: 'POST', url: '/v1/agreements', headers: nlOfficer.headers, payload: { terms } });
  t.equal(drafted.statusCode, 201, drafted.body);
  const agreementId = drafted.json().id as string;
  t.equal(drafted.json().status, 'draft');
  const sign = (o: typeof nlOfficer, version: number) =>
    app.inject({ method: 'POST', url: `/v1/agreements/${agreementId}/signatures`, headers: o.headers, payload: { version, signature: ed25519Sign(o.key.seed, termsBytes(drafted.json().terms as AgreementTerms)).toString('base64') } });

  // The evidence: sealed by NL.
  const prepared = prepareBundle(nlInvestigator, nlKeys, [Buffer.from('witness statement, 12 pages'), Buffer.alloc(5000, 7)], { crimeCategory: 'war_crimes', classification: 'confidential' });
  const bundleId = await uploadBundle(ta, nlInvestigator, prepared);
  const release = (recipient: string, keys: { box: { publicKey: Uint8Array }; keyVersion: number }) =>
    app.inject({
      method: 'POST',
      url: `/v1/bundles/${bundleId}/releases`,
      headers: nlInvestigator.headers,
      payload: { recipient, purpose: 'trial', requestReference: 'ICC-OTP-2026-117', keyWrap: wrapBundleKey(prepared.bundleKey, { jurisdiction: recipient, keyVersion: keys.keyVersion, boxPublicKey: keys.box.publicKey }) },
    });

  // Signed by one party only: nothing is released.
  t.equal((await sign(nlOfficer, 1)).json().status, 'draft');
  let r = await release('ICC', iccKeys);
  t.equal(r.statusCode, 403);
  t.equal(r.json().code, 'agreement_inactive');
  t.equal((await sign(nlOfficer, 1)).json().code, 'already_signed');
  const activated = await sign(iccOfficer, 1);
  t.equal(activated.statusCode, 200);
  t.equal(activated.json().status, 'active');

  r = await release('ICC', iccKeys);
  t.equal(r.statusCode, 201, r.body);
  t.match(r.json(), { recipient: 'ICC', agreementId, agreementVersion: 1 });

  // ICC retrieves, decrypts, and signs for it.
  const list = await app.inject({ url: '/v1/bundles', headers: iccRegistry.headers });
  t.same(list.json().items.map((b: { id: string }) => b.id), [bundleId], 'ICC lists the released bundle');
  const view = await app.inject({ url: `/v1/bundles/${bundleId}`, headers: iccRegistry.headers });
  t.equal(view.statusCode, 200);
  t.equal(view.json().keyWrap.jurisdiction, 'ICC', 'ICC gets its own wrap');
  t.notOk('releases' in view.json(), 'only the owner sees the release list');
  const key = unwrapBundleKey(view.json().keyWrap, iccKeys.box.secretKey);
  t.ok(key);
  for (const [n, file] of prepared.manifest.files.entries()) {
    const dl = await app.inject({ url: `/v1/bundles/${bundleId}/files/${n}`, headers: iccRegistry.headers });
    t.equal(dl.statusCode, 200);
    const plain = decryptBytes(dl.rawPayload, { key: key!, noncePrefix: Buffer.from(file.noncePrefix, 'base64'), chunkSize: file.chunkSize });
    t.equal(createHash('sha256').update(plain).digest('hex'), file.sha256, `ICC decrypts file ${n}`);
  }
  const receipt = await app.inject({
    method: 'POST',
    url: `/v1/bundles/${bundleId}/receipts`,
    headers: iccRegistry.headers,
    payload: { signature: ed25519Sign(iccRegistry.key.seed, receiptMessage(bundleId, view.json().manifestSha256)).toString('base64') },
  });
  t.equal(receipt.statusCode, 201, receipt.body);

  // DE has no agreement: refused everywhere, and cannot even learn the bundle exists.
  for (const url of [`/v1/bundles/${bundleId}`, `/v1/bundles/${bundleId}/files/0`, `/v1/bundles/${bundleId}/custody`]) {
    const res = await app.inject({ url, headers: deInvestigator.headers });
    t.equal(res.statusCode, 404, `DE: ${url}`);
  }
  t.same((await app.inject({ url: '/v1/bundles', headers: deInvestigator.headers })).json().items, []);
  r = await release('DE', { box: { publicKey: Buffer.alloc(32, 3) }, keyVersion: 1 });
  t.equal(r.statusCode, 403);
  t.equal(r.json().code, 'no_agreement');

  // NL suspends: ICC's next download is refused at once.
  const suspended = await app.inject({ method: 'POST', url: `/v1/agreements/${agreementId}/suspend`, headers: nlOfficer.headers, payload: { reason: 'review of the request' } });
  t.equal(suspended.json().status, 'suspended');
  const after = await app.inject({ url: `/v1/bundles/${bundleId}/files/0`, headers: iccRegistry.headers });
  t.equal(after.statusCode, 404);
  t.same((await app.inject({ url: '/v1/bundles', headers: iccRegistry.headers })).json().items, [], 'and the bundle leaves ICC\'s list');

  // The custody chain verifies and tells the whole story.
  const custody = await app.inject({ url: `/v1/bundles/${bundleId}/custody`, headers: ta.auth('operator', ['auditor']) });
  t.equal(custody.statusCode, 200);
  const verdict = verifyCustody(custody.json(), app.custody.vkey);
  t.ok(verdict.ok, verdict.firstProblem?.reason ?? 'verifies');
  const steps = (custody.json().entries as Array<{ entry: { type: string; actor: { jurisdiction: string } | null; data: Record<string, unknown> } }>).map((e) => `${e.entry.type}:${e.entry.actor?.jurisdiction ?? '-'}`);
  for (const step of ['bundle.created:NL', 'file.received:NL', 'bundle.sealed:NL', 'release.denied:NL', 'release.granted:NL', 'bundle.accessed:ICC', 'file.downloaded:ICC', 'receipt.recorded:ICC', 'access.denied:DE', 'access.denied:ICC']) {
    t.ok(steps.includes(step), `custody shows ${step}`);
  }
  const log = await app.inject({ url: '/v1/log/verify', headers: ta.auth('operator', ['auditor']) });
  t.same(log.json().firstBad, null, 'the whole log verifies');
});
