/**
 * How the CLI fails. Every failure is a CliError carrying one of the
 * documented exit codes (docs/CLI.md, `evx --help`), so scripts can tell a
 * tampered bundle (1) from a typo (2), a refusal (3) and an outage (4).
 */

export const EXIT = {
  ok: 0,
  /** A signature, hash, proof or decryption did not verify, or the server contradicted itself. */
  integrity: 1,
  /** Bad flags or arguments, missing configuration, unreadable local files. */
  usage: 2,
  /** The server refused the request (HTTP 4xx). */
  refused: 3,
  /** The server failed (HTTP 5xx) or could not be reached. */
  unavailable: 4,
  /** A bug in the CLI itself. */
  internal: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODE_HELP = [
  '0  success (for verify: verified)',
  '1  verification or integrity failure: a signature, hash, proof or decryption did not check out',
  '2  usage or local configuration error (bad flags, missing key file, unreadable file)',
  '3  refused by the server (HTTP 4xx: not allowed, not found, conflict, invalid)',
  '4  server error or network failure (HTTP 5xx, connection refused, timeout)',
  '5  internal error in the CLI (a bug: please report it)',
];

export class CliError extends Error {
  override name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** Extra lines telling the user what to do next. */
    readonly hints: readonly string[] = [],
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string, hints: readonly string[] = []) {
    super(EXIT.usage, message, hints);
  }
}

export class IntegrityError extends CliError {
  override name = 'IntegrityError';
  constructor(message: string, hints: readonly string[] = []) {
    super(EXIT.integrity, message, hints);
  }
}

/** RFC 9457 problem details as evx sends them; every member is optional because nothing from the wire is trusted. */
export interface ProblemDocument {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  reason?: string;
  [extension: string]: unknown;
}

/** The server answered with an error status. */
export class ApiError extends CliError {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly problem: ProblemDocument,
    readonly requestId: string | null,
    message: string,
    hints: readonly string[] = [],
  ) {
    super(status >= 500 ? EXIT.unavailable : EXIT.refused, message, hints);
  }

  /** The machine-readable problem code ('' when the server sent none). */
  get code(): string {
    return typeof this.problem.code === 'string' ? this.problem.code : '';
  }
}

/** The server could not be reached, or the connection broke: worth retrying. */
export class NetworkError extends CliError {
  override name = 'NetworkError';
  constructor(message: string, hints: readonly string[] = []) {
    super(EXIT.unavailable, message, hints);
  }
}

/** Whether a failed request may succeed when tried again (connection trouble, 5xx, 408, 429). */
export function isRetryable(err: unknown): boolean {
  if (err instanceof NetworkError) return true;
  if (err instanceof ApiError) return err.status >= 500 || err.status === 408 || err.status === 429;
  return false;
}
