import fc from 'fast-check';
import t from 'tap';
import { canonicalize } from '../../services/shared/jcs.js';
import {
  CustodyEntryError,
  GENESIS_PREV,
  custodyEntryProblem,
  entryBytes,
  entryCanonicalText,
  entryLeafHash,
  entryLeafHashHex,
  parseCustodyEntry,
  type CustodyEntry,
} from '../../services/ledger/entry.js';
import { appendLeaves, consistencyProof, inclusionProof, leafHash, MerkleAccumulator, type NodeReader } from '../../services/ledger/merkle.js';
import { formatCheckpoint, generateNoteKeys, signNote } from '../../services/ledger/note.js';
import { LogVerifier, verifyConsistencyBetween, verifyCustody, verifyLog } from '../../services/ledger/verify.js';

const ORIGIN = 'evx.example/log';
const KEYS = generateNoteKeys(ORIGIN);
const OTHER_KEYS = generateNoteKeys(ORIGIN); // same name, different key

const SUBJECTS = ['bundle:0b7e2a31-4c55-4f0e-9a57-1d2c3b4a5f60', 'bundle:9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a', 'agreement:7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d', 'jurisdiction:NL', 'jurisdiction:ICC'];
const N = 300;
const CHECKPOINT_SIZES = [0, 1, 50, 100, 150, 200, 250, 299, 300];

const clone = <T>(value: T): T => structuredClone(value);

/** Builds a valid log: entries with prev/subjectPrev chains, in seq order. */
function buildEntries(n: number, mutate?: (entry: CustodyEntry) => void): CustodyEntry[] {
  const entries: CustodyEntry[] = [];
  const last = new Map<string, string>();
  let prev = GENESIS_PREV;
  for (let seq = 0; seq < n; seq++) {
    // Mostly interleaved subjects, with runs of two for the first one.
    const subject = SUBJECTS[seq % 7 < 2 ? 0 : (seq * 3) % SUBJECTS.length] as string;
    const entry: CustodyEntry = {
      v: 1,
      seq,
      time: new Date(Date.UTC(2025, 2, 1, 9) + seq * 1500).toISOString(),
      type: ['bundle.created', 'bundle.sealed', 'release.granted', 'bundle.accessed', 'agreement.signed'][seq % 5] as string,
      actor: seq % 11 === 0 ? null : { iss: 'https://idp.nl.example', sub: `officer-${seq % 13}`, jurisdiction: seq % 4 === 0 ? null : 'NL' },
      subject,
      data: seq % 3 === 0 ? { recipient: 'ICC', purpose: 'prosecution', n: seq } : { reason: 'agreement_inactive', nested: { ok: false, list: [1, 'two', null] } },
      prev,
      subjectPrev: last.get(subject) ?? null,
    };
    mutate?.(entry);
    const leaf = entryLeafHashHex(entry);
    entries.push(entry);
    last.set(subject, leaf);
    prev = leaf;
  }
  return entries;
}

/** Rewrites prev and subjectPrev from `from` on so all links hold again (a consistent tail rewrite). */
function relink(entries: CustodyEntry[], from: number): CustodyEntry[] {
  const out = clone(entries);
  const last = new Map<string, string>();
  let prev = GENESIS_PREV;
  out.forEach((entry, i) => {
    if (i >= from) {
      entry.prev = prev;
      entry.subjectPrev = last.get(entry.subject) ?? null;
    }
    const leaf = entryLeafHashHex(entry);
    last.set(entry.subject, leaf);
    prev = leaf;
  });
  return out;
}

function checkpointAt(entries: CustodyEntry[], size: number, signerKey = KEYS.signerKey, origin = ORIGIN): string {
  const acc = new MerkleAccumulator();
  for (const entry of entries.slice(0, size)) acc.push(entryLeafHash(entry));
  if (acc.size !== size) throw new Error('log shorter than checkpoint');
  return signNote(formatCheckpoint({ origin, size, rootHash: acc.root() }), signerKey);
}

const ENTRIES = buildEntries(N);
const CHECKPOINTS = CHECKPOINT_SIZES.map((size) => checkpointAt(ENTRIES, size));

function verify(entries: unknown[], checkpoints: string[] = CHECKPOINTS) {
  return verifyLog(KEYS.verifierKey, checkpoints, entries);
}

t.test('entry shape and canonical form', async (t) => {
  const entry = ENTRIES[12] as CustodyEntry;
  t.equal(entryCanonicalText(entry), canonicalize(entry), 'specialised serializer = RFC 8785');
  t.equal(entryBytes(entry).toString('utf8'), canonicalize(entry));
  t.equal(entryLeafHash(entry).toString('hex'), leafHash(Buffer.from(canonicalize(entry))).toString('hex'));
  t.equal(parseCustodyEntry(JSON.parse(JSON.stringify(entry))).seq, 12);

  const bad: Array<[string, unknown]> = [
    ['not an object', 'entry'],
    ['array', []],
    ['extra field', { ...entry, extra: 1 }],
    ['missing field', (({ subjectPrev: _, ...rest }) => rest)(entry)],
    ['v 2', { ...entry, v: 2 }],
    ['v "1"', { ...entry, v: '1' }],
    ['negative seq', { ...entry, seq: -1 }],
    ['fractional seq', { ...entry, seq: 1.5 }],
    ['string seq', { ...entry, seq: '12' }],
    ['time with offset', { ...entry, time: '2025-03-01T10:00:00+01:00' }],
    ['time without zone', { ...entry, time: '2025-03-01T10:00:00' }],
    ['30 February', { ...entry, time: '2025-02-30T10:00:00Z' }],
    ['empty type', { ...entry, type: '' }],
    ['actor extra field', { ...entry, actor: { iss: 'i', sub: 's', jurisdiction: null, roles: [] } }],
    ['actor missing jurisdiction', { ...entry, actor: { iss: 'i', sub: 's' } }],
    ['actor numeric sub', { ...entry, actor: { iss: 'i', sub: 7, jurisdiction: null } }],
    ['empty subject', { ...entry, subject: '' }],
    ['lone surrogate', { ...entry, subject: 'bundle:\ud800' }],
    ['data array', { ...entry, data: [] }],
    ['data null', { ...entry, data: null }],
    ['data with NaN', { ...entry, data: { x: Number.NaN } }],
    ['data with a Date', { ...entry, data: { x: new Date() } }],
    ['data too deep', { ...entry, data: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) as unknown }],
    ['upper-case prev', { ...entry, prev: entry.prev.toUpperCase() }],
    ['short prev', { ...entry, prev: 'ab' }],
    ['subjectPrev empty string', { ...entry, subjectPrev: '' }],
  ];
  for (const [name, value] of bad) {
    t.type(custodyEntryProblem(value), 'string', name);
    t.throws(() => parseCustodyEntry(value), CustodyEntryError, name);
  }
  t.throws(() => entryLeafHash({ ...entry, extra: 1 } as CustodyEntry), CustodyEntryError, 'hashing checks the shape too');
});

t.test('specialised serializer equals canonicalize() for arbitrary entries', async (t) => {
  const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
  const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
  const json = fc.jsonValue({ maxDepth: 3 });
  const entryArb = fc.record({
    v: fc.constant(1 as const),
    seq: fc.nat(),
    time: fc.date({ min: new Date('1970-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }).map((d) => d.toISOString()),
    type: text,
    actor: fc.option(fc.record({ iss: text, sub: text, jurisdiction: fc.option(text) })),
    subject: text,
    data: fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), json, { maxKeys: 6 }),
    prev: hex,
    subjectPrev: fc.option(hex),
  });
  fc.assert(
    fc.property(entryArb, (raw) => {
      const entry = JSON.parse(JSON.stringify(raw)) as CustodyEntry; // what a verifier receives
      if (custodyEntryProblem(entry) !== null) return true;
      const canonical = canonicalize(entry);
      // Both paths: keys in arbitrary order, and already in canonical order.
      return entryCanonicalText(entry) === canonical && entryCanonicalText(JSON.parse(canonical) as CustodyEntry) === canonical;
    }),
    { numRuns: 3000 },
  );
  t.pass('property held');
});

t.test('a valid log verifies, whatever order the checkpoints come in', async (t) => {
  t.same(verify(ENTRIES), { ok: true, size: N, checked: N, firstBad: null });
  t.same(verify(JSON.parse(JSON.stringify(ENTRIES)) as unknown[], [...CHECKPOINTS].reverse()), { ok: true, size: N, checked: N, firstBad: null });
  t.same(verify(ENTRIES, []), { ok: true, size: N, checked: N, firstBad: null }, 'chains alone');
  t.same(verify([], [CHECKPOINTS[0] as string]), { ok: true, size: 0, checked: 0, firstBad: null }, 'empty log, empty checkpoint');
  const v = new LogVerifier(KEYS.verifierKey, CHECKPOINTS);
  for (const entry of ENTRIES) v.push(entry);
  v.finish();
  t.throws(() => v.push(ENTRIES[0]), 'no push after finish');
});

type Mutation = [name: string, change: (entry: CustodyEntry) => void];

const FIELD_MUTATIONS: Mutation[] = [
  ['v', (e) => Object.assign(e, { v: 2 })],
  ['seq', (e) => (e.seq += 1000)],
  ['time', (e) => (e.time = '2031-01-01T00:00:00.000Z')],
  ['type', (e) => (e.type = 'bundle.deleted')],
  ['actor', (e) => (e.actor = e.actor === null ? { iss: 'https://idp.nl.example', sub: 'x', jurisdiction: 'NL' } : null)],
  ['actor.iss', (e) => (e.actor = { iss: 'https://evil.example', sub: e.actor?.sub ?? 's', jurisdiction: e.actor?.jurisdiction ?? null })],
  ['actor.sub', (e) => (e.actor = { iss: e.actor?.iss ?? 'i', sub: 'someone-else', jurisdiction: e.actor?.jurisdiction ?? null })],
  ['actor.jurisdiction', (e) => (e.actor = { iss: e.actor?.iss ?? 'i', sub: e.actor?.sub ?? 's', jurisdiction: e.actor?.jurisdiction === 'FR' ? 'DE' : 'FR' })],
  ['subject', (e) => (e.subject = e.subject === SUBJECTS[0] ? (SUBJECTS[1] as string) : (SUBJECTS[0] as string))],
  ['subject (new)', (e) => (e.subject = 'bundle:00000000-0000-4000-8000-000000000000')],
  ['data value', (e) => (e.data = { ...e.data, purpose: 'defence' })],
  ['data added key', (e) => (e.data = { ...e.data, hidden: true })],
  ['data emptied', (e) => (e.data = {})],
  ['prev', (e) => (e.prev = e.prev === GENESIS_PREV ? 'ab'.repeat(32) : GENESIS_PREV)],
  ['subjectPrev', (e) => (e.subjectPrev = e.subjectPrev === null ? 'cd'.repeat(32) : null)],
  ['subjectPrev other hash', (e) => (e.subjectPrev = 'ef'.repeat(32))],
  ['extra field', (e) => Object.assign(e, { note: 'x' })],
];

t.test('changing any field of any entry names that entry', async (t) => {
  for (const position of [0, 1, 137, 200, N - 1]) {
    for (const [name, change] of FIELD_MUTATIONS) {
      const entries = clone(ENTRIES);
      change(entries[position] as CustodyEntry);
      const report = verify(entries);
      t.equal(report.firstBad?.seq, position, `${name} of entry ${position}: ${report.firstBad?.reason}`);
      t.equal(report.ok, false);
    }
  }
});

t.test('without a checkpoint at n-1 a changed last entry is reported after the last matching checkpoint', async (t) => {
  const checkpoints = CHECKPOINTS.filter((_, i) => CHECKPOINT_SIZES[i] !== N - 1);
  const entries = clone(ENTRIES);
  (entries[N - 1] as CustodyEntry).time = '2031-01-01T00:00:00.000Z';
  const report = verify(entries, checkpoints);
  t.equal(report.firstBad?.seq, 250);
  t.match(report.firstBad?.reason, /last matching checkpoint/);
  // A changed prev on the last entry, with no checkpoint covering the entry
  // before it: an intact subjectPrev on the last entry vouches for the entry
  // before it when both have the same subject; otherwise it is ambiguous.
  const sameSubjectEnd = [...Array(N).keys()].find((k) => k > 202 && ENTRIES[k - 2]?.subject === ENTRIES[k - 1]?.subject) as number;
  const otherSubjectEnd = [...Array(N).keys()].find((k) => k > 202 && ENTRIES[k - 2]?.subject !== ENTRIES[k - 1]?.subject) as number;
  for (const [end, expected] of [
    [sameSubjectEnd, sameSubjectEnd - 1],
    [otherSubjectEnd, otherSubjectEnd - 2],
  ] as const) {
    const log = clone(ENTRIES.slice(0, end));
    (log[end - 1] as CustodyEntry).prev = 'ab'.repeat(32);
    const r = verify(log, [checkpointAt(ENTRIES, 200), checkpointAt(ENTRIES, end)]);
    t.equal(r.firstBad?.seq, expected, String(r.firstBad?.reason));
  }
});

t.test('a stored leaf hash (server-side evidence) pins an entry edited in place', async (t) => {
  const sparse = [checkpointAt(ENTRIES, 100), checkpointAt(ENTRIES, N)];
  const stored = ENTRIES.map(entryLeafHashHex);
  for (const k of [N - 1, 150, 0]) {
    const entries = clone(ENTRIES);
    (entries[k] as CustodyEntry).data = { rewritten: true };
    const withoutStored = verify(entries, sparse);
    const v = new LogVerifier(KEYS.verifierKey, sparse);
    entries.forEach((e, i) => v.push(e, i % 2 === 0 ? (stored[i] as string) : Buffer.from(stored[i] as string, 'hex')));
    const report = v.finish();
    t.equal(report.firstBad?.seq, k, `entry ${k}: ${report.firstBad?.reason}`);
    t.match(report.firstBad?.reason, /altered in place/);
    if (k === N - 1) t.equal(withoutStored.firstBad?.seq, 100, 'without it, only the checkpoints bound the change');
  }
  const v = new LogVerifier(KEYS.verifierKey, CHECKPOINTS);
  ENTRIES.forEach((e, i) => v.push(e, stored[i]));
  t.same(v.finish(), { ok: true, size: N, checked: N, firstBad: null }, 'matching stored hashes');
});

t.test('deleted, swapped, duplicated and truncated entries', async (t) => {
  for (const k of [0, 1, 137, N - 2]) {
    const deleted = ENTRIES.filter((_, i) => i !== k);
    t.equal(verify(deleted).firstBad?.seq, k, `delete ${k}`);
    const swapped = clone(ENTRIES);
    [swapped[k], swapped[k + 1]] = [swapped[k + 1] as CustodyEntry, swapped[k] as CustodyEntry];
    t.equal(verify(swapped).firstBad?.seq, k, `swap ${k} and ${k + 1}`);
    const duplicated = [...ENTRIES.slice(0, k + 1), ENTRIES[k], ...ENTRIES.slice(k + 1)];
    t.equal(verify(duplicated).firstBad?.seq, k + 1, `duplicate ${k}`);
  }
  const deletedLast = verify(ENTRIES.slice(0, N - 1));
  t.equal(deletedLast.firstBad?.seq, N - 1, 'deleting the last entry is a truncation');
  for (const keep of [0, 120, 200, 299]) {
    const r = verify(ENTRIES.slice(0, keep));
    t.equal(r.firstBad?.seq, keep, `truncated to ${keep}: ${r.firstBad?.reason}`);
    t.match(r.firstBad?.reason, /missing/);
    t.equal(r.checked, keep);
  }
  // Renumbering after a deletion keeps seq gapless but cannot keep the roots.
  const renumbered = relink(
    ENTRIES.filter((_, i) => i !== 170).map((e, i) => ({ ...e, seq: i })),
    170,
  );
  const r = verify(renumbered);
  t.equal(r.firstBad?.seq, 150, `delete, renumber and relink: ${r.firstBad?.reason}`);
});

t.test('a consistently rewritten tail is reported from the last matching checkpoint', async (t) => {
  for (const [from, expected] of [
    [170, 150],
    [150, 150],
    [149, 100],
    [0, 0],
    [260, 250],
  ] as const) {
    const entries = clone(ENTRIES);
    (entries[from] as CustodyEntry).data = { forged: true };
    const report = verify(relink(entries, from));
    t.equal(report.firstBad?.seq, expected, `rewrite from ${from}: ${report.firstBad?.reason}`);
    t.match(report.firstBad?.reason, /last matching checkpoint/);
  }
});

t.test('checkpoint problems', async (t) => {
  // Fork: a second signed checkpoint of size 150 over a different history.
  const forkedHistory = relink(
    ENTRIES.map((e, i) => (i === 120 ? { ...e, data: { forged: true } } : e)),
    120,
  );
  const fork = checkpointAt(forkedHistory, 150);
  const forked = verify(ENTRIES, [...CHECKPOINTS, fork]);
  t.equal(forked.firstBad?.seq, 100, String(forked.firstBad?.reason));
  t.match(forked.firstBad?.reason, /fork/);
  // The forked history itself, with both checkpoints stored: its entries are
  // internally consistent, so the fork and the root mismatch point at 100 too.
  t.equal(verify(forkedHistory, [...CHECKPOINTS, fork]).firstBad?.seq, 100);

  const otherKey = verify(ENTRIES, CHECKPOINTS.map((c, i) => (CHECKPOINT_SIZES[i] === 200 ? checkpointAt(ENTRIES, 200, OTHER_KEYS.signerKey) : c)));
  t.equal(otherKey.firstBad?.seq, 150, `signed by another key: ${otherKey.firstBad?.reason}`);
  t.match(otherKey.firstBad?.reason, /size 200 does not verify/);

  const otherOrigin = verify(ENTRIES, [...CHECKPOINTS, checkpointAt(ENTRIES, 250, KEYS.signerKey, 'other.example/log')]);
  t.equal(otherOrigin.firstBad?.seq, 200, `wrong origin: ${otherOrigin.firstBad?.reason}`);

  const tampered = CHECKPOINTS.map((c, i) => (CHECKPOINT_SIZES[i] === 100 ? c.replace('\n100\n', '\n101\n') : c));
  const r = verify(ENTRIES, tampered);
  t.equal(r.firstBad?.seq, 50, `size edited in a signed checkpoint: ${r.firstBad?.reason}`);

  const garbage = verify(ENTRIES, [...CHECKPOINTS, 'not a checkpoint']);
  t.equal(garbage.firstBad?.seq, N, 'an unreadable checkpoint sorts after all good ones');

  const early = verify(ENTRIES, [...CHECKPOINTS, checkpointAt(ENTRIES, 10, OTHER_KEYS.signerKey)]);
  t.equal(early.firstBad?.seq, 1, 'a bad checkpoint of size 10 discredits from the last good one (size 1)');

  const v = new LogVerifier(KEYS.verifierKey, CHECKPOINTS, { origin: 'other.example/log' });
  for (const e of ENTRIES) v.push(e);
  t.equal(v.finish().firstBad?.seq, 0, 'expected origin is configurable');
});

t.test('entries that are not even JSON objects', async (t) => {
  const entries: unknown[] = clone(ENTRIES);
  entries[42] = 'garbage';
  const report = verify(entries);
  t.same({ seq: report.firstBad?.seq, checked: report.checked, size: report.size }, { seq: 42, checked: 42, size: N });
  t.match(report.firstBad?.reason, /malformed/);
});

// ---- custody responses ----

function treeReader(entries: CustodyEntry[]): NodeReader {
  const leaves = entries.map(entryLeafHash);
  const nodes = new Map<string, Buffer>();
  leaves.forEach((h, i) => nodes.set(`0/${i}`, h));
  for (const n of appendLeaves(0, [], leaves).nodes) nodes.set(`${n.level}/${n.index}`, n.hash);
  return (level, index) => {
    const h = nodes.get(`${level}/${index}`);
    if (!h) throw new Error(`no node ${level}/${index}`);
    return h;
  };
}

const READER = treeReader(ENTRIES);

function custodyResponse(subject: string, size = N) {
  return {
    checkpoint: CHECKPOINTS[CHECKPOINT_SIZES.indexOf(size)] as string,
    entries: ENTRIES.slice(0, size)
      .filter((e) => e.subject === subject)
      .map((entry) => ({
        entry: clone(entry),
        leafHash: entryLeafHashHex(entry),
        proof: { leafIndex: entry.seq, treeSize: size, hashes: inclusionProof(entry.seq, size, READER).map((h) => h.toString('hex')) },
      })),
  };
}

t.test('custody verification', async (t) => {
  const subject = SUBJECTS[0] as string;
  const good = custodyResponse(subject);
  t.ok(good.entries.length > 20, 'enough entries for the subject');
  const ok = verifyCustody(good, KEYS.verifierKey, { subject });
  t.equal(ok.ok, true, String(ok.firstProblem?.reason));
  t.equal(ok.checkpoint?.size, N);
  t.equal(ok.entries.length, good.entries.length);
  t.ok(verifyCustody(custodyResponse(subject, 150), KEYS.verifierKey).ok, 'an older checkpoint works too');

  const cases: Array<[string, (r: ReturnType<typeof custodyResponse>) => void, number | null]> = [
    ['entry field changed', (r) => ((r.entries[5] as (typeof r.entries)[number]).entry.type = 'x.y'), 5],
    ['entry and leafHash changed together', (r) => {
      const item = r.entries[5] as (typeof r.entries)[number];
      item.entry.data = { forged: true };
      item.leafHash = entryLeafHashHex(item.entry);
    }, 5],
    ['proof hash flipped', (r) => {
      const hashes = (r.entries[3] as (typeof r.entries)[number]).proof.hashes;
      hashes[1] = (hashes[1] as string).replace(/^./, (c) => (c === '0' ? '1' : '0'));
    }, 3],
    ['proof hash dropped', (r) => (r.entries[3] as (typeof r.entries)[number]).proof.hashes.pop(), 3],
    ['leafHash changed', (r) => ((r.entries[7] as (typeof r.entries)[number]).leafHash = 'ab'.repeat(32)), 7],
    ['leafIndex changed', (r) => ((r.entries[2] as (typeof r.entries)[number]).proof.leafIndex += 1), 2],
    ['treeSize changed', (r) => ((r.entries[2] as (typeof r.entries)[number]).proof.treeSize = 299), 2],
    ['checkpoint signature changed', (r) => (r.checkpoint = r.checkpoint.replace(/ (\S)(\S*)\n$/, (_, c: string, rest: string) => ` ${c === 'A' ? 'B' : 'A'}${rest}\n`)), null],
    ['checkpoint by another key', (r) => (r.checkpoint = checkpointAt(ENTRIES, N, OTHER_KEYS.signerKey)), null],
    ['middle entry omitted', (r) => r.entries.splice(10, 1), 10],
    ['first entry omitted', (r) => r.entries.shift(), 0],
    ['two entries swapped', (r) => ([r.entries[4], r.entries[5]] = [r.entries[5] as (typeof r.entries)[number], r.entries[4] as (typeof r.entries)[number]]), 4],
    ['entry of another subject added', (r) => r.entries.splice(6, 0, custodyResponse(SUBJECTS[1] as string).entries[3] as (typeof r.entries)[number]), 6],
    ['no entries', (r) => (r.entries = []), null],
  ];
  for (const [name, tamper, index] of cases) {
    const response = custodyResponse(subject);
    tamper(response);
    const verdict = verifyCustody(response, KEYS.verifierKey);
    t.equal(verdict.ok, false, name);
    t.equal(verdict.firstProblem?.index, index, `${name}: ${verdict.firstProblem?.reason}`);
  }
  const wrongSubject = verifyCustody(good, KEYS.verifierKey, { subject: SUBJECTS[1] as string });
  t.equal(wrongSubject.firstProblem?.index, 0, 'entries must be about the requested subject');
  t.equal(verifyCustody('nonsense', KEYS.verifierKey).ok, false);
  t.equal(verifyCustody({ checkpoint: good.checkpoint, entries: [null] }, KEYS.verifierKey).firstProblem?.index, 0);
});

t.test('consistency between a saved and a new checkpoint', async (t) => {
  const at = (size: number): string => CHECKPOINTS[CHECKPOINT_SIZES.indexOf(size)] as string;
  const proof = (m: number, n: number): string[] => consistencyProof(m, n, READER).map((h) => h.toString('hex'));
  t.equal(verifyConsistencyBetween(at(100), at(300), proof(100, 300), KEYS.verifierKey).ok, true);
  t.equal(verifyConsistencyBetween(at(1), at(299), { from: 1, to: 299, hashes: proof(1, 299) }, KEYS.verifierKey).ok, true, 'server shape');
  t.equal(verifyConsistencyBetween(at(150), at(150), [], KEYS.verifierKey).ok, true, 'same checkpoint');
  t.equal(verifyConsistencyBetween(at(0), at(250), [], KEYS.verifierKey).ok, true, 'from the empty log');

  const rollback = verifyConsistencyBetween(at(300), at(100), [], KEYS.verifierKey);
  t.equal(rollback.ok, false);
  t.match(rollback.reason, /rollback/);

  const forkedHistory = relink(
    ENTRIES.map((e, i) => (i === 120 ? { ...e, data: { forged: true } } : e)),
    120,
  );
  const fork = checkpointAt(forkedHistory, 150);
  t.match(verifyConsistencyBetween(at(150), fork, [], KEYS.verifierKey).reason, /fork/);
  // Split view: a later checkpoint over the forked history, with an honest-looking proof for it.
  const forkedReader = treeReader(forkedHistory);
  const forkProof = consistencyProof(100, 250, forkedReader).map((h) => h.toString('hex'));
  const split = verifyConsistencyBetween(at(200), checkpointAt(forkedHistory, 250), consistencyProof(200, 250, forkedReader), KEYS.verifierKey);
  t.equal(split.ok, false, 'split view detected');
  t.match(split.reason, /split view/);
  t.equal(verifyConsistencyBetween(at(100), checkpointAt(forkedHistory, 250), forkProof, KEYS.verifierKey).ok, true, 'before the fork point both views agree');
  t.equal(verifyConsistencyBetween(at(100), at(300), proof(100, 299), KEYS.verifierKey).ok, false, 'proof for other sizes');
  t.match(verifyConsistencyBetween(at(100), at(300), { from: 100, to: 299, hashes: proof(100, 300) }, KEYS.verifierKey).reason, /not 100 to 300/);
  t.match(verifyConsistencyBetween(at(100), checkpointAt(ENTRIES, 300, OTHER_KEYS.signerKey), proof(100, 300), KEYS.verifierKey).reason, /new checkpoint/);
  t.equal(verifyConsistencyBetween(at(100), at(300), ['zz'], KEYS.verifierKey).ok, false, 'garbage proof');
});
