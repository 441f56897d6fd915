/**
 * Agreement terms (SPEC §3): their validation, the exact bytes officers sign,
 * and the direction rule.
 *
 * Decisions, all deliberate:
 *
 * - Nothing the officer submitted is normalised. Signatures are Ed25519 over
 *   JCS(terms) exactly as stored, and JCS sorts object members but never array
 *   elements, so `parties`, `crimeCategories` and `purposes` keep the order the
 *   officer gave. Two terms that differ only in array order are different terms
 *   with different bytes and hashes; a signature over one never counts for the
 *   other. Party order also carries meaning: `a_to_b` is parties[0] → parties[1].
 *   Likewise strings are not trimmed and timestamps are not rewritten to UTC:
 *   quietly "fixing" input would make the stored bytes differ from what a
 *   client computed and signed.
 * - `validateTerms` returns a fresh object built only from the known fields, so
 *   no prototype, extra member or shared array of the caller's input survives.
 * - Timestamps: RFC 3339 `date-time` with an explicit offset (`Z` or ±hh:mm),
 *   upper-case `T`/`Z` only, at most millisecond precision (the precision of
 *   the `now` they are compared with — finer digits could make a bound
 *   silently round the unsafe way), and no leap second `:60` (not
 *   representable as an instant in JS). `-00:00` is accepted and means UTC.
 * - Text lengths are counted in Unicode code points; strings with lone
 *   surrogates are refused because they cannot be canonicalised (RFC 8785 needs
 *   I-JSON) and would otherwise fail later, when signing or logging.
 * - `purposes` is capped at MAX_PURPOSES entries so a terms document stays a
 *   sensible size; crime categories are bounded by their vocabulary anyway.
 */
import { createHash } from 'node:crypto';
import { canonicalBytes } from '../shared/jcs.js';
import {
  CLASSIFICATIONS,
  CRIME_CATEGORIES,
  JURISDICTION_CODE_PATTERN,
  isClassification,
  isCrimeCategory,
  type Classification,
  type CrimeCategory,
} from '../shared/vocabulary.js';

export const DIRECTIONS = ['both', 'a_to_b', 'b_to_a'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export interface AgreementTerms {
  parties: [string, string];
  legalBasis: string;
  direction: Direction;
  crimeCategories: CrimeCategory[];
  maxClassification: Classification;
  purposes: string[];
  validFrom: string;
  validUntil: string;
  onwardTransfer: boolean;
}

export const TERMS_FIELDS = [
  'parties',
  'legalBasis',
  'direction',
  'crimeCategories',
  'maxClassification',
  'purposes',
  'validFrom',
  'validUntil',
  'onwardTransfer',
] as const satisfies readonly (keyof AgreementTerms)[];

export const LEGAL_BASIS_MAX_LENGTH = 500;
export const MAX_PURPOSES = 100;
export const PURPOSE_PATTERN = '^[a-z][a-z0-9_]{1,63}$';

const PURPOSE_RE = new RegExp(PURPOSE_PATTERN);
const JURISDICTION_RE = new RegExp(JURISDICTION_CODE_PATTERN);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export type TermsProblemCode =
  | 'not_an_object'
  | 'field_unknown'
  | 'field_missing'
  | 'parties_invalid'
  | 'party_invalid'
  | 'party_unknown'
  | 'parties_identical'
  | 'legal_basis_invalid'
  | 'legal_basis_empty'
  | 'legal_basis_too_long'
  | 'direction_invalid'
  | 'crime_categories_invalid'
  | 'crime_categories_empty'
  | 'crime_category_unknown'
  | 'crime_category_duplicate'
  | 'classification_unknown'
  | 'purposes_invalid'
  | 'purposes_empty'
  | 'purposes_too_many'
  | 'purpose_invalid'
  | 'purpose_duplicate'
  | 'valid_from_invalid'
  | 'valid_until_invalid'
  | 'validity_window_empty'
  | 'onward_transfer_invalid';

export interface TermsProblem {
  code: TermsProblemCode;
  /** JSON Pointer (RFC 6901) into the submitted terms. */
  path: string;
  detail: string;
}

export type TermsValidation = { ok: true; terms: AgreementTerms } | { ok: false; problems: TermsProblem[] };

export interface TermsValidationOptions {
  knownJurisdictions: ReadonlySet<string>;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Escape a member name for use in a JSON Pointer (RFC 6901 §3). */
function pointerToken(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * Epoch milliseconds of an RFC 3339 date-time in the strict profile described
 * at the top of this file, or null. Computed arithmetically rather than with
 * Date.parse, whose accepted formats are implementation-defined.
 */
export function parseRfc3339(text: string): number | null {
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const millis = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0'));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  if (m[8] !== undefined) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (m[8] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const local = ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis;
  return local - offsetMinutes * 60_000;
}

/**
 * Check untrusted input (a parsed JSON body) against the rules of SPEC §3.
 * Reports every problem found, not only the first, each with a stable code.
 */
export function validateTerms(input: unknown, options: TermsValidationOptions): TermsValidation {
  const problems: TermsProblem[] = [];
  const problem = (code: TermsProblemCode, path: string, detail: string): void => {
    problems.push({ code, path, detail });
  };

  if (!isPlainObject(input)) {
    problem('not_an_object', '', 'terms must be a JSON object');
    return { ok: false, problems };
  }

  const known = new Set<string>(TERMS_FIELDS);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) problem('field_unknown', `/${pointerToken(key)}`, `unknown field "${key}"`);
  }
  const has = (key: string): boolean => Object.prototype.hasOwnProperty.call(input, key) && input[key] !== undefined;
  for (const key of TERMS_FIELDS) {
    if (!has(key)) problem('field_missing', `/${key}`, `field "${key}" is required`);
  }

  // parties
  let parties: [string, string] | undefined;
  if (has('parties')) {
    const raw = input['parties'];
    if (!Array.isArray(raw) || raw.length !== 2) {
      problem('parties_invalid', '/parties', 'parties must be an array of exactly two jurisdiction codes');
    } else {
      let good = true;
      raw.forEach((p: unknown, i) => {
        if (typeof p !== 'string' || !JURISDICTION_RE.test(p)) {
          problem('party_invalid', `/parties/${i}`, `party must be a jurisdiction code matching ${JURISDICTION_CODE_PATTERN}`);
          good = false;
        } else if (!options.knownJurisdictions.has(p)) {
          problem('party_unknown', `/parties/${i}`, `jurisdiction "${p}" is not registered`);
          good = false;
        }
      });
      if (typeof raw[0] === 'string' && raw[0] === raw[1]) {
        problem('parties_identical', '/parties', 'an agreement needs two different jurisdictions; self-agreements are refused');
        good = false;
      }
      if (good) parties = [raw[0] as string, raw[1] as string];
    }
  }

  // legalBasis
  let legalBasis: string | undefined;
  if (has('legalBasis')) {
    const raw = input['legalBasis'];
    if (typeof raw !== 'string' || LONE_SURROGATE.test(raw)) {
      problem('legal_basis_invalid', '/legalBasis', 'legalBasis must be a well-formed Unicode string');
    } else if (raw.trim() === '') {
      problem('legal_basis_empty', '/legalBasis', 'legalBasis must not be empty or blank');
    } else if (codePointLength(raw) > LEGAL_BASIS_MAX_LENGTH) {
      problem('legal_basis_too_long', '/legalBasis', `legalBasis must be at most ${LEGAL_BASIS_MAX_LENGTH} characters`);
    } else {
      legalBasis = raw;
    }
  }

  // direction
  let direction: Direction | undefined;
  if (has('direction')) {
    const raw = input['direction'];
    if (typeof raw === 'string' && (DIRECTIONS as readonly string[]).includes(raw)) direction = raw as Direction;
    else problem('direction_invalid', '/direction', `direction must be one of ${DIRECTIONS.join(', ')}`);
  }

  // crimeCategories
  let crimeCategories: CrimeCategory[] | undefined;
  if (has('crimeCategories')) {
    const raw = input['crimeCategories'];
    if (!Array.isArray(raw)) {
      problem('crime_categories_invalid', '/crimeCategories', 'crimeCategories must be an array');
    } else if (raw.length === 0) {
      problem('crime_categories_empty', '/crimeCategories', 'crimeCategories must list at least one category');
    } else {
      const seen = new Set<string>();
      let good = true;
      raw.forEach((c: unknown, i) => {
        if (!isCrimeCategory(c)) {
          problem('crime_category_unknown', `/crimeCategories/${i}`, `crime category must be one of ${CRIME_CATEGORIES.join(', ')}`);
          good = false;
        } else if (seen.has(c)) {
          problem('crime_category_duplicate', `/crimeCategories/${i}`, `crime category "${c}" is listed twice`);
          good = false;
        } else {
          seen.add(c);
        }
      });
      if (good) crimeCategories = [...(raw as CrimeCategory[])];
    }
  }

  // maxClassification
  let maxClassification: Classification | undefined;
  if (has('maxClassification')) {
    const raw = input['maxClassification'];
    if (isClassification(raw)) maxClassification = raw;
    else problem('classification_unknown', '/maxClassification', `maxClassification must be one of ${CLASSIFICATIONS.join(', ')}`);
  }

  // purposes
  let purposes: string[] | undefined;
  if (has('purposes')) {
    const raw = input['purposes'];
    if (!Array.isArray(raw)) {
      problem('purposes_invalid', '/purposes', 'purposes must be an array');
    } else if (raw.length === 0) {
      problem('purposes_empty', '/purposes', 'purposes must list at least one purpose');
    } else if (raw.length > MAX_PURPOSES) {
      problem('purposes_too_many', '/purposes', `purposes may list at most ${MAX_PURPOSES} entries`);
    } else {
      const seen = new Set<string>();
      let good = true;
      raw.forEach((p: unknown, i) => {
        if (typeof p !== 'string' || !PURPOSE_RE.test(p)) {
          problem('purpose_invalid', `/purposes/${i}`, `purpose must match ${PURPOSE_PATTERN}`);
          good = false;
        } else if (seen.has(p)) {
          problem('purpose_duplicate', `/purposes/${i}`, `purpose "${p}" is listed twice`);
          good = false;
        } else {
          seen.add(p);
        }
      });
      if (good) purposes = [...(raw as string[])];
    }
  }

  // validity window
  const timestamp = (key: 'validFrom' | 'validUntil', code: TermsProblemCode): { text: string; ms: number } | undefined => {
    if (!has(key)) return undefined;
    const raw = input[key];
    const ms = typeof raw === 'string' ? parseRfc3339(raw) : null;
    if (typeof raw !== 'string' || ms === null) {
      problem(code, `/${key}`, `${key} must be an RFC 3339 date-time with an explicit offset (Z or ±hh:mm), at most millisecond precision`);
      return undefined;
    }
    return { text: raw, ms };
  };
  const validFrom = timestamp('validFrom', 'valid_from_invalid');
  const validUntil = timestamp('validUntil', 'valid_until_invalid');
  if (validFrom && validUntil && !(validFrom.ms < validUntil.ms)) {
    problem('validity_window_empty', '/validUntil', 'validUntil must be later than validFrom');
  }

  // onwardTransfer
  let onwardTransfer: boolean | undefined;
  if (has('onwardTransfer')) {
    const raw = input['onwardTransfer'];
    if (typeof raw === 'boolean') onwardTransfer = raw;
    else problem('onward_transfer_invalid', '/onwardTransfer', 'onwardTransfer must be true or false');
  }

  if (
    problems.length > 0 ||
    parties === undefined ||
    legalBasis === undefined ||
    direction === undefined ||
    crimeCategories === undefined ||
    maxClassification === undefined ||
    purposes === undefined ||
    validFrom === undefined ||
    validUntil === undefined ||
    onwardTransfer === undefined
  ) {
    return { ok: false, problems };
  }
  return {
    ok: true,
    terms: {
      parties,
      legalBasis,
      direction,
      crimeCategories,
      maxClassification,
      purposes,
      validFrom: validFrom.text,
      validUntil: validUntil.text,
      onwardTransfer,
    },
  };
}

/** The bytes officers sign: RFC 8785 canonical JSON of the terms, arrays in stored order. */
export function termsBytes(terms: AgreementTerms): Buffer {
  return canonicalBytes(terms);
}

/** Lower-case hex SHA-256 of termsBytes: identifies a terms text in history and custody entries. */
export function termsHash(terms: AgreementTerms): string {
  return createHash('sha256').update(termsBytes(terms)).digest('hex');
}

export function isParty(terms: AgreementTerms, jurisdiction: string): boolean {
  return terms.parties[0] === jurisdiction || terms.parties[1] === jurisdiction;
}

/** True iff the agreement is between exactly these two (distinct) jurisdictions, in either order. */
export function isBetween(terms: AgreementTerms, x: string, y: string): boolean {
  const [a, b] = terms.parties;
  return x !== y && a !== b && ((a === x && b === y) || (a === y && b === x));
}

/**
 * Whether the terms let evidence flow from `from` to `to`. `a_to_b` is
 * parties[0] → parties[1]; `b_to_a` the reverse; `both` either way. Flows
 * involving a non-party, or from a jurisdiction to itself, are never permitted.
 */
export function directionPermits(terms: AgreementTerms, from: string, to: string): boolean {
  if (!isBetween(terms, from, to)) return false;
  const [a, b] = terms.parties;
  switch (terms.direction) {
    case 'both':
      return true;
    case 'a_to_b':
      return from === a && to === b;
    case 'b_to_a':
      return from === b && to === a;
    default:
      // A corrupted stored direction must not open a flow.
      return false;
  }
}
