/**
 * Recomputes every value of the worked example in
 * docs/FORMATS.md (Part B) from its fixed inputs, mostly with
 * tweetnacl/libsodium directly rather than through services/envelope, and
 * fails if the document has a value nobody checked.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sodium from 'libsodium-wrappers';
import t from 'tap';
import nacl from 'tweetnacl';
import {
  cipherSizeFor,
  decryptBytes,
  encryptBytes,
  manifestHash,
  signManifest,
  unwrapBundleKey,
  validateKeyWrap,
  validateManifest,
  verifyManifestSignature,
  wrapBundleKeyWith,
  type KeyWrap,
  type Manifest,
} from '../../services/envelope/index.js';
import { ed25519PublicFromSeed } from '../../services/shared/ed25519.js';
import { canonicalize } from '../../services/shared/jcs.js';

await sodium.ready;

const DOC = new URL('../../docs/FORMATS.md', import.meta.url);
const text = readFileSync(DOC, 'utf8');

interface Block {
  lang: string;
  body: string;
}
const blocks = new Map<string, Block>();
for (const m of text.matchAll(/^```(\w+) example:([\w-]+)\n([\s\S]*?)^```$/gm)) {
  const [, lang, id, body] = m as unknown as [string, string, string, string];
  if (blocks.has(id)) throw new Error(`duplicate example block ${id}`);
  blocks.set(id, { lang, body });
}

/** `name = value` lines of a text block; every value must be taken (checked) by the test. */
class Values {
  readonly #values = new Map<string, string>();
  readonly #taken = new Set<string>();
  constructor(readonly id: string) {
    const block = blocks.get(id);
    if (block === undefined) throw new Error(`no example:${id} block`);
    for (const line of block.body.split('\n')) {
      if (line.trim() === '') continue;
      const eq = line.indexOf(' = ');
      if (eq < 0) throw new Error(`example:${id}: not a "name = value" line: ${line}`);
      const name = line.slice(0, eq).trim();
      if (this.#values.has(name)) throw new Error(`example:${id}: ${name} twice`);
      this.#values.set(name, line.slice(eq + 3).trim());
    }
  }
  text(name: string): string {
    const v = this.#values.get(name);
    if (v === undefined) throw new Error(`example:${this.id}: no ${name}`);
    this.#taken.add(name);
    return v;
  }
  hex(name: string): Buffer {
    const v = this.text(name);
    if (!/^(?:[0-9a-f]{2})+$/.test(v)) throw new Error(`example:${this.id}: ${name} is not lower-case hex`);
    return Buffer.from(v, 'hex');
  }
  untaken(): string[] {
    return [...this.#values.keys()].filter((k) => !this.#taken.has(k));
  }
}

function json(id: string): unknown {
  const block = blocks.get(id);
  if (block === undefined || block.lang !== 'json') throw new Error(`no json example:${id} block`);
  return JSON.parse(block.body) as unknown;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
/** SPEC §4 nonce, built here independently of services/envelope. */
function nonceFor(prefix: Uint8Array, index: number, final: boolean): Buffer {
  const nonce = Buffer.alloc(24);
  Buffer.from(prefix).copy(nonce, 0);
  nonce.writeBigUInt64BE(BigInt(index) | (final ? 1n << 63n : 0n), 16);
  return nonce;
}

const inputs = new Values('envelope-inputs');
const chunks = new Values('chunks');
const file = new Values('file');
const sig = new Values('signature');
const wrapInputs = new Values('wrap-inputs');

const K = inputs.hex('K');
const prefix = inputs.hex('noncePrefix');
const chunkSize = Number(inputs.text('chunkSize'));
const plaintext = inputs.hex('plaintext');

t.test('the document has exactly the expected example blocks', async (t) => {
  t.same([...blocks.keys()].sort(), ['chunks', 'envelope-inputs', 'file', 'manifest', 'manifest-jcs', 'signature', 'wrap', 'wrap-inputs']);
});

t.test('envelope inputs', async (t) => {
  t.equal(K.length, 32);
  t.equal(prefix.length, 16);
  t.equal(inputs.text('noncePrefix.base64'), b64(prefix));
  t.ok(Number.isInteger(chunkSize) && chunkSize > 0);
  t.equal(inputs.text('plaintext.utf8'), plaintext.toString('utf8'));
});

const n = Math.max(1, Math.ceil(plaintext.length / chunkSize));
const boxes: Buffer[] = [];

t.test('chunks: nonce, tag and ciphertext of each', async (t) => {
  t.equal(n, 3, 'the example makes three chunks');
  for (let i = 0; i < n; i++) {
    const final = i === n - 1;
    const plain = plaintext.subarray(i * chunkSize, Math.min(plaintext.length, (i + 1) * chunkSize));
    t.ok(chunks.hex(`plain[${i}]`).equals(plain), `plain[${i}]`);
    const nonce = nonceFor(prefix, i, final);
    t.ok(chunks.hex(`nonce[${i}]`).equals(nonce), `nonce[${i}]`);
    const box = Buffer.from(nacl.secretbox(plain, nonce, K));
    t.ok(chunks.hex(`mac[${i}]`).equals(box.subarray(0, 16)), `mac[${i}]`);
    t.ok(chunks.hex(`ct[${i}]`).equals(box.subarray(16)), `ct[${i}]`);
    t.ok(Buffer.from(sodium.crypto_secretbox_open_easy(box, nonce, K)).equals(plain), `libsodium opens chunk ${i}`);
    boxes.push(box);
  }
  t.same(chunks.untaken(), [], 'no unchecked chunk values');
});

t.test('file sizes, hashes and ciphertext', async (t) => {
  const ciphertext = Buffer.concat(boxes);
  t.equal(Number(file.text('size')), plaintext.length);
  t.equal(file.text('sha256'), sha256(plaintext));
  t.equal(Number(file.text('cipherSize')), plaintext.length + 16 * n);
  t.equal(Number(file.text('cipherSize')), cipherSizeFor(plaintext.length, chunkSize));
  t.equal(file.text('cipherSha256'), sha256(ciphertext));
  t.ok(file.hex('ciphertext').equals(ciphertext));
  const options = { key: K, noncePrefix: prefix, chunkSize };
  t.ok(encryptBytes(plaintext, options).equals(ciphertext), 'the library produces the documented ciphertext');
  t.ok(decryptBytes(ciphertext, options).equals(plaintext), 'and reads it back');
  t.same(file.untaken(), []);
  t.same(inputs.untaken(), []);
});

t.test('manifest, its JCS bytes, hash and signature', async (t) => {
  const manifest = json('manifest') as Manifest;
  const seed = sig.hex('seed');
  const publicKey = Buffer.from(nacl.sign.keyPair.fromSeed(seed).publicKey);
  t.ok(sig.hex('publicKey').equals(publicKey), 'public key from the seed (tweetnacl)');
  t.ok(ed25519PublicFromSeed(seed).equals(publicKey), 'and from services/shared/ed25519');
  t.equal(sig.text('publicKey.base64'), b64(publicKey));

  const entry = manifest.files[0]!;
  t.equal(manifest.files.length, 1);
  t.equal(entry.size, plaintext.length);
  t.equal(entry.sha256, sha256(plaintext));
  t.equal(entry.chunkSize, chunkSize);
  t.equal(entry.noncePrefix, b64(prefix));
  t.equal(entry.cipherSize, Number(file.text('cipherSize')));
  t.equal(entry.cipherSha256, sha256(Buffer.concat(boxes)));
  t.equal(manifest.signer.publicKey, b64(publicKey));

  const jcs = blocks.get('manifest-jcs')!.body.replace(/\n$/, '');
  t.equal(jcs, canonicalize(manifest), 'documented JCS text');
  const jcsBytes = Buffer.from(jcs, 'utf8');
  t.equal(sig.text('manifestHash'), sha256(jcsBytes));
  t.equal(manifestHash(manifest), sha256(jcsBytes));

  const signature = Buffer.from(nacl.sign.detached(jcsBytes, nacl.sign.keyPair.fromSeed(seed).secretKey));
  t.ok(sig.hex('signature').equals(signature), 'Ed25519 signature (tweetnacl)');
  t.equal(sig.text('signature.base64'), b64(signature));
  t.equal(signManifest(manifest, seed), b64(signature), 'signManifest agrees');
  t.ok(verifyManifestSignature(manifest, b64(signature)));
  t.ok(sodium.crypto_sign_verify_detached(signature, jcsBytes, publicKey), 'libsodium verifies');

  const checked = validateManifest(manifest);
  t.same(checked.ok ? [] : checked.problems.map((p) => p.path), ['/files/0/chunkSize'], 'invalid only for its tiny chunk size, as the document says');
  t.same(sig.untaken(), []);
});

t.test('key wrap', async (t) => {
  const boxSecretKey = wrapInputs.hex('boxSecretKey');
  const boxPublicKey = Buffer.from(nacl.scalarMult.base(boxSecretKey));
  t.ok(wrapInputs.hex('boxPublicKey').equals(boxPublicKey));
  const ephemeralSecretKey = wrapInputs.hex('ephemeralSecretKey');
  const ephemeralPublicKey = Buffer.from(nacl.scalarMult.base(ephemeralSecretKey));
  t.ok(wrapInputs.hex('ephemeralPublicKey').equals(ephemeralPublicKey));
  const nonce = wrapInputs.hex('nonce');
  t.equal(nonce.length, 24);
  const box = Buffer.from(nacl.box(K, nonce, boxPublicKey, ephemeralSecretKey));
  t.ok(wrapInputs.hex('box').equals(box));
  t.ok(Buffer.from(sodium.crypto_box_open_easy(box, nonce, ephemeralPublicKey, boxSecretKey)).equals(K), 'libsodium unwraps K');

  const wrap = json('wrap') as KeyWrap;
  t.same(wrap, { jurisdiction: 'ICC', keyVersion: 1, ephemeralPublicKey: b64(ephemeralPublicKey), nonce: b64(nonce), box: b64(box) });
  t.same(wrapBundleKeyWith(K, { jurisdiction: 'ICC', keyVersion: 1, boxPublicKey }, ephemeralSecretKey, nonce), wrap, 'the library makes the same wrap');
  t.ok(validateKeyWrap(wrap).ok);
  const unwrapped = unwrapBundleKey(wrap, boxSecretKey);
  t.ok(unwrapped !== null && Buffer.from(unwrapped).equals(K));
  t.same(wrapInputs.untaken(), []);
});
