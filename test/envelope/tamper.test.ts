/**
 * Every way of mangling a ciphertext must end the decryption with an
 * EnvelopeError, and what was emitted before must be whole, authentic chunks
 * that precede the damage — never a byte of a chunk that failed.
 */
import t from 'tap';
import { EnvelopeError, createDecryptStream, encryptBytes } from '../../services/envelope/index.js';
import { cut, pseudoRandomBytes, run, type Test } from './helpers.js';

const chunkSize = 64;
const boxed = chunkSize + 16;
const key = pseudoRandomBytes(32, 201);
const otherKey = pseudoRandomBytes(32, 202);
const prefixA = pseudoRandomBytes(16, 203);
const prefixB = pseudoRandomBytes(16, 204);
const plainA = pseudoRandomBytes(4 * chunkSize + 10, 205); // 5 chunks, the last of 10 bytes
const plainB = pseudoRandomBytes(4 * chunkSize + 10, 206);
const optsA = { key, noncePrefix: prefixA, chunkSize };
const cipherA = encryptBytes(plainA, optsA);
const cipherB = encryptBytes(plainB, { key, noncePrefix: prefixB, chunkSize });
const cipherOtherBundle = encryptBytes(plainA, { key: otherKey, noncePrefix: prefixA, chunkSize });

function chunksOf(ciphertext: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < ciphertext.length; i += boxed) out.push(ciphertext.subarray(i, Math.min(ciphertext.length, i + boxed)));
  return out;
}
const chunksA = chunksOf(cipherA);
const chunksB = chunksOf(cipherB);

interface Case {
  name: string;
  ciphertext: Buffer;
  /** Chunks before this index are intact and may have been emitted. */
  firstBadChunk: number;
}

async function expectRejected(t: Test, c: Case, pieceSizes: number[] = [boxed * 2 + 3]): Promise<void> {
  const pieces = c.ciphertext.length === 0 ? [] : cut(c.ciphertext, pieceSizes);
  const result = await run(createDecryptStream(optsA), pieces);
  t.ok(result.error instanceof EnvelopeError, `${c.name}: fails with an EnvelopeError`);
  const emitted = result.output;
  t.ok(emitted.length <= c.firstBadChunk * chunkSize, `${c.name}: nothing from chunk ${c.firstBadChunk} on was emitted`);
  t.equal(emitted.length % chunkSize, 0, `${c.name}: only whole chunks were emitted`);
  t.ok(emitted.equals(plainA.subarray(0, emitted.length)), `${c.name}: what was emitted is authentic`);
}

t.test('sanity: the untouched ciphertext decrypts', async (t) => {
  t.equal(chunksA.length, 5);
  const result = await run(createDecryptStream(optsA), [cipherA]);
  t.equal(result.error, null);
  t.ok(result.output.equals(plainA));
});

t.test('dropping any chunk', async (t) => {
  for (let i = 0; i < chunksA.length; i++) {
    const ciphertext = Buffer.concat(chunksA.filter((_, j) => j !== i));
    await expectRejected(t, { name: `drop ${i}`, ciphertext, firstBadChunk: i });
  }
});

t.test('swapping two neighbouring chunks', async (t) => {
  for (let i = 0; i + 1 < chunksA.length; i++) {
    const order = chunksA.map((_, j) => (j === i ? i + 1 : j === i + 1 ? i : j));
    await expectRejected(t, { name: `swap ${i}/${i + 1}`, ciphertext: Buffer.concat(order.map((j) => chunksA[j]!)), firstBadChunk: i });
  }
});

t.test('duplicating any chunk', async (t) => {
  for (let i = 0; i < chunksA.length; i++) {
    const parts = chunksA.flatMap((c, j) => (j === i ? [c, c] : [c]));
    await expectRejected(t, { name: `duplicate ${i}`, ciphertext: Buffer.concat(parts), firstBadChunk: i + 1 });
  }
});

t.test('truncating at every chunk boundary (no final flag) and at every byte', async (t) => {
  for (let k = 0; k < chunksA.length; k++) {
    await expectRejected(t, { name: `keep ${k} chunks`, ciphertext: Buffer.concat(chunksA.slice(0, k)), firstBadChunk: Math.max(0, k - 1) });
  }
  for (let len = 0; len < cipherA.length; len++) {
    const lastWhole = Math.floor(len / boxed);
    // The chunk holding the cut, or the one before it when the cut is on a boundary, is the first to fail.
    const firstBad = len % boxed === 0 ? Math.max(0, lastWhole - 1) : lastWhole;
    await expectRejected(t, { name: `cut at ${len}`, ciphertext: cipherA.subarray(0, len), firstBadChunk: firstBad });
  }
});

t.test('flipping any bit of any byte', async (t) => {
  for (let pos = 0; pos < cipherA.length; pos++) {
    const ciphertext = Buffer.from(cipherA);
    ciphertext[pos]! ^= 1 << (pos % 8);
    await expectRejected(t, { name: `flip byte ${pos}`, ciphertext, firstBadChunk: Math.floor(pos / boxed) });
  }
});

t.test('appending garbage or extra chunks', async (t) => {
  const lastIndex = chunksA.length - 1;
  const extras: [string, Buffer][] = [
    ['1 zero byte', Buffer.alloc(1)],
    ['16 bytes', pseudoRandomBytes(16, 1)],
    ['a whole chunk of garbage', pseudoRandomBytes(boxed, 2)],
    ['the final chunk again', chunksA[lastIndex]!],
    ["the other file's final chunk", chunksB[lastIndex]!],
  ];
  for (const [name, extra] of extras) {
    await expectRejected(t, { name: `append ${name}`, ciphertext: Buffer.concat([cipherA, extra]), firstBadChunk: lastIndex });
  }
});

t.test('ciphertext from another file or another bundle', async (t) => {
  await expectRejected(t, { name: "file B's ciphertext under file A's prefix", ciphertext: cipherB, firstBadChunk: 0 });
  await expectRejected(t, { name: 'same file and prefix, other bundle key', ciphertext: cipherOtherBundle, firstBadChunk: 0 });
  for (let i = 0; i < chunksA.length; i++) {
    const fromB = Buffer.concat(chunksA.map((c, j) => (j === i ? chunksB[j]! : c)));
    await expectRejected(t, { name: `chunk ${i} taken from file B`, ciphertext: fromB, firstBadChunk: i });
    const fromOtherBundle = Buffer.concat(chunksA.map((c, j) => (j === i ? chunksOf(cipherOtherBundle)[j]! : c)));
    await expectRejected(t, { name: `chunk ${i} taken from another bundle`, ciphertext: fromOtherBundle, firstBadChunk: i });
  }
});

t.test('failures are the same whatever the input piece sizes', async (t) => {
  const flipped = Buffer.from(cipherA);
  flipped[2 * boxed + 5]! ^= 0x40;
  for (const sizes of [[1], [boxed], [boxed - 1], [boxed + 1], [cipherA.length]]) {
    await expectRejected(t, { name: `flip in chunk 2, pieces ${sizes.join(',')}`, ciphertext: flipped, firstBadChunk: 2 }, sizes);
    await expectRejected(t, { name: `cut at boundary, pieces ${sizes.join(',')}`, ciphertext: cipherA.subarray(0, 3 * boxed), firstBadChunk: 2 }, sizes);
  }
});

t.test('the error says which chunk and why', async (t) => {
  const flipped = Buffer.from(cipherA);
  flipped[boxed + 20]! ^= 1;
  const bad = await run(createDecryptStream(optsA), [flipped]);
  t.match(bad.error, { code: 'chunk_authentication_failed', chunkIndex: 1 });
  const empty = await run(createDecryptStream(optsA), []);
  t.match(empty.error, { code: 'truncated', chunkIndex: 0, message: /empty/ });
  const short = await run(createDecryptStream(optsA), [cipherA.subarray(0, boxed + 7)]);
  t.match(short.error, { code: 'truncated', chunkIndex: 1 });
});
