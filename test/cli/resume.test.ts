/**
 * Interrupted transfers: connections cut by a proxy mid-upload and
 * mid-download (the CLI retries and resumes from the server's offset / with
 * Range), an upload whose process is killed and continued with
 * `evx upload --resume`, and a fetch stopped with Ctrl-C and run again (it
 * resumes from the ciphertext kept). Every result is compared byte for byte.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { cuttingProxy, evxInProcess, randomFile, runEvx, setupWorld, sha256File, startCliServer } from './helpers.js';

t.test('interrupted uploads and downloads resume', async (t) => {
  const server = await startCliServer(t);
  const world = await setupWorld(server, { agreement: true });
  const files = path.join(server.home, 'files');
  mkdirSync(files);

  t.test('connections cut mid-upload: retried from the server\'s offset', async (t) => {
    const proxy = await cuttingProxy(t, server.url, { direction: 'upload', cutAfter: 1_500_000, cuts: 2 });
    const file = path.join(files, 'cut-upload.bin');
    await randomFile(file, 5 * 1024 * 1024 + 99);
    const r = await runEvx(['upload', file, '--case', 'C-cut', '--crime', 'war_crimes', '--classification', 'restricted'], { env: { ...world.nlInvestigator.env, EVX_URL: proxy.url } });
    t.equal(r.code, 0, r.stderr);
    t.equal(proxy.cutsDone(), 2, 'the proxy cut two connections');
    t.match(r.stderr, /upload of cut-upload\.bin interrupted: .*retrying in/);
    t.match(r.stderr, /resuming cut-upload\.bin at byte [1-9]\d*/, 'the retry continues from the offset the server holds');
    const id = r.stdout.trim();
    await evxInProcess(['release', id, '--to', 'ICC', '--purpose', 'trial', '--request-ref', 'R-cut', '--quiet'], world.nlInvestigator.env);
    const out = path.join(server.home, 'out-cut-upload');
    const f = await runEvx(['fetch', id, '--out', out, '--quiet'], { env: world.iccRegistry.env });
    t.equal(f.code, 0, f.stderr);
    t.equal(await sha256File(path.join(out, 'cut-upload.bin')), await sha256File(file), 'byte for byte');
  });

  const big = path.join(files, 'big.bin');
  let bigId = '';

  t.test('an upload whose process is killed continues with evx upload --resume', async (t) => {
    await randomFile(big, 40 * 1024 * 1024 + 5);
    const first = await runEvx(['upload', big, '--case', 'C-kill', '--crime', 'war_crimes', '--classification', 'restricted'], {
      env: world.nlInvestigator.env,
      onStderr: (text, child) => {
        // Non-terminal progress lines come every 10 %: stop it hard at the first one past the start.
        if (/upload big\.bin \(1\/1\):\s+[1-9]\d%/.test(text)) child.kill('SIGKILL');
      },
    });
    t.equal(first.signal, 'SIGKILL', 'the first upload was killed mid-way');
    const id = /bundle ([0-9a-f-]{36}) created/.exec(first.stderr)?.[1];
    t.ok(id, 'the bundle had been created');
    bigId = id!;

    const pending = await runEvx(['upload', '--pending'], { env: world.nlInvestigator.env });
    t.equal(pending.code, 0);
    t.match(pending.stdout, new RegExp(`^${bigId}\\s+started .*big\\.bin`, 'm'), 'evx upload --pending lists it');

    const second = await runEvx(['upload', '--resume', bigId], { env: world.nlInvestigator.env });
    t.equal(second.code, 0, second.stderr);
    t.equal(second.stdout.trim(), bigId, 'the resumed upload prints the bundle id');
    t.match(second.stderr, /resuming big\.bin at byte [1-9]\d*/, 'it continued from the server\'s offset, not from zero');
    t.match(second.stderr, /is sealed/);
    t.same(readdirSync(path.join(server.home, 'state', 'uploads')), [], 'the state file is gone');

    const again = await runEvx(['upload', '--resume', bigId], { env: world.nlInvestigator.env });
    t.equal(again.code, 2, 'nothing is left to resume');
    await evxInProcess(['release', bigId, '--to', 'ICC', '--purpose', 'trial', '--request-ref', 'R-kill', '--quiet'], world.nlInvestigator.env);
  });

  t.test('connections cut mid-download: continued with Range', async (t) => {
    const proxy = await cuttingProxy(t, server.url, { direction: 'download', cutAfter: 3_000_000, cuts: 2 });
    const out = path.join(server.home, 'out-cut-download');
    const r = await runEvx(['fetch', bigId, '--out', out], { env: { ...world.iccRegistry.env, EVX_URL: proxy.url } });
    t.equal(r.code, 0, r.stderr);
    t.equal(proxy.cutsDone(), 2, 'the proxy cut two connections');
    t.match(r.stderr, /download of big\.bin interrupted: .*retrying from byte [1-9]\d*/);
    t.equal(await sha256File(path.join(out, 'big.bin')), await sha256File(big), 'byte for byte');
    t.same(readdirSync(out), ['big.bin'], 'no temporary files are left');
  });

  t.test('a fetch stopped with Ctrl-C resumes from the ciphertext it kept', async (t) => {
    const out = path.join(server.home, 'out-interrupted');
    const first = await runEvx(['fetch', bigId, '--out', out], {
      env: world.iccRegistry.env,
      onStderr: (text, child) => {
        if (/fetch big\.bin \(1\/1\):\s+[1-9]\d%/.test(text)) child.kill('SIGINT');
      },
    });
    t.equal(first.code, 130, 'interrupted: exit 130');
    t.notOk(existsSync(path.join(out, 'big.bin')), 'no file under its final name');
    t.same(readdirSync(out), [`.evx-fetch-${bigId}-0.cipher`], 'the temporary plaintext was removed; the ciphertext received is kept');

    const second = await runEvx(['fetch', bigId, '--out', out], { env: world.iccRegistry.env });
    t.equal(second.code, 0, second.stderr);
    t.match(second.stderr, /resuming big\.bin at byte [1-9]\d* of \d+ \(kept from an earlier attempt\)/);
    t.equal(await sha256File(path.join(out, 'big.bin')), await sha256File(big), 'byte for byte');
    t.same(readdirSync(out), ['big.bin'], 'and nothing else is left');
  });
});
