/**
 * POST /v1/bundles (SPEC §2, §4; issue 4 "Deliver" 3 and 5): every refusal
 * with its status and problem code, and nothing stored after any of them —
 * no bundle, file or wrap row, no custody entry. File names in a manifest
 * are metadata only: nothing is written outside EVX_BLOB_DIR.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { cipherSizeFor, signManifest, wrapBundleKey, type Manifest } from '../../services/envelope/index.js';
import { ed25519Generate, ed25519Sign } from '../../services/shared/ed25519.js';
import { canonicalBytes } from '../../services/shared/jcs.js';
import { buildTestApp, registerJurisdictions, tempDir } from '../helpers/app.js';
import { addBoxKey, createBody, custodyOf, expectProblem, postBundle, prepareBundle, registerOfficer, uploadBundle, type Officer, type PreparedBundle } from '../helpers/evidence.js';

const root = tempDir(t, 'evx-create-');
const blobDir = path.join(root, 'a', 'b', 'blobs');
const ta = await buildTestApp(t, { EVX_BLOB_DIR: blobDir });
const { app } = ta;
await registerJurisdictions(ta, [{ code: 'NL' }, { code: 'DE' }, { code: 'ICC', kind: 'tribunal' }]);
const nlKeys = await addBoxKey(ta, 'NL');
const iccKeys = await addBoxKey(ta, 'ICC');
// DE deliberately has no box key.
const nl = await registerOfficer(ta, 'NL', 'inv-1', ['investigator']);
const nl2 = await registerOfficer(ta, 'NL', 'inv-2', ['investigator']);
const nlRegistry = await registerOfficer(ta, 'NL', 'reg-1', ['registry']);
const de = await registerOfficer(ta, 'DE', 'inv-de', ['investigator']);
// A DE officer with the same sub as an NL officer: keys are bound to (issuer, sub, jurisdiction).
const deSameSub = await registerOfficer(ta, 'DE', 'inv-1', ['investigator']);

const plain = Buffer.from('exhibit A: 2.5 chunks of evidence '.repeat(80));
const good = (): PreparedBundle => prepareBundle(nl, nlKeys, [plain, Buffer.alloc(10, 7)]);

async function stored(): Promise<{ bundles: number; files: number; wraps: number; log: number }> {
  const count = async (table: 'bundles' | 'bundle_files' | 'key_wraps'): Promise<number> => (await app.db.selectFrom(table).select('bundle_id' as never).execute()).length;
  return {
    bundles: (await app.db.selectFrom('bundles').select('id').execute()).length,
    files: await count('bundle_files'),
    wraps: await count('key_wraps'),
    log: await app.custody.size(),
  };
}

/** POST as `officer` (or raw headers); must be refused with status/code and store nothing. */
async function refused(t: Test, what: string, headers: Record<string, string>, body: unknown, status: number, code: string, more: Record<string, unknown> = {}): Promise<void> {
  const before = await stored();
  const res = await postBundle(ta, headers, body);
  expectProblem(t, res, status, code, more, what);
  t.same(await stored(), before, `${what}: nothing stored, no custody entry`);
}

const clone = <T>(x: T): T => structuredClone(x);

/** Re-sign a manifest changed on purpose, so only the change under test is wrong. */
function resign(manifest: Manifest, officer: Officer): string {
  return signManifest(manifest, officer.key.seed);
}

t.test('a valid bundle is created: 201, open, one row per file, one custody entry without names', async (t) => {
  const before = await stored();
  const p = good();
  const res = await postBundle(ta, nl.headers, createBody(p));
  t.equal(res.statusCode, 201, res.body);
  const body = res.json();
  t.match(body, { status: 'open', files: [{ n: 0, cipherSize: p.manifest.files[0]!.cipherSize, received: 0 }, { n: 1, cipherSize: p.manifest.files[1]!.cipherSize, received: 0 }] });
  t.match(body.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.same(await stored(), { bundles: before.bundles + 1, files: before.files + 2, wraps: before.wraps + 1, log: before.log + 1 });
  const custody = await custodyOf(ta, body.id, nl.headers);
  t.equal(custody.entries.length, 1);
  t.match(custody.entries[0]!.entry, {
    type: 'bundle.created',
    subject: `bundle:${body.id}`,
    actor: { iss: ta.issuers.NL.issuer, sub: 'inv-1', jurisdiction: 'NL' },
    data: { owner: 'NL', crimeCategory: 'war_crimes', classification: 'confidential', ownerKeyVersion: nlKeys.keyVersion },
  });
  const text = JSON.stringify(custody);
  t.notOk(text.includes('exhibit-0.bin') || text.includes(p.manifest.caseReference), 'no file names or case text in custody');
});

t.test('callers who may not create: 401 without a token, 403 for other roles and for the operator', async (t) => {
  const body = createBody(good());
  await refused(t, 'no token', {}, body, 401, 'unauthorized');
  await refused(t, 'registry', nlRegistry.headers, body, 403, 'forbidden_role');
  await refused(t, 'auditor', ta.auth('NL', ['auditor'], { sub: 'inv-1' }), body, 403, 'forbidden_role');
  await refused(t, 'agreement officer', ta.auth('NL', ['agreement_officer'], { sub: 'inv-1' }), body, 403, 'forbidden_role');
  await refused(t, 'no roles', ta.auth('NL', [], { sub: 'inv-1' }), body, 403, 'forbidden_role');
  await refused(t, 'operator admin', ta.auth('operator', ['admin']), body, 403, 'forbidden_role');
  await refused(t, 'operator with investigator role', ta.auth('operator', ['investigator'], { sub: 'inv-1' }), body, 403, 'forbidden');
});

t.test('body shape: unknown, missing and mistyped fields are 400 validation_failed', async (t) => {
  const p = good();
  const body = createBody(p);
  const cases: Array<[string, (b: Record<string, any>) => void]> = [
    ['extra top-level field', (b) => (b.bundleKey = 'AAAA')],
    ['missing manifest', (b) => delete b.manifest],
    ['missing signature', (b) => delete b.signature],
    ['missing keyWraps', (b) => delete b.keyWraps],
    ['keyWraps empty', (b) => (b.keyWraps = [])],
    ['keyWraps not an array', (b) => (b.keyWraps = b.keyWraps[0])],
    ['signature not base64', (b) => (b.signature = 'not base64!')],
    ['signature a number', (b) => (b.signature = 42)],
    ['manifest an array', (b) => (b.manifest = [b.manifest])],
    ['manifest null', (b) => (b.manifest = null)],
    ['unknown manifest field', (b) => (b.manifest.comment = 'hello')],
    ['unknown file field', (b) => (b.manifest.files[0].path = '/tmp/x')],
    ['unknown signer field', (b) => (b.manifest.signer.role = 'investigator')],
    ['missing caseReference', (b) => delete b.manifest.caseReference],
    ['missing files', (b) => delete b.manifest.files],
    ['no files', (b) => (b.manifest.files = [])],
    ['missing signer', (b) => delete b.manifest.signer],
    ['missing file sha256', (b) => delete b.manifest.files[1].sha256],
    ['version 2', (b) => (b.manifest.v = 2)],
    ['size as a string', (b) => (b.manifest.files[0].size = String(b.manifest.files[0].size))],
    ['cipherSize not matching size', (b) => (b.manifest.files[0].cipherSize += 1)],
    ['negative size', (b) => (b.manifest.files[0].size = -1)],
    ['chunkSize below the minimum', (b) => (b.manifest.files[0].chunkSize = 16)],
    ['cipherSha256 upper case', (b) => (b.manifest.files[0].cipherSha256 = b.manifest.files[0].cipherSha256.toUpperCase())],
    ['unknown classification', (b) => (b.manifest.classification = 'top_secret')],
    ['unknown crime category', (b) => (b.manifest.crimeCategory = 'jaywalking')],
    ['createdAt not UTC', (b) => (b.manifest.createdAt = '2026-11-30T09:00:00+01:00')],
    ['duplicate nonce prefix', (b) => (b.manifest.files[1].noncePrefix = b.manifest.files[0].noncePrefix)],
    ['signer publicKey not 32 bytes', (b) => (b.manifest.signer.publicKey = 'AAAA')],
    ['file name with NUL', (b) => (b.manifest.files[0].name = 'a\u0000b')],
    ['file name too long', (b) => (b.manifest.files[0].name = 'x'.repeat(256))],
    ['unknown key wrap field', (b) => (b.keyWraps[0].note = 'x')],
    ['key wrap missing box', (b) => delete b.keyWraps[0].box],
    ['key wrap box wrong length', (b) => (b.keyWraps[0].box = Buffer.alloc(32).toString('base64'))],
    ['key wrap version 0', (b) => (b.keyWraps[0].keyVersion = 0)],
    ['key wrap version as a string', (b) => (b.keyWraps[0].keyVersion = '1')],
    ['key wrap not an object', (b) => (b.keyWraps[0] = 'wrap')],
  ];
  for (const [what, change] of cases) {
    const b = clone(body) as Record<string, any>;
    change(b);
    await refused(t, what, nl.headers, b, 400, 'validation_failed');
  }
  // Not JSON at all.
  const before = await stored();
  const notJson = await app.inject({ method: 'POST', url: '/v1/bundles', headers: { ...nl.headers, 'content-type': 'application/json' }, payload: '{"manifest":' });
  expectProblem(t, notJson, 400, 'bad_request', {}, 'truncated JSON');
  const text = await app.inject({ method: 'POST', url: '/v1/bundles', headers: { ...nl.headers, 'content-type': 'text/plain' }, payload: JSON.stringify(body) });
  expectProblem(t, text, 415, 'unsupported_media_type', {}, 'text/plain');
  t.same(await stored(), before);
});

t.test('the signer must be the caller, with a key registered to the caller', async (t) => {
  // Signed correctly, by someone else.
  await refused(t, 'signed by another NL investigator', nl.headers, createBody(prepareBundle(nl2, nlKeys, [plain])), 422, 'signer_not_caller', { problem: 'signer_not_caller' });
  const deSigned = prepareBundle(de, nlKeys, [plain]);
  await refused(t, 'signer of another jurisdiction', nl.headers, createBody(deSigned), 422, 'signer_not_caller', { problem: 'signer_not_caller' });
  const sameSubOtherJurisdiction = prepareBundle(deSameSub, nlKeys, [plain]);
  await refused(t, 'same sub, signer jurisdiction DE, caller NL', nl.headers, createBody(sameSubOtherJurisdiction), 422, 'signer_not_caller', { problem: 'signer_not_caller' });

  // Naming the caller, but with a key that is not the caller's.
  const unregistered = { ...nl, key: ed25519Generate() };
  await refused(t, 'key never registered', nl.headers, createBody(prepareBundle(unregistered, nlKeys, [plain])), 422, 'signer_key_not_registered', { problem: 'signer_key_not_registered' });
  await refused(t, "key registered to another NL officer", nl.headers, createBody(prepareBundle({ ...nl, key: nl2.key }, nlKeys, [plain])), 422, 'signer_key_not_registered', { problem: 'signer_key_not_registered' });
  await refused(t, 'key registered to the DE officer with the same sub', nl.headers, createBody(prepareBundle({ ...nl, key: deSameSub.key }, nlKeys, [plain])), 422, 'signer_key_not_registered', { problem: 'signer_key_not_registered' });
  await refused(t, 'key registered to a DE officer', nl.headers, createBody(prepareBundle({ ...nl, key: de.key }, nlKeys, [plain])), 422, 'signer_key_not_registered', { problem: 'signer_key_not_registered' });
  // The token's sub decides who the caller is: inv-2's token with inv-1's manifest.
  await refused(t, "inv-2 posting inv-1's signed manifest", nl2.headers, createBody(good()), 422, 'signer_not_caller', { problem: 'signer_not_caller' });
});

t.test('the signature must verify over the manifest exactly as posted', async (t) => {
  const p = good();
  const changes: Array<[string, (m: Record<string, any>) => void]> = [
    ['caseReference', (m) => (m.caseReference = 'NL-2026-0043')],
    ['crimeCategory', (m) => (m.crimeCategory = 'terrorism')],
    ['classification lowered', (m) => (m.classification = 'public')],
    ['createdAt', (m) => (m.createdAt = '2026-11-30T09:00:01Z')],
    ['a file name', (m) => (m.files[0].name = 'other.bin')],
    ['a plaintext hash', (m) => (m.files[0].sha256 = 'f'.repeat(64))],
    ['a cipher hash', (m) => (m.files[1].cipherSha256 = '0'.repeat(64))],
    ['a nonce prefix', (m) => (m.files[1].noncePrefix = Buffer.alloc(16, 9).toString('base64'))],
    ['sizes', (m) => ((m.files[1].size = 11), (m.files[1].cipherSize = cipherSizeFor(11, m.files[1].chunkSize)))],
    ['files reordered', (m) => m.files.reverse()],
    ['a file dropped', (m) => m.files.pop()],
  ];
  for (const [what, change] of changes) {
    const b = clone(createBody(p)) as Record<string, any>;
    change(b.manifest);
    await refused(t, `${what} changed after signing`, nl.headers, b, 422, 'manifest_signature_invalid', { problem: 'manifest_signature_invalid' });
  }
  const bytes = canonicalBytes(p.manifest);
  const bySig = (sig: Buffer | string): unknown => ({ ...createBody(p), signature: typeof sig === 'string' ? sig : sig.toString('base64') });
  await refused(t, 'signature by another registered key', nl.headers, bySig(ed25519Sign(nl2.key.seed, bytes)), 422, 'manifest_signature_invalid', { problem: 'manifest_signature_invalid' });
  await refused(t, 'signature of another manifest', nl.headers, bySig(good().signature), 422, 'manifest_signature_invalid', { problem: 'manifest_signature_invalid' });
  await refused(t, 'signature all zeros', nl.headers, bySig(Buffer.alloc(64)), 422, 'manifest_signature_invalid', { problem: 'manifest_signature_invalid' });
  const flipped = Buffer.from(p.signature, 'base64');
  flipped[10] = flipped[10]! ^ 1;
  await refused(t, 'one bit flipped', nl.headers, bySig(flipped), 422, 'manifest_signature_invalid', { problem: 'manifest_signature_invalid' });
  await refused(t, 'signature 63 bytes', nl.headers, bySig(Buffer.alloc(63, 1)), 422, 'manifest_signature_invalid', { problem: 'manifest_signature_invalid' });
  // Signed over non-canonical JSON (plain JSON.stringify) instead of JCS.
  await refused(t, 'signed over JSON.stringify, not JCS', nl.headers, bySig(ed25519Sign(nl.key.seed, Buffer.from(JSON.stringify(p.manifest)))), 422, 'manifest_signature_invalid', { problem: 'manifest_signature_invalid' });
  // The same manifest sent with keys in another order is the same canonical manifest: accepted.
  const reordered = Object.fromEntries(Object.entries(p.manifest).reverse());
  const ok = await postBundle(ta, nl.headers, { ...createBody(p), manifest: reordered });
  t.equal(ok.statusCode, 201, 'member order does not matter (JCS)');
});

t.test('key wraps: exactly one, for the owner, under its current key version', async (t) => {
  const p = good();
  const deWrap = wrapBundleKey(p.bundleKey, { jurisdiction: 'DE', keyVersion: 1, boxPublicKey: nlKeys.box.publicKey });
  const iccWrap = wrapBundleKey(p.bundleKey, { jurisdiction: 'ICC', keyVersion: iccKeys.keyVersion, boxPublicKey: iccKeys.box.publicKey });
  await refused(t, 'only a wrap for DE', nl.headers, { ...createBody(p), keyWraps: [deWrap] }, 422, 'owner_key_wrap_missing', { problem: 'owner_key_wrap_missing' });
  await refused(t, 'only a wrap for ICC', nl.headers, { ...createBody(p), keyWraps: [iccWrap] }, 422, 'owner_key_wrap_missing', { problem: 'owner_key_wrap_missing' });
  await refused(t, 'owner wrap plus an ICC wrap', nl.headers, { ...createBody(p), keyWraps: [p.keyWraps[0], iccWrap] }, 400, 'validation_failed');
  await refused(t, 'owner wrap twice', nl.headers, { ...createBody(p), keyWraps: [p.keyWraps[0], p.keyWraps[0]] }, 400, 'validation_failed');
  await refused(t, 'a wrap for an unregistered jurisdiction', nl.headers, { ...createBody(p), keyWraps: [{ ...p.keyWraps[0]!, jurisdiction: 'XX' }] }, 422, 'owner_key_wrap_missing', { problem: 'owner_key_wrap_missing' });
  await refused(t, 'owner wrap under a key version that does not exist', nl.headers, { ...createBody(p), keyWraps: [{ ...p.keyWraps[0]!, keyVersion: 7 }] }, 422, 'key_version_not_current', { problem: 'key_version_not_current' });
  // A jurisdiction without a box key cannot own bundles yet.
  await refused(t, 'DE has no box key', de.headers, createBody(prepareBundle(de, { code: 'DE', box: nlKeys.box, keyVersion: 1 }, [plain])), 422, 'jurisdiction_has_no_key', { problem: 'jurisdiction_has_no_key' });
});

t.test('after a key rotation, a wrap under the old version is refused', async (t) => {
  const icc = await registerOfficer(ta, 'ICC', 'icc-inv', ['investigator']);
  const v1 = prepareBundle(icc, iccKeys, [plain]);
  const rotated = await addBoxKey(ta, 'ICC');
  t.equal(rotated.keyVersion, iccKeys.keyVersion + 1, 'ICC now has version 2');
  await refused(t, 'wrap under version 1 after rotation', icc.headers, createBody(v1), 422, 'key_version_not_current', { problem: 'key_version_not_current' });
  const v2 = prepareBundle(icc, rotated, [plain]);
  const res = await postBundle(ta, icc.headers, createBody(v2));
  t.equal(res.statusCode, 201, 'a wrap under the current version is accepted');
  // And the view gives back the owner's wrap under version 2.
  const view = await app.inject({ url: `/v1/bundles/${res.json().id}`, headers: icc.headers });
  t.equal(view.json().keyWrap.keyVersion, rotated.keyVersion);
});

function walk(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    out.push(statSync(path.join(dir, name)).isDirectory() ? `${rel}/` : rel);
    if (statSync(path.join(dir, name)).isDirectory()) out.push(...walk(path.join(dir, name), rel));
  }
  return out;
}

t.test('file names are metadata only: path-like names are accepted and never touch the filesystem', async (t) => {
  const names = ['../../etc/passwd', 'C:\\x', '/etc/shadow', '..\\..\\Windows\\System32\\drivers\\etc\\hosts', 'a/../../../b', '..', '.', ' ', '\u202Egpj.exe', 'nul', 'CON'];
  const before = walk(root);
  const p = prepareBundle(nl, nlKeys, names.map((_, i) => Buffer.alloc(20 + i, i)), { names });
  const id = await uploadBundle(ta, nl, p);
  const view = await app.inject({ url: `/v1/bundles/${id}`, headers: nl.headers });
  t.same(
    (view.json().manifest.files as Array<{ name: string }>).map((f) => f.name),
    names,
    'the names come back exactly as signed',
  );
  for (const n of names.keys()) {
    const res = await app.inject({ url: `/v1/bundles/${id}/files/${n}`, headers: nl.headers });
    t.equal(res.statusCode, 200);
    t.ok(res.rawPayload.equals(p.ciphertexts[n]!), `file ${n} downloads`);
  }
  const after = walk(root);
  const added = after.filter((x) => !before.includes(x));
  const expected = ['a/b/blobs/objects/', 'a/b/blobs/uploads/', `a/b/blobs/objects/${id}/`, ...names.map((_, n) => `a/b/blobs/objects/${id}/${n}`), `a/b/blobs/uploads/${id}/`]
    .filter((x) => !before.includes(x))
    .sort();
  t.same(added.sort(), expected, 'only objects/<id>/<n> (and the emptied uploads/<id>/) were created, all inside EVX_BLOB_DIR');
  t.ok(after.every((x) => x.startsWith('a/')), 'nothing beside the blob directory');
  const custody = JSON.stringify(await custodyOf(ta, id, nl.headers));
  t.notOk(names.some((n) => n.length > 3 && custody.includes(JSON.stringify(n).slice(1, -1))), 'no file name in custody entries');
});
