/**
 * Configuration (SPEC §5), read and validated once from the environment.
 * Every bad value is reported with the variable's name and what is expected,
 * all at once, so the service either starts correctly or not at all.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseIssuers, type TrustedIssuer } from './auth/issuers.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const ENVIRONMENTS: readonly string[] = ['development', 'test', 'production'];

export interface Config {
  /** Absent: run an embedded PostgreSQL in `dataDir`. */
  databaseUrl: string | null;
  /** Owner of the schema, for migrations; null: migrate with databaseUrl. */
  migrationDatabaseUrl: string | null;
  dataDir: string;
  port: number;
  host: string;
  /** Configured issuers; empty means "use the development issuer" (never in production). */
  issuers: TrustedIssuer[];
  audience: string;
  production: boolean;
  env: string;
  logOrigin: string;
  /** C2SP signer key string; null: generated once into `dataDir`. */
  logKey: string | null;
  checkpointIntervalMs: number;
  logLevel: LogLevel;
  blobDir: string;
  dbPoolSize: number;
  /** Allowed clock skew for token times, seconds (SPEC §1: at most 30). */
  clockToleranceSeconds: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

type Env = Record<string, string | undefined>;

/** Durations as `250ms`, `1s`, `2m` or a bare number of milliseconds. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+)(ms|s|m)?$/.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000;
}

function nonEmpty(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const problems: string[] = [];

  const evxEnv = nonEmpty(env, 'EVX_ENV') ?? 'development';
  const production = evxEnv === 'production';
  // Anything but these is refused: a misspelt "Production" or "prod" must not
  // quietly run with the development issuer, which mints tokens for anyone.
  if (!ENVIRONMENTS.includes(evxEnv)) problems.push(`EVX_ENV: "${evxEnv}" must be one of ${ENVIRONMENTS.join(', ')} (exactly, lower case)`);

  const checkUrl = (name: string): string | null => {
    const value = nonEmpty(env, name) ?? null;
    if (value !== null) {
      try {
        const u = new URL(value);
        if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') problems.push(`${name}: must be a postgres:// or postgresql:// URL`);
      } catch {
        problems.push(`${name}: not a URL (expected postgres://user@host:port/database)`);
      }
    }
    return value;
  };
  const databaseUrl = checkUrl('DATABASE_URL');
  const migrationDatabaseUrl = checkUrl('EVX_MIGRATION_DATABASE_URL');
  if (migrationDatabaseUrl !== null && databaseUrl === null) problems.push('EVX_MIGRATION_DATABASE_URL: only meaningful with DATABASE_URL (the embedded database manages its own roles)');

  const dataDir = path.resolve(cwd, nonEmpty(env, 'EVX_DATA_DIR') ?? './data');

  let port = 8080;
  const portText = nonEmpty(env, 'PORT');
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port > 65535) problems.push(`PORT: "${portText}" is not a port number (0-65535)`);
  }
  const host = nonEmpty(env, 'HOST') ?? '127.0.0.1';

  let issuers: TrustedIssuer[] = [];
  const inline = nonEmpty(env, 'EVX_ISSUERS');
  const file = nonEmpty(env, 'EVX_ISSUERS_FILE');
  if (inline !== undefined && file !== undefined) {
    problems.push('EVX_ISSUERS and EVX_ISSUERS_FILE are both set: use one');
  } else if (inline !== undefined || file !== undefined) {
    const source = inline !== undefined ? 'EVX_ISSUERS' : 'EVX_ISSUERS_FILE';
    let text: string | null = inline ?? null;
    if (file !== undefined) {
      try {
        text = readFileSync(path.resolve(cwd, file), 'utf8');
      } catch (err) {
        problems.push(`EVX_ISSUERS_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    if (text !== null) {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        problems.push(`${source}: not valid JSON`);
      }
      if (raw !== undefined) {
        const parsed = parseIssuers(raw, source);
        problems.push(...parsed.problems);
        issuers = parsed.issuers;
        if (parsed.problems.length === 0 && issuers.length === 0) problems.push(`${source}: lists no issuers`);
      }
    }
  }
  if (production && inline === undefined && file === undefined) {
    problems.push('EVX_ISSUERS or EVX_ISSUERS_FILE is required when EVX_ENV=production (the development issuer is never used in production)');
  }

  const audience = nonEmpty(env, 'EVX_AUDIENCE') ?? 'evx';

  const logOrigin = nonEmpty(env, 'EVX_LOG_ORIGIN') ?? 'evx.local/custody-log';
  // C2SP: the origin is the first line of the checkpoint and the note key name: no spaces, no '+', printable.
  if (!/^[\x21-\x2A\x2C-\x7E]+$/.test(logOrigin)) problems.push(`EVX_LOG_ORIGIN: "${logOrigin}" must be printable ASCII without spaces or '+' (e.g. "evx.example.org/log")`);
  if (production && nonEmpty(env, 'EVX_LOG_ORIGIN') === undefined) problems.push('EVX_LOG_ORIGIN is required when EVX_ENV=production (it names the log in every checkpoint)');

  const logKey = nonEmpty(env, 'EVX_LOG_KEY') ?? null;
  if (logKey !== null && !logKey.startsWith('PRIVATE+KEY+')) problems.push('EVX_LOG_KEY: must be a C2SP note signer key "PRIVATE+KEY+<name>+<hash>+<key>"');

  let checkpointIntervalMs = 1000;
  const interval = nonEmpty(env, 'EVX_CHECKPOINT_INTERVAL');
  if (interval !== undefined) {
    const ms = parseDuration(interval);
    if (ms === null || ms < 10 || ms > 3_600_000) problems.push(`EVX_CHECKPOINT_INTERVAL: "${interval}" must be a duration between 10ms and 60m (e.g. "1s", "500ms")`);
    else checkpointIntervalMs = ms;
  }

  const logLevel = (nonEmpty(env, 'LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL: "${logLevel}" must be one of ${LOG_LEVELS.join(', ')}`);

  const blobDir = path.resolve(cwd, nonEmpty(env, 'EVX_BLOB_DIR') ?? path.join(dataDir, 'blobs'));
  const s3 = Object.keys(env).filter((k) => k.startsWith('EVX_S3_') && nonEmpty(env, k) !== undefined);
  if (s3.length > 0) problems.push(`${s3.join(', ')}: S3-compatible storage is not available in this build; unset these to use EVX_BLOB_DIR`);

  let dbPoolSize = 10;
  const pool = nonEmpty(env, 'EVX_DB_POOL_SIZE');
  if (pool !== undefined) {
    dbPoolSize = Number(pool);
    if (!/^\d+$/.test(pool) || dbPoolSize < 2 || dbPoolSize > 200) problems.push(`EVX_DB_POOL_SIZE: "${pool}" must be an integer between 2 and 200`);
  }

  let clockToleranceSeconds = 30;
  const skew = nonEmpty(env, 'EVX_CLOCK_TOLERANCE');
  if (skew !== undefined) {
    const ms = parseDuration(skew);
    if (ms === null || ms > 30_000) problems.push(`EVX_CLOCK_TOLERANCE: "${skew}" must be a duration of at most 30s`);
    else clockToleranceSeconds = ms / 1000;
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    databaseUrl,
    migrationDatabaseUrl,
    dataDir,
    port,
    host,
    issuers,
    audience,
    production,
    env: evxEnv,
    logOrigin,
    logKey,
    checkpointIntervalMs,
    logLevel,
    blobDir,
    dbPoolSize,
    clockToleranceSeconds,
  };
}
