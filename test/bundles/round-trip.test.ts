import { createHash } from 'node:crypto';
import sodium from 'libsodium-wrappers';
import t from 'tap';
import { decryptBytes, unwrapBundleKey, validateKeyWrap } from '../../services/envelope/index.js';
import { verifyCustody } from '../../services/ledger/verify.js';
import { buildTestApp, registerJurisdictions } from '../helpers/app.js';
import { addBoxKey, prepareBundle, registerOfficer, uploadBundle } from '../helpers/evidence.js';

await sodium.ready;

/** SPEC §4 decryption written directly on libsodium, independent of our envelope code. */
function libsodiumOpenFile(ciphertext: Uint8Array, key: Uint8Array, prefix: Uint8Array, chunkSize: number): Buffer {
  const boxed = chunkSize + sodium.crypto_secretbox_MACBYTES;
  const count = Math.max(1, Math.ceil(ciphertext.length / boxed));
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const nonce = new Uint8Array(24);
    nonce.set(prefix, 0);
    const counter = new DataView(nonce.buffer, 16, 8);
    counter.setBigUint64(0, BigInt(i) | (i === count - 1 ? 1n << 63n : 0n));
    out.push(Buffer.from(sodium.crypto_secretbox_open_easy(ciphertext.subarray(i * boxed, Math.min(ciphertext.length, (i + 1) * boxed)), nonce, key)));
  }
  return Buffer.concat(out);
}

t.test('encrypt, upload, seal, download, decrypt: the plaintext comes back; custody verifies', async (t) => {
  const ta = await buildTestApp(t);
  await registerJurisdictions(ta, [{ code: 'NL' }]);
  const nl = await addBoxKey(ta, 'NL');
  const officer = await registerOfficer(ta, 'NL', 'inv-1', ['investigator']);
  const chunkSize = 1024;
  const files = [Buffer.alloc(0), Buffer.from(Array.from({ length: Math.floor(2.5 * chunkSize) }, (_, i) => i % 251))];
  const prepared = prepareBundle(officer, nl, files, { chunkSize });
  const id = await uploadBundle(ta, officer, prepared);

  const view = await ta.app.inject({ url: `/v1/bundles/${id}`, headers: officer.headers });
  t.equal(view.statusCode, 200);
  const body = view.json();
  t.equal(body.status, 'sealed');
  t.same(body.manifest, prepared.manifest, 'the manifest comes back exactly as signed');
  const wrap = validateKeyWrap(body.keyWrap);
  t.ok(wrap.ok);
  const key = unwrapBundleKey(body.keyWrap, nl.box.secretKey);
  t.ok(key && Buffer.from(key).equals(prepared.bundleKey), 'the owner unwraps the bundle key');

  for (const [n, plain] of files.entries()) {
    const res = await ta.app.inject({ url: `/v1/bundles/${id}/files/${n}`, headers: officer.headers });
    t.equal(res.statusCode, 200);
    t.equal(res.headers['etag'], `"${prepared.manifest.files[n]!.cipherSha256}"`);
    const f = prepared.manifest.files[n]!;
    const out = decryptBytes(res.rawPayload, { key: key!, noncePrefix: Buffer.from(f.noncePrefix, 'base64'), chunkSize: f.chunkSize });
    t.equal(createHash('sha256').update(out).digest('hex'), f.sha256, `file ${n} plaintext hash matches`);
    t.ok(out.equals(plain));
    // The same bytes open with libsodium's primitives: the bundle key from crypto_box_open_easy, each chunk with crypto_secretbox_open_easy.
    const wrap = body.keyWrap as { ephemeralPublicKey: string; nonce: string; box: string };
    const k = sodium.crypto_box_open_easy(Buffer.from(wrap.box, 'base64'), Buffer.from(wrap.nonce, 'base64'), Buffer.from(wrap.ephemeralPublicKey, 'base64'), nl.box.secretKey);
    const viaSodium = libsodiumOpenFile(res.rawPayload, k, Buffer.from(f.noncePrefix, 'base64'), f.chunkSize);
    t.ok(viaSodium.equals(plain), `file ${n} decrypts with libsodium`);
  }
  const range = await ta.app.inject({ url: `/v1/bundles/${id}/files/1`, headers: { ...officer.headers, range: 'bytes=10-19' } });
  t.equal(range.statusCode, 206);
  t.ok(range.rawPayload.equals(prepared.ciphertexts[1]!.subarray(10, 20)));

  const custody = await ta.app.inject({ url: `/v1/bundles/${id}/custody`, headers: officer.headers });
  t.equal(custody.statusCode, 200);
  const verdict = verifyCustody(custody.json(), ta.app.custody.vkey);
  t.ok(verdict.ok, verdict.firstProblem?.reason ?? '');
  const types = (custody.json().entries as Array<{ entry: { type: string } }>).map((e) => e.entry.type);
  t.same(types.slice(0, 4), ['bundle.created', 'file.received', 'file.received', 'bundle.sealed']);
  t.ok(types.includes('file.downloaded') && types.includes('bundle.accessed'));
});

t.test('seal re-checks every stored ciphertext against the manifest', async (t) => {
  const ta = await buildTestApp(t);
  await registerJurisdictions(ta, [{ code: 'NL' }]);
  const nl = await addBoxKey(ta, 'NL');
  const officer = await registerOfficer(ta, 'NL', 'inv-1', ['investigator']);
  const prepared = prepareBundle(officer, nl, [Buffer.alloc(3000, 1)]);
  const id = await uploadBundle(ta, officer, prepared, { seal: false });
  // Someone with access to the blob directory alters the stored object between upload and seal.
  const { readFileSync, writeFileSync } = await import('node:fs');
  const object = `${ta.config.blobDir}/objects/${id}/0`;
  const bytes = readFileSync(object);
  bytes[100] = bytes[100]! ^ 1;
  writeFileSync(object, bytes);
  const res = await ta.app.inject({ method: 'POST', url: `/v1/bundles/${id}/seal`, headers: officer.headers });
  t.equal(res.statusCode, 422);
  t.equal(res.json().code, 'cipher_hash_mismatch');
  t.equal(res.json().file, 0);
  const view = await ta.app.inject({ url: `/v1/bundles/${id}`, headers: officer.headers });
  t.equal(view.json().status, 'open', 'not sealed');
});
