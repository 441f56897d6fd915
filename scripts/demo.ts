/**
 * `npm run demo`: the whole evx story, end to end, with the real command
 * line. Starts a server (startService) on a temporary embedded PostgreSQL
 * with the development token issuer, then:
 *
 *   the operator registers NL, ICC and DE and their box keys; officers
 *   register their signing keys; NL and ICC agree (drafted by NL, signed by
 *   both); an NL investigator uploads evidence and releases it to ICC; ICC's
 *   registry fetches, checks and signs a receipt; DE is refused; NL suspends
 *   the agreement and ICC's next fetch is refused; an auditor verifies the
 *   bundle's custody and the whole log against the pinned log key.
 *
 * Setup steps run the CLI's own code in-process (fast); the story's steps
 * run `node scripts/evx.mjs …` as child processes, exactly as a user would.
 * Everything lives in a temporary directory that is removed at the end.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { runCli } from '../services/cli/main.js';
import type { Io, OutStream } from '../services/cli/settings.js';
import { loadConfig } from '../services/config.js';
import { startService, type RunningService } from '../services/start.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const launcher = path.join(root, 'scripts', 'evx.mjs');
const started = performance.now();
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);

function log(line: string): void {
  process.stdout.write(`${dim(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s]`)} ${line}\n`);
}

function chapter(title: string): void {
  process.stdout.write(`\n${bold(`── ${title}`)}\n`);
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function indent(text: string): void {
  for (const line of text.replace(/\n$/, '').split('\n')) if (line !== '') process.stdout.write(`      ${dim('│')} ${line}\n`);
}

interface Actor {
  label: string;
  token: string;
  signingKey?: string;
  boxKey?: string;
}

class DemoFailure extends Error {}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'evx-demo-'));
  // PostgreSQL runs as its own system user when we are root: it must be able to traverse to its data directory.
  chmodSync(dir, 0o711);
  const dataDir = path.join(dir, 'server-data');
  const keys = path.join(dir, 'keys');
  mkdirSync(keys, { mode: 0o700 });
  let service: RunningService | null = null;
  const stop = async (): Promise<void> => {
    await service?.close().catch(() => undefined);
    service = null;
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => void stop().then(() => process.exit(130)));

  try {
    process.stdout.write(`${bold('evx demo')}: the NL → ICC story, end to end, with the evx command line\n`);
    log(`starting an evx server on a temporary embedded PostgreSQL in ${dataDir} …`);
    // Only what the demo needs: never the caller's DATABASE_URL or issuers.
    const config = loadConfig({ EVX_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'error', EVX_CHECKPOINT_INTERVAL: '200ms' }, dir);
    service = await startService(config, { logger: pino({ level: 'error' }) });
    const url = service.url;
    const vkey = service.app.custody.vkey;
    log(`server ready at ${url} — tokens come from its development issuer (never in production)`);

    const baseEnv: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      HOME: path.join(dir, 'home'),
      EVX_URL: url,
      EVX_DATA_DIR: dataDir,
      EVX_STATE_DIR: path.join(dir, 'state'),
    };

    /** The CLI's own code, in-process, for the many small setup steps. */
    const setup = async (actor: Actor | null, args: string[]): Promise<string> => {
      let out = '';
      let err = '';
      const sink = (append: (s: string) => void): OutStream => ({ write: (s: string) => (append(s), true) });
      const io: Io = {
        env: { ...baseEnv, ...(actor ? { EVX_TOKEN: actor.token } : {}), ...(actor?.signingKey ? { EVX_SIGNING_KEY: actor.signingKey } : {}), ...(actor?.boxKey ? { EVX_BOX_KEY: actor.boxKey } : {}) },
        cwd: dir,
        stdout: sink((s) => (out += s)),
        stderr: sink((s) => (err += s)),
      };
      const code = await runCli(args, io);
      process.stdout.write(`    ${dim('$')} evx ${args.map(quote).join(' ')}${actor ? dim(`   # as ${actor.label}`) : ''}\n`);
      if (code !== 0) {
        indent(err + out);
        throw new DemoFailure(`evx ${args[0]} failed with exit code ${code}`);
      }
      return out.trim();
    };

    /** The real `evx`, as a child process; its output is shown as it comes. */
    const evx = (actor: Actor, args: string[], expected = 0): Promise<string> => {
      process.stdout.write(`    ${bold('$')} evx ${args.map(quote).join(' ')}   ${dim(`# as ${actor.label}`)}\n`);
      const env = { ...baseEnv, EVX_TOKEN: actor.token, ...(actor.signingKey ? { EVX_SIGNING_KEY: actor.signingKey } : {}), ...(actor.boxKey ? { EVX_BOX_KEY: actor.boxKey } : {}) };
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [launcher, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        const show = (chunk: Buffer): void => indent(chunk.toString('utf8'));
        child.stdout.on('data', (c: Buffer) => {
          stdout += c.toString('utf8');
          show(c);
        });
        child.stderr.on('data', show);
        child.on('error', reject);
        child.on('close', (code) => {
          if (code === expected) resolve(stdout.trim());
          else reject(new DemoFailure(`evx ${args[0]} exited with ${code}, expected ${expected}`));
        });
      });
    };

    log('setup (chapters 1–2) runs the CLI\'s code in-process for speed; from chapter 3 on, every step is the real evx as a child process');

    chapter('1. The operator registers the jurisdictions and their box keys');
    const admin: Actor = { label: 'the platform operator', token: await setup(null, ['token', '--operator', '--roles', 'admin', '--sub', 'operator-admin']) };
    await setup(admin, ['register', 'jurisdiction', 'NL', '--name', 'Netherlands Public Prosecution Service']);
    await setup(admin, ['register', 'jurisdiction', 'ICC', '--name', 'International Criminal Court', '--kind', 'tribunal']);
    await setup(admin, ['register', 'jurisdiction', 'DE', '--name', 'Bundesamt für Justiz']);
    const boxKey: Record<string, string> = {};
    for (const code of ['NL', 'ICC', 'DE']) {
      boxKey[code] = path.join(keys, `${code.toLowerCase()}-box-key.json`);
      await setup(null, ['keygen', '--box-key', boxKey[code]!]);
      await setup(admin, ['register', 'box-key', code, '--box-key', boxKey[code]!]);
    }
    log('NL, ICC and DE are registered, each with an X25519 box key (the secret halves stay with them)');

    chapter('2. Officers get tokens and register their signing keys');
    const officer = async (code: string, sub: string, roles: string, label: string): Promise<Actor> => {
      const signingKey = path.join(keys, `${sub}.json`);
      const token = await setup(null, ['token', '--jurisdiction', code, '--roles', roles, '--sub', sub]);
      await setup(null, ['keygen', '--signing-key', signingKey]);
      const actor: Actor = { label, token, signingKey, boxKey: boxKey[code]! };
      await setup(actor, ['register', 'officer-key']);
      return actor;
    };
    const nlOfficer = await officer('NL', 'nl-agreements', 'agreement_officer', 'NL agreement officer');
    const iccOfficer = await officer('ICC', 'icc-agreements', 'agreement_officer', 'ICC agreement officer');
    const nlInvestigator = await officer('NL', 'nl-investigator', 'investigator', 'NL investigator');
    const iccRegistry = await officer('ICC', 'icc-registry', 'registry', 'ICC registry');
    const deInvestigator = await officer('DE', 'de-investigator', 'investigator', 'DE investigator');
    const auditor: Actor = { label: 'an auditor', token: await setup(null, ['token', '--operator', '--roles', 'auditor', '--sub', 'auditor-1']) };
    log('five officers and an auditor are ready');

    chapter('3. NL and ICC make a bilateral agreement');
    const agreementId = await evx(nlOfficer, [
      'agreement', 'draft', '--with', 'ICC', '--legal-basis', 'Rome Statute, Part 9 (Art. 93)', '--direction', 'a_to_b',
      '--crimes', 'war_crimes,crimes_against_humanity', '--max-classification', 'confidential', '--purposes', 'trial,investigation', '--sign', '--quiet',
    ]);
    await evx(iccOfficer, ['agreement', 'sign', agreementId, '--version', '1']);

    chapter('4. The NL investigator uploads evidence (encrypted and signed on their machine)');
    const evidence = path.join(dir, 'evidence');
    mkdirSync(evidence);
    const image = path.join(evidence, 'phone-dump.img');
    await writeRandomFile(image, 16 * 1024 * 1024);
    writeFileSync(path.join(evidence, 'witness-statement.txt'), 'Witness statement W-17, 12 pages, taken 2026-03-02.\n');
    const bundleId = await evx(nlInvestigator, ['upload', image, path.join(evidence, 'witness-statement.txt'), '--case', 'NL-2026-0042', '--crime', 'war_crimes', '--classification', 'confidential']);

    chapter('5. NL releases the bundle to ICC under the agreement');
    await evx(nlInvestigator, ['release', bundleId, '--to', 'ICC', '--purpose', 'trial', '--request-ref', 'ICC-OTP-2026-117']);

    chapter('6. ICC fetches, decrypts, verifies and signs a receipt');
    const received = path.join(dir, 'icc-received');
    await evx(iccRegistry, ['fetch', bundleId, '--out', received]);
    const same = (await sha256(image)) === (await sha256(path.join(received, 'phone-dump.img')));
    log(same ? 'ICC holds a byte-for-byte copy of the phone dump' : 'MISMATCH between the original and the fetched file');
    if (!same) throw new DemoFailure('the fetched file differs from the original');
    await evx(iccRegistry, ['receipt', bundleId]);

    chapter('7. DE has no agreement with NL: refused at every step');
    await evx(nlInvestigator, ['release', bundleId, '--to', 'DE', '--purpose', 'trial', '--request-ref', 'DE-MLA-2026-9'], 3);
    await evx(deInvestigator, ['fetch', bundleId, '--out', path.join(dir, 'de-received')], 3);

    chapter('8. NL suspends the agreement: ICC loses access at once');
    await evx(nlOfficer, ['agreement', 'suspend', agreementId, '--reason', 'review of the request', '--quiet']);
    await evx(iccRegistry, ['fetch', bundleId, '--out', path.join(dir, 'icc-again')], 3);

    chapter('9. An auditor verifies the custody chain against the pinned log key');
    // The operator publishes the log key out of band; the auditor pins that copy, not the server's word.
    const vkeyFile = path.join(keys, 'log.vkey');
    writeFileSync(vkeyFile, `${vkey}\n`);
    log(`the auditor pinned the log key ${vkey}`);
    await evx(auditor, ['verify', bundleId, '--vkey', vkeyFile]);
    await evx(auditor, ['log', 'verify', '--vkey', vkeyFile]);

    process.stdout.write('\n');
    log(bold('the story is complete: every step above is in the custody log, and it verifies'));
  } finally {
    log('stopping the server and removing the temporary files');
    await stop();
  }
}

async function writeRandomFile(file: string, size: number): Promise<void> {
  const out = createWriteStream(file);
  for (let left = size; left > 0; ) {
    const n = Math.min(left, 1024 * 1024);
    if (!out.write(randomBytes(n))) await new Promise<void>((r) => out.once('drain', () => r()));
    left -= n;
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file) as AsyncIterable<Buffer>) h.update(c);
  return h.digest('hex');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`\nnpm run demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
