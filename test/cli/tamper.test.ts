/**
 * The CLI against a server (or an operator) that cheats: altered ciphertext
 * on disk, hostile file names in a signed manifest, a custody entry rewritten
 * by a superuser, forged checkpoints (a fork, a rollback) and a substituted
 * log key. Every one must end in a non-zero exit that names the problem, and
 * nothing may be written under a final name.
 */
import { createHash } from 'node:crypto';
import { existsSync, openSync, readdirSync, readFileSync, closeSync, writeSync, readSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import t from 'tap';
import { cipherSizeFor, encryptBytes, generateBundleKey, generateNoncePrefix, signManifest, wrapBundleKey, type Manifest } from '../../services/envelope/index.js';
import { formatCheckpoint, generateNoteKeys, parseSignerKey, signNote, verifyCheckpoint } from '../../services/ledger/note.js';
import { logKeyFile } from '../../services/ledger/log-key.js';
import { decodeBase64 } from '../../services/shared/encoding.js';
import { evxInProcess, randomFile, runEvx, setupWorld, startCliServer } from './helpers.js';

t.test('a cheating server or operator is caught by the CLI', async (t) => {
  const server = await startCliServer(t);
  const world = await setupWorld(server, { agreement: true });
  const home = server.home;

  const files = path.join(home, 'files');
  await import('node:fs').then((fs) => fs.mkdirSync(files));
  await randomFile(path.join(files, 'a.bin'), 2 * 1024 * 1024 + 777);
  await randomFile(path.join(files, 'b.bin'), 2 * 1024 * 1024 + 333);
  let r = await runEvx(['upload', path.join(files, 'a.bin'), path.join(files, 'b.bin'), '--case', 'C-1', '--crime', 'war_crimes', '--classification', 'restricted', '--quiet'], { env: world.nlInvestigator.env });
  t.equal(r.code, 0, r.stderr);
  const bundleId = r.stdout.trim();
  await evxInProcess(['release', bundleId, '--to', 'ICC', '--purpose', 'trial', '--request-ref', 'R-1', '--quiet'], world.nlInvestigator.env);

  t.test('ciphertext altered on the server\'s disk: fetch fails, nothing under a final name', async (t) => {
    const blob = path.join(server.blobDir, 'objects', bundleId, '1');
    const fd = openSync(blob, 'r+');
    const one = Buffer.alloc(1);
    readSync(fd, one, 0, 1, 1_500_000);
    one[0] = one[0]! ^ 0x01;
    writeSync(fd, one, 0, 1, 1_500_000);
    closeSync(fd);
    const out = path.join(home, 'out-tampered');
    const r = await runEvx(['fetch', bundleId, '--out', out], { env: world.iccRegistry.env });
    t.equal(r.code, 1, 'exit 1: integrity failure');
    t.match(r.stderr, /file 1 "b\.bin" does not decrypt: chunk 1 failed authentication/);
    t.same(readdirSync(out), ['a.bin'], 'the intact file 0 is there; file 1 is not, and no temporary or cached file is left');
    t.equal(createHash('sha256').update(readFileSync(path.join(out, 'a.bin'))).digest('hex'), createHash('sha256').update(readFileSync(path.join(files, 'a.bin'))).digest('hex'));
    // Undo, so the later tests start from an honest bundle.
    const fd2 = openSync(blob, 'r+');
    one[0] = one[0]! ^ 0x01;
    writeSync(fd2, one, 0, 1, 1_500_000);
    closeSync(fd2);
  });

  t.test('hostile file names in a signed manifest are refused before anything is downloaded', async (t) => {
    // An investigator's own client could put any name in the manifest: build one by hand.
    const signing = JSON.parse(readFileSync(world.nlInvestigator.signingKey, 'utf8')) as { seed: string; publicKey: string };
    const nlBox = JSON.parse(readFileSync(world.boxKeys['NL']!, 'utf8')) as { publicKey: string };
    const key = generateBundleKey();
    const plaintexts = [Buffer.from('harmless\n'), Buffer.from('#!/bin/sh\necho owned\n')];
    const names = ['fine.txt', '../escape.txt'];
    const ciphertexts: Buffer[] = [];
    const manifest: Manifest = {
      v: 1,
      caseReference: 'C-2',
      crimeCategory: 'war_crimes',
      classification: 'restricted',
      createdAt: new Date().toISOString(),
      files: plaintexts.map((p, i) => {
        const noncePrefix = generateNoncePrefix();
        const c = encryptBytes(p, { key, noncePrefix, chunkSize: 1024 });
        ciphertexts.push(c);
        return { name: names[i]!, size: p.length, sha256: createHash('sha256').update(p).digest('hex'), chunkSize: 1024, noncePrefix: noncePrefix.toString('base64'), cipherSize: cipherSizeFor(p.length, 1024), cipherSha256: createHash('sha256').update(c).digest('hex') };
      }),
      signer: { jurisdiction: 'NL', sub: 'nl-investigator', publicKey: signing.publicKey },
    };
    const signature = signManifest(manifest, decodeBase64(signing.seed, 32)!);
    const auth = { authorization: `Bearer ${world.nlInvestigator.token}` };
    const created = await fetch(`${server.url}/v1/bundles`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ manifest, signature, keyWraps: [wrapBundleKey(key, { jurisdiction: 'NL', keyVersion: 1, boxPublicKey: nlBox.publicKey })] }),
    });
    t.equal(created.status, 201, 'the server takes names as metadata only');
    const id = ((await created.json()) as { id: string }).id;
    for (const [n, c] of ciphertexts.entries()) {
      const put = await fetch(`${server.url}/v1/bundles/${id}/files/${n}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: c });
      t.equal(put.status, 200);
    }
    t.equal((await fetch(`${server.url}/v1/bundles/${id}/seal`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' })).status, 200);
    await evxInProcess(['release', id, '--to', 'ICC', '--purpose', 'trial', '--request-ref', 'R-2', '--quiet'], world.nlInvestigator.env);

    const out = path.join(home, 'out-hostile');
    const r = await runEvx(['fetch', id, '--out', out], { env: world.iccRegistry.env });
    t.equal(r.code, 1, 'exit 1');
    t.match(r.stderr, /refusing to write file 1 "\.\.\/escape\.txt": the name contains a "\.\." segment/);
    t.notOk(existsSync(out), 'nothing was written, not even the harmless file');
    t.notOk(existsSync(path.join(home, 'escape.txt')), 'nothing escaped the output directory');
  });

  t.test('forged checkpoints: a fork and a rollback are detected against a saved checkpoint', async (t) => {
    const signer = parseSignerKey(readFileSync(logKeyFile(server.dataDir), 'utf8').trim());
    const latest = await (await fetch(`${server.url}/v1/log/checkpoint`)).text();
    const size = verifyCheckpoint(latest, server.vkey).size;
    const forge = (n: number): string => signNote(formatCheckpoint({ origin: signer.name, size: n, rootHash: createHash('sha256').update(`forged ${n}`).digest() }), signer);

    const fork = path.join(home, 'fork.txt');
    writeFileSync(fork, forge(size));
    let r = await runEvx(['log', 'verify', '--since', fork, '--vkey', world.vkeyFile], { env: world.auditor.env });
    t.equal(r.code, 1, 'a checkpoint the log does not extend: exit 1');
    t.match(r.stderr, /does NOT verify[\s\S]*(fork|split view|does not match its signed checkpoint)/);

    const ahead = path.join(home, 'ahead.txt');
    writeFileSync(ahead, forge(size + 1000));
    r = await runEvx(['log', 'verify', '--since', ahead, '--vkey', world.vkeyFile], { env: world.auditor.env });
    t.equal(r.code, 1, 'a saved checkpoint larger than the log: exit 1');
    t.match(r.stderr, /rollback/);

    r = await runEvx(['log', 'checkpoint', '--save', fork, '--vkey', world.vkeyFile], { env: world.auditor.env });
    t.equal(r.code, 1, 'log checkpoint refuses to replace a saved checkpoint the new one does not extend');
    t.match(r.stderr, /not saving/);
    t.equal(readFileSync(fork, 'utf8'), forge(size), 'and leaves it as it was');

    // A server that swaps the log key: nothing it signs verifies against the pinned one.
    const other = generateNoteKeys(signer.name);
    r = await runEvx(['verify', bundleId, '--vkey', other.verifierKey], { env: world.auditor.env });
    t.equal(r.code, 1, 'verify against another key: exit 1');
    t.match(r.stdout, /NOT VERIFIED: checkpoint: note has no signature by key/);
  });
  t.test('a custody entry rewritten by a superuser is named by evx verify and evx log verify', async (t) => {
    const db = new pg.Client({ connectionString: server.databaseUrl });
    await db.connect();
    t.teardown(() => db.end());
    const row = (await db.query<{ seq: string; canonical: Buffer }>(`SELECT seq, canonical FROM log_entries WHERE subject = $1 AND type = 'release.granted'`, [`bundle:${bundleId}`])).rows[0]!;
    const entry = JSON.parse(row.canonical.toString('utf8')) as { data: { purpose: string } };
    t.equal(entry.data.purpose, 'trial');
    entry.data.purpose = 'investigation';
    await db.query('ALTER TABLE log_entries DISABLE TRIGGER ALL');
    await db.query('UPDATE log_entries SET canonical = $1 WHERE seq = $2', [Buffer.from(JSON.stringify(entry)), row.seq]);
    await db.query('ALTER TABLE log_entries ENABLE TRIGGER ALL');

    let r = await runEvx(['verify', bundleId, '--vkey', world.vkeyFile], { env: world.auditor.env });
    t.equal(r.code, 1, 'evx verify exits 1');
    t.match(r.stdout, /✗ .*released the bundle — to ICC for "investigation"/, 'the altered entry is marked in the timeline');
    t.match(r.stdout, /✗ leafHash does not match the entry/);
    t.match(r.stdout, /NOT VERIFIED: entry #\d+ \(log seq \d+\): leafHash does not match the entry/);
    t.match(r.stderr, /does NOT verify/);

    r = await runEvx(['log', 'verify', '--vkey', world.vkeyFile], { env: world.auditor.env });
    t.equal(r.code, 1, 'evx log verify exits 1');
    t.match(r.stderr, new RegExp(`entry (${row.seq}|${Number(row.seq) + 1})`), 'and names the altered entry');

    // A thorough forger also rewrites the stored leaf hash: the inclusion proof gives it away.
    const leaf = createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(JSON.stringify(entry))])).digest();
    await db.query('ALTER TABLE log_entries DISABLE TRIGGER ALL');
    await db.query('UPDATE log_entries SET leaf_hash = $1 WHERE seq = $2', [leaf, row.seq]);
    await db.query('ALTER TABLE log_entries ENABLE TRIGGER ALL');
    r = await runEvx(['verify', bundleId, '--vkey', world.vkeyFile], { env: world.auditor.env });
    t.equal(r.code, 1, 'still exit 1 with a consistent leaf hash');
    t.match(r.stdout, /NOT VERIFIED: .*(inclusion proof does not lead to the checkpoint root|subjectPrev does not match)/);
  });

});
