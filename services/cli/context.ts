/**
 * What a command gets to work with: its flags, the resolved settings, an
 * API client, and output channels. Results go to stdout (one value per line,
 * or JSON with --json) so they can be piped; everything for the human —
 * progress, explanations, warnings — goes to stderr.
 */
import type { CommandSpec, Flags } from './args.js';
import { ApiClient } from './http-client.js';
import { readBoxKey, readSigningKey, permissionWarning, type BoxKey, type SigningKey } from './key-files.js';
import type { Io } from './settings.js';
import { Settings } from './settings.js';

export interface Command extends CommandSpec {
  run(ctx: Context): Promise<void>;
}

export class Context {
  readonly settings: Settings;
  readonly json: boolean;
  readonly quiet: boolean;
  #client: ApiClient | null = null;
  readonly #cleanups = new Set<() => void>();

  constructor(
    readonly spec: CommandSpec,
    readonly flags: Flags,
    readonly io: Io,
  ) {
    this.settings = new Settings(flags, io);
    this.json = flags.bool('json');
    this.quiet = flags.bool('quiet');
    for (const w of this.settings.profileWarnings()) this.warn(w);
  }

  get positionals(): readonly string[] {
    return this.flags.positionals;
  }

  /** A line for the human, on stderr; silenced by --quiet. */
  info(line: string): void {
    if (!this.quiet) this.io.stderr.write(`${line}\n`);
  }

  /** A warning: always shown. */
  warn(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  /** A result line on stdout (suppressed under --json, where outJson speaks). */
  out(line: string): void {
    if (!this.json) this.io.stdout.write(`${line}\n`);
  }

  outJson(value: unknown): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /**
   * The API client for the configured server. The token is sent whenever one
   * is configured; with `auth` (the default) one is required.
   */
  client(options: { auth?: boolean } = {}): ApiClient {
    const url = this.settings.url();
    if (options.auth !== false) this.settings.requireToken();
    if (this.#client === null) {
      const token = this.settings.token();
      const host = url.value.hostname;
      if (url.value.protocol === 'http:' && token !== null && !['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) {
        this.warn(`warning: sending your token over plain http to ${url.value.host}; use https outside a local test setup`);
      }
      this.#client = new ApiClient(url.value, token?.value ?? null);
    }
    return this.#client;
  }

  signingKey(): SigningKey {
    const file = this.settings.signingKeyPath();
    const key = readSigningKey(file.value);
    const w = permissionWarning(file.value);
    if (w) this.warn(w);
    return key;
  }

  boxKey(): BoxKey {
    const file = this.settings.boxKeyPath();
    const key = readBoxKey(file.value);
    const w = permissionWarning(file.value);
    if (w) this.warn(w);
    return key;
  }

  /** Registers synchronous cleanup for an interruption (SIGINT/SIGTERM); returns its removal. */
  onInterrupt(fn: () => void): () => void {
    this.#cleanups.add(fn);
    return () => this.#cleanups.delete(fn);
  }

  runInterruptCleanups(): void {
    for (const fn of [...this.#cleanups].reverse()) {
      try {
        fn();
      } catch {
        // Best effort while exiting.
      }
    }
    this.#cleanups.clear();
  }

  close(): void {
    this.#client?.close();
  }
}
