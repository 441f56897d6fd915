/**
 * RFC 8785 JSON Canonicalization Scheme.
 *
 * Every signature and hash in evx is taken over these bytes, so the rules are
 * strict on purpose: input must be I-JSON (no lone surrogates, finite numbers,
 * plain objects and arrays only). `undefined` object members are omitted, as
 * JSON.stringify omits them, because that is what a receiver of the JSON sees.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export class CanonicalizationError extends Error {
  override name = 'CanonicalizationError';
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function serializeString(s: string): string {
  if (LONE_SURROGATE.test(s)) throw new CanonicalizationError('string contains a lone surrogate (not I-JSON)');
  // ECMAScript JSON.stringify escapes exactly as RFC 8785 §3.2.2.2 requires:
  // \b \t \n \f \r \" \\ as two-character escapes, other controls as \u00xx.
  return JSON.stringify(s);
}

function serialize(value: unknown, out: string[]): void {
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalizationError('number is not finite');
      // ES6 Number serialization is the RFC 8785 number format (§3.2.2.3); -0 becomes 0.
      out.push(JSON.stringify(value));
      return;
    case 'string':
      out.push(serializeString(value));
      return;
    case 'object': {
      if (Array.isArray(value)) {
        out.push('[');
        value.forEach((item, i) => {
          if (item === undefined) throw new CanonicalizationError('array contains undefined');
          if (i > 0) out.push(',');
          serialize(item, out);
        });
        out.push(']');
        return;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new CanonicalizationError('only plain objects can be canonicalized');
      }
      const record = value as Record<string, unknown>;
      // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 prescribes.
      const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
      out.push('{');
      keys.forEach((key, i) => {
        if (i > 0) out.push(',');
        out.push(serializeString(key), ':');
        serialize(record[key], out);
      });
      out.push('}');
      return;
    }
    default:
      throw new CanonicalizationError(`cannot canonicalize a ${typeof value}`);
  }
}

/** The canonical JSON text of `value`. */
export function canonicalize(value: unknown): string {
  const out: string[] = [];
  serialize(value, out);
  return out.join('');
}

/** The canonical UTF-8 bytes of `value`: what gets hashed and signed. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}
