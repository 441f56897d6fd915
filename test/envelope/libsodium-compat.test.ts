/**
 * Interoperability with libsodium, the reference other clients will use:
 * the chunk loop is re-implemented here from SPEC §4 on libsodium's
 * primitives, independently of services/envelope.
 */
import sodium from 'libsodium-wrappers';
import t from 'tap';
import {
  createDecryptStream,
  createEncryptStream,
  generateBoxKeyPair,
  unwrapBundleKey,
  wrapBundleKey,
  signManifest,
  type Manifest,
} from '../../services/envelope/index.js';
import { canonicalBytes } from '../../services/shared/jcs.js';
import { ed25519PublicFromSeed } from '../../services/shared/ed25519.js';
import { cut, pseudoRandomBytes, run } from './helpers.js';

await sodium.ready;

function sodiumNonce(prefix: Uint8Array, index: number, final: boolean): Uint8Array {
  const nonce = new Uint8Array(24);
  nonce.set(prefix, 0);
  new DataView(nonce.buffer).setBigUint64(16, BigInt(index) | (final ? 1n << 63n : 0n), false);
  return nonce;
}

function sodiumDecrypt(ciphertext: Uint8Array, key: Uint8Array, prefix: Uint8Array, chunkSize: number): Buffer {
  const boxedSize = chunkSize + sodium.crypto_secretbox_MACBYTES;
  const out: Uint8Array[] = [];
  let offset = 0;
  let index = 0;
  for (;;) {
    const final = ciphertext.length - offset <= boxedSize;
    const boxed = ciphertext.subarray(offset, final ? ciphertext.length : offset + boxedSize);
    out.push(sodium.crypto_secretbox_open_easy(boxed, sodiumNonce(prefix, index, final), key));
    if (final) break;
    offset += boxedSize;
    index += 1;
  }
  return Buffer.concat(out);
}

function sodiumEncrypt(plaintext: Uint8Array, key: Uint8Array, prefix: Uint8Array, chunkSize: number): Buffer {
  const count = Math.max(1, Math.ceil(plaintext.length / chunkSize));
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const chunk = plaintext.subarray(i * chunkSize, Math.min(plaintext.length, (i + 1) * chunkSize));
    out.push(sodium.crypto_secretbox_easy(chunk, sodiumNonce(prefix, i, i === count - 1), key));
  }
  return Buffer.concat(out);
}

const chunkSize = 1024;
const SIZES = [0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 2 * chunkSize, 2.5 * chunkSize, 7 * chunkSize + 13];

t.test('our ciphertext opens with crypto_secretbox_open_easy', async (t) => {
  for (const size of SIZES) {
    const key = sodium.randombytes_buf(32);
    const prefix = sodium.randombytes_buf(16);
    const plaintext = pseudoRandomBytes(size, size + 1);
    const enc = await run(createEncryptStream({ key, noncePrefix: prefix, chunkSize }), cut(plaintext, [300]));
    t.equal(enc.error, null);
    t.ok(sodiumDecrypt(enc.output, key, prefix, chunkSize).equals(plaintext), `size ${size}`);
  }
});

t.test('crypto_secretbox_easy ciphertext opens with our decryptor', async (t) => {
  for (const size of SIZES) {
    const key = sodium.randombytes_buf(32);
    const prefix = sodium.randombytes_buf(16);
    const plaintext = pseudoRandomBytes(size, size + 2);
    const ciphertext = sodiumEncrypt(plaintext, key, prefix, chunkSize);
    const dec = await run(createDecryptStream({ key, noncePrefix: prefix, chunkSize }), cut(ciphertext, [513]));
    t.equal(dec.error, null, `size ${size} decrypts`);
    t.ok(dec.output.equals(plaintext), `size ${size}`);
  }
});

t.test('libsodium, like us, refuses a file cut at a chunk boundary', async (t) => {
  const key = sodium.randombytes_buf(32);
  const prefix = sodium.randombytes_buf(16);
  const ciphertext = sodiumEncrypt(pseudoRandomBytes(3 * chunkSize, 3), key, prefix, chunkSize);
  t.throws(() => sodiumDecrypt(ciphertext.subarray(0, 2 * (chunkSize + 16)), key, prefix, chunkSize));
});

t.test('key wraps open with crypto_box_open_easy, and crypto_box_easy wraps open with ours', async (t) => {
  const recipient = generateBoxKeyPair();
  const bundleKey = sodium.randombytes_buf(32);
  const wrap = wrapBundleKey(bundleKey, { jurisdiction: 'NL', keyVersion: 3, boxPublicKey: recipient.publicKey });
  const opened = sodium.crypto_box_open_easy(
    sodium.from_base64(wrap.box, sodium.base64_variants.ORIGINAL),
    sodium.from_base64(wrap.nonce, sodium.base64_variants.ORIGINAL),
    sodium.from_base64(wrap.ephemeralPublicKey, sodium.base64_variants.ORIGINAL),
    recipient.secretKey,
  );
  t.ok(Buffer.from(opened).equals(bundleKey), 'libsodium unwraps our wrap');

  const sodiumRecipient = sodium.crypto_box_keypair();
  const ephemeral = sodium.crypto_box_keypair();
  const nonce = sodium.randombytes_buf(24);
  const box = sodium.crypto_box_easy(bundleKey, nonce, sodiumRecipient.publicKey, ephemeral.privateKey);
  const theirs = {
    jurisdiction: 'ICC',
    keyVersion: 1,
    ephemeralPublicKey: Buffer.from(ephemeral.publicKey).toString('base64'),
    nonce: Buffer.from(nonce).toString('base64'),
    box: Buffer.from(box).toString('base64'),
  };
  const unwrapped = unwrapBundleKey(theirs, sodiumRecipient.privateKey);
  t.ok(unwrapped !== null && Buffer.from(unwrapped).equals(bundleKey), 'we unwrap a libsodium wrap');
});

t.test('libsodium refuses low-order box keys, and so do we', async (t) => {
  const lowOrder = new Uint8Array(32); // the identity point
  t.throws(() => sodium.crypto_box_easy(new Uint8Array(32), new Uint8Array(24), lowOrder, sodium.crypto_box_keypair().privateKey));
  t.throws(() => wrapBundleKey(new Uint8Array(32), { jurisdiction: 'NL', keyVersion: 1, boxPublicKey: lowOrder }), /low-order/);
});

t.test('manifest signatures verify with crypto_sign_verify_detached', async (t) => {
  const seed = pseudoRandomBytes(32, 9);
  const manifest: Manifest = {
    v: 1,
    caseReference: 'ICC-01/22-TEST',
    crimeCategory: 'war_crimes',
    classification: 'confidential',
    createdAt: '2026-01-31T09:30:00Z',
    files: [],
    signer: { jurisdiction: 'NL', sub: 'officer-1', publicKey: ed25519PublicFromSeed(seed).toString('base64') },
  };
  const signature = Buffer.from(signManifest(manifest, seed), 'base64');
  t.ok(sodium.crypto_sign_verify_detached(signature, canonicalBytes(manifest), ed25519PublicFromSeed(seed)));
  t.ok(Buffer.from(sodium.crypto_sign_seed_keypair(seed).publicKey).equals(ed25519PublicFromSeed(seed)), 'same public key from the seed');
});
