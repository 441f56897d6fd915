/**
 * A 300 MiB file through `evx upload` and `evx fetch` as child processes:
 * reproduced byte for byte, with the client's peak resident memory (VmHWM
 * sampled from /proc) far below the file size. The rates are printed, not
 * asserted: the machine is shared.
 */
import path from 'node:path';
import t from 'tap';
import { evxInProcess, randomFile, runEvx, setupWorld, sha256File, startCliServer } from './helpers.js';

const SIZE = 300 * 1024 * 1024;
const RSS_LIMIT = 200 * 1024 * 1024;

function rate(stderr: string, label: RegExp): string {
  return label.exec(stderr)?.[1] ?? '?';
}

t.test('300 MiB round trip: byte for byte, flat client memory', async (t) => {
  const server = await startCliServer(t);
  const world = await setupWorld(server, { agreement: true });
  const file = path.join(server.home, 'disk-image.raw');
  await randomFile(file, SIZE);

  const up = await runEvx(['upload', file, '--case', 'C-big', '--crime', 'war_crimes', '--classification', 'confidential'], { env: world.nlInvestigator.env, measureRss: true, timeoutMs: 280_000 });
  t.equal(up.code, 0, up.stderr);
  const id = up.stdout.trim();
  await evxInProcess(['release', id, '--to', 'ICC', '--purpose', 'trial', '--request-ref', 'R-big', '--quiet'], world.nlInvestigator.env);

  const out = path.join(server.home, 'received');
  const down = await runEvx(['fetch', id, '--out', out], { env: world.iccRegistry.env, measureRss: true, timeoutMs: 280_000 });
  t.equal(down.code, 0, down.stderr);
  t.equal(await sha256File(path.join(out, 'disk-image.raw')), await sha256File(file), 'the fetched file is byte for byte the uploaded one');

  const mib = (n: number | null): string => (n === null ? '?' : (n / 1024 / 1024).toFixed(0));
  t.comment(
    `upload: ${up.seconds.toFixed(1)} s in all (${(SIZE / 1e6 / up.seconds).toFixed(1)} MB/s end to end; hash pass ${rate(up.stderr, /hash disk-image\.raw \(1\/1\): [\d.]+ MB in [\d.]+ s \(([\d.]+ MB\/s)\)/)}, ` +
      `encrypt+send ${rate(up.stderr, /upload disk-image\.raw \(1\/1\): [\d.]+ MB in [\d.]+ s \(([\d.]+ MB\/s)\)/)}), peak RSS ${mib(up.peakRss)} MiB`,
  );
  t.comment(`fetch: ${down.seconds.toFixed(1)} s in all (${(SIZE / 1e6 / down.seconds).toFixed(1)} MB/s end to end; download+decrypt+verify ${rate(down.stderr, /fetched disk-image\.raw: .* \(([\d.]+ MB\/s)\)/)}), peak RSS ${mib(down.peakRss)} MiB`);
  t.ok(up.peakRss !== null && up.peakRss < RSS_LIMIT, `evx upload's peak RSS (${mib(up.peakRss)} MiB) stays below ${mib(RSS_LIMIT)} MiB for a ${mib(SIZE)} MiB file`);
  t.ok(down.peakRss !== null && down.peakRss < RSS_LIMIT, `evx fetch's peak RSS (${mib(down.peakRss)} MiB) stays below ${mib(RSS_LIMIT)} MiB for a ${mib(SIZE)} MiB file`);
});
