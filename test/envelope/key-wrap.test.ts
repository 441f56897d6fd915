import t from 'tap';
import nacl from 'tweetnacl';
import {
  generateBoxKeyPair,
  generateBundleKey,
  generateNoncePrefix,
  unwrapBundleKey,
  validateKeyWrap,
  wrapBundleKey,
  wrapBundleKeyWith,
  type KeyWrap,
} from '../../services/envelope/index.js';

const recipient = generateBoxKeyPair();
const bundleKey = generateBundleKey();
const target = { jurisdiction: 'ICC', keyVersion: 2, boxPublicKey: recipient.publicKey };

t.test('generators give fresh values of the right sizes', async (t) => {
  t.equal(generateBundleKey().length, 32);
  t.equal(generateNoncePrefix().length, 16);
  const kp = generateBoxKeyPair();
  t.equal(kp.publicKey.length, 32);
  t.equal(kp.secretKey.length, 32);
  t.ok(Buffer.from(nacl.box.keyPair.fromSecretKey(kp.secretKey).publicKey).equals(Buffer.from(kp.publicKey)), 'public key belongs to the secret key');
  t.notSame(generateBundleKey(), generateBundleKey());
  t.notSame(generateNoncePrefix(), generateNoncePrefix());
});

t.test('round trip, with the public key raw or as base64', async (t) => {
  const wrap = wrapBundleKey(bundleKey, target);
  t.same(Object.keys(wrap).sort(), ['box', 'ephemeralPublicKey', 'jurisdiction', 'keyVersion', 'nonce']);
  t.equal(wrap.jurisdiction, 'ICC');
  t.equal(wrap.keyVersion, 2);
  t.ok(validateKeyWrap(wrap).ok);
  const k = unwrapBundleKey(wrap, recipient.secretKey);
  t.ok(k !== null && Buffer.from(k).equals(bundleKey));
  const viaBase64 = wrapBundleKey(bundleKey, { ...target, boxPublicKey: Buffer.from(recipient.publicKey).toString('base64') });
  const k2 = unwrapBundleKey(viaBase64, recipient.secretKey);
  t.ok(k2 !== null && Buffer.from(k2).equals(bundleKey));
});

t.test('every wrap uses a fresh ephemeral key and nonce', async (t) => {
  const a = wrapBundleKey(bundleKey, target);
  const b = wrapBundleKey(bundleKey, target);
  t.not(a.ephemeralPublicKey, b.ephemeralPublicKey);
  t.not(a.nonce, b.nonce);
  t.not(a.box, b.box);
});

t.test('box is nacl.box(K, nonce, boxPublicKey, ephemeralSecretKey)', async (t) => {
  const ephemeral = nacl.box.keyPair();
  const nonce = nacl.randomBytes(24);
  const wrap = wrapBundleKeyWith(bundleKey, target, ephemeral.secretKey, nonce);
  t.equal(wrap.ephemeralPublicKey, Buffer.from(ephemeral.publicKey).toString('base64'));
  t.equal(wrap.nonce, Buffer.from(nonce).toString('base64'));
  t.equal(wrap.box, Buffer.from(nacl.box(bundleKey, nonce, recipient.publicKey, ephemeral.secretKey)).toString('base64'));
});

t.test('a wrong secret key or any altered field gives null', async (t) => {
  const wrap = wrapBundleKey(bundleKey, target);
  t.equal(unwrapBundleKey(wrap, generateBoxKeyPair().secretKey), null, 'other secret key');
  const flip = (b64: string, i: number): string => {
    const bytes = Buffer.from(b64, 'base64');
    bytes[i]! ^= 1;
    return bytes.toString('base64');
  };
  for (const field of ['box', 'nonce', 'ephemeralPublicKey'] as const) {
    for (const i of [0, 15, 23]) {
      t.equal(unwrapBundleKey({ ...wrap, [field]: flip(wrap[field], i) }, recipient.secretKey), null, `${field} byte ${i} flipped`);
    }
  }
  t.equal(unwrapBundleKey({ ...wrap, box: wrap.box.slice(0, 8) }, recipient.secretKey), null, 'malformed');
  t.equal(unwrapBundleKey({ ...wrap, ephemeralPublicKey: Buffer.alloc(32).toString('base64') }, recipient.secretKey), null, 'low-order ephemeral key');
  const one = Buffer.alloc(32);
  one[0] = 1;
  t.equal(unwrapBundleKey({ ...wrap, ephemeralPublicKey: one.toString('base64') }, recipient.secretKey), null, 'order-1 point');
  t.throws(() => unwrapBundleKey(wrap, recipient.secretKey.subarray(1)), RangeError);
});

t.test('wrapping refuses bad input', async (t) => {
  t.throws(() => wrapBundleKey(bundleKey.subarray(1), target), /bundle key must be 32 bytes/);
  t.throws(() => wrapBundleKey(bundleKey, { ...target, jurisdiction: 'icc' }), /jurisdiction/);
  t.throws(() => wrapBundleKey(bundleKey, { ...target, keyVersion: 0 }), /keyVersion/);
  t.throws(() => wrapBundleKey(bundleKey, { ...target, keyVersion: 1.5 }), /keyVersion/);
  t.throws(() => wrapBundleKey(bundleKey, { ...target, boxPublicKey: recipient.publicKey.subarray(1) }), /boxPublicKey/);
  t.throws(() => wrapBundleKey(bundleKey, { ...target, boxPublicKey: 'not base64' }), /boxPublicKey/);
  t.throws(() => wrapBundleKey(bundleKey, { ...target, boxPublicKey: new Uint8Array(32) }), /low-order/);
});

t.test('validateKeyWrap: exact shape, one precise problem per bad field', async (t) => {
  const wrap = wrapBundleKey(bundleKey, target);
  const b64 = (n: number): string => Buffer.alloc(n, 7).toString('base64');
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['jurisdiction missing', { jurisdiction: undefined }, '/jurisdiction', /is required/],
    ['jurisdiction bad', { jurisdiction: 'icc' }, '/jurisdiction', /jurisdiction code/],
    ['keyVersion 0', { keyVersion: 0 }, '/keyVersion', /must be in \[1, /],
    ['keyVersion fractional', { keyVersion: 1.5 }, '/keyVersion', /positive integer/],
    ['keyVersion string', { keyVersion: '2' }, '/keyVersion', /positive integer/],
    ['ephemeralPublicKey 31 bytes', { ephemeralPublicKey: b64(31) }, '/ephemeralPublicKey', /exactly 32 bytes/],
    ['ephemeralPublicKey 33 bytes', { ephemeralPublicKey: b64(33) }, '/ephemeralPublicKey', /exactly 32 bytes/],
    ['nonce 23 bytes', { nonce: b64(23) }, '/nonce', /exactly 24 bytes/],
    ['nonce not base64', { nonce: 'n'.repeat(31) }, '/nonce', /standard base64/],
    ['box 47 bytes', { box: b64(47) }, '/box', /exactly 48 bytes/],
    ['box 32 bytes (no tag)', { box: b64(32) }, '/box', /exactly 48 bytes/],
    ['ephemeralPublicKey non-canonical', { ephemeralPublicKey: 'A'.repeat(42) + 'B=' }, '/ephemeralPublicKey', /canonical base64/],
    ['box missing', { box: undefined }, '/box', /is required/],
    ['unknown field', { keyId: 'x' }, '/keyId', /unknown field/],
  ];
  for (const [name, change, path, message] of cases) {
    const input = JSON.parse(JSON.stringify({ ...wrap, ...change })) as unknown;
    const result = validateKeyWrap(input);
    t.notOk(result.ok, name);
    if (result.ok) continue;
    t.equal(result.problems.length, 1, `${name}: one problem ${JSON.stringify(result.problems)}`);
    t.equal(result.problems[0]?.path, path, `${name}: path`);
    t.match(result.problems[0]?.message ?? '', message, `${name}: message`);
  }
  for (const input of [null, 'wrap', [wrap]]) t.notOk(validateKeyWrap(input).ok);
  const ok = validateKeyWrap(JSON.parse(JSON.stringify(wrap)) as unknown);
  t.ok(ok.ok);
  if (ok.ok) t.same(ok.value, wrap satisfies KeyWrap);
});
