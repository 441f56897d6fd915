import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import t from 'tap';
import nacl from 'tweetnacl';
import {
  ChunkSealer,
  DEFAULT_CHUNK_SIZE,
  MAX_CHUNK_SIZE,
  chunkCountFor,
  chunkNonce,
  cipherSizeFor,
  createDecryptStream,
  createEncryptStream,
  decryptBytes,
  describeFile,
  encryptBytes,
} from '../../services/envelope/index.js';
import { cut, pseudoRandomBytes, run } from './helpers.js';

const key = pseudoRandomBytes(32, 101);
const noncePrefix = pseudoRandomBytes(16, 102);

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

t.test('cipherSizeFor: size + 16 per chunk, an empty file being one chunk', async (t) => {
  const cases: [number, number, number][] = [
    [0, 16, 16],
    [1, 16, 17],
    [15, 16, 31],
    [16, 16, 32],
    [17, 16, 49],
    [32, 16, 64],
    [33, 16, 81],
    [0, DEFAULT_CHUNK_SIZE, 16],
    [DEFAULT_CHUNK_SIZE * 2.5, DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_SIZE * 2.5 + 48],
    [10 * 1024 ** 3, DEFAULT_CHUNK_SIZE, 10 * 1024 ** 3 + 16 * 10 * 1024],
  ];
  for (const [size, chunkSize, expected] of cases) t.equal(cipherSizeFor(size, chunkSize), expected, `${size}/${chunkSize}`);
  t.equal(chunkCountFor(0, 1024), 1);
  t.equal(chunkCountFor(1025, 1024), 2);
  t.throws(() => cipherSizeFor(-1, 1024), RangeError);
  t.throws(() => cipherSizeFor(1.5, 1024), RangeError);
  t.throws(() => cipherSizeFor(10, 0), RangeError);
  t.throws(() => cipherSizeFor(10, MAX_CHUNK_SIZE + 1), RangeError);
  t.throws(() => cipherSizeFor(Number.MAX_SAFE_INTEGER, 1024), RangeError, 'result beyond 2^53 - 1');
});

t.test('chunk nonces: prefix ‖ uint64be(index | final << 63)', async (t) => {
  const prefix = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
  const tail = (i: number, final: boolean): string => chunkNonce(prefix, i, final).subarray(16).toString('hex');
  t.equal(chunkNonce(prefix, 0, false).subarray(0, 16).toString('hex'), prefix.toString('hex'));
  t.equal(tail(0, false), '0000000000000000');
  t.equal(tail(0, true), '8000000000000000');
  t.equal(tail(1, false), '0000000000000001');
  t.equal(tail(258, true), '8000000000000102');
  t.equal(tail(2 ** 32 + 5, false), '0000000100000005');
  t.equal(tail(Number.MAX_SAFE_INTEGER, true), '801fffffffffffff');
  t.throws(() => chunkNonce(prefix, -1, false), RangeError);
  t.throws(() => chunkNonce(prefix.subarray(1), 0, false), RangeError);
});

t.test('each boxed chunk is nacl.secretbox(chunk, nonce_i, K)', async (t) => {
  const chunkSize = 1024;
  const plaintext = pseudoRandomBytes(2.5 * chunkSize, 7);
  const ciphertext = encryptBytes(plaintext, { key, noncePrefix, chunkSize });
  const expected = Buffer.concat([
    nacl.secretbox(plaintext.subarray(0, 1024), chunkNonce(noncePrefix, 0, false), key),
    nacl.secretbox(plaintext.subarray(1024, 2048), chunkNonce(noncePrefix, 1, false), key),
    nacl.secretbox(plaintext.subarray(2048), chunkNonce(noncePrefix, 2, true), key),
  ]);
  t.ok(ciphertext.equals(expected));
  const empty = encryptBytes(new Uint8Array(0), { key, noncePrefix, chunkSize });
  t.ok(empty.equals(Buffer.from(nacl.secretbox(new Uint8Array(0), chunkNonce(noncePrefix, 0, true), key))), 'empty file = one empty final chunk');
  t.equal(empty.length, 16);
});

t.test('round trip of a bundle: an empty file and one of 2.5 chunks, through the streams', async (t) => {
  const chunkSize = 4096;
  const files = [
    { plaintext: Buffer.alloc(0), noncePrefix: pseudoRandomBytes(16, 1) },
    { plaintext: pseudoRandomBytes(2.5 * chunkSize, 2), noncePrefix: pseudoRandomBytes(16, 3) },
  ];
  for (const [n, file] of files.entries()) {
    const options = { key, noncePrefix: file.noncePrefix, chunkSize };
    const enc = await run(createEncryptStream(options), cut(file.plaintext, [1000]));
    t.equal(enc.error, null, `file ${n} encrypts`);
    t.equal(enc.output.length, cipherSizeFor(file.plaintext.length, chunkSize), `file ${n} cipher size`);
    t.same(enc.chunks.map((c) => c.length), n === 0 ? [16] : [4112, 4112, 2064], `file ${n} boxed chunk sizes`);
    const dec = await run(createDecryptStream(options), cut(enc.output, [777]));
    t.equal(dec.error, null, `file ${n} decrypts`);
    t.ok(dec.output.equals(file.plaintext), `file ${n} plaintext restored`);
  }
});

t.test('default chunk size is 1 MiB', async (t) => {
  const plaintext = pseudoRandomBytes(DEFAULT_CHUNK_SIZE * 2.5, 5);
  const enc = await run(createEncryptStream({ key, noncePrefix }), [plaintext]);
  t.same(enc.chunks.map((c) => c.length), [DEFAULT_CHUNK_SIZE + 16, DEFAULT_CHUNK_SIZE + 16, DEFAULT_CHUNK_SIZE / 2 + 16]);
  const dec = await run(createDecryptStream({ key, noncePrefix }), [enc.output]);
  t.ok(dec.output.equals(plaintext));
});

t.test('sizes around chunk boundaries, fed in random pieces both ways (property)', async (t) => {
  const chunkSize = 1024;
  const sizes = [0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 2 * chunkSize - 1, 2 * chunkSize, 2 * chunkSize + 1, 3 * chunkSize];
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...sizes),
      fc.array(fc.integer({ min: 1, max: 3 * chunkSize + 50 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 3 * chunkSize + 50 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      async (size, encPieces, decPieces, seed) => {
        const plaintext = pseudoRandomBytes(size, seed);
        const options = { key, noncePrefix, chunkSize };
        const enc = await run(createEncryptStream(options), cut(plaintext, encPieces));
        if (enc.error !== null) throw enc.error;
        if (!enc.output.equals(encryptBytes(plaintext, options))) throw new Error('piece sizes changed the ciphertext');
        if (enc.output.length !== cipherSizeFor(size, chunkSize)) throw new Error('cipher size');
        const dec = await run(createDecryptStream(options), cut(enc.output, decPieces));
        if (dec.error !== null) throw dec.error;
        if (!dec.output.equals(plaintext)) throw new Error('plaintext differs');
      },
    ),
    { numRuns: 300 },
  );
  t.pass('300 random runs');
});

t.test('any chunk size, any size, one byte at a time (property)', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 200 }), async (chunkSize, size) => {
      const plaintext = pseudoRandomBytes(size, size + chunkSize);
      const options = { key, noncePrefix, chunkSize };
      const enc = await run(createEncryptStream(options), cut(plaintext, [1]));
      if (enc.error !== null) throw enc.error;
      if (enc.output.length !== cipherSizeFor(size, chunkSize)) throw new Error('cipher size');
      const dec = await run(createDecryptStream(options), cut(enc.output, [1]));
      if (dec.error !== null) throw dec.error;
      if (!dec.output.equals(plaintext)) throw new Error('plaintext differs');
    }),
    { numRuns: 150 },
  );
  t.pass('150 random runs');
});

t.test('many MiB in one piece are processed chunk by chunk', async (t) => {
  const chunkSize = 64 * 1024;
  const plaintext = pseudoRandomBytes(5 * 1024 * 1024 + 3, 77);
  const options = { key, noncePrefix, chunkSize };
  const enc = await run(createEncryptStream(options), [plaintext]);
  t.equal(enc.chunks.length, 81, 'one pushed buffer per chunk');
  t.ok(enc.chunks.every((c) => c.length <= chunkSize + 16), 'no pushed buffer exceeds one boxed chunk');
  const dec = await run(createDecryptStream(options), [enc.output]);
  t.ok(dec.chunks.every((c) => c.length <= chunkSize), 'decryptor pushes at most one chunk at a time');
  t.ok(dec.output.equals(plaintext));
});

t.test('a large file streams through with a bounded amount buffered', async (t) => {
  const chunkSize = 256 * 1024;
  const total = 48 * 1024 * 1024 + 12345;
  const block = pseudoRandomBytes(1024 * 1024 + 7, 42);
  let produced = 0;
  const inHash = createHash('sha256');
  const source = new Readable({
    read() {
      if (produced >= total) return void this.push(null);
      const n = Math.min(64 * 1024, total - produced);
      const piece = block.subarray(produced % 1024 ** 2, (produced % 1024 ** 2) + n);
      produced += piece.length;
      inHash.update(piece);
      this.push(piece);
    },
  });
  const options = { key, noncePrefix, chunkSize };
  const enc = createEncryptStream(options);
  const dec = createDecryptStream(options);
  const outHash = createHash('sha256');
  let received = 0;
  let maxBuffered = 0;
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      outHash.update(chunk);
      const buffered = enc.readableLength + enc.writableLength + dec.readableLength + dec.writableLength;
      maxBuffered = Math.max(maxBuffered, buffered);
      setImmediate(callback); // a consumer slower than the producer
    },
  });
  await pipeline(source, enc, dec, sink);
  t.equal(received, total);
  t.equal(outHash.digest('hex'), inHash.digest('hex'));
  t.ok(maxBuffered <= 4 * (chunkSize + 16), `stream buffers stayed within four boxed chunks (max ${maxBuffered} bytes)`);
});

t.test('the encryptor holds back exactly one chunk until it knows whether it is final', async (t) => {
  const sealer = new ChunkSealer({ key, noncePrefix, chunkSize: 8 });
  const out: Buffer[] = [];
  sealer.write(new Uint8Array(8), (c) => out.push(c));
  t.equal(out.length, 0, 'a full chunk is held back');
  sealer.write(new Uint8Array(8), (c) => out.push(c));
  t.equal(out.length, 1, 'the next byte releases it as non-final');
  sealer.write(new Uint8Array(1), (c) => out.push(c));
  t.equal(out.length, 2);
  sealer.end((c) => out.push(c));
  t.equal(out.length, 3);
  t.same(out.map((c) => c.length), [24, 24, 17]);
  t.throws(() => sealer.write(new Uint8Array(1), () => undefined), /after end/);
});

t.test('describeFile: sizes and hashes in one pass, identical to a real encryption', async (t) => {
  const chunkSize = 1024;
  for (const size of [0, 1, 1024, 5000]) {
    const plaintext = pseudoRandomBytes(size, size + 9);
    const options = { key, noncePrefix, chunkSize };
    const described = await describeFile(Readable.from(cut(plaintext, [333])), options);
    const ciphertext = encryptBytes(plaintext, options);
    t.same(described, { size, sha256: sha256(plaintext), cipherSize: ciphertext.length, cipherSha256: sha256(ciphertext) }, `size ${size}`);
  }
  const stream = await describeFile(
    (async function* () {
      yield pseudoRandomBytes(3000, 1);
    })(),
    { key, noncePrefix },
  );
  t.equal(stream.cipherSize, 3016, 'default chunk size');
  const textStream = Readable.from([Buffer.from('text')]).setEncoding('utf8');
  await t.rejects(describeFile(textStream, { key, noncePrefix }), TypeError, 'a stream decoded to strings is refused');
});

t.test('options are checked and copied', async (t) => {
  t.throws(() => createEncryptStream({ key: key.subarray(1), noncePrefix }), /key must be 32 bytes/);
  t.throws(() => createDecryptStream({ key, noncePrefix: noncePrefix.subarray(1) }), /noncePrefix must be 16 bytes/);
  t.throws(() => createEncryptStream({ key, noncePrefix, chunkSize: 0 }), /chunkSize/);
  t.throws(() => createEncryptStream({ key, noncePrefix, chunkSize: 1.5 }), /chunkSize/);
  t.throws(() => createDecryptStream({ key, noncePrefix, chunkSize: MAX_CHUNK_SIZE + 1 }), /chunkSize/);

  const myKey = Buffer.from(key);
  const stream = createEncryptStream({ key: myKey, noncePrefix, chunkSize: 16 });
  myKey.fill(0);
  const result = await run(stream, [Buffer.from('hello')]);
  t.ok(result.output.equals(encryptBytes(Buffer.from('hello'), { key, noncePrefix, chunkSize: 16 })), 'later changes to the caller key do not matter');
  t.ok(decryptBytes(result.output, { key, noncePrefix, chunkSize: 16 }).equals(Buffer.from('hello')));
});
