/**
 * Recomputes every value of the worked example in the ledger formats document
 * from the document itself, so the document cannot drift from the code. Each
 * value is a fenced block preceded by `<!-- example: NAME -->`.
 */
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { canonicalize } from '../../services/shared/jcs.js';
import { ed25519PublicFromSeed, ed25519Verify } from '../../services/shared/ed25519.js';
import { GENESIS_PREV, entryLeafHashHex, parseCustodyEntry, type CustodyEntry } from '../../services/ledger/entry.js';
import { consistencyProof, inclusionProof, nodeHash, rootFromNodes, rootNodes, verifyConsistency, verifyInclusion } from '../../services/ledger/merkle.js';
import {
  formatCheckpoint,
  formatSignerKey,
  formatVerifierKey,
  noteKeyId,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  verifyCheckpoint,
} from '../../services/ledger/note.js';
import { verifyLog } from '../../services/ledger/verify.js';

// The draft is merged into docs/FORMATS.md by the lead; test whichever exists.
const DOC = 'docs/FORMATS.md';

function examples(markdown: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /<!-- example: ([a-z0-9-]+) -->\n```[a-z]*\n([\s\S]*?)\n```/g;
  for (const m of markdown.matchAll(re)) {
    const [, name, body] = m as unknown as [string, string, string];
    if (out.has(name)) throw new Error(`example ${name} appears twice`);
    out.set(name, body);
  }
  return out;
}

t.test('worked example in the formats document', async (t) => {
  if (DOC === undefined) throw new Error('formats document with the worked example not found');
  const markdown = readFileSync(DOC, 'utf8');
  const ex = examples(markdown);
  const get = (name: string): string => {
    const v = ex.get(name);
    if (v === undefined) throw new Error(`example block ${name} missing`);
    return v;
  };
  const lines = (name: string): string[] => get(name).split('\n');
  t.equal(ex.size, 19, 'all example blocks found');

  // Keys.
  const seed = Buffer.from(get('key-seed'), 'hex');
  t.equal(seed.length, 32);
  const publicKey = ed25519PublicFromSeed(seed);
  t.equal(publicKey.toString('hex'), get('key-public'), 'public key');
  const name = 'evx.example/log';
  t.equal(noteKeyId(name, publicKey).toString(16).padStart(8, '0'), get('key-id'), 'key ID');
  t.equal(formatVerifierKey(name, publicKey), get('vkey'), 'verifier key');
  t.equal(formatSignerKey(name, seed), get('skey'), 'signer key');
  t.equal(parseSignerKey(get('skey')).vkey, get('vkey'));
  const vkey = parseVerifierKey(get('vkey'));

  // Entries: canonical, well-formed, chained, and their leaf hashes.
  const entries: CustodyEntry[] = [0, 1, 2].map((i) => parseCustodyEntry(JSON.parse(get(`entry-${i}`))));
  entries.forEach((entry, i) => {
    t.equal(canonicalize(entry), get(`entry-${i}`), `entry ${i} is printed in JCS form`);
    t.equal(entryLeafHashHex(entry), get(`leaf-${i}`), `leaf hash ${i}`);
    t.equal(entry.seq, i);
  });
  const [e0, e1, e2] = entries as [CustodyEntry, CustodyEntry, CustodyEntry];
  t.equal(e0.prev, GENESIS_PREV);
  t.equal(e1.prev, get('leaf-0'));
  t.equal(e2.prev, get('leaf-1'));
  t.equal(e1.subjectPrev, null);
  t.equal(e2.subjectPrev, get('leaf-1'));
  t.equal(e2.subject, e1.subject);

  // Tree and proofs.
  const leaves = [0, 1, 2].map((i) => Buffer.from(get(`leaf-${i}`), 'hex'));
  const n10 = nodeHash(leaves[0] as Buffer, leaves[1] as Buffer);
  t.equal(n10.toString('hex'), get('node-1-0'), 'node (1, 0)');
  t.same(rootNodes(3), [{ level: 1, index: 0 }, { level: 0, index: 2 }]);
  const reader = (level: number, index: number): Buffer => (level === 0 ? (leaves[index] as Buffer) : n10);
  const root = rootFromNodes(3, reader);
  t.equal(root.toString('hex'), get('root-3'), 'root of size 3');
  t.same(inclusionProof(1, 3, reader).map((h) => h.toString('hex')), lines('inclusion-1-3'), 'inclusion proof of seq 1');
  t.same(inclusionProof(2, 3, reader).map((h) => h.toString('hex')), lines('inclusion-2-3'), 'inclusion proof of seq 2');
  t.same(consistencyProof(2, 3, reader).map((h) => h.toString('hex')), lines('consistency-2-3'), 'consistency proof 2 → 3');
  t.ok(verifyInclusion(1, 3, leaves[1] as Buffer, lines('inclusion-1-3').map((h) => Buffer.from(h, 'hex')), root));
  t.ok(verifyInclusion(2, 3, leaves[2] as Buffer, lines('inclusion-2-3').map((h) => Buffer.from(h, 'hex')), root));
  t.ok(verifyConsistency(2, 3, lines('consistency-2-3').map((h) => Buffer.from(h, 'hex')), n10, root));

  // Checkpoint, signature, signed note.
  const body = `${get('checkpoint')}\n`;
  t.equal(formatCheckpoint({ origin: name, size: 3, rootHash: root }), body, 'checkpoint body');
  t.equal(String(Buffer.byteLength(body)), /over those (\d+) bytes/.exec(markdown)?.[1], 'the document states the signed length');
  const signature = Buffer.from(get('signature'), 'hex');
  t.ok(ed25519Verify(publicKey, Buffer.from(body), signature), 'signature verifies over the body');
  const signed = `${get('signed-checkpoint')}\n`;
  t.equal(signNote(body, get('skey')), signed, 'signed note (Ed25519 is deterministic)');
  const sigLine = signed.split('\n').at(-2) as string;
  t.equal(Buffer.from(sigLine.split(' ').at(-1) as string, 'base64').toString('hex'), get('key-id') + get('signature'), 'signature line = key ID ‖ signature');
  const cp = verifyCheckpoint(signed, vkey, { origin: name });
  t.equal(cp.size, 3);
  t.equal(cp.rootHash.toString('hex'), get('root-3'));

  // And the whole example log verifies.
  t.same(verifyLog(get('vkey'), [signed], entries), { ok: true, size: 3, checked: 3, firstBad: null });
});
