/** Small validators shared by the manifest and key-wrap checks; they collect problems instead of throwing. */
import { SHA256_HEX_PATTERN, decodeBase64, encodeBase64 } from '../shared/encoding.js';
import type { Problem } from './errors.js';

/** Stop listing after this many: a hostile 10,000-file manifest must not produce a megabyte of errors. */
export const MAX_PROBLEMS = 100;

export class ProblemList {
  readonly items: Problem[] = [];
  #dropped = 0;

  add(path: string, message: string): void {
    if (this.items.length < MAX_PROBLEMS) this.items.push({ path, message });
    else this.#dropped += 1;
  }

  get empty(): boolean {
    return this.items.length === 0;
  }

  /** The problems, with a last entry saying how many were left out. */
  list(): Problem[] {
    return this.#dropped > 0
      ? [...this.items, { path: '', message: `${this.#dropped} more problem(s) not listed` }]
      : [...this.items];
  }
}

/** RFC 6901 JSON Pointer from path segments. */
export function pointer(...segments: (string | number)[]): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Reports every own key of `obj` outside `allowed`; evx rejects unknown fields rather than dropping them. */
export function checkNoUnknownFields(obj: Record<string, unknown>, allowed: readonly string[], at: string, problems: ProblemList): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) problems.add(at + pointer(key), 'unknown field');
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Length in Unicode code points, which is what a person counts, not UTF-16 units. */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
}

/**
 * A string field with a code-point length limit. Lone surrogates are refused
 * because JCS (and so every signature) cannot represent them.
 */
export function checkText(value: unknown, at: string, problems: ProblemList, maxLength: number, opts: { allowBlank?: boolean } = {}): value is string {
  if (value === undefined) {
    problems.add(at, 'is required');
    return false;
  }
  if (typeof value !== 'string') {
    problems.add(at, 'must be a string');
    return false;
  }
  if (value.length === 0) {
    problems.add(at, 'must not be empty');
    return false;
  }
  if (!opts.allowBlank && value.trim().length === 0) {
    problems.add(at, 'must not be blank');
    return false;
  }
  if (LONE_SURROGATE.test(value)) {
    problems.add(at, 'must be well-formed Unicode (contains a lone surrogate)');
    return false;
  }
  const length = codePointLength(value);
  if (length > maxLength) {
    problems.add(at, `must be at most ${maxLength} characters (has ${length})`);
    return false;
  }
  return true;
}

/**
 * Standard padded base64 of exactly `length` bytes, in its one canonical
 * spelling. Non-canonical spellings (stray low bits before '=') decode to the
 * same bytes, which would let two distinct strings name the same nonce prefix
 * or key and slip past uniqueness checks.
 */
export function checkBase64(value: unknown, length: number, at: string, problems: ProblemList): Buffer | null {
  if (value === undefined) {
    problems.add(at, 'is required');
    return null;
  }
  if (typeof value !== 'string') {
    problems.add(at, `must be a base64 string of ${length} bytes`);
    return null;
  }
  const bytes = decodeBase64(value);
  if (bytes === null) {
    problems.add(at, 'must be standard base64 with padding');
    return null;
  }
  if (bytes.length !== length) {
    problems.add(at, `must encode exactly ${length} bytes (encodes ${bytes.length})`);
    return null;
  }
  if (encodeBase64(bytes) !== value) {
    problems.add(at, 'must be canonical base64 (unused bits must be zero)');
    return null;
  }
  return bytes;
}

/** Canonical-base64 decode of exactly `length` bytes, or null. */
export function decodeCanonicalBase64(value: unknown, length: number): Buffer | null {
  if (typeof value !== 'string') return null;
  const bytes = decodeBase64(value, length);
  return bytes !== null && encodeBase64(bytes) === value ? bytes : null;
}

const SHA256_HEX = new RegExp(SHA256_HEX_PATTERN);

export function checkSha256Hex(value: unknown, at: string, problems: ProblemList): value is string {
  if (value === undefined) {
    problems.add(at, 'is required');
    return false;
  }
  if (typeof value !== 'string' || !SHA256_HEX.test(value)) {
    problems.add(at, 'must be a SHA-256 hash: 64 lower-case hex digits');
    return false;
  }
  return true;
}

export function checkInteger(value: unknown, at: string, problems: ProblemList, min: number, max: number, what = 'an integer'): value is number {
  if (value === undefined) {
    problems.add(at, 'is required');
    return false;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    problems.add(at, `must be ${what}`);
    return false;
  }
  if (value < min || value > max) {
    problems.add(at, `must be in [${min}, ${max}] (is ${value})`);
    return false;
  }
  return true;
}
