import t from 'tap';
import nacl from 'tweetnacl';
import { secretboxOpenPadded, secretboxSealPadded, xsalsa20Xor } from '../../services/envelope/secretbox-core.js';
import { pseudoRandomBytes } from './helpers.js';

const LENGTHS = [0, 1, 2, 3, 4, 15, 16, 31, 32, 33, 63, 64, 65, 95, 96, 97, 127, 128, 129, 1000, 4096, 4099, 65536 + 7];

/** A view of `bytes` starting at byte offset `shift` inside a larger buffer, to exercise unaligned paths. */
function shifted(bytes: Uint8Array, shift: number): Uint8Array {
  const host = new Uint8Array(bytes.length + shift);
  host.set(bytes, shift);
  return host.subarray(shift);
}

t.test('seal is byte-identical to nacl.secretbox for every length class and alignment', async (t) => {
  for (const len of LENGTHS) {
    for (const shift of [0, 1, 2, 3]) {
      const key = pseudoRandomBytes(32, len + 11);
      const nonce = pseudoRandomBytes(24, len + 29);
      const plaintext = pseudoRandomBytes(len, len + 1);
      const m = shifted(Buffer.concat([Buffer.alloc(32), plaintext]), shift);
      const c = shifted(new Uint8Array(len + 32).fill(0xee), (shift * 3) % 4);
      secretboxSealPadded(c, m, len + 32, nonce, key);
      const expected = nacl.secretbox(plaintext, nonce, key);
      t.same(Buffer.from(c.subarray(0, 16)), Buffer.alloc(16), `len ${len} shift ${shift}: 16 leading zero bytes`);
      t.ok(Buffer.from(c.subarray(16)).equals(Buffer.from(expected)), `len ${len} shift ${shift}: MAC ‖ ciphertext match`);
    }
  }
});

t.test('open recovers the plaintext of nacl.secretbox output and zeroes the padding', async (t) => {
  for (const len of LENGTHS) {
    const key = pseudoRandomBytes(32, len + 3);
    const nonce = pseudoRandomBytes(24, len + 5);
    const plaintext = pseudoRandomBytes(len, len + 7);
    const boxed = nacl.secretbox(plaintext, nonce, key);
    const c = shifted(Buffer.concat([Buffer.alloc(16), boxed]), len % 4);
    const m = new Uint8Array(len + 32).fill(0xaa);
    t.ok(secretboxOpenPadded(m, c, len + 32, nonce, key), `len ${len} opens`);
    t.same(Buffer.from(m.subarray(0, 32)), Buffer.alloc(32), `len ${len}: padding zeroed`);
    t.ok(Buffer.from(m.subarray(32)).equals(plaintext), `len ${len}: plaintext`);
  }
});

t.test('open refuses an altered tag, ciphertext, nonce or key and writes nothing', async (t) => {
  const key = pseudoRandomBytes(32, 1);
  const nonce = pseudoRandomBytes(24, 2);
  const plaintext = pseudoRandomBytes(100, 3);
  const boxed = Buffer.concat([Buffer.alloc(16), nacl.secretbox(plaintext, nonce, key)]);
  const cases: [string, Uint8Array, Uint8Array, Uint8Array][] = [];
  for (const pos of [16, 31, 32, 131]) {
    const bad = Buffer.from(boxed);
    bad[pos]! ^= 0x01;
    cases.push([`byte ${pos} flipped`, bad, nonce, key]);
  }
  const badNonce = Buffer.from(nonce);
  badNonce[23]! ^= 0x80;
  cases.push(['nonce altered', boxed, badNonce, key]);
  const badKey = Buffer.from(key);
  badKey[0]! ^= 0x01;
  cases.push(['key altered', boxed, nonce, badKey]);
  for (const [name, c, n, k] of cases) {
    const m = new Uint8Array(boxed.length).fill(0x55);
    t.notOk(secretboxOpenPadded(m, c, boxed.length, n, k), name);
    t.ok(m.every((b) => b === 0x55), `${name}: output untouched`);
  }
});

t.test('xsalsa20Xor is an involution and rejects bad sizes', async (t) => {
  const key = pseudoRandomBytes(32, 9);
  const nonce = pseudoRandomBytes(24, 10);
  const data = pseudoRandomBytes(300, 11);
  const once = new Uint8Array(300);
  xsalsa20Xor(once, data, 300, nonce, key);
  t.notOk(Buffer.from(once).equals(data));
  const twice = new Uint8Array(300);
  xsalsa20Xor(twice, once, 300, nonce, key);
  t.ok(Buffer.from(twice).equals(data));
  t.throws(() => xsalsa20Xor(once, data, 300, nonce, key.subarray(1)), RangeError);
  t.throws(() => xsalsa20Xor(once, data, 300, nonce.subarray(1), key), RangeError);
  t.throws(() => xsalsa20Xor(once, data, 301, nonce, key), RangeError);
});
