import t from 'tap';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import {
  LEGAL_BASIS_MAX_LENGTH,
  MAX_PURPOSES,
  directionPermits,
  isBetween,
  parseRfc3339,
  termsBytes,
  termsHash,
  validateTerms,
  type AgreementTerms,
  type TermsProblemCode,
} from '../../services/agreements/terms.js';

const known = new Set(['NL', 'ICC', 'DE']);
const opts = { knownJurisdictions: known };

function goodTerms(): Record<string, unknown> {
  return {
    parties: ['NL', 'ICC'],
    legalBasis: 'Rome Statute, Part 9',
    direction: 'a_to_b',
    crimeCategories: ['war_crimes', 'genocide'],
    maxClassification: 'confidential',
    purposes: ['investigation', 'prosecution'],
    validFrom: '2025-01-01T00:00:00Z',
    validUntil: '2030-01-01T00:00:00+01:00',
    onwardTransfer: false,
  };
}

function codesOf(input: unknown): TermsProblemCode[] {
  const r = validateTerms(input, opts);
  return r.ok ? [] : r.problems.map((p) => p.code);
}

function problemsWith(patch: Record<string, unknown>, remove: string[] = []): { code: TermsProblemCode; path: string }[] {
  const input = { ...goodTerms(), ...patch };
  for (const k of remove) delete input[k];
  const r = validateTerms(input, opts);
  return r.ok ? [] : r.problems.map(({ code, path }) => ({ code, path }));
}

t.test('valid terms are accepted as a fresh copy, arrays in submitted order', async (t) => {
  const input = goodTerms();
  const r = validateTerms(input, opts);
  t.ok(r.ok);
  if (!r.ok) return;
  t.same(r.terms, input);
  t.not(r.terms.parties, input['parties'], 'parties array is copied');
  t.not(r.terms.purposes, input['purposes'], 'purposes array is copied');
  t.same(r.terms.crimeCategories, ['war_crimes', 'genocide'], 'no sorting');
  t.equal(r.terms.validUntil, '2030-01-01T00:00:00+01:00', 'timestamps are not rewritten');
});

t.test('each problem has its precise code and JSON Pointer', async (t) => {
  const cases: [string, Record<string, unknown>, string[], { code: TermsProblemCode; path: string }[]][] = [
    ['unknown field', { extra: 1 }, [], [{ code: 'field_unknown', path: '/extra' }]],
    ['unknown field with pointer escaping', { 'a/b~c': 1 }, [], [{ code: 'field_unknown', path: '/a~1b~0c' }]],
    ['missing field', {}, ['legalBasis'], [{ code: 'field_missing', path: '/legalBasis' }]],
    ['parties not an array', { parties: 'NL,ICC' }, [], [{ code: 'parties_invalid', path: '/parties' }]],
    ['one party', { parties: ['NL'] }, [], [{ code: 'parties_invalid', path: '/parties' }]],
    ['three parties', { parties: ['NL', 'ICC', 'DE'] }, [], [{ code: 'parties_invalid', path: '/parties' }]],
    ['malformed party code', { parties: ['nl', 'ICC'] }, [], [{ code: 'party_invalid', path: '/parties/0' }]],
    ['non-string party', { parties: ['NL', 7] }, [], [{ code: 'party_invalid', path: '/parties/1' }]],
    ['unknown party', { parties: ['NL', 'FR'] }, [], [{ code: 'party_unknown', path: '/parties/1' }]],
    ['self-agreement', { parties: ['NL', 'NL'] }, [], [{ code: 'parties_identical', path: '/parties' }]],
    ['legalBasis not a string', { legalBasis: 5 }, [], [{ code: 'legal_basis_invalid', path: '/legalBasis' }]],
    ['legalBasis lone surrogate', { legalBasis: 'ok \uD800' }, [], [{ code: 'legal_basis_invalid', path: '/legalBasis' }]],
    ['legalBasis empty', { legalBasis: '' }, [], [{ code: 'legal_basis_empty', path: '/legalBasis' }]],
    ['legalBasis blank', { legalBasis: ' \n\t' }, [], [{ code: 'legal_basis_empty', path: '/legalBasis' }]],
    ['legalBasis too long', { legalBasis: 'x'.repeat(LEGAL_BASIS_MAX_LENGTH + 1) }, [], [{ code: 'legal_basis_too_long', path: '/legalBasis' }]],
    ['direction unknown', { direction: 'a_to_c' }, [], [{ code: 'direction_invalid', path: '/direction' }]],
    ['crimeCategories not array', { crimeCategories: 'genocide' }, [], [{ code: 'crime_categories_invalid', path: '/crimeCategories' }]],
    ['crimeCategories empty', { crimeCategories: [] }, [], [{ code: 'crime_categories_empty', path: '/crimeCategories' }]],
    ['crime category unknown', { crimeCategories: ['genocide', 'littering'] }, [], [{ code: 'crime_category_unknown', path: '/crimeCategories/1' }]],
    ['crime category duplicate', { crimeCategories: ['genocide', 'genocide'] }, [], [{ code: 'crime_category_duplicate', path: '/crimeCategories/1' }]],
    ['classification unknown', { maxClassification: 'top_secret' }, [], [{ code: 'classification_unknown', path: '/maxClassification' }]],
    ['purposes not array', { purposes: 'investigation' }, [], [{ code: 'purposes_invalid', path: '/purposes' }]],
    ['purposes empty', { purposes: [] }, [], [{ code: 'purposes_empty', path: '/purposes' }]],
    ['purposes too many', { purposes: Array.from({ length: MAX_PURPOSES + 1 }, (_, i) => `p${i}x`) }, [], [{ code: 'purposes_too_many', path: '/purposes' }]],
    ['purpose bad pattern', { purposes: ['investigation', 'Trial'] }, [], [{ code: 'purpose_invalid', path: '/purposes/1' }]],
    ['purpose one char', { purposes: ['a'] }, [], [{ code: 'purpose_invalid', path: '/purposes/0' }]],
    ['purpose too long', { purposes: ['a' + 'b'.repeat(64)] }, [], [{ code: 'purpose_invalid', path: '/purposes/0' }]],
    ['purpose not a string', { purposes: [1] }, [], [{ code: 'purpose_invalid', path: '/purposes/0' }]],
    ['purpose duplicate', { purposes: ['trial', 'trial'] }, [], [{ code: 'purpose_duplicate', path: '/purposes/1' }]],
    ['validFrom without offset', { validFrom: '2025-01-01T00:00:00' }, [], [{ code: 'valid_from_invalid', path: '/validFrom' }]],
    ['validFrom date only', { validFrom: '2025-01-01' }, [], [{ code: 'valid_from_invalid', path: '/validFrom' }]],
    ['validFrom not a string', { validFrom: 1735689600000 }, [], [{ code: 'valid_from_invalid', path: '/validFrom' }]],
    ['validUntil impossible date', { validUntil: '2030-02-30T00:00:00Z' }, [], [{ code: 'valid_until_invalid', path: '/validUntil' }]],
    ['validUntil sub-millisecond', { validUntil: '2030-01-01T00:00:00.0001Z' }, [], [{ code: 'valid_until_invalid', path: '/validUntil' }]],
    ['window reversed', { validFrom: '2030-01-01T00:00:00Z', validUntil: '2025-01-01T00:00:00Z' }, [], [{ code: 'validity_window_empty', path: '/validUntil' }]],
    // Same instant written with two offsets: the window is empty.
    ['window empty across offsets', { validFrom: '2030-01-01T01:00:00+01:00', validUntil: '2030-01-01T00:00:00Z' }, [], [{ code: 'validity_window_empty', path: '/validUntil' }]],
    ['onwardTransfer not boolean', { onwardTransfer: 'no' }, [], [{ code: 'onward_transfer_invalid', path: '/onwardTransfer' }]],
  ];
  for (const [name, patch, remove, expected] of cases) {
    t.same(problemsWith(patch, remove), expected, name);
  }
});

t.test('non-objects are refused', async (t) => {
  for (const input of [null, undefined, 1, 'terms', [], [goodTerms()], new Date(), new Map()]) {
    t.same(codesOf(input), ['not_an_object']);
  }
});

t.test('every problem is reported, not just the first', async (t) => {
  const codes = codesOf({ parties: ['NL', 'NL'], direction: 'up', extra: true });
  t.ok(codes.includes('parties_identical'));
  t.ok(codes.includes('direction_invalid'));
  t.ok(codes.includes('field_unknown'));
  t.equal(codes.filter((c) => c === 'field_missing').length, 7);
});

t.test('a __proto__ member is an unknown field, not a prototype', async (t) => {
  const input = JSON.parse(JSON.stringify(goodTerms()).replace(/^\{/, '{"__proto__":{"x":1},')) as unknown;
  t.same(codesOf(input), ['field_unknown']);
});

t.test('legalBasis length counts code points', async (t) => {
  const emoji = '\u{1F4DC}'; // two UTF-16 units
  t.same(codesOf({ ...goodTerms(), legalBasis: emoji.repeat(LEGAL_BASIS_MAX_LENGTH) }), []);
  t.same(codesOf({ ...goodTerms(), legalBasis: emoji.repeat(LEGAL_BASIS_MAX_LENGTH + 1) }), ['legal_basis_too_long']);
});

t.test('parseRfc3339', async (t) => {
  t.equal(parseRfc3339('1970-01-01T00:00:00Z'), 0);
  t.equal(parseRfc3339('1970-01-01T01:00:00+01:00'), 0);
  t.equal(parseRfc3339('1969-12-31T23:00:00-01:00'), 0);
  t.equal(parseRfc3339('2024-02-29T12:34:56.789Z'), Date.UTC(2024, 1, 29, 12, 34, 56, 789));
  t.equal(parseRfc3339('2024-02-29T12:34:56.7Z'), Date.UTC(2024, 1, 29, 12, 34, 56, 700));
  t.equal(parseRfc3339('2000-02-29T00:00:00Z'), Date.UTC(2000, 1, 29));
  t.equal(parseRfc3339('0001-01-01T00:00:00Z'), new Date('0001-01-01T00:00:00Z').getTime());
  t.equal(parseRfc3339('2030-01-01T00:00:00-00:00'), Date.UTC(2030, 0, 1));
  for (const bad of [
    '2023-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2024-13-01T00:00:00Z',
    '2024-00-01T00:00:00Z',
    '2024-04-31T00:00:00Z',
    '2024-01-01T24:00:00Z',
    '2024-01-01T23:60:00Z',
    '2024-12-31T23:59:60Z',
    '2024-01-01T00:00:00+24:00',
    '2024-01-01T00:00:00+01:60',
    '2024-01-01t00:00:00Z',
    '2024-01-01T00:00:00z',
    '2024-01-01 00:00:00Z',
    '2024-01-01T00:00:00.Z',
    '2024-01-01T00:00:00+0100',
    ' 2024-01-01T00:00:00Z',
    '2024-01-01T00:00:00Z\n',
    '+02024-01-01T00:00:00Z',
  ]) {
    t.equal(parseRfc3339(bad), null, bad);
  }
});

t.test('parseRfc3339 agrees with Date for any instant printed with any offset', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: Date.UTC(1, 0, 1), max: Date.UTC(9998, 11, 31) }),
      fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
      (ms, offset) => {
        const local = new Date(ms + offset * 60_000).toISOString().slice(0, 23);
        const sign = offset < 0 ? '-' : '+';
        const abs = Math.abs(offset);
        const text = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        return parseRfc3339(text) === ms;
      },
    ),
  );
  t.pass();
});

t.test('termsBytes are the JCS bytes; array order is part of what is signed', async (t) => {
  const r = validateTerms(goodTerms(), opts);
  if (!r.ok) throw new Error('fixture invalid');
  const bytes = termsBytes(r.terms).toString('utf8');
  t.equal(
    bytes,
    '{"crimeCategories":["war_crimes","genocide"],"direction":"a_to_b","legalBasis":"Rome Statute, Part 9",' +
      '"maxClassification":"confidential","onwardTransfer":false,"parties":["NL","ICC"],' +
      '"purposes":["investigation","prosecution"],"validFrom":"2025-01-01T00:00:00Z","validUntil":"2030-01-01T00:00:00+01:00"}',
  );
  t.equal(termsHash(r.terms), createHash('sha256').update(bytes, 'utf8').digest('hex'));
  t.match(termsHash(r.terms), /^[0-9a-f]{64}$/);

  const swapped: AgreementTerms = { ...r.terms, parties: ['ICC', 'NL'] };
  const reordered: AgreementTerms = { ...r.terms, crimeCategories: ['genocide', 'war_crimes'] };
  t.not(termsHash(swapped), termsHash(r.terms), 'party order changes the bytes');
  t.not(termsHash(reordered), termsHash(r.terms), 'category order changes the bytes');

  // Member order of the submitted object does not matter: JCS sorts members.
  const shuffled = Object.fromEntries(Object.entries(goodTerms()).reverse());
  const r2 = validateTerms(shuffled, opts);
  t.ok(r2.ok && termsHash(r2.terms) === termsHash(r.terms));
});

t.test('directionPermits', async (t) => {
  const base = validateTerms(goodTerms(), opts);
  if (!base.ok) throw new Error('fixture invalid');
  const with_ = (direction: AgreementTerms['direction']): AgreementTerms => ({ ...base.terms, direction });
  // parties[0] = NL (a), parties[1] = ICC (b)
  t.equal(directionPermits(with_('a_to_b'), 'NL', 'ICC'), true);
  t.equal(directionPermits(with_('a_to_b'), 'ICC', 'NL'), false);
  t.equal(directionPermits(with_('b_to_a'), 'ICC', 'NL'), true);
  t.equal(directionPermits(with_('b_to_a'), 'NL', 'ICC'), false);
  t.equal(directionPermits(with_('both'), 'NL', 'ICC'), true);
  t.equal(directionPermits(with_('both'), 'ICC', 'NL'), true);
  for (const d of ['both', 'a_to_b', 'b_to_a'] as const) {
    t.equal(directionPermits(with_(d), 'NL', 'DE'), false, `${d}: non-party recipient`);
    t.equal(directionPermits(with_(d), 'DE', 'ICC'), false, `${d}: non-party sender`);
    t.equal(directionPermits(with_(d), 'NL', 'NL'), false, `${d}: to itself`);
  }
  const corrupt = { ...base.terms, direction: 'sideways' } as unknown as AgreementTerms;
  t.equal(directionPermits(corrupt, 'NL', 'ICC'), false, 'unknown stored direction fails closed');
  t.equal(isBetween(base.terms, 'ICC', 'NL'), true);
  t.equal(isBetween(base.terms, 'ICC', 'ICC'), false);
});

t.test('validateTerms never throws and only accepts what re-validates to itself', async (t) => {
  const jsonish = fc.jsonValue();
  const fieldValue = fc.oneof(
    jsonish,
    fc.constantFrom('NL', 'ICC', 'DE', 'both', 'a_to_b', 'genocide', 'secret', 'trial_x', '2025-01-01T00:00:00Z', '2031-01-01T00:00:00Z'),
    fc.array(fc.constantFrom('NL', 'ICC', 'DE', 'genocide', 'war_crimes', 'investigation', 'x'), { maxLength: 4 }),
    fc.boolean(),
  );
  const candidate = fc.record(
    {
      parties: fieldValue,
      legalBasis: fc.oneof(fc.string(), fieldValue),
      direction: fieldValue,
      crimeCategories: fieldValue,
      maxClassification: fieldValue,
      purposes: fieldValue,
      validFrom: fieldValue,
      validUntil: fieldValue,
      onwardTransfer: fieldValue,
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.oneof(candidate, jsonish), (input) => {
      const r = validateTerms(input, opts);
      if (!r.ok) return r.problems.length > 0;
      const again = validateTerms(JSON.parse(JSON.stringify(r.terms)) as unknown, opts);
      return again.ok && termsHash(again.terms) === termsHash(r.terms);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});
