import t from 'tap';
import {
  NoteError,
  formatCheckpoint,
  formatSignerKey,
  formatVerifierKey,
  generateNoteKeys,
  isValidKeyName,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  verifyCheckpoint,
} from '../../services/ledger/note.js';
import { ed25519PublicFromSeed } from '../../services/shared/ed25519.js';

// Known-answer vectors from golang.org/x/mod/sumdb/note (note_test.go).
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof NoteError) return err.code;
    return `unexpected ${String(err)}`;
  }
  return 'no error';
}

t.test('Go sumdb/note known answers', async (t) => {
  const signer = parseSignerKey(PETER_SKEY);
  t.equal(signer.vkey, PETER_VKEY, 'signer key derives the published verifier key');
  const verifier = parseVerifierKey(PETER_VKEY);
  t.equal(verifier.name, 'PeterNeumann');
  t.equal(verifier.keyId, 0xc74f20a3);
  // Ed25519 is deterministic, so our signature must be byte-identical to Go's.
  t.equal(signNote(TEXT, signer), `${TEXT}\n${PETER_SIG}`, 'signNote reproduces Go output');
  t.equal(signNote(TEXT, PETER_SKEY), `${TEXT}\n${PETER_SIG}`, 'signNote takes a key string');
  const seed = Buffer.from(PETER_SKEY.split('+').slice(4).join('+'), 'base64').subarray(1);
  t.equal(formatSignerKey('PeterNeumann', seed), PETER_SKEY);
  t.equal(formatVerifierKey('PeterNeumann', ed25519PublicFromSeed(seed)), PETER_VKEY);

  const opened = openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, PETER_VKEY);
  t.equal(opened.text, TEXT);
  t.equal(opened.verified.name, 'PeterNeumann');
  t.equal(opened.others.length, 1, 'the unknown EnochRoot signature is kept, unchecked');
  t.equal(opened.others[0]?.keyId, 0xaf0cfe78);
  t.equal(openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, ENOCH_VKEY).verified.name, 'EnochRoot', 'Go signature by Enoch verifies');
  t.equal(openNote(Buffer.from(`${TEXT}\n${PETER_SIG}`), verifier).text, TEXT, 'bytes input');
});

t.test('verifier and signer key manglings are all rejected (as in Go)', async (t) => {
  let accepted: string[] = [];
  for (const [key, parse] of [
    [PETER_VKEY, parseVerifierKey],
    [PETER_SKEY, parseSignerKey],
  ] as const) {
    for (let i = 0; i <= key.length; i++) {
      for (let j = i + 1; j <= key.length; j++) {
        if (i === 0 && j === key.length) continue;
        if (code(() => parse(key.slice(i, j))) !== 'malformed_key') accepted.push(key.slice(i, j));
      }
    }
    for (let i = 0; i < key.length; i++) {
      const mangled = key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) + 1) + key.slice(i + 1);
      if (code(() => parse(mangled)) !== 'malformed_key') accepted.push(mangled);
    }
  }
  t.same(accepted, [], 'no substring or single-character change parses');
  accepted = [];
  t.equal(code(() => parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==')), 'malformed_key');
  t.equal(code(() => parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')), 'malformed_key', 'unknown algorithm');
  t.equal(code(() => parseVerifierKey(PETER_VKEY.replace('c74f20a3', 'C74F20A3'))), 'malformed_key', 'upper-case key ID');
});

t.test('key names', async (t) => {
  for (const good of ['PeterNeumann', 'evx.example/log', 'ü-name', 'a']) t.ok(isValidKeyName(good), good);
  for (const bad of ['', 'a b', 'a+b', 'a\tb', 'a\nb', 'a\u00a0b', 'a\u0085b', 'a\u2003b', 'a\u3000b', 'a\ud800b']) {
    t.notOk(isValidKeyName(bad), JSON.stringify(bad));
  }
  t.ok(isValidKeyName('a\ufeffb'), 'U+FEFF is not White_Space (Go agrees)');
  t.equal(code(() => formatVerifierKey('bad name', Buffer.alloc(32))), 'malformed_key');
  t.equal(code(() => generateNoteKeys('x+y')), 'malformed_key');
});

t.test('malformed notes (Go cases and more)', async (t) => {
  const cases: Array<[string, string | Uint8Array]> = [
    ['no signature block', TEXT],
    ['empty signature block', `${TEXT}\n`],
    ['signature line without newline', `${TEXT}\n${PETER_SIG.slice(0, -1)}`],
    ['control character', `\u0001${TEXT}\n${PETER_SIG}`],
    ['carriage return', `${TEXT.replace('\n', '\r\n')}\n${PETER_SIG}`],
    ['invalid UTF-8', Buffer.concat([Buffer.from([0xff]), Buffer.from(`${TEXT}\n${PETER_SIG}`)])],
    ['lone surrogate', `\ud800${TEXT}\n${PETER_SIG}`],
    ['bad key name', `${TEXT}\n\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`],
    ['unexpected line', `${TEXT}\n${PETER_SIG}Unexpected line.\n`],
    ['hyphen instead of em dash', `${TEXT}\n${PETER_SIG.replace('\u2014', '-')}`],
    ['no space after dash', `${TEXT}\n${PETER_SIG.replace('\u2014 ', '\u2014')}`],
    ['two spaces', `${TEXT}\n${PETER_SIG.replace('Neumann ', 'Neumann  ')}`],
    ['unpadded base64', `${TEXT}\n${PETER_SIG.replace('=\n', '\n')}`],
    ['signature too short', `${TEXT}\n\u2014 PeterNeumann AAAA\n`],
    ['101 signatures', `${TEXT}\n${PETER_SIG.repeat(101)}`],
  ];
  for (const [name, msg] of cases) t.equal(code(() => openNote(msg, PETER_VKEY)), 'malformed_note', name);
  t.equal(openNote(`${TEXT}\n${PETER_SIG.repeat(16)}`, PETER_VKEY).text, TEXT, '16 identical signatures are accepted');
  t.equal(code(() => signNote('no newline', PETER_SKEY)), 'malformed_note', 'text must end in newline');
  t.equal(code(() => signNote('tab\there\n', PETER_SKEY)), 'malformed_note', 'no control characters in the text');
});

t.test('unknown key, wrong key, invalid signature', async (t) => {
  t.equal(code(() => openNote(`${TEXT}\n${ENOCH_SIG}`, PETER_VKEY)), 'unknown_key', 'only an unknown key signed');
  const other = generateNoteKeys('PeterNeumann');
  t.equal(code(() => openNote(`${TEXT}\n${PETER_SIG}`, other.verifierKey)), 'unknown_key', 'same name, other key ID: ignored, so none verifies');
  // Same name and key ID as Peter's but a wrong signature must fail loudly.
  const corrupt = PETER_SIG.slice(0, 60) + 'ABCD' + PETER_SIG.slice(64);
  t.equal(code(() => openNote(`${TEXT}\n${corrupt}`, PETER_VKEY)), 'invalid_signature');
  t.equal(code(() => openNote(`${TEXT}\n${PETER_SIG}${corrupt}`, PETER_VKEY)), 'invalid_signature', 'a second, bad line by the same key');
  t.equal(code(() => openNote(`${TEXT.replace('answer', 'Answer')}\n${PETER_SIG}`, PETER_VKEY)), 'invalid_signature', 'changed text');
});

t.test('round trip, and tampering any byte of a signed checkpoint fails', async (t) => {
  const { signerKey, verifierKey } = generateNoteKeys('evx.example/log');
  const root = Buffer.alloc(32, 7);
  const body = formatCheckpoint({ origin: 'evx.example/log', size: 1234, rootHash: root });
  t.equal(body, `evx.example/log\n1234\n${root.toString('base64')}\n`);
  const signed = signNote(body, signerKey);
  const cp = verifyCheckpoint(signed, verifierKey, { origin: 'evx.example/log' });
  t.same({ ...cp, rootHash: cp.rootHash.toString('hex') }, { origin: 'evx.example/log', size: 1234, rootHash: root.toString('hex'), extensions: [] });
  t.equal(code(() => verifyCheckpoint(signed, verifierKey, { origin: 'other' })), 'origin_mismatch');
  t.equal(code(() => verifyCheckpoint(signed, generateNoteKeys('evx.example/log').verifierKey)), 'unknown_key', 'another key');

  const bytes = Buffer.from(signed, 'utf8');
  const survivors: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    for (const delta of [1, 0x40]) {
      const copy = Buffer.from(bytes);
      copy[i] = ((copy[i] as number) ^ delta) & 0xff;
      if (code(() => verifyCheckpoint(copy, verifierKey)) === 'no error') survivors.push(i);
    }
  }
  t.same(survivors, [], 'every single-byte change is rejected');
  // Extension lines survive parsing and are covered by the signature.
  const ext = signNote(formatCheckpoint({ origin: 'o', size: 0, rootHash: root, extensions: ['ext one'] }), signerKey);
  t.same(verifyCheckpoint(ext, verifierKey).extensions, ['ext one']);
});

t.test('checkpoint body parsing is strict', async (t) => {
  const root = Buffer.alloc(32, 1).toString('base64');
  t.equal(parseCheckpoint(`o\n0\n${root}\n`).size, 0, 'size 0');
  t.equal(parseCheckpoint(`o\n9007199254740991\n${root}\n`).size, Number.MAX_SAFE_INTEGER);
  const bad = [
    `o\n01\n${root}\n`,
    `o\n-1\n${root}\n`,
    `o\n+1\n${root}\n`,
    `o\n1.0\n${root}\n`,
    `o\n 1\n${root}\n`,
    `o\n9007199254740992\n${root}\n`,
    `o\n1\n${Buffer.alloc(31).toString('base64')}\n`,
    `o\n1\n${root.slice(0, -1)}\n`,
    `o\n1\n${root}`,
    `o\n1\n${root}\n\n`,
    `\n1\n${root}\n`,
    `o\n1\n`,
  ];
  for (const text of bad) t.equal(code(() => parseCheckpoint(text)), 'malformed_checkpoint', JSON.stringify(text));
  t.equal(code(() => formatCheckpoint({ origin: 'o', size: -1, rootHash: Buffer.alloc(32) })), 'malformed_checkpoint');
  t.equal(code(() => formatCheckpoint({ origin: 'o\nx', size: 1, rootHash: Buffer.alloc(32) })), 'malformed_checkpoint');
  t.equal(code(() => formatCheckpoint({ origin: 'o', size: 1, rootHash: Buffer.alloc(31) })), 'malformed_checkpoint');
});
