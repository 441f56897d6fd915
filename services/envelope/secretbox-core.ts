/**
 * NaCl crypto_secretbox (XSalsa20-Poly1305) on caller-owned, zero-padded
 * buffers, byte-identical to `nacl.secretbox` and libsodium's
 * `crypto_secretbox_easy`.
 *
 * Why not simply `nacl.secretbox`: on the 2-core reference machine the
 * high-level call reaches ~45 MiB/s and `nacl.lowlevel.crypto_secretbox`
 * ~60 MiB/s, because tweetnacl's Salsa20 re-reads the key from bytes and
 * XORs byte by byte for every 64-byte block (~90 MiB/s on its own). Evidence
 * files are tens of gigabytes, so the Salsa20 keystream below keeps the state
 * in locals and XORs whole words (~350 MiB/s). Everything else — HSalsa20,
 * Poly1305 and its constant-time tag comparison — is tweetnacl's own code,
 * and test/envelope/secretbox-core.test.ts pins the output to `nacl.secretbox`
 * and libsodium for every length class.
 *
 * Buffer layout is NaCl's classic one, which lets a chunk be sealed or opened
 * with no copy beyond the one into the staging buffer:
 *   seal: m = 32 zero bytes ‖ plaintext      → c = 16 zero bytes ‖ MAC ‖ ciphertext
 *   open: c = 16 zero bytes ‖ MAC ‖ ciphertext → m = 32 junk bytes ‖ plaintext
 */
import nacl from 'tweetnacl';

interface NaclLowLevel {
  crypto_core_hsalsa20(out: Uint8Array, inp: Uint8Array, k: Uint8Array, c: Uint8Array): void;
  crypto_onetimeauth(out: Uint8Array, outpos: number, m: Uint8Array, mpos: number, n: number, k: Uint8Array): number;
  crypto_onetimeauth_verify(h: Uint8Array, hpos: number, m: Uint8Array, mpos: number, n: number, k: Uint8Array): number;
}

// tweetnacl's typings omit `lowlevel`; fail at import rather than mid-upload if a release drops it.
const lowlevel = (nacl as unknown as { lowlevel?: Partial<NaclLowLevel> }).lowlevel;
if (
  typeof lowlevel?.crypto_core_hsalsa20 !== 'function' ||
  typeof lowlevel.crypto_onetimeauth !== 'function' ||
  typeof lowlevel.crypto_onetimeauth_verify !== 'function'
) {
  throw new Error('tweetnacl.lowlevel lacks crypto_core_hsalsa20/crypto_onetimeauth: unsupported tweetnacl version');
}
const ll = lowlevel as NaclLowLevel;

export const SECRETBOX_KEY_BYTES = 32;
export const SECRETBOX_NONCE_BYTES = 24;
export const SECRETBOX_MAC_BYTES = 16;
/** Leading zero bytes of a padded plaintext (NaCl crypto_secretbox_ZEROBYTES). */
export const SECRETBOX_ZERO_BYTES = 32;
/** Leading zero bytes of a padded ciphertext (NaCl crypto_secretbox_BOXZEROBYTES). */
export const SECRETBOX_BOXZERO_BYTES = 16;

/** "expand 32-byte k" */
const SIGMA = new Uint8Array([101, 120, 112, 97, 110, 100, 32, 51, 50, 45, 98, 121, 116, 101, 32, 107]);

// Word-wise XOR reads the bytes in platform order; Salsa20 is little-endian.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function readLE32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) | 0;
}

/**
 * out[0..len) = inp[0..len) XOR Salsa20(key32, nonce8) keystream, block counter from 0.
 * `out` may be `inp` (each word is read before it is written).
 */
function salsa20Xor(out: Uint8Array, inp: Uint8Array, len: number, nonce8: Uint8Array, key32: Uint8Array): void {
  const j0 = 0x61707865, j5 = 0x3320646e, j10 = 0x79622d32, j15 = 0x6b206574;
  const j1 = readLE32(key32, 0), j2 = readLE32(key32, 4), j3 = readLE32(key32, 8), j4 = readLE32(key32, 12);
  const j11 = readLE32(key32, 16), j12 = readLE32(key32, 20), j13 = readLE32(key32, 24), j14 = readLE32(key32, 28);
  const j6 = readLE32(nonce8, 0), j7 = readLE32(nonce8, 4);
  let ctrLo = 0;
  let ctrHi = 0;

  const words = LITTLE_ENDIAN && (out.byteOffset & 3) === 0 && (inp.byteOffset & 3) === 0;
  const o32 = words ? new Uint32Array(out.buffer, out.byteOffset, len >>> 2) : null;
  const i32 = words ? new Uint32Array(inp.buffer, inp.byteOffset, len >>> 2) : null;
  const block = new Uint8Array(64);

  let pos = 0;
  while (pos < len) {
    let x0 = j0, x1 = j1, x2 = j2, x3 = j3, x4 = j4, x5 = j5, x6 = j6, x7 = j7;
    let x8 = ctrLo, x9 = ctrHi, x10 = j10, x11 = j11, x12 = j12, x13 = j13, x14 = j14, x15 = j15;
    let u: number;
    for (let r = 0; r < 20; r += 2) {
      u = (x0 + x12) | 0; x4 ^= (u << 7) | (u >>> 25);
      u = (x4 + x0) | 0; x8 ^= (u << 9) | (u >>> 23);
      u = (x8 + x4) | 0; x12 ^= (u << 13) | (u >>> 19);
      u = (x12 + x8) | 0; x0 ^= (u << 18) | (u >>> 14);
      u = (x5 + x1) | 0; x9 ^= (u << 7) | (u >>> 25);
      u = (x9 + x5) | 0; x13 ^= (u << 9) | (u >>> 23);
      u = (x13 + x9) | 0; x1 ^= (u << 13) | (u >>> 19);
      u = (x1 + x13) | 0; x5 ^= (u << 18) | (u >>> 14);
      u = (x10 + x6) | 0; x14 ^= (u << 7) | (u >>> 25);
      u = (x14 + x10) | 0; x2 ^= (u << 9) | (u >>> 23);
      u = (x2 + x14) | 0; x6 ^= (u << 13) | (u >>> 19);
      u = (x6 + x2) | 0; x10 ^= (u << 18) | (u >>> 14);
      u = (x15 + x11) | 0; x3 ^= (u << 7) | (u >>> 25);
      u = (x3 + x15) | 0; x7 ^= (u << 9) | (u >>> 23);
      u = (x7 + x3) | 0; x11 ^= (u << 13) | (u >>> 19);
      u = (x11 + x7) | 0; x15 ^= (u << 18) | (u >>> 14);
      u = (x0 + x3) | 0; x1 ^= (u << 7) | (u >>> 25);
      u = (x1 + x0) | 0; x2 ^= (u << 9) | (u >>> 23);
      u = (x2 + x1) | 0; x3 ^= (u << 13) | (u >>> 19);
      u = (x3 + x2) | 0; x0 ^= (u << 18) | (u >>> 14);
      u = (x5 + x4) | 0; x6 ^= (u << 7) | (u >>> 25);
      u = (x6 + x5) | 0; x7 ^= (u << 9) | (u >>> 23);
      u = (x7 + x6) | 0; x4 ^= (u << 13) | (u >>> 19);
      u = (x4 + x7) | 0; x5 ^= (u << 18) | (u >>> 14);
      u = (x10 + x9) | 0; x11 ^= (u << 7) | (u >>> 25);
      u = (x11 + x10) | 0; x8 ^= (u << 9) | (u >>> 23);
      u = (x8 + x11) | 0; x9 ^= (u << 13) | (u >>> 19);
      u = (x9 + x8) | 0; x10 ^= (u << 18) | (u >>> 14);
      u = (x15 + x14) | 0; x12 ^= (u << 7) | (u >>> 25);
      u = (x12 + x15) | 0; x13 ^= (u << 9) | (u >>> 23);
      u = (x13 + x12) | 0; x14 ^= (u << 13) | (u >>> 19);
      u = (x14 + x13) | 0; x15 ^= (u << 18) | (u >>> 14);
    }
    x0 = (x0 + j0) | 0; x1 = (x1 + j1) | 0; x2 = (x2 + j2) | 0; x3 = (x3 + j3) | 0;
    x4 = (x4 + j4) | 0; x5 = (x5 + j5) | 0; x6 = (x6 + j6) | 0; x7 = (x7 + j7) | 0;
    x8 = (x8 + ctrLo) | 0; x9 = (x9 + ctrHi) | 0; x10 = (x10 + j10) | 0; x11 = (x11 + j11) | 0;
    x12 = (x12 + j12) | 0; x13 = (x13 + j13) | 0; x14 = (x14 + j14) | 0; x15 = (x15 + j15) | 0;

    if (o32 !== null && i32 !== null && pos + 64 <= len) {
      const w = pos >>> 2;
      o32[w] = i32[w]! ^ x0; o32[w + 1] = i32[w + 1]! ^ x1; o32[w + 2] = i32[w + 2]! ^ x2; o32[w + 3] = i32[w + 3]! ^ x3;
      o32[w + 4] = i32[w + 4]! ^ x4; o32[w + 5] = i32[w + 5]! ^ x5; o32[w + 6] = i32[w + 6]! ^ x6; o32[w + 7] = i32[w + 7]! ^ x7;
      o32[w + 8] = i32[w + 8]! ^ x8; o32[w + 9] = i32[w + 9]! ^ x9; o32[w + 10] = i32[w + 10]! ^ x10; o32[w + 11] = i32[w + 11]! ^ x11;
      o32[w + 12] = i32[w + 12]! ^ x12; o32[w + 13] = i32[w + 13]! ^ x13; o32[w + 14] = i32[w + 14]! ^ x14; o32[w + 15] = i32[w + 15]! ^ x15;
      pos += 64;
    } else {
      // Unaligned views, a big-endian host or the last partial block: go through bytes.
      const xs = [x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15];
      for (let i = 0; i < 16; i++) {
        const x = xs[i]!;
        block[4 * i] = x & 0xff;
        block[4 * i + 1] = (x >>> 8) & 0xff;
        block[4 * i + 2] = (x >>> 16) & 0xff;
        block[4 * i + 3] = (x >>> 24) & 0xff;
      }
      const n = Math.min(64, len - pos);
      for (let i = 0; i < n; i++) out[pos + i] = inp[pos + i]! ^ block[i]!;
      pos += n;
    }
    ctrLo = (ctrLo + 1) | 0;
    if (ctrLo === 0) ctrHi = (ctrHi + 1) | 0;
  }
  block.fill(0);
}

/** out[0..len) = inp[0..len) XOR XSalsa20(key, nonce) keystream from its first byte (NaCl crypto_stream_xor). */
export function xsalsa20Xor(out: Uint8Array, inp: Uint8Array, len: number, nonce: Uint8Array, key: Uint8Array): void {
  if (key.length !== SECRETBOX_KEY_BYTES) throw new RangeError('XSalsa20 key must be 32 bytes');
  if (nonce.length !== SECRETBOX_NONCE_BYTES) throw new RangeError('XSalsa20 nonce must be 24 bytes');
  if (!Number.isSafeInteger(len) || len < 0 || len > out.length || len > inp.length) {
    throw new RangeError('XSalsa20 length out of range');
  }
  const subkey = new Uint8Array(32);
  ll.crypto_core_hsalsa20(subkey, nonce, key, SIGMA);
  salsa20Xor(out, inp, len, nonce.subarray(16, 24), subkey);
  subkey.fill(0);
}

/**
 * crypto_secretbox on padded buffers: `m[0..32)` must be zero and hold the
 * plaintext from offset 32; `c` (at least `paddedLen` bytes) receives
 * 16 zero bytes ‖ MAC ‖ ciphertext. `paddedLen` = 32 + plaintext length.
 */
export function secretboxSealPadded(c: Uint8Array, m: Uint8Array, paddedLen: number, nonce: Uint8Array, key: Uint8Array): void {
  if (paddedLen < SECRETBOX_ZERO_BYTES) throw new RangeError('padded length below 32');
  xsalsa20Xor(c, m, paddedLen, nonce, key);
  // c[0..32) now holds the one-time Poly1305 key; tweetnacl's poly1305 copies
  // it before writing the tag over c[16..32), exactly as crypto_secretbox does.
  ll.crypto_onetimeauth(c, 16, c, 32, paddedLen - 32, c);
  c.fill(0, 0, 16);
}

/**
 * crypto_secretbox_open on padded buffers: `c` = 16 zero bytes ‖ MAC ‖ ciphertext.
 * Verifies the tag before decrypting anything; returns false (and leaves `m`
 * untouched) if it does not match. On success `m[32..paddedLen)` is the
 * plaintext and `m[0..32)` is zeroed.
 */
export function secretboxOpenPadded(m: Uint8Array, c: Uint8Array, paddedLen: number, nonce: Uint8Array, key: Uint8Array): boolean {
  if (paddedLen < SECRETBOX_ZERO_BYTES) return false;
  const polyKey = new Uint8Array(32);
  xsalsa20Xor(polyKey, polyKey, 32, nonce, key);
  const ok = ll.crypto_onetimeauth_verify(c, 16, c, 32, paddedLen - 32, polyKey) === 0;
  polyKey.fill(0);
  if (!ok) return false;
  xsalsa20Xor(m, c, paddedLen, nonce, key);
  m.fill(0, 0, 32);
  return true;
}
