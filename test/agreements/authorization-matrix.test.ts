/**
 * The authorization matrix of issue 5: every kind of caller × every bundle
 * route, with the exact status, over real HTTP (inject) on a real database.
 *
 * One NL bundle per recipient situation, all released to ICC under NL–ICC
 * agreements that differ only in their purpose (so each release is granted
 * under its own agreement):
 *   live     — released under an active agreement,
 *   suspended, expired (validUntil a few seconds after the release, then
 *   waited out), terminated — its agreement suspended / expired / terminated,
 *   revoked  — released, then the release revoked,
 *   open     — not sealed, never released (for the upload routes).
 *
 * Besides the status of each cell it asserts that
 *   - ciphertext and key wraps reach only investigators/registries of the owner
 *     and of a live recipient (auditors get `keyWrap: null`, nobody else gets
 *     file bytes, and no custody or problem document carries either);
 *   - a 404 for a bundle the caller may not see is the same problem document
 *     as the 404 for a random id (no existence leak);
 *   - each refusal is recorded in the bundle's custody, by that caller.
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { receiptMessage } from '../../services/agreements/release-routes.js';
import { manifestHash } from '../../services/envelope/index.js';
import { ed25519Sign } from '../../services/shared/ed25519.js';
import { buildTestApp, registerJurisdictions, type TestApp, type TestIssuers } from '../helpers/app.js';
import {
  addBoxKey,
  agreementAction,
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
  type LoggedEntry,
  type PreparedBundle,
} from '../helpers/evidence.js';

type Target = 'live' | 'suspended' | 'expired' | 'terminated' | 'revoked' | 'open';
type Who = keyof TestIssuers;

interface Row {
  name: string;
  who: Who;
  sub: string;
  roles: string[];
  /** The bundle this caller is tried on (the upload "(open)" columns always use the open bundle). */
  target: Exclude<Target, 'open'>;
  /** May receive ciphertext and its own key wrap for `target`. */
  content: boolean;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'HEAD' | 'DELETE';

interface Column {
  key: string;
  label: string;
  /** Roles the route admits at all (checked before anything else); 'any' for any token. */
  roles: string[] | 'any';
  bundle: (row: Row) => Target;
  request: (row: Row, id: string) => { method: Method; url: string; headers?: Record<string, string>; payload?: unknown };
}

const L = 'listed';
const U = 'not listed';
type Cell = number | typeof L | typeof U;

t.test('authorization matrix: caller × route → exact status; no leaks; refusals recorded', async (t) => {
  const ta = await buildTestApp(t);
  const { app } = ta;
  await registerJurisdictions(ta, [{ code: 'NL' }, { code: 'ICC', kind: 'tribunal' }, { code: 'DE' }]);
  const keys: Record<string, JurisdictionKeys> = { NL: await addBoxKey(ta, 'NL'), ICC: await addBoxKey(ta, 'ICC'), DE: await addBoxKey(ta, 'DE') };
  const uploader = await registerOfficer(ta, 'NL', 'nl-uploader', ['investigator']);
  const nlOfficer = await registerOfficer(ta, 'NL', 'nl-agreements', ['agreement_officer']);
  const iccOfficer = await registerOfficer(ta, 'ICC', 'icc-agreements', ['agreement_officer']);
  const iccRegistry = await registerOfficer(ta, 'ICC', 'icc-registry', ['registry']);

  // Every wrap `box` ever handed to the server, by jurisdiction: none may show up where it should not.
  const wrapBoxes: Array<{ jurisdiction: string; box: string }> = [];
  const bundles = {} as Record<Target, { id: string; prepared: PreparedBundle; purpose: string }>;
  const purposes: Record<Exclude<Target, 'open'>, string> = { live: 'trial', suspended: 'susp_review', expired: 'exp_review', terminated: 'term_review', revoked: 'trial' };
  for (const target of ['live', 'suspended', 'expired', 'terminated', 'revoked'] as const) {
    const prepared = prepareBundle(uploader, keys['NL']!, [Buffer.alloc(3000, target.length), Buffer.from(`exhibit of ${target}`)], { crimeCategory: 'war_crimes', classification: 'confidential' });
    wrapBoxes.push({ jurisdiction: 'NL', box: prepared.keyWraps[0]!.box });
    bundles[target] = { id: await uploadBundle(ta, uploader, prepared), prepared, purpose: purposes[target] };
  }
  {
    // Open: created, nothing uploaded yet.
    const prepared = prepareBundle(uploader, keys['NL']!, [Buffer.alloc(2500, 9), Buffer.alloc(700, 4)]);
    wrapBoxes.push({ jurisdiction: 'NL', box: prepared.keyWraps[0]!.box });
    const created = await app.inject({ method: 'POST', url: '/v1/bundles', headers: uploader.headers, payload: { manifest: prepared.manifest, signature: prepared.signature, keyWraps: prepared.keyWraps } });
    t.equal(created.statusCode, 201, 'an open bundle, nothing uploaded');
    bundles.open = { id: created.json().id as string, prepared, purpose: 'trial' };
  }
  const release = async (target: Target): Promise<void> => {
    const b = bundles[target];
    const wrap = wrapFor(b.prepared, keys['ICC']!);
    wrapBoxes.push({ jurisdiction: 'ICC', box: wrap.box });
    const res = await postRelease(ta, uploader, b.id, { recipient: 'ICC', purpose: b.purpose, keyWrap: wrap });
    if (res.statusCode !== 201) throw new Error(`release ${target}: ${res.statusCode} ${res.body}`);
  };
  const iccSees = async (target: Target): Promise<number> => (await app.inject({ url: `/v1/bundles/${bundles[target].id}/files/0`, headers: iccRegistry.headers })).statusCode;

  // The expiring agreement first: valid for a few seconds from now.
  const expiresAt = Date.now() + 4000;
  const both = [nlOfficer, iccOfficer];
  const expiring = await makeAgreement(ta, nlOfficer, agreementTerms('NL', 'ICC', { purposes: ['exp_review'], validUntil: new Date(expiresAt).toISOString() }), both);
  await release('expired');
  t.equal(await iccSees('expired'), 200, 'before expiry, ICC downloads the bundle released under the expiring agreement');

  await makeAgreement(ta, nlOfficer, agreementTerms('NL', 'ICC', { purposes: ['trial'] }), both);
  const suspending = await makeAgreement(ta, nlOfficer, agreementTerms('NL', 'ICC', { purposes: ['susp_review'] }), both);
  const terminating = await makeAgreement(ta, nlOfficer, agreementTerms('NL', 'ICC', { purposes: ['term_review'] }), both);
  for (const target of ['live', 'suspended', 'terminated', 'revoked'] as const) {
    await release(target);
    t.equal(await iccSees(target), 200, `before the change, ICC downloads the "${target}" bundle`);
  }
  await agreementAction(ta, nlOfficer, suspending.id, 'suspend', 'under review');
  await agreementAction(ta, iccOfficer, terminating.id, 'terminate', 'case closed');
  const revoked = await app.inject({ method: 'DELETE', url: `/v1/bundles/${bundles.revoked.id}/releases/ICC`, headers: uploader.headers });
  t.equal(revoked.statusCode, 200, 'the "revoked" release is revoked');
  const wait = expiresAt + 250 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  t.ok(Date.now() > expiresAt, `the agreement ${expiring.id} has expired`);

  // -------------------------------------------------------------------------
  // Rows: the callers
  // -------------------------------------------------------------------------
  const rows: Row[] = [
    { name: 'owner investigator (uploader)', who: 'NL', sub: 'nl-uploader', roles: ['investigator'], target: 'live', content: true },
    { name: 'owner investigator (not the uploader)', who: 'NL', sub: 'nl-investigator-2', roles: ['investigator'], target: 'live', content: true },
    { name: 'owner registry', who: 'NL', sub: 'nl-registry', roles: ['registry'], target: 'live', content: true },
    { name: 'owner agreement officer', who: 'NL', sub: 'nl-officer-2', roles: ['agreement_officer'], target: 'live', content: false },
    { name: 'owner auditor', who: 'NL', sub: 'nl-auditor', roles: ['auditor'], target: 'live', content: false },
    { name: 'owner token without roles', who: 'NL', sub: 'nl-nobody', roles: [], target: 'live', content: false },
    { name: 'live recipient registry', who: 'ICC', sub: 'icc-registry', roles: ['registry'], target: 'live', content: true },
    { name: 'live recipient investigator', who: 'ICC', sub: 'icc-investigator', roles: ['investigator'], target: 'live', content: true },
    { name: 'live recipient token without roles', who: 'ICC', sub: 'icc-nobody', roles: [], target: 'live', content: false },
    { name: 'recipient registry, agreement suspended', who: 'ICC', sub: 'icc-registry-s', roles: ['registry'], target: 'suspended', content: false },
    { name: 'recipient investigator, agreement suspended', who: 'ICC', sub: 'icc-investigator-s', roles: ['investigator'], target: 'suspended', content: false },
    { name: 'recipient registry, agreement expired', who: 'ICC', sub: 'icc-registry-e', roles: ['registry'], target: 'expired', content: false },
    { name: 'recipient registry, agreement terminated', who: 'ICC', sub: 'icc-registry-t', roles: ['registry'], target: 'terminated', content: false },
    { name: 'recipient registry, release revoked', who: 'ICC', sub: 'icc-registry-r', roles: ['registry'], target: 'revoked', content: false },
    { name: 'recipient investigator, release revoked', who: 'ICC', sub: 'icc-investigator-r', roles: ['investigator'], target: 'revoked', content: false },
    { name: 'unrelated jurisdiction (DE) investigator', who: 'DE', sub: 'de-investigator', roles: ['investigator'], target: 'live', content: false },
    { name: 'unrelated jurisdiction (DE) registry', who: 'DE', sub: 'de-registry', roles: ['registry'], target: 'live', content: false },
    { name: 'unrelated jurisdiction (DE) auditor', who: 'DE', sub: 'de-auditor', roles: ['auditor'], target: 'live', content: false },
    { name: 'unrelated jurisdiction (DE) token without roles', who: 'DE', sub: 'de-nobody', roles: [], target: 'live', content: false },
    { name: 'operator auditor', who: 'operator', sub: 'op-auditor', roles: ['auditor'], target: 'live', content: false },
    { name: 'recipient jurisdiction (ICC) auditor, live release', who: 'ICC', sub: 'icc-auditor', roles: ['auditor'], target: 'live', content: false },
    { name: 'recipient jurisdiction (ICC) auditor, agreement suspended', who: 'ICC', sub: 'icc-auditor-s', roles: ['auditor'], target: 'suspended', content: false },
  ];
  const headersOf = (row: Row): Record<string, string> => ta.auth(row.who, row.roles, { sub: row.sub });

  // -------------------------------------------------------------------------
  // Columns: the routes
  // -------------------------------------------------------------------------
  const sameBundle = (row: Row): Target => row.target;
  const openBundle = (): Target => 'open';
  const octet = (row: Row, type = 'application/octet-stream'): Record<string, string> => ({ ...headersOf(row), 'content-type': type });
  const receiptSignature = (id: string, target: Target): string => ed25519Sign(iccRegistry.key.seed, receiptMessage(id, manifestHash(bundles[target].prepared.manifest))).toString('base64');
  const columns: Column[] = [
    { key: 'list', label: 'GET /v1/bundles', roles: 'any', bundle: sameBundle, request: (row) => ({ method: 'GET', url: '/v1/bundles', headers: headersOf(row) }) },
    { key: 'view', label: 'GET /v1/bundles/:id', roles: 'any', bundle: sameBundle, request: (row, id) => ({ method: 'GET', url: `/v1/bundles/${id}`, headers: headersOf(row) }) },
    { key: 'file', label: 'GET /v1/bundles/:id/files/0', roles: ['investigator', 'registry'], bundle: sameBundle, request: (row, id) => ({ method: 'GET', url: `/v1/bundles/${id}/files/0`, headers: headersOf(row) }) },
    { key: 'custody', label: 'GET /v1/bundles/:id/custody', roles: 'any', bundle: sameBundle, request: (row, id) => ({ method: 'GET', url: `/v1/bundles/${id}/custody`, headers: headersOf(row) }) },
    {
      key: 'release',
      label: 'POST /v1/bundles/:id/releases',
      roles: ['investigator'],
     
      bundle: sameBundle,
      request: (row, id) => {
        // The owner's side asks for ICC; anyone else tries to pass it on to DE.
        const to = row.who === 'NL' ? keys['ICC']! : keys['DE']!;
        const b = bundles[row.target];
        return { method: 'POST', url: `/v1/bundles/${id}/releases`, headers: headersOf(row), payload: { recipient: to.code, purpose: b.purpose, requestReference: 'MATRIX-1', keyWrap: wrapFor(b.prepared, to) } };
      },
    },
    { key: 'revoke', label: 'DELETE /v1/bundles/:id/releases/ICC', roles: ['investigator'], bundle: sameBundle, request: (row, id) => ({ method: 'DELETE', url: `/v1/bundles/${id}/releases/ICC`, headers: headersOf(row) }) },
    { key: 'receipt', label: 'POST /v1/bundles/:id/receipts', roles: ['registry'], bundle: sameBundle, request: (row, id) => ({ method: 'POST', url: `/v1/bundles/${id}/receipts`, headers: headersOf(row), payload: { signature: receiptSignature(id, row.target) } }) },
    { key: 'put', label: 'PUT /v1/bundles/:id/files/0 (sealed)', roles: ['investigator'], bundle: sameBundle, request: (row, id) => ({ method: 'PUT', url: `/v1/bundles/${id}/files/0`, headers: octet(row), payload: bundles[row.target].prepared.ciphertexts[0] }) },
    {
      key: 'patch',
      label: 'PATCH /v1/bundles/:id/files/0 (sealed)',
      roles: ['investigator'],
     
      bundle: sameBundle,
      request: (row, id) => ({ method: 'PATCH', url: `/v1/bundles/${id}/files/0`, headers: { ...octet(row, 'application/offset+octet-stream'), 'upload-offset': '0', 'tus-resumable': '1.0.0' }, payload: bundles[row.target].prepared.ciphertexts[0]!.subarray(0, 1) }),
    },
    { key: 'head', label: 'HEAD /v1/bundles/:id/files/0 (sealed)', roles: ['investigator'], bundle: sameBundle, request: (row, id) => ({ method: 'HEAD', url: `/v1/bundles/${id}/files/0`, headers: { ...headersOf(row), 'tus-resumable': '1.0.0' } }) },
    { key: 'seal', label: 'POST /v1/bundles/:id/seal (sealed)', roles: ['investigator'], bundle: sameBundle, request: (row, id) => ({ method: 'POST', url: `/v1/bundles/${id}/seal`, headers: headersOf(row) }) },
    { key: 'putOpen', label: 'PUT /v1/bundles/:id/files/0 (open)', roles: ['investigator'], bundle: openBundle, request: (row, id) => ({ method: 'PUT', url: `/v1/bundles/${id}/files/0`, headers: octet(row), payload: bundles.open.prepared.ciphertexts[0] }) },
    {
      key: 'patchOpen',
      label: 'PATCH /v1/bundles/:id/files/1 (open)',
      roles: ['investigator'],
     
      bundle: openBundle,
      request: (row, id) => ({ method: 'PATCH', url: `/v1/bundles/${id}/files/1`, headers: { ...octet(row, 'application/offset+octet-stream'), 'upload-offset': '0', 'tus-resumable': '1.0.0' }, payload: bundles.open.prepared.ciphertexts[1]!.subarray(0, 1) }),
    },
    { key: 'headOpen', label: 'HEAD /v1/bundles/:id/files/1 (open)', roles: ['investigator'], bundle: openBundle, request: (row, id) => ({ method: 'HEAD', url: `/v1/bundles/${id}/files/1`, headers: { ...headersOf(row), 'tus-resumable': '1.0.0' } }) },
    { key: 'sealOpen', label: 'POST /v1/bundles/:id/seal (open)', roles: ['investigator'], bundle: openBundle, request: (row, id) => ({ method: 'POST', url: `/v1/bundles/${id}/seal`, headers: headersOf(row) }) },
  ];

  // -------------------------------------------------------------------------
  // The expected statuses.
  //              list view file cust  rel  rev  rcpt  put patch head seal | putO patchO headO sealO
  // -------------------------------------------------------------------------
  const R403x8 = [403, 403, 403, 403, 403, 403, 403, 403];
  const N404x8 = [404, 404, 404, 404, 404, 404, 404, 404];
  const expected: Record<string, Cell[]> = {
    'owner investigator (uploader)': [L, 200, 200, 200, 409, 200, 403, 409, 409, 200, 409, 200, 204, 200, 409],
    'owner investigator (not the uploader)': [L, 200, 200, 200, 409, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403],
    'owner registry': [L, 200, 200, 200, 403, 403, 404, ...R403x8],
    'owner agreement officer': [L, 200, 403, 200, 403, 403, 403, ...R403x8],
    'owner auditor': [L, 200, 403, 200, 403, 403, 403, ...R403x8],
    'owner token without roles': [L, 200, 403, 200, 403, 403, 403, ...R403x8],
    'live recipient registry': [L, 200, 200, 200, 403, 403, 201, ...R403x8],
    'live recipient investigator': [L, 200, 200, 200, 403, 404, 403, ...N404x8],
    'live recipient token without roles': [L, 200, 403, 200, 403, 403, 403, ...R403x8],
    'recipient registry, agreement suspended': [U, 404, 404, 200, 403, 403, 404, ...R403x8],
    'recipient investigator, agreement suspended': [U, 404, 404, 200, 404, 404, 403, ...N404x8],
    'recipient registry, agreement expired': [U, 404, 404, 200, 403, 403, 404, ...R403x8],
    'recipient registry, agreement terminated': [U, 404, 404, 200, 403, 403, 404, ...R403x8],
    'recipient registry, release revoked': [U, 404, 404, 200, 403, 403, 404, ...R403x8],
    'recipient investigator, release revoked': [U, 404, 404, 200, 404, 404, 403, ...N404x8],
    'unrelated jurisdiction (DE) investigator': [U, 404, 404, 404, 404, 404, 403, ...N404x8],
    'unrelated jurisdiction (DE) registry': [U, 404, 404, 404, 403, 403, 404, ...R403x8],
    'unrelated jurisdiction (DE) auditor': [U, 404, 403, 404, 403, 403, 403, ...R403x8],
    'unrelated jurisdiction (DE) token without roles': [U, 404, 403, 404, 403, 403, 403, ...R403x8],
    'operator auditor': [U, 200, 403, 200, 403, 403, 403, ...R403x8],
    'recipient jurisdiction (ICC) auditor, live release': [L, 200, 403, 200, 403, 403, 403, ...R403x8],
    'recipient jurisdiction (ICC) auditor, agreement suspended': [U, 200, 403, 200, 403, 403, 403, ...R403x8],
  };
  t.same(Object.keys(expected).sort(), rows.map((r) => r.name).sort(), 'every row has its expectations');

  const ciphertextMarkers = Object.values(bundles).flatMap((b) => b.prepared.ciphertexts.map((c) => c.subarray(16, 48)));
  const containsCiphertext = (raw: Buffer): boolean =>
    ciphertextMarkers.some((m) => raw.includes(m) || raw.includes(Buffer.from(m.toString('base64'))) || raw.includes(Buffer.from(m.toString('hex'))));
  const REFUSAL_TYPES = ['access.denied', 'release.denied', 'release.refused', 'upload.refused', 'seal.refused', 'receipt.refused'];

  for (const row of rows) {
    const cells = expected[row.name]!;
    for (const [i, col] of columns.entries()) {
      const want = cells[i]!;
      const target = col.bundle(row);
      const b = bundles[target];
      const cell = `${row.name} × ${col.label}`;
      const before = await logSize(ta);
      const req = col.request(row, b.id);
      const res = await app.inject({ method: req.method, url: req.url, headers: req.headers ?? {}, ...(req.payload !== undefined ? { payload: req.payload as string } : {}) });

      // The cell itself: one assertion.
      if (want === L || want === U) {
        const listed = res.statusCode === 200 && (res.json().items as Array<{ id: string }>).some((x) => x.id === b.id);
        t.equal(res.statusCode === 200 ? (listed ? L : U) : res.statusCode, want, `${cell} → 200, ${want}`);
      } else {
        t.equal(res.statusCode, want, `${cell} → ${want}${res.statusCode !== want ? ` (got ${res.body.slice(0, 200)})` : ''}`);
      }

      // Nothing leaks ciphertext or key wraps.
      const fileBytesAllowed = col.key === 'file' && (res.statusCode === 200 || res.statusCode === 206);
      if (fileBytesAllowed) {
        t.ok(row.content, `${cell}: file bytes only for content holders`);
        t.ok(res.rawPayload.equals(b.prepared.ciphertexts[0]!), `${cell}: the exact ciphertext`);
      } else {
        t.notOk(containsCiphertext(res.rawPayload), `${cell}: no ciphertext in the response`);
      }
      const ownWrapAllowed = col.key === 'view' && res.statusCode === 200 && row.content;
      for (const w of wrapBoxes) {
        if (ownWrapAllowed && w.jurisdiction === (row.who as string)) continue;
        if (res.body.includes(w.box)) t.fail(`${cell}: leaks the ${w.jurisdiction} key wrap`);
      }
      if (col.key === 'view' && res.statusCode === 200) {
        const view = res.json();
        if (row.content) t.match(view.keyWrap, { jurisdiction: row.who }, `${cell}: its own jurisdiction's key wrap`);
        else t.equal(view.keyWrap, null, `${cell}: keyWrap is null`);
        t.equal('releases' in view, row.who === 'NL', `${cell}: the release list only for the owner`);
      }

      // A 404 says nothing: the same problem as for a bundle that does not exist.
      if (res.statusCode === 404) {
        const ghost = randomUUID();
        const other = col.request(row, ghost);
        const ghostRes = await app.inject({ method: other.method, url: other.url, headers: other.headers ?? {}, ...(other.payload !== undefined ? { payload: other.payload as string } : {}) });
        if (req.method === 'HEAD') {
          t.same([ghostRes.statusCode, ghostRes.headers['content-type'], ghostRes.headers['content-length'], ghostRes.body], [404, res.headers['content-type'], res.headers['content-length'], ''], `${cell}: the 404 is the one for a random id`);
        } else {
          t.same(
            { status: ghostRes.statusCode, type: ghostRes.headers['content-type'], body: ghostRes.body.split(ghost).join('<id>') },
            { status: res.statusCode, type: res.headers['content-type'], body: res.body.split(b.id).join('<id>') },
            `${cell}: the 404 is byte for byte the one for a random id`,
          );
        }
      }

      // Every refusal is in the bundle's custody, by this caller.
      if (res.statusCode >= 400) {
        const entries = (await logEntriesSince(ta, before)).filter((e: LoggedEntry) => e.subject === `bundle:${b.id}` && e.actor?.sub === row.sub);
        const recorded = entries.some((e) => REFUSAL_TYPES.includes(e.type));
        const roleRefusal = col.roles !== 'any' && !col.roles.some((r) => row.roles.includes(r));
        t.ok(recorded, `${cell}: the ${roleRefusal ? 'role ' : ''}refusal is recorded (${entries.map((e) => e.type).join(', ') || 'nothing'})`);
        if (roleRefusal) t.ok(entries.some((e) => e.type === 'access.denied' && e.data['reason'] === 'role_not_permitted'), `${cell}: as access.denied, reason role_not_permitted`);
      }

      // Put back what a successful revocation took away, so later rows see the same world.
      if (col.key === 'revoke' && res.statusCode === 200) await release(target);
    }
  }

  // No custody view carries a wrap or ciphertext, whoever reads it.
  const custody = await app.inject({ url: `/v1/bundles/${bundles.live.id}/custody`, headers: ta.auth('operator', ['auditor']) });
  t.notOk(containsCiphertext(custody.rawPayload), 'the custody chain holds no ciphertext');
  t.notOk(wrapBoxes.some((w) => custody.body.includes(w.box)), 'the custody chain holds no key wrap');
});
