import { createHash } from 'node:crypto';
import t from 'tap';
import {
  MAX_MANIFEST_FILES,
  cipherSizeFor,
  isRfc3339Utc,
  manifestHash,
  signManifest,
  validateManifest,
  verifyManifestSignature,
  type Manifest,
  type Problem,
} from '../../services/envelope/index.js';
import { ed25519Generate, ed25519PublicFromSeed } from '../../services/shared/ed25519.js';
import { canonicalize } from '../../services/shared/jcs.js';
import { pseudoRandomBytes } from './helpers.js';

const seed = pseudoRandomBytes(32, 301);
const publicKeyB64 = ed25519PublicFromSeed(seed).toString('base64');
const hex64 = (n: number): string => createHash('sha256').update(String(n)).digest('hex');
const prefix = (n: number): string => pseudoRandomBytes(16, 400 + n).toString('base64');

function validManifest(): Manifest {
  return {
    v: 1,
    caseReference: 'ICC-01/22-45 exhibit batch 7',
    crimeCategory: 'war_crimes',
    classification: 'confidential',
    createdAt: '2026-01-31T09:30:00.123Z',
    files: [
      { name: 'empty.txt', size: 0, sha256: hex64(1), chunkSize: 1048576, noncePrefix: prefix(1), cipherSize: 16, cipherSha256: hex64(2) },
      { name: 'disk.img', size: 2621440, sha256: hex64(3), chunkSize: 1048576, noncePrefix: prefix(2), cipherSize: 2621488, cipherSha256: hex64(4) },
    ],
    signer: { jurisdiction: 'NL', sub: 'investigator-17', publicKey: publicKeyB64 },
  };
}

type JsonObject = Record<string, unknown>;

/** A mutable JSON copy of the valid manifest, as a parsed request body would be. */
function body(): JsonObject {
  return JSON.parse(JSON.stringify(validManifest())) as JsonObject;
}

/** The container holding the last segment of a '/a/0/b' path, and that segment. */
function locate(root: JsonObject, path: string): [JsonObject, string] {
  const segments = path.split('/').slice(1);
  let container = root;
  for (const seg of segments.slice(0, -1)) container = container[seg] as JsonObject;
  return [container, segments[segments.length - 1]!];
}
function get(root: JsonObject, path: string): unknown {
  const [container, last] = locate(root, path);
  return container[last];
}
function set(root: JsonObject, path: string, value: unknown): void {
  const [container, last] = locate(root, path);
  container[last] = value;
}
function del(root: JsonObject, path: string): void {
  const [container, last] = locate(root, path);
  delete container[last];
}

function problemsOf(input: unknown): Problem[] {
  const result = validateManifest(input);
  return result.ok ? [] : result.problems;
}

t.test('a valid manifest passes and comes back as an exact copy', async (t) => {
  const input = body();
  const result = validateManifest(input);
  t.ok(result.ok, JSON.stringify(result));
  if (!result.ok) return;
  t.same(result.value, validManifest());
  t.not(result.value, input);
  t.not(result.value.files[0], get(input, '/files/0'));
  t.equal(canonicalize(result.value), canonicalize(input), 'same canonical bytes, so the same signature verifies');
});

t.test('each bad field is reported at its path with a specific message', async (t) => {
  type Mutation = [string, (m: JsonObject) => void, string, RegExp];
  const longName = 'x'.repeat(256);
  const cases: Mutation[] = [
    ['v missing', (m) => del(m, '/v'), '/v', /is required/],
    ['v = 2', (m) => set(m, '/v', 2), '/v', /must be 1/],
    ['v = "1"', (m) => set(m, '/v', '1'), '/v', /must be 1/],
    ['caseReference missing', (m) => del(m, '/caseReference'), '/caseReference', /is required/],
    ['caseReference empty', (m) => set(m, '/caseReference', ''), '/caseReference', /must not be empty/],
    ['caseReference blank', (m) => set(m, '/caseReference', '  \t'), '/caseReference', /must not be blank/],
    ['caseReference 201 chars', (m) => set(m, '/caseReference', 'c'.repeat(201)), '/caseReference', /at most 200 characters \(has 201\)/],
    ['caseReference number', (m) => set(m, '/caseReference', 7), '/caseReference', /must be a string/],
    ['caseReference lone surrogate', (m) => set(m, '/caseReference', 'a\uD800b'), '/caseReference', /lone surrogate/],
    ['crimeCategory unknown', (m) => set(m, '/crimeCategory', 'theft'), '/crimeCategory', /must be one of: genocide, /],
    ['crimeCategory missing', (m) => del(m, '/crimeCategory'), '/crimeCategory', /is required/],
    ['classification unknown', (m) => set(m, '/classification', 'top_secret'), '/classification', /must be one of: public, restricted, confidential, secret/],
    ['createdAt with offset', (m) => set(m, '/createdAt', '2026-01-31T10:30:00+01:00'), '/createdAt', /RFC 3339 date-time in UTC/],
    ['createdAt no T', (m) => set(m, '/createdAt', '2026-01-31 09:30:00Z'), '/createdAt', /RFC 3339/],
    ['createdAt Feb 30', (m) => set(m, '/createdAt', '2026-02-30T09:30:00Z'), '/createdAt', /RFC 3339/],
    ['createdAt number', (m) => set(m, '/createdAt', 1769851800), '/createdAt', /RFC 3339/],
    ['files missing', (m) => del(m, '/files'), '/files', /is required/],
    ['files not an array', (m) => set(m, '/files', {}), '/files', /must be an array/],
    ['files empty', (m) => set(m, '/files', []), '/files', /at least one file/],
    ['file not an object', (m) => set(m, '/files/1', 'disk.img'), '/files/1', /must be an object/],
    ['file unknown field', (m) => set(m, '/files/0/path', '/etc/passwd'), '/files/0/path', /unknown field/],
    ['file name missing', (m) => del(m, '/files/0/name'), '/files/0/name', /is required/],
    ['file name empty', (m) => set(m, '/files/0/name', ''), '/files/0/name', /must not be empty/],
    ['file name with NUL', (m) => set(m, '/files/0/name', 'a\u0000b'), '/files/0/name', /must not contain NUL/],
    ['file name 256 chars', (m) => set(m, '/files/0/name', longName), '/files/0/name', /at most 255 characters/],
    ['file name not a string', (m) => set(m, '/files/0/name', ['a']), '/files/0/name', /must be a string/],
    ['size negative', (m) => set(m, '/files/1/size', -1), '/files/1/size', /must be in \[0, /],
    ['size fractional', (m) => set(m, '/files/1/size', 1.5), '/files/1/size', /must be a non-negative integer/],
    ['size string', (m) => set(m, '/files/1/size', '2621440'), '/files/1/size', /must be a non-negative integer/],
    ['size unsafe', (m) => set(m, '/files/1/size', 2 ** 53), '/files/1/size', /must be a non-negative integer/],
    ['size too large for a cipher size', (m) => (set(m, '/files/1/size', Number.MAX_SAFE_INTEGER), set(m, '/files/1/chunkSize', 1024)), '/files/1/size', /ciphertext size would exceed/],
    ['sha256 upper case', (m) => set(m, '/files/0/sha256', hex64(1).toUpperCase()), '/files/0/sha256', /64 lower-case hex digits/],
    ['sha256 short', (m) => set(m, '/files/0/sha256', 'abcd'), '/files/0/sha256', /64 lower-case hex digits/],
    ['chunkSize 1023', (m) => set(m, '/files/0/chunkSize', 1023), '/files/0/chunkSize', /must be in \[1024, 16777216\] \(is 1023\)/],
    ['chunkSize 16 MiB + 1', (m) => set(m, '/files/0/chunkSize', 16777217), '/files/0/chunkSize', /must be in \[1024, 16777216\]/],
    ['chunkSize fractional', (m) => set(m, '/files/0/chunkSize', 2048.5), '/files/0/chunkSize', /must be an integer/],
    ['noncePrefix 15 bytes', (m) => set(m, '/files/0/noncePrefix', Buffer.alloc(15).toString('base64')), '/files/0/noncePrefix', /exactly 16 bytes \(encodes 15\)/],
    ['noncePrefix not base64', (m) => set(m, '/files/0/noncePrefix', '!!!!!!!!!!!!!!!!!!!!!!!='), '/files/0/noncePrefix', /standard base64/],
    ['noncePrefix base64url', (m) => set(m, '/files/0/noncePrefix', '-_-_-_-_-_-_-_-_-_-_-w=='), '/files/0/noncePrefix', /standard base64/],
    ['noncePrefix non-canonical', (m) => set(m, '/files/0/noncePrefix', 'AAAAAAAAAAAAAAAAAAAAAB=='), '/files/0/noncePrefix', /canonical base64/],
    ['noncePrefix duplicated', (m) => set(m, '/files/1/noncePrefix', get(m, '/files/0/noncePrefix')), '/files/1/noncePrefix', /duplicates \/files\/0\/noncePrefix/],
    ['cipherSize wrong', (m) => set(m, '/files/1/cipherSize', 2621456), '/files/1/cipherSize', /must be 2621488 for size 2621440 and chunkSize 1048576 \(is 2621456\)/],
    ['cipherSize missing', (m) => del(m, '/files/1/cipherSize'), '/files/1/cipherSize', /is required/],
    ['cipherSha256 bad', (m) => set(m, '/files/1/cipherSha256', 'z'.repeat(64)), '/files/1/cipherSha256', /64 lower-case hex digits/],
    ['signer missing', (m) => del(m, '/signer'), '/signer', /is required/],
    ['signer not an object', (m) => set(m, '/signer', 'NL'), '/signer', /must be an object/],
    ['signer unknown field', (m) => set(m, '/signer/keyId', 'k1'), '/signer/keyId', /unknown field/],
    ['signer jurisdiction lower case', (m) => set(m, '/signer/jurisdiction', 'nl'), '/signer/jurisdiction', /jurisdiction code/],
    ['signer sub empty', (m) => set(m, '/signer/sub', ''), '/signer/sub', /must not be empty/],
    ['signer sub 256 chars', (m) => set(m, '/signer/sub', 's'.repeat(256)), '/signer/sub', /at most 255 characters/],
    ['createdAt missing', (m) => del(m, '/createdAt'), '/createdAt', /is required/],
    ['signer publicKey 31 bytes', (m) => set(m, '/signer/publicKey', Buffer.alloc(31).toString('base64')), '/signer/publicKey', /exactly 32 bytes/],
    ['unknown top-level field', (m) => set(m, '/title', 'x'), '/title', /unknown field/],
    ['field name needing escaping', (m) => (m['a/b~c'] = 1), '/a~1b~0c', /unknown field/],
  ];
  for (const [name, mutate, path, message] of cases) {
    const m = body();
    mutate(m);
    const problems = problemsOf(m);
    t.equal(problems.length, 1, `${name}: exactly one problem (${JSON.stringify(problems)})`);
    t.equal(problems[0]?.path, path, `${name}: path`);
    t.match(problems[0]?.message ?? '', message, `${name}: message`);
  }
});

t.test('several problems are all reported, capped at 100', async (t) => {
  const m = body();
  set(m, '/v', 2);
  set(m, '/signer/sub', '');
  t.same(problemsOf(m).map((p) => p.path), ['/v', '/signer/sub']);
  const many = body();
  set(many, '/files', Array.from({ length: 500 }, () => ({ name: '' })));
  const problems = problemsOf(many);
  t.equal(problems.length, 101);
  t.match(problems[100]?.message, /more problem\(s\) not listed/);
});

t.test('file count is capped at 10,000', async (t) => {
  const m = body();
  const first = get(m, '/files/0') as JsonObject;
  set(m, '/files', Array.from({ length: MAX_MANIFEST_FILES + 1 }, (_, i) => ({ ...first, noncePrefix: prefix(i) })));
  t.same(problemsOf(m), [{ path: '/files', message: 'must list at most 10000 files (lists 10001)' }]);
});

t.test('inputs that are not objects, and prototype tricks', async (t) => {
  for (const input of [null, undefined, 'manifest', 42, [], [body()]]) {
    t.same(problemsOf(input), [{ path: '', message: 'manifest must be a JSON object' }], JSON.stringify(input) ?? 'undefined');
  }
  const proto = JSON.parse(JSON.stringify(body()).replace('{', '{"__proto__":{"x":1},')) as unknown;
  t.same(problemsOf(proto), [{ path: '/__proto__', message: 'unknown field' }]);
});

t.test('limits are in characters, not UTF-16 units; blank or odd names are metadata, not paths', async (t) => {
  for (const name of ['😀'.repeat(255), ' ', '../../etc/passwd', 'C:\\evidence\\a.img', 'line\nbreak']) {
    const m = body();
    set(m, '/files/0/name', name);
    t.ok(validateManifest(m).ok, JSON.stringify(name).slice(0, 40));
  }
  const m = body();
  set(m, '/caseReference', '€'.repeat(200));
  t.ok(validateManifest(m).ok);
  t.ok(isRfc3339Utc('2024-02-29T23:59:59Z'));
  t.notOk(isRfc3339Utc('2023-02-29T23:59:59Z'));
  t.notOk(isRfc3339Utc('2024-01-01T00:00:60Z'), 'no leap seconds');
  t.notOk(isRfc3339Utc('2024-01-01t00:00:00z'));
  t.ok(isRfc3339Utc('2024-01-01T00:00:00.123456789Z'));
});

t.test('cipherSize agrees with cipherSizeFor', async (t) => {
  const m = body();
  set(m, '/files/1/size', 5);
  set(m, '/files/1/chunkSize', 1024);
  set(m, '/files/1/cipherSize', cipherSizeFor(5, 1024));
  t.ok(validateManifest(m).ok);
});

t.test('manifestHash is SHA-256 of the JCS bytes, whatever the key order', async (t) => {
  const m = validManifest();
  const expected = createHash('sha256').update(canonicalize(m), 'utf8').digest('hex');
  t.equal(manifestHash(m), expected);
  const reordered = JSON.parse(JSON.stringify({ signer: m.signer, files: m.files, v: m.v, createdAt: m.createdAt, classification: m.classification, crimeCategory: m.crimeCategory, caseReference: m.caseReference })) as Manifest;
  t.equal(manifestHash(reordered), expected);
  t.match(manifestHash(m), /^[0-9a-f]{64}$/);
});

/** Paths of every leaf of a JSON value. */
function leafPaths(value: JsonObject, prefix = ''): string[] {
  return Object.entries(value).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null ? leafPaths(v as JsonObject, `${prefix}/${k}`) : [`${prefix}/${k}`],
  );
}

/** Change a leaf to another value of the same type. */
function alter(root: JsonObject, path: string): void {
  const old = get(root, path);
  set(root, path, typeof old === 'number' ? old + 1 : typeof old === 'string' ? old + 'x' : !old);
}

t.test('signatures: verify, and fail after any change or with another key', async (t) => {
  const m = validManifest();
  const signature = signManifest(m, seed);
  t.match(signature, /^[A-Za-z0-9+/]{86}==$/);
  t.ok(verifyManifestSignature(m, signature));
  t.ok(verifyManifestSignature(m, signature, ed25519PublicFromSeed(seed)), 'explicit raw key');
  t.ok(verifyManifestSignature(m, signature, publicKeyB64), 'explicit base64 key');

  const paths = leafPaths(body());
  t.equal(paths.length, 5 + 2 * 7 + 3, 'every leaf is visited');
  for (const path of paths) {
    const changed = body();
    alter(changed, path);
    // With signer.publicKey changed, verify against the real key so only the manifest change is at stake.
    t.notOk(verifyManifestSignature(changed as unknown as Manifest, signature, publicKeyB64), `changed ${path}`);
  }
  const dropped = body();
  (get(dropped, '/files') as unknown[]).pop();
  t.notOk(verifyManifestSignature(dropped as unknown as Manifest, signature), 'file removed');
  const added = body();
  set(added, '/extra', true);
  t.notOk(verifyManifestSignature(added as unknown as Manifest, signature), 'field added');

  const other = ed25519Generate();
  t.notOk(verifyManifestSignature(m, signature, other.publicKey), 'another key');
  const otherSigner = { ...m, signer: { ...m.signer, publicKey: other.publicKey.toString('base64') } };
  t.notOk(verifyManifestSignature(otherSigner, signManifest(otherSigner, other.seed), publicKeyB64), "another signer's signature against the registered key");

  const raw = Buffer.from(signature, 'base64');
  raw[10]! ^= 1;
  t.notOk(verifyManifestSignature(m, raw.toString('base64')), 'altered signature');
  t.notOk(verifyManifestSignature(m, signature.slice(0, -4)), 'short signature');
  t.notOk(verifyManifestSignature(m, signature.replace(/==$/, 'A=')), 'malformed signature');
  t.notOk(verifyManifestSignature(m, 'not base64'), 'not base64');
  t.notOk(verifyManifestSignature(m, signature, 'short'), 'malformed key');
  t.notOk(verifyManifestSignature({ ...m, caseReference: '\uD800' }, signature), 'not canonicalizable: false, not a throw');
});

t.test('signManifest refuses a seed that is not the signer key', async (t) => {
  t.throws(() => signManifest(validManifest(), ed25519Generate().seed), /does not belong to manifest.signer.publicKey/);
  t.throws(() => signManifest(validManifest(), seed.subarray(1)), RangeError);
});
