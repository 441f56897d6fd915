/**
 * parseRange (RFC 9110 §14.1.2, §14.4): one byte range per request; what is
 * not a valid single byte range is ignored (the whole file), what is valid
 * but outside the file is 416.
 */
import fc from 'fast-check';
import t from 'tap';
import { parseRange, type RangeDecision } from '../../services/bundles/range.js';

const full: RangeDecision = { kind: 'full' };
const none: RangeDecision = { kind: 'unsatisfiable' };
const part = (start: number, end: number): RangeDecision => ({ kind: 'partial', start, end });

t.test('examples', async (t) => {
  const size = 100;
  const cases: Array<[string | undefined, RangeDecision]> = [
    [undefined, full],
    ['bytes=0-0', part(0, 0)],
    ['bytes=0-99', part(0, 99)],
    ['bytes=10-', part(10, 99)],
    ['bytes=99-', part(99, 99)],
    ['bytes=10-19', part(10, 19)],
    ['bytes=-5', part(95, 99)],
    ['bytes=-100', part(0, 99)],
    ['bytes=-1000', part(0, 99), ],
    ['bytes=50-1000', part(50, 99)],
    ['bytes=0-100', part(0, 99)],
    // Valid but outside the representation: 416.
    ['bytes=100-', none],
    ['bytes=100-200', none],
    ['bytes=1000-1001', none],
    ['bytes=-0', none],
    // Digits beyond 2^53: still a syntactically valid range.
    ['bytes=0-99999999999999999999', part(0, 99)],
    ['bytes=5-99999999999999999999', part(5, 99)],
    ['bytes=99999999999999999999-', none],
    ['bytes=99999999999999999999-99999999999999999999', none],
    ['bytes=-99999999999999999999', part(0, 99)],
    // Not a single valid byte range: ignored, the whole file is sent.
    ['bytes=5-3', full],
    ['bytes=-', full],
    ['bytes=0-1,5-6', full],
    ['items=0-5', full],
    ['bytes 0-5', full],
    ['bytes=a-5', full],
    ['bytes=1.5-2', full],
    ['bytes=0x10-20', full],
    ['', full],
  ];
  for (const [header, expected] of cases) t.same(parseRange(header, size), expected, String(header));
  // RFC 9110 §14.1: the range unit is case-insensitive; whitespace around is tolerated.
  t.same(parseRange('Bytes=0-0', size), part(0, 0), 'unit is case-insensitive');
  t.same(parseRange('  bytes=1-2  ', size), part(1, 2), 'surrounding whitespace');
});

t.test('one-byte file', async (t) => {
  t.same(parseRange('bytes=0-0', 1), part(0, 0));
  t.same(parseRange('bytes=0-', 1), part(0, 0));
  t.same(parseRange('bytes=-1', 1), part(0, 0));
  t.same(parseRange('bytes=-2', 1), part(0, 0));
  t.same(parseRange('bytes=1-', 1), none);
});

t.test('properties: a partial range always lies inside the file and is never empty', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.option(fc.nat({ max: 2_000_000 }), { nil: null }),
      fc.option(fc.nat({ max: 2_000_000 }), { nil: null }),
      (size, first, last) => {
        const header = `bytes=${first ?? ''}-${last ?? ''}`;
        const r = parseRange(header, size);
        if (r.kind === 'partial') {
          if (!(r.start >= 0 && r.start <= r.end && r.end < size)) return false;
          if (first !== null) {
            // start as asked; end as asked or clamped.
            if (r.start !== first) return false;
            if (r.end !== Math.min(last ?? size - 1, size - 1)) return false;
          } else if (last !== null) {
            if (r.end !== size - 1 || r.start !== Math.max(0, size - last)) return false;
          }
          return true;
        }
        if (r.kind === 'unsatisfiable') return (first !== null && first >= size && (last === null || last >= first)) || (first === null && last === 0);
        // full: no range, or an invalid one
        return (first === null && last === null) || (first !== null && last !== null && last < first);
      },
    ),
    { numRuns: 2000 },
  );
  t.pass('2000 random ranges');
});
