/**
 * Where the CLI's configuration comes from, in order of precedence:
 * flags > environment (EVX_URL, EVX_TOKEN, EVX_SIGNING_KEY, EVX_BOX_KEY,
 * EVX_VKEY, EVX_STATE_DIR) > profile file (--profile, EVX_PROFILE, or
 * ~/.config/evx/profile.json). Each value remembers its source so error
 * messages can say which setting to fix.
 */
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseVerifierKey, type NoteVerifier } from '../ledger/note.js';
import type { Flags } from './args.js';
import { UsageError } from './errors.js';

export interface OutStream {
  write(text: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

/** The process surroundings a command runs in; tests and the demo may pass their own. */
export interface Io {
  env: Record<string, string | undefined>;
  cwd: string;
  stdout: OutStream;
  stderr: OutStream;
}

export interface Profile {
  url?: string;
  token?: string;
  tokenFile?: string;
  signingKey?: string;
  boxKey?: string;
  vkey?: string;
  stateDir?: string;
  /** Box public keys (base64) the user has checked out of band, by jurisdiction code: wraps are only made for these keys. */
  boxKeyPins?: Record<string, string>;
}

const PROFILE_FIELDS = ['url', 'token', 'tokenFile', 'signingKey', 'boxKey', 'vkey', 'stateDir', 'boxKeyPins'] as const;

export interface Sourced<T> {
  value: T;
  /** e.g. "--url", "EVX_URL", "profile /home/a/.config/evx/profile.json". */
  source: string;
}

function configHome(env: Io['env']): string {
  return env['XDG_CONFIG_HOME'] || path.join(env['HOME'] || os.homedir(), '.config');
}

function stateHome(env: Io['env']): string {
  return env['XDG_STATE_HOME'] || path.join(env['HOME'] || os.homedir(), '.local', 'state');
}

function loadProfile(file: string, explicit: boolean): Profile | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // The default profile is optional; one named explicitly must exist.
    if (code === 'ENOENT' && !explicit) return null;
    throw new UsageError(`cannot read profile ${file}: ${code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UsageError(`profile ${file} is not valid JSON`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`profile ${file} must be a JSON object`);
  const obj = raw as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(obj)) {
    if (!(PROFILE_FIELDS as readonly string[]).includes(key)) problems.push(`unknown field "${key}" (known: ${PROFILE_FIELDS.join(', ')})`);
  }
  for (const key of PROFILE_FIELDS) {
    if (key === 'boxKeyPins' || obj[key] === undefined) continue;
    if (typeof obj[key] !== 'string' || obj[key] === '') problems.push(`"${key}" must be a non-empty string`);
  }
  const pins = obj['boxKeyPins'];
  if (pins !== undefined) {
    if (typeof pins !== 'object' || pins === null || Array.isArray(pins) || Object.values(pins).some((v) => typeof v !== 'string')) {
      problems.push('"boxKeyPins" must map jurisdiction codes to base64 box public keys');
    }
  }
  if (problems.length > 0) throw new UsageError(`profile ${file}: ${problems.join('; ')}`);
  return obj as Profile;
}

/** Parses a vkey given inline, or reads it from a file. */
export function readVerifierKey(value: string, base: string, source: string): { verifier: NoteVerifier; text: string } {
  const trimmed = value.trim();
  try {
    return { verifier: parseVerifierKey(trimmed), text: trimmed };
  } catch {
    // Not a key itself: a file holding one.
  }
  const file = path.resolve(base, trimmed);
  let content: string;
  try {
    content = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new UsageError(`the log verifier key from ${source} is neither a key nor a readable file (${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    return { verifier: parseVerifierKey(content), text: content };
  } catch (err) {
    throw new UsageError(`${file} (from ${source}) does not hold a log verifier key: ${(err as Error).message}`);
  }
}

export class Settings {
  readonly profilePath: string | null;
  readonly profile: Profile;
  readonly #profileDir: string;

  constructor(
    private readonly flags: Flags,
    readonly io: Io,
  ) {
    const explicit = flags.string('profile') ?? io.env['EVX_PROFILE'];
    const file = explicit ? path.resolve(io.cwd, explicit) : path.join(configHome(io.env), 'evx', 'profile.json');
    const profile = loadProfile(file, Boolean(explicit));
    this.profilePath = profile ? file : null;
    this.profile = profile ?? {};
    this.#profileDir = path.dirname(file);
  }

  /** flag > environment > profile; paths from the profile are relative to the profile's directory. */
  #pick(flag: string, env: string, field: keyof Omit<Profile, 'boxKeyPins'>, kind: 'text' | 'path'): Sourced<string> | null {
    const f = this.flags.string(flag);
    if (f !== undefined && f !== '') return { value: kind === 'path' ? path.resolve(this.io.cwd, f) : f, source: `--${flag}` };
    const e = this.io.env[env];
    if (e !== undefined && e !== '') return { value: kind === 'path' ? path.resolve(this.io.cwd, e) : e, source: env };
    const p = this.profile[field];
    if (p !== undefined) return { value: kind === 'path' ? path.resolve(this.#profileDir, p) : p, source: `profile ${this.profilePath}` };
    return null;
  }

  url(): Sourced<URL> {
    const picked = this.#pick('url', 'EVX_URL', 'url', 'text');
    if (!picked) throw new UsageError('no server URL: pass --url URL, set EVX_URL, or put "url" in your profile', ['e.g. export EVX_URL=http://127.0.0.1:8080']);
    let url: URL;
    try {
      url = new URL(picked.value);
    } catch {
      throw new UsageError(`the server URL from ${picked.source} is not a URL: "${picked.value}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`the server URL from ${picked.source} must start with http:// or https://`);
    if (url.username || url.password) throw new UsageError(`the server URL from ${picked.source} must not carry credentials; use --token`);
    return { value: url, source: picked.source };
  }

  token(): Sourced<string> | null {
    const picked = this.#pick('token', 'EVX_TOKEN', 'token', 'text');
    if (picked) return { value: picked.value.trim(), source: picked.source };
    if (this.profile.tokenFile !== undefined) {
      const file = path.resolve(this.#profileDir, this.profile.tokenFile);
      try {
        return { value: readFileSync(file, 'utf8').trim(), source: `profile tokenFile ${file}` };
      } catch (err) {
        throw new UsageError(`cannot read the token file ${file} named in profile ${this.profilePath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    }
    return null;
  }

  requireToken(): Sourced<string> {
    const token = this.token();
    if (!token) throw new UsageError('no token: pass --token JWT, set EVX_TOKEN, or put "token"/"tokenFile" in your profile', ['a development server mints tokens with: evx token --jurisdiction NL --roles investigator']);
    return token;
  }

  /** The configured signing key file, or the default location (used by keygen). */
  signingKeyPath(): Sourced<string> {
    return this.#pick('signing-key', 'EVX_SIGNING_KEY', 'signingKey', 'path') ?? { value: path.join(configHome(this.io.env), 'evx', 'signing-key.json'), source: 'the default location' };
  }

  boxKeyPath(): Sourced<string> {
    return this.#pick('box-key', 'EVX_BOX_KEY', 'boxKey', 'path') ?? { value: path.join(configHome(this.io.env), 'evx', 'box-key.json'), source: 'the default location' };
  }

  /** Whether a box key was configured explicitly (as opposed to the default path). */
  boxKeyConfigured(): boolean {
    return this.#pick('box-key', 'EVX_BOX_KEY', 'boxKey', 'path') !== null;
  }

  /** The pinned log verifier key, or null if none is configured. */
  vkey(): (Sourced<string> & { verifier: NoteVerifier }) | null {
    const f = this.flags.string('vkey');
    const e = this.io.env['EVX_VKEY'];
    const picked: { value: string; base: string; source: string } | null =
      f !== undefined && f !== ''
        ? { value: f, base: this.io.cwd, source: '--vkey' }
        : e !== undefined && e !== ''
          ? { value: e, base: this.io.cwd, source: 'EVX_VKEY' }
          : this.profile.vkey !== undefined
            ? { value: this.profile.vkey, base: this.#profileDir, source: `profile ${this.profilePath}` }
            : null;
    if (!picked) return null;
    const { verifier, text } = readVerifierKey(picked.value, picked.base, picked.source);
    return { value: text, source: picked.source, verifier };
  }

  stateDir(): string {
    const picked = this.io.env['EVX_STATE_DIR'];
    if (picked) return path.resolve(this.io.cwd, picked);
    if (this.profile.stateDir !== undefined) return path.resolve(this.#profileDir, this.profile.stateDir);
    return path.join(stateHome(this.io.env), 'evx');
  }

  boxKeyPin(code: string): string | null {
    return this.profile.boxKeyPins?.[code] ?? null;
  }

  /** Warns when a profile holding a token can be read by others (like ssh does for keys). */
  profileWarnings(): string[] {
    if (!this.profilePath || (this.profile.token === undefined && this.profile.tokenFile === undefined)) return [];
    try {
      const mode = statSync(this.profilePath).mode & 0o777;
      if (mode & 0o077) return [`warning: profile ${this.profilePath} holds a token and is readable by others (mode ${mode.toString(8)}); chmod 600 it`];
    } catch {
      // Already read once; a race here is not worth an error.
    }
    return [];
  }
}
