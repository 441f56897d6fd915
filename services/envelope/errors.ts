/** Why a ciphertext was refused; stable codes so the CLI and server can map them to messages and problem types. */
export type EnvelopeErrorCode =
  | 'chunk_authentication_failed'
  | 'truncated'
  | 'closed';

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
  readonly code: EnvelopeErrorCode;
  /** 0-based index of the chunk that could not be opened, when there is one. */
  readonly chunkIndex: number | null;

  constructor(code: EnvelopeErrorCode, message: string, chunkIndex: number | null = null) {
    super(message);
    this.code = code;
    this.chunkIndex = chunkIndex;
  }
}

/** One reason an input was rejected; `path` is a JSON Pointer (RFC 6901) into the input, '' for the whole value. */
export interface Problem {
  path: string;
  message: string;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };
