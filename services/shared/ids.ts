import { Errors } from '../errors.js';

/** A UUID in its one canonical spelling: lower-case hex, hyphenated. */
export const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A bundle or agreement id from a URL in its one canonical spelling. The
 * params schema's `uuid` format also admits upper case and `urn:uuid:` forms;
 * PostgreSQL reads upper case as the same uuid (and fails on `urn:uuid:`),
 * while custody subjects (`bundle:<id>`, `agreement:<id>`) and blob paths are
 * strings, so an upper-case id would record a step outside the subject's
 * chain. Upper case is the same id (RFC 4122 input is case-insensitive);
 * anything else is a 400.
 */
export function canonicalId(id: string): string {
  const lower = id.toLowerCase();
  if (!CANONICAL_UUID.test(lower)) throw Errors.validationFailed('params/id must be a UUID in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx');
  return lower;
}
