/**
 * The CLI without a server: help for every command (with an example and the
 * exit codes), usage errors (exit 2), configuration precedence (flags >
 * environment > profile), network failures (exit 4), key files, tokens,
 * and the rules that keep fetched file names inside the output directory.
 */
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { COMMANDS } from '../../services/cli/main.js';
import { targetPath, unsafeNameReason } from '../../services/cli/safe-paths.js';
import { tempDir } from '../helpers/app.js';
import { runEvx } from './helpers.js';

function envFor(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '', HOME: home, ...extra };
}

t.test('help: top level, every command (with an example), unknown commands', async (t) => {
  const home = tempDir(t);
  const env = envFor(home);
  let r = await runEvx(['--help'], { env });
  t.equal(r.code, 0);
  for (const c of COMMANDS) t.match(r.stdout, c.path.join(' '), `evx --help lists ${c.path.join(' ')}`);
  t.match(r.stdout, /exit codes:\n  0 .*\n  1 .*integrity.*\n  2 .*usage.*\n  3 .*refused.*\n  4 .*network/);
  r = await runEvx([], { env });
  t.equal(r.code, 2, 'no command: help on stderr, exit 2');
  t.match(r.stderr, /usage: evx COMMAND/);

  // Four at a time: start-up dominates, and the machine is shared.
  const commands = [...COMMANDS];
  while (commands.length > 0) {
    const batch = commands.splice(0, 4);
    const results = await Promise.all(batch.map((c) => runEvx([...c.path, '--help'], { env })));
    batch.forEach((c, i) => {
      const res = results[i]!;
      const name = c.path.join(' ');
      t.equal(res.code, 0, `evx ${name} --help exits 0`);
      t.match(res.stdout, new RegExp(`^evx ${name} — `), `${name}: title`);
      t.match(res.stdout, /\nusage: evx /, `${name}: usage`);
      t.match(res.stdout, /\nexamples?:\n  .*evx /, `${name}: an example`);
      t.match(res.stdout, /\nexit codes:\n/, `${name}: the exit codes`);
    });
  }

  r = await runEvx(['frobnicate'], { env });
  t.equal(r.code, 2);
  t.match(r.stderr, /unknown command "frobnicate"/);
  r = await runEvx(['agreement'], { env });
  t.equal(r.code, 2, 'a group without subcommand: exit 2 with the list');
  t.match(r.stderr, /evx agreement sign/);
  r = await runEvx(['log', '--help'], { env });
  t.equal(r.code, 0);
  t.match(r.stdout, /evx log verify/);
});

t.test('usage errors exit 2 with a pointer to --help', async (t) => {
  const home = tempDir(t);
  const env = envFor(home, { EVX_URL: 'http://127.0.0.1:9', EVX_TOKEN: 'x.e30.x' });
  const cases: Array<[string[], RegExp]> = [
    [['upload', '--bogus'], /Unknown option '--bogus'/],
    [['upload', 'nothere.bin', '--case', 'C', '--crime', 'war_crimes', '--classification', 'secret'], /cannot read nothere\.bin: no such file/],
    [['upload', 'x', '--case', 'C', '--crime', 'jaywalking', '--classification', 'secret'], /--crime must be one of: genocide/],
    [['fetch', 'not-a-uuid', '--out', 'x'], /is not a bundle id/],
    [['fetch'], /missing argument: usage: evx fetch BUNDLE --out DIR/],
    [['release', '0b7e6d1c-3f7a-4c55-9a49-5e3f7d1c2b3a', '--to', 'icc!', '--purpose', 'trial', '--request-ref', 'R'], /--to must be a jurisdiction code/],
    [['token', '--roles', 'investigator'], /give exactly one of --jurisdiction CODE or --operator/],
    [['token', '--jurisdiction', 'NL', '--roles', 'admin'], /the admin role is only for operator tokens/],
    [['register', 'officer-key'], /cannot read the signing key .*signing-key\.json: no such file/],
    [['upload', '--resume', '0b7e6d1c-3f7a-4c55-9a49-5e3f7d1c2b3a'], /no unfinished upload of bundle/],
  ];
  for (const [args, message] of cases) {
    const r = await runEvx(args, { env, cwd: home });
    t.equal(r.code, 2, `evx ${args.join(' ')}: exit 2`);
    t.match(r.stderr, message);
  }
  const noUrl = await runEvx(['bundle', 'list'], { env: envFor(home) });
  t.equal(noUrl.code, 2);
  t.match(noUrl.stderr, /no server URL: pass --url URL, set EVX_URL, or put "url" in your profile/);
  const noToken = await runEvx(['bundle', 'list'], { env: envFor(home, { EVX_URL: 'http://127.0.0.1:9' }) });
  t.equal(noToken.code, 2);
  t.match(noToken.stderr, /no token/);
});

t.test('configuration: flags > environment > profile; an unreachable server is exit 4', async (t) => {
  const home = tempDir(t);
  const profile = path.join(home, 'profile.json');
  writeFileSync(profile, JSON.stringify({ url: 'http://127.0.0.1:1', token: 'from.profile.token' }), { mode: 0o600 });
  const run = (args: string[], extra: Record<string, string>) => runEvx(['bundle', 'list', '--profile', profile, ...args], { env: envFor(home, extra) });
  let r = await run([], {});
  t.equal(r.code, 4, 'connection refused: exit 4');
  t.match(r.stderr, /cannot connect to http:\/\/127\.0\.0\.1:1: connection refused/, 'the profile URL is used');
  r = await run([], { EVX_URL: 'http://127.0.0.1:2' });
  t.match(r.stderr, /127\.0\.0\.1:2: connection refused/, 'EVX_URL beats the profile');
  r = await run(['--url', 'http://127.0.0.1:3'], { EVX_URL: 'http://127.0.0.1:2' });
  t.match(r.stderr, /127\.0\.0\.1:3: connection refused/, '--url beats EVX_URL');

  // The default profile location, and relative key paths resolved from the profile's directory.
  const config = path.join(home, '.config', 'evx');
  mkdirSync(config, { recursive: true });
  writeFileSync(path.join(config, 'profile.json'), JSON.stringify({ url: 'http://127.0.0.1:4', token: 't.e30.t', signingKey: 'keys/me.json' }), { mode: 0o600 });
  r = await runEvx(['register', 'officer-key'], { env: envFor(home) });
  t.equal(r.code, 2);
  t.match(r.stderr, new RegExp(`cannot read the signing key ${path.join(config, 'keys', 'me.json').replace(/[.]/g, '\\.')}`));

  writeFileSync(profile, JSON.stringify({ url: 'http://127.0.0.1:1', tokn: 'typo' }));
  r = await run([], {});
  t.equal(r.code, 2, 'a profile with an unknown field is refused');
  t.match(r.stderr, /unknown field "tokn"/);

  writeFileSync(profile, JSON.stringify({ url: 'http://127.0.0.1:1', token: 'secret' }));
  chmodSync(profile, 0o644);
  r = await run([], {});
  t.match(r.stderr, /holds a token and is readable by others/, 'a world-readable profile with a token is warned about');
});

t.test('keygen: 0600 files, public halves printed, no silent overwrite; token: claims as asked', async (t) => {
  const home = tempDir(t);
  const env = envFor(home);
  let r = await runEvx(['keygen'], { env });
  t.equal(r.code, 0, r.stderr);
  const signing = path.join(home, '.config', 'evx', 'signing-key.json');
  const box = path.join(home, '.config', 'evx', 'box-key.json');
  t.equal(statSync(signing).mode & 0o777, 0o600);
  t.equal(statSync(box).mode & 0o777, 0o600);
  t.equal(statSync(path.dirname(signing)).mode & 0o777, 0o700, 'in a 0700 directory');
  const s = JSON.parse(readFileSync(signing, 'utf8')) as { publicKey: string };
  const b = JSON.parse(readFileSync(box, 'utf8')) as { publicKey: string };
  t.equal(r.stdout, `signing public key: ${s.publicKey}\nbox public key: ${b.publicKey}\n`);
  r = await runEvx(['keygen', '--signing-key', signing], { env });
  t.equal(r.code, 2);
  t.match(r.stderr, /already exists; refusing to overwrite/);
  r = await runEvx(['keygen', '--signing-key', signing, '--force', '--json'], { env });
  t.equal(r.code, 0);
  t.not((JSON.parse(r.stdout) as { signingKey: { publicKey: string } }).signingKey.publicKey, s.publicKey, '--force replaces it');

  writeFileSync(signing, JSON.stringify({ kind: 'evx-signing-key', v: 1, publicKey: b.publicKey, seed: s.publicKey }));
  r = await runEvx(['register', 'officer-key', '--url', 'http://127.0.0.1:1', '--token', 'x'], { env });
  t.equal(r.code, 2, 'a damaged key file is refused before anything is sent');
  t.match(r.stderr, /its publicKey does not belong to its seed/);

  const dataDir = path.join(home, 'server-data');
  r = await runEvx(['token', '--jurisdiction', 'ICC', '--roles', 'registry,auditor', '--ttl', '600', '--data-dir', dataDir], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /created a new development issuer/);
  const claims = JSON.parse(Buffer.from(r.stdout.trim().split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  t.match(claims, { iss: 'evx-dev-issuer', sub: 'icc-registry', jurisdiction: 'ICC', roles: ['registry', 'auditor'], aud: 'evx' });
  t.equal((claims['exp'] as number) - (claims['iat'] as number), 600);
  r = await runEvx(['token', '--jurisdiction', 'ICC', '--roles', 'registry', '--data-dir', dataDir], { env: { ...env, EVX_ISSUERS: '[]' } });
  t.equal(r.code, 2, 'no development tokens when issuers are configured');
});

t.test('output names: only plain relative paths inside the directory', async (t) => {
  for (const name of ['report.pdf', 'photos/IMG_0001.jpg', 'a b/c..d.txt', 'ünïcode.txt']) t.equal(unsafeNameReason(name), null, `${name} is fine`);
  const refused: Array<[string, RegExp]> = [
    ['', /empty/],
    ['../x', /"\.\." segment/],
    ['a/../../x', /"\.\." segment/],
    ['..', /"\.\." segment/],
    ['/etc/passwd', /absolute/],
    ['C:evil', /absolute/],
    ['a\\b', /backslash/],
    ['a\u0000b', /NUL/],
    ['line\nbreak', /control/],
    ['a//b', /empty or "\." segment/],
    ['./a', /empty or "\." segment/],
    ['dir/', /empty or "\." segment/],
    ['.evx-fetch-x.tmp', /temporary files/],
  ];
  for (const [name, reason] of refused) t.match(unsafeNameReason(name), reason, `${JSON.stringify(name)} is refused`);
  const p = targetPath('/srv/out', 'photos/a.jpg');
  t.same(p, { path: '/srv/out/photos/a.jpg' });
});
