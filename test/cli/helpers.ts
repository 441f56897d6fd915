/**
 * Running the real `evx` against a real server: a listening app on a fresh
 * test database (development issuer, so `evx token` works), the CLI as a
 * child process (`node scripts/evx.mjs …`) with a clean environment, peak
 * RSS sampled from /proc, and quick in-process setup through the CLI's own
 * code for the steps a test is not about.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../services/app.js';
import { runCli } from '../../services/cli/main.js';
import type { Io } from '../../services/cli/settings.js';
import { loadConfig } from '../../services/config.js';
import { tempDir, type TestContext } from '../helpers/app.js';
import { createDatabase } from '../helpers/database.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LAUNCHER = path.join(root, 'scripts', 'evx.mjs');

export interface CliServer {
  app: FastifyInstance;
  url: string;
  dataDir: string;
  blobDir: string;
  databaseUrl: string;
  vkey: string;
  /** A scratch directory for keys, files and state. */
  home: string;
  /** Environment for a CLI child: only what the CLI needs, never the test runner's. */
  env(extra?: Record<string, string>): Record<string, string>;
}

export async function startCliServer(t: TestContext): Promise<CliServer> {
  const databaseUrl = await createDatabase(t);
  const dataDir = tempDir(t, 'evx-cli-data-');
  const home = tempDir(t, 'evx-cli-home-');
  const config = loadConfig({ DATABASE_URL: databaseUrl, EVX_DATA_DIR: dataDir, EVX_CHECKPOINT_INTERVAL: '100ms', LOG_LEVEL: 'silent' });
  const app = await buildApp(config, { logger: pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(async () => {
    // A CLI child killed mid-request can leave a socket open: do not let it hold the close.
    app.server.closeAllConnections();
    await app.close();
  });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    app,
    url,
    dataDir,
    blobDir: config.blobDir,
    databaseUrl,
    vkey: app.custody.vkey,
    home,
    env: (extra = {}) => ({
      PATH: process.env['PATH'] ?? '',
      HOME: home,
      EVX_URL: url,
      EVX_DATA_DIR: dataDir,
      EVX_STATE_DIR: path.join(home, 'state'),
      ...extra,
    }),
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Peak resident set size of the child in bytes (VmHWM), when measured. */
  peakRss: number | null;
  seconds: number;
}

export interface RunOptions {
  env: Record<string, string>;
  cwd?: string;
  measureRss?: boolean;
  /** Called with the child once started (to kill it mid-way). */
  onSpawn?: (child: ChildProcess) => void;
  /** Called with stderr as it arrives. */
  onStderr?: (text: string, child: ChildProcess) => void;
  timeoutMs?: number;
}

function readHwm(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Runs `node scripts/evx.mjs ...args` to completion. */
export function runEvx(args: string[], options: RunOptions): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAUNCHER, ...args], { cwd: options.cwd ?? options.env['HOME'], env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peak: number | null = null;
    const sample = (): void => {
      const v = child.pid !== undefined ? readHwm(child.pid) : null;
      if (v !== null && (peak === null || v > peak)) peak = v;
    };
    const poll = options.measureRss ? setInterval(sample, 50) : null;
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 240_000);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => {
      const text = c.toString('utf8');
      stderr += text;
      options.onStderr?.(text, child);
    });
    child.on('error', reject);
    // 'exit' fires before the streams close: the last sample of the (zombie-free) process is taken there.
    child.on('exit', () => {
      if (poll) sample();
    });
    child.on('close', (code, signal) => {
      if (poll) clearInterval(poll);
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, peakRss: peak, seconds: (performance.now() - started) / 1000 });
    });
    options.onSpawn?.(child);
  });
}

/** The CLI's own code in-process: for setup steps a test is not about (fast, same behaviour). */
export async function evxInProcess(args: string[], env: Record<string, string>): Promise<string> {
  let out = '';
  let err = '';
  const io: Io = { env, cwd: env['HOME'] ?? process.cwd(), stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((err += s), true) } };
  const code = await runCli(args, io);
  if (code !== 0) throw new Error(`evx ${args.join(' ')} (in-process) exited ${code}: ${err}${out}`);
  return out.trim();
}

export interface Actor {
  token: string;
  signingKey: string;
  boxKey: string;
  env: Record<string, string>;
}

export interface World {
  admin: string;
  boxKeys: Record<string, string>;
  nlOfficer: Actor;
  iccOfficer: Actor;
  nlInvestigator: Actor;
  iccRegistry: Actor;
  deInvestigator: Actor;
  /** An operator auditor: sees every bundle's custody and the whole log. */
  auditor: Actor;
  vkeyFile: string;
}

/**
 * NL, ICC and DE with box keys, their officers with registered signing keys,
 * and an active NL → ICC agreement (war crimes up to confidential, for trial)
 * when `agreement` is set — all through the CLI's own code, in-process.
 */
export async function setupWorld(server: CliServer, options: { agreement?: boolean } = {}): Promise<World & { agreementId: string | null }> {
  const env = server.env();
  const keys = path.join(server.home, 'keys');
  mkdirSync(keys, { recursive: true, mode: 0o700 });
  const admin = await evxInProcess(['token', '--operator', '--roles', 'admin'], env);
  const boxKeys: Record<string, string> = {};
  for (const [code, kind] of [['NL', 'state'], ['ICC', 'tribunal'], ['DE', 'state']] as const) {
    await evxInProcess(['register', 'jurisdiction', code, '--name', `${code} authority`, '--kind', kind], { ...env, EVX_TOKEN: admin });
    boxKeys[code] = path.join(keys, `${code}-box.json`);
    await evxInProcess(['keygen', '--box-key', boxKeys[code]!], env);
    await evxInProcess(['register', 'box-key', code, '--box-key', boxKeys[code]!], { ...env, EVX_TOKEN: admin });
  }
  const actor = async (code: string, sub: string, roles: string, operator = false): Promise<Actor> => {
    const token = await evxInProcess(['token', ...(operator ? ['--operator'] : ['--jurisdiction', code]), '--roles', roles, '--sub', sub], env);
    const signingKey = path.join(keys, `${sub}.json`);
    await evxInProcess(['keygen', '--signing-key', signingKey], env);
    const boxKey = boxKeys[code] ?? boxKeys['NL']!;
    const actorEnv = { ...env, EVX_TOKEN: token, EVX_SIGNING_KEY: signingKey, EVX_BOX_KEY: boxKey };
    if (!operator) await evxInProcess(['register', 'officer-key'], actorEnv);
    return { token, signingKey, boxKey, env: actorEnv };
  };
  const world = {
    admin,
    boxKeys,
    nlOfficer: await actor('NL', 'nl-agreements', 'agreement_officer'),
    iccOfficer: await actor('ICC', 'icc-agreements', 'agreement_officer'),
    nlInvestigator: await actor('NL', 'nl-investigator', 'investigator'),
    iccRegistry: await actor('ICC', 'icc-registry', 'registry'),
    deInvestigator: await actor('DE', 'de-investigator', 'investigator'),
    auditor: await actor('OPERATOR', 'auditor-1', 'auditor', true),
    vkeyFile: path.join(keys, 'log.vkey'),
  };
  await import('node:fs').then((fs) => fs.writeFileSync(world.vkeyFile, `${server.vkey}\n`));
  let agreementId: string | null = null;
  if (options.agreement) {
    agreementId = await evxInProcess(
      ['agreement', 'draft', '--with', 'ICC', '--legal-basis', 'Rome Statute, Part 9', '--crimes', 'war_crimes', '--max-classification', 'confidential', '--purposes', 'trial', '--sign', '--quiet'],
      world.nlOfficer.env,
    );
    await evxInProcess(['agreement', 'sign', agreementId, '--quiet'], world.iccOfficer.env);
  }
  return { ...world, agreementId };
}

/** A file of `size` random bytes, written in 1 MiB pieces (never held in memory). */
export async function randomFile(file: string, size: number): Promise<void> {
  const out = createWriteStream(file);
  for (let left = size; left > 0; ) {
    const n = Math.min(left, 1024 * 1024);
    if (!out.write(randomBytes(n))) await new Promise<void>((r) => out.once('drain', () => r()));
    left -= n;
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) h.update(c);
  return h.digest('hex');
}

/**
 * A TCP proxy in front of the server that cuts a connection once `cutAfter`
 * bytes went through it in the watched direction (client→server for uploads,
 * server→client for downloads), for the first `cuts` connections that get
 * that far; later connections pass untouched.
 */
export async function cuttingProxy(t: TestContext, target: string, options: { direction: 'upload' | 'download'; cutAfter: number; cuts: number }): Promise<{ url: string; cutsDone: () => number }> {
  const { port, hostname } = new URL(target);
  let cutsDone = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client);
    sockets.add(upstream);
    let seen = 0;
    let armed = cutsDone < options.cuts;
    const watch = (chunk: Buffer): void => {
      if (!armed) return;
      seen += chunk.length;
      if (seen >= options.cutAfter) {
        armed = false;
        cutsDone += 1;
        client.destroy();
        upstream.destroy();
      }
    };
    client.on('data', (c: Buffer) => {
      if (options.direction === 'upload') watch(c);
      if (!upstream.destroyed) upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => {
      if (options.direction === 'download') watch(c);
      if (!client.destroyed) client.write(c);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, cutsDone: () => cutsDone };
}
