/** The shared primitives every signature and hash rests on: JCS, strict encodings, Ed25519. */
import fc from 'fast-check';
import nacl from 'tweetnacl';
import t from 'tap';
import { decodeBase64, decodeHex, encodeBase64 } from '../../services/shared/encoding.js';
import { ed25519Generate, ed25519PublicFromSeed, ed25519Sign, ed25519Verify, isWeakEd25519PublicKey } from '../../services/shared/ed25519.js';
import { canonicalize, CanonicalizationError } from '../../services/shared/jcs.js';

t.test('JCS: RFC 8785 examples', async (t) => {
  // RFC 8785 §3.2.2: sorting by UTF-16 code units, ECMAScript numbers and string escapes.
  t.equal(
    canonicalize({ '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' }),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
  );
  t.equal(
    canonicalize({ numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 0.000000000000000000000000001], string: '\u20ac$\u000f\nA\'B"\\\\"/', literals: [null, true, false] }),
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
  );
  t.equal(canonicalize(-0), '0');
  t.equal(canonicalize({ b: undefined, a: 1 }), '{"a":1}', 'undefined members are omitted, as JSON.stringify does');
});

t.test('JCS refuses what is not I-JSON', async (t) => {
  for (const bad of [NaN, Infinity, '\ud800', { k: '\udc00x' }, [undefined], new Date(0), Buffer.from('x'), 10n]) {
    t.throws(() => canonicalize(bad), CanonicalizationError, String(bad));
  }
});

t.test('JCS is JSON.parse-stable and key-order independent (property)', async (t) => {
  fc.assert(
    fc.property(fc.jsonValue({ noUnicodeString: false }), (v) => {
      const text = canonicalize(v);
      t.equal(canonicalize(JSON.parse(text)), text);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        const reversed = Object.fromEntries(Object.entries(v).reverse());
        return canonicalize(reversed) === text;
      }
      return true;
    }),
    { numRuns: 300 },
  );
});

t.test('strict base64 and hex', async (t) => {
  t.same(decodeBase64('AAEC'), Buffer.from([0, 1, 2]));
  for (const bad of ['AAE', 'AA EC', 'AAE=C', 'AA-_', 'AAEC\n', '====']) t.equal(decodeBase64(bad), null, JSON.stringify(bad));
  t.equal(decodeBase64(encodeBase64(Buffer.alloc(31)), 32), null, 'length is enforced');
  t.same(decodeHex('00ff'), Buffer.from([0, 255]));
  for (const bad of ['0', '00FF', 'zz', '0 0']) t.equal(decodeHex(bad), null, bad);
});

t.test('Ed25519 on Node crypto is byte-identical to NaCl', async (t) => {
  const kp = ed25519Generate();
  const nk = nacl.sign.keyPair.fromSeed(kp.seed);
  t.ok(Buffer.from(nk.publicKey).equals(kp.publicKey));
  t.ok(ed25519PublicFromSeed(kp.seed).equals(kp.publicKey));
  const msg = Buffer.from('evx');
  const sig = ed25519Sign(kp.seed, msg);
  t.ok(Buffer.from(nacl.sign.detached(msg, nk.secretKey)).equals(sig));
  t.ok(ed25519Verify(kp.publicKey, msg, sig));
  t.notOk(ed25519Verify(kp.publicKey, Buffer.from('evy'), sig));
  t.notOk(ed25519Verify(kp.publicKey, msg, sig.subarray(0, 63)));
});

t.test('signatures under small-order or non-canonical public keys are never accepted', async (t) => {
  const identity = Buffer.alloc(32);
  identity[0] = 1;
  // R = identity, S = 0: "valid" for every message under the identity key in plain RFC 8032 verification.
  const forged = Buffer.concat([identity, Buffer.alloc(32)]);
  t.ok(isWeakEd25519PublicKey(identity));
  t.notOk(ed25519Verify(identity, Buffer.from('any message'), forged));
  const nonCanonical = Buffer.alloc(32, 0xff);
  nonCanonical[0] = 0xee;
  nonCanonical[31] = 0x7f;
  t.ok(isWeakEd25519PublicKey(nonCanonical));
  t.notOk(isWeakEd25519PublicKey(ed25519Generate().publicKey), 'an ordinary key is fine');
});
