/**
 * The CLI's HTTP client, on node:http/https only. Requests and responses
 * stream (ciphertext never passes through a buffer larger than a socket
 * read); errors come back as ApiError (the server's problem+json, mapped to
 * words and an exit code) or NetworkError (retryable).
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { ApiError, NetworkError, type ProblemDocument } from './errors.js';
import { problemHints } from './words.js';

export const USER_AGENT = 'evx-cli/0.1';
/** Most answers come in milliseconds; this is only the "server is stuck" bound. */
const DEFAULT_TIMEOUT_MS = 60_000;
/** Longest error body read: problem documents are small. */
const MAX_ERROR_BODY = 64 * 1024;
const MAX_JSON_BODY = 64 * 1024 * 1024;

export interface RequestOptions {
  headers?: Record<string, string>;
  /** A buffer is sent with its length; a stream should come with a content-length header. */
  body?: Buffer | Readable;
  /** Send the bearer token (default true). */
  auth?: boolean;
  /** Socket inactivity timeout. */
  timeoutMs?: number;
}

function networkMessage(err: unknown, origin: string, timeoutMs: number): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const text = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot connect to ${origin}: connection refused (is the server running?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot connect to ${origin}: host not found`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the connection to ${origin} broke (${code})`;
    case 'ETIMEDOUT':
    case 'EVX_TIMEOUT':
      return `no answer from ${origin} within ${Math.round(timeoutMs / 1000)} s`;
    default:
      if (code?.startsWith('ERR_TLS') || code?.includes('CERT')) return `TLS problem with ${origin}: ${text}`;
      return `request to ${origin} failed: ${text}`;
  }
}

/** Reads a response body up to `limit` bytes. */
export async function readBody(res: IncomingMessage, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      res.destroy();
      throw new NetworkError(`the server's answer is larger than ${limit} bytes; refusing to read it`);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts, size);
}

function headerText(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? (v[0] ?? null) : null;
}

export class ApiClient {
  readonly base: URL;
  readonly #token: string | null;
  readonly #agent: http.Agent;
  readonly #transport: typeof http | typeof https;

  constructor(base: URL, token: string | null) {
    this.base = base;
    this.#token = token;
    this.#transport = base.protocol === 'https:' ? https : http;
    this.#agent = base.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  get origin(): string {
    return this.base.origin;
  }

  url(pathAndQuery: string): URL {
    // Keep a path prefix of the base URL (a server mounted under /evx/).
    const prefix = this.base.pathname.replace(/\/+$/, '');
    return new URL(prefix + pathAndQuery, this.base);
  }

  /**
   * Sends a request and resolves with the response head, whatever its status;
   * rejects with NetworkError if no response arrives. A body stream that
   * fails on our side (a file read error) rejects with that error, not a
   * network one, so it is not retried.
   */
  send(method: string, pathAndQuery: string, options: RequestOptions = {}): Promise<IncomingMessage> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, accept: 'application/json, application/problem+json;q=0.9, */*;q=0.1', ...options.headers };
    if (options.auth !== false && this.#token !== null) headers['authorization'] = `Bearer ${this.#token}`;
    const body = options.body;
    if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length);
    return new Promise<IncomingMessage>((resolve, reject) => {
      let settled = false;
      let sourceError: Error | null = null;
      const req = this.#transport.request(this.url(pathAndQuery), { method, headers, agent: this.#agent, timeout: timeoutMs }, (res) => {
        settled = true;
        resolve(res);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'EVX_TIMEOUT' })));
      req.on('error', (err) => {
        if (settled) return;
        settled = true;
        reject(sourceError ?? new NetworkError(networkMessage(err, this.origin, timeoutMs)));
      });
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        body.once('error', (err) => {
          sourceError = err;
          req.destroy(err);
        });
        // The server may answer (e.g. 409, 413) before reading everything; stop sending then.
        req.once('response', () => body.unpipe(req));
        body.pipe(req);
      }
    });
  }

  /** Throws the ApiError for a response with status >= 400 (consuming its body); returns it otherwise. */
  async check(res: IncomingMessage): Promise<IncomingMessage> {
    const status = res.statusCode ?? 0;
    if (status < 400) return res;
    let problem: ProblemDocument = {};
    try {
      const text = (await readBody(res, MAX_ERROR_BODY)).toString('utf8');
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) problem = parsed as ProblemDocument;
    } catch {
      // Not a problem document (a proxy's HTML page, a cut connection): the status says enough.
    }
    const requestId = headerText(res.headers, 'x-request-id');
    const detail = typeof problem.detail === 'string' && problem.detail !== '' ? problem.detail : typeof problem.title === 'string' ? problem.title : http.STATUS_CODES[status] ?? 'error';
    const code = typeof problem.code === 'string' ? `, ${problem.code}` : '';
    const hints = [...problemHints(status, problem)];
    if (requestId !== null && status >= 500) hints.push(`request id ${requestId} (give it to the operator)`);
    throw new ApiError(status, problem, requestId, `${detail} (HTTP ${status}${code})`, hints);
  }

  /** A JSON request; the answer's status, headers and parsed JSON body (undefined when empty). Errors as ApiError/NetworkError. */
  async call<T>(method: string, pathAndQuery: string, body?: unknown, options: Omit<RequestOptions, 'body'> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: T }> {
    const headers = { ...options.headers };
    let payload: Buffer | undefined;
    if (body !== undefined) {
      payload = Buffer.from(JSON.stringify(body), 'utf8');
      headers['content-type'] = 'application/json';
    }
    const res = await this.check(await this.send(method, pathAndQuery, { ...options, headers, ...(payload ? { body: payload } : {}) }));
    const raw = await readBody(res, MAX_JSON_BODY);
    let parsed: unknown = undefined;
    if (raw.length > 0) {
      try {
        parsed = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new NetworkError(`the server's answer to ${method} ${pathAndQuery.split('?')[0]} is not JSON`);
      }
    }
    return { status: res.statusCode ?? 0, headers: res.headers, body: parsed as T };
  }

  /** A JSON request with a JSON answer. */
  async json<T>(method: string, pathAndQuery: string, body?: unknown, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return (await this.call<T>(method, pathAndQuery, body, options)).body;
  }

  /** A text answer (the log key, checkpoints). */
  async text(pathAndQuery: string, options: RequestOptions = {}): Promise<string> {
    const res = await this.check(await this.send('GET', pathAndQuery, options));
    return (await readBody(res, MAX_ERROR_BODY * 16)).toString('utf8');
  }

  /** Lets the process exit: idle keep-alive sockets would hold it open. */
  close(): void {
    this.#agent.destroy();
  }
}

export function header(res: IncomingMessage, name: string): string | null {
  return headerText(res.headers, name);
}
