import t from 'tap';
import fc from 'fast-check';
import {
  RELEASE_DENIAL_REASONS,
  liveReleaseDecision,
  releaseDecision,
  type AgreementSnapshot,
  type BundleFacts,
  type LiveReleaseRequest,
  type ReleaseRecord,
  type ReleaseRequest,
} from '../../services/agreements/release-rule.js';
import type { AgreementTerms, Direction } from '../../services/agreements/terms.js';
import type { AgreementStatus } from '../../services/agreements/lifecycle.js';
import { CLASSIFICATIONS, type Classification, type CrimeCategory } from '../../services/shared/vocabulary.js';

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

const NOW = new Date('2026-06-01T12:00:00Z');

function terms(over: Partial<AgreementTerms> = {}): AgreementTerms {
  return {
    parties: ['NL', 'ICC'],
    legalBasis: 'Rome Statute, Part 9',
    direction: 'a_to_b',
    crimeCategories: ['war_crimes', 'genocide'],
    maxClassification: 'confidential',
    purposes: ['investigation', 'prosecution'],
    validFrom: '2026-01-01T00:00:00Z',
    validUntil: '2027-01-01T00:00:00Z',
    onwardTransfer: false,
    ...over,
  };
}

function agreement(over: Partial<AgreementTerms> = {}, status: AgreementStatus = 'active', id = 'agr-1', version = 1): AgreementSnapshot {
  return { id, version, status, terms: terms(over) };
}

const BUNDLE: BundleFacts = { ownerJurisdiction: 'NL', status: 'sealed', crimeCategory: 'war_crimes', classification: 'restricted' };

function request(over: Partial<ReleaseRequest> = {}, bundle: Partial<BundleFacts> = {}): ReleaseRequest {
  return {
    bundle: { ...BUNDLE, ...bundle },
    requester: { jurisdiction: 'NL' },
    recipient: 'ICC',
    purpose: 'prosecution',
    agreements: [agreement()],
    now: NOW,
    ...over,
  };
}

// ---------------------------------------------------------------------------
// Table: each of the nine reasons, and allow
// ---------------------------------------------------------------------------

t.test('table: every reason of SPEC §3 and the allow case', async (t) => {
  const cases: [string, ReleaseRequest, ReturnType<typeof releaseDecision>][] = [
    ['allowed', request(), { allow: true, agreement: { id: 'agr-1', version: 1 } }],
    ['no agreement at all', request({ agreements: [] }), { allow: false, reason: 'no_agreement' }],
    ['only agreements with others', request({ agreements: [agreement({ parties: ['NL', 'DE'] }), agreement({ parties: ['ICC', 'DE'] })] }), { allow: false, reason: 'no_agreement' }],
    ['draft', request({ agreements: [agreement({}, 'draft')] }), { allow: false, reason: 'agreement_inactive' }],
    ['suspended', request({ agreements: [agreement({}, 'suspended')] }), { allow: false, reason: 'agreement_inactive' }],
    ['terminated', request({ agreements: [agreement({}, 'terminated')] }), { allow: false, reason: 'agreement_inactive' }],
    ['not yet valid', request({ agreements: [agreement({ validFrom: '2026-07-01T00:00:00Z' })] }), { allow: false, reason: 'agreement_expired' }],
    ['expired', request({ agreements: [agreement({ validUntil: '2026-06-01T00:00:00Z' })] }), { allow: false, reason: 'agreement_expired' }],
    ['direction b_to_a', request({ agreements: [agreement({ direction: 'b_to_a' })] }), { allow: false, reason: 'direction_not_permitted' }],
    ['direction a_to_b with swapped parties', request({ agreements: [agreement({ parties: ['ICC', 'NL'] })] }), { allow: false, reason: 'direction_not_permitted' }],
    ['category', request({}, { crimeCategory: 'terrorism' }), { allow: false, reason: 'crime_category_not_covered' }],
    ['classification', request({}, { classification: 'secret' }), { allow: false, reason: 'classification_exceeds' }],
    ['purpose', request({ purpose: 'defence' }), { allow: false, reason: 'purpose_not_permitted' }],
    ['open bundle', request({}, { status: 'open' }), { allow: false, reason: 'bundle_not_sealed' }],
    ['not owner', request({ requester: { jurisdiction: 'DE' } }), { allow: false, reason: 'not_owner' }],
  ];
  for (const [name, req, expected] of cases) t.same(releaseDecision(req), expected, name);
  const reported = new Set(cases.map(([, , d]) => (d.allow ? null : d.reason)));
  for (const reason of RELEASE_DENIAL_REASONS) t.ok(reported.has(reason), `table covers ${reason}`);
});

t.test('reasons follow the SPEC order when several conditions fail', async (t) => {
  // Everything fails: the first in SPEC order wins, down the list.
  const all = (over: Partial<ReleaseRequest>, status: AgreementStatus, termsOver: Partial<AgreementTerms>) =>
    releaseDecision(
      request(
        { requester: { jurisdiction: 'DE' }, purpose: 'defence', agreements: [agreement(termsOver, status)], ...over },
        { status: 'open', crimeCategory: 'terrorism', classification: 'secret' },
      ),
    );
  const broken: Partial<AgreementTerms> = { validUntil: '2026-02-01T00:00:00Z', direction: 'b_to_a' };
  t.same(all({ agreements: [] }, 'draft', broken), { allow: false, reason: 'no_agreement' });
  t.same(all({}, 'draft', broken), { allow: false, reason: 'agreement_inactive' });
  t.same(all({}, 'active', broken), { allow: false, reason: 'agreement_expired' });
  t.same(all({}, 'active', { direction: 'b_to_a' }), { allow: false, reason: 'direction_not_permitted' });
  t.same(all({}, 'active', {}), { allow: false, reason: 'crime_category_not_covered' });
  t.same(all({}, 'active', { crimeCategories: ['terrorism'] }), { allow: false, reason: 'classification_exceeds' });
  t.same(all({}, 'active', { crimeCategories: ['terrorism'], maxClassification: 'secret' }), { allow: false, reason: 'purpose_not_permitted' });
  t.same(all({}, 'active', { crimeCategories: ['terrorism'], maxClassification: 'secret', purposes: ['defence'] }), {
    allow: false,
    reason: 'bundle_not_sealed',
  });
  // not_owner comes last, after the bundle state.
  t.same(releaseDecision(request({ requester: { jurisdiction: 'ICC' } }, { status: 'open' })), { allow: false, reason: 'bundle_not_sealed' });
  t.same(releaseDecision(request({ requester: { jurisdiction: 'ICC' }, agreements: [] })), { allow: false, reason: 'no_agreement' });
});

t.test('several agreements: the furthest decides the reason, conditions never combine', async (t) => {
  const inactive = agreement({}, 'suspended', 'a');
  const expired = agreement({ validUntil: '2026-02-01T00:00:00Z' }, 'active', 'b');
  const noPurpose = agreement({ purposes: ['investigation'] }, 'active', 'c');
  const noCategory = agreement({ crimeCategories: ['genocide'], purposes: ['prosecution'] }, 'active', 'd');
  t.same(releaseDecision(request({ agreements: [inactive, expired] })), { allow: false, reason: 'agreement_expired' });
  t.same(releaseDecision(request({ agreements: [expired, inactive] })), { allow: false, reason: 'agreement_expired' });
  // c covers the category but not the purpose; d the purpose but not the category: still no release.
  t.same(releaseDecision(request({ agreements: [noCategory, noPurpose] })), { allow: false, reason: 'purpose_not_permitted' });
  const good = agreement({}, 'active', 'z');
  t.same(releaseDecision(request({ agreements: [inactive, expired, noPurpose, good] })), { allow: true, agreement: { id: 'z', version: 1 } });
  // Agreements with other parties do not count, even if they would pass.
  t.same(releaseDecision(request({ agreements: [agreement({ parties: ['NL', 'DE'] }, 'active', 'x')] })), { allow: false, reason: 'no_agreement' });
});

t.test('several passing agreements: the smallest (id, version) is named whatever the order', async (t) => {
  const list = [agreement({}, 'active', 'm', 2), agreement({}, 'active', 'b', 3), agreement({}, 'active', 'b', 1), agreement({}, 'active', 'x', 1)];
  t.same(releaseDecision(request({ agreements: list })), { allow: true, agreement: { id: 'b', version: 1 } });
  t.same(releaseDecision(request({ agreements: [...list].reverse() })), { allow: true, agreement: { id: 'b', version: 1 } });
});

t.test('validity window: validFrom inclusive, validUntil exclusive, offsets honoured', async (t) => {
  const a = agreement({ validFrom: '2026-06-01T12:00:00Z', validUntil: '2026-06-01T13:00:00Z' });
  const at = (iso: string) => releaseDecision(request({ agreements: [a], now: new Date(iso) }));
  t.equal(at('2026-06-01T11:59:59.999Z').allow, false);
  t.equal(at('2026-06-01T12:00:00.000Z').allow, true, 'validFrom itself is inside');
  t.equal(at('2026-06-01T12:59:59.999Z').allow, true);
  t.same(at('2026-06-01T13:00:00.000Z'), { allow: false, reason: 'agreement_expired' }, 'validUntil itself is outside');
  const offset = agreement({ validFrom: '2026-06-01T14:00:00+02:00', validUntil: '2026-06-01T10:00:00-03:00' });
  const atOffset = (iso: string) => releaseDecision(request({ agreements: [offset], now: new Date(iso) })).allow;
  t.equal(atOffset('2026-06-01T11:59:59.999Z'), false);
  t.equal(atOffset('2026-06-01T12:00:00Z'), true);
  t.equal(atOffset('2026-06-01T12:59:59.999Z'), true);
  t.equal(atOffset('2026-06-01T13:00:00Z'), false);
});

t.test('fail closed on values outside the vocabularies or corrupt data', async (t) => {
  t.same(releaseDecision(request({}, { classification: 'ultra' })), { allow: false, reason: 'classification_exceeds' });
  t.same(releaseDecision(request({ agreements: [agreement({ maxClassification: 'ultra' as Classification })] })), {
    allow: false,
    reason: 'classification_exceeds',
  });
  t.same(releaseDecision(request({ agreements: [agreement({}, 'ACTIVE' as AgreementStatus)] })), { allow: false, reason: 'agreement_inactive' });
  t.same(releaseDecision(request({ agreements: [agreement({ validUntil: 'forever' })] })), { allow: false, reason: 'agreement_expired' });
  t.same(releaseDecision(request({ now: new Date(Number.NaN) })), { allow: false, reason: 'agreement_expired' });
  t.same(releaseDecision(request({}, { status: 'SEALED' })), { allow: false, reason: 'bundle_not_sealed' });
  t.same(releaseDecision(request({ agreements: [agreement({ direction: 'sideways' as Direction })] })), {
    allow: false,
    reason: 'direction_not_permitted',
  });
  // An owner releasing to itself never has an agreement (self-agreements do not exist).
  t.same(releaseDecision(request({ recipient: 'NL', agreements: [agreement({ parties: ['NL', 'NL'] })] })), { allow: false, reason: 'no_agreement' });
});

// ---------------------------------------------------------------------------
// Property-based tests against an independent oracle written from SPEC §3
// ---------------------------------------------------------------------------

const J = ['AA', 'BB', 'CC'] as const;
const CATS = ['genocide', 'war_crimes', 'terrorism'] as const satisfies readonly CrimeCategory[];
const PURPOSES = ['investigation', 'prosecution', 'defence'] as const;
const T0 = Date.UTC(2026, 0, 1);
const STEP = 60_000;

/** An instant on a coarse grid, so that bounds and `now` often coincide, written with a random offset. */
const gridTime = (min: number, max: number) =>
  fc.tuple(fc.integer({ min, max }), fc.constantFrom(0, 60, -90, 330, -720)).map(([k, offsetMin]) => {
    const ms = T0 + k * STEP;
    const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 19);
    const abs = Math.abs(offsetMin);
    const suffix = offsetMin === 0 ? 'Z' : `${offsetMin < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    return { ms, text: local + suffix };
  });

const termsArb: fc.Arbitrary<AgreementTerms> = fc
  .record({
    parties: fc.constantFrom(...J).chain((a) => fc.constantFrom(...J.filter((b) => b !== a)).map((b) => [a, b] as [string, string])),
    direction: fc.constantFrom<Direction>('both', 'a_to_b', 'b_to_a'),
    crimeCategories: fc.subarray([...CATS], { minLength: 1 }),
    maxClassification: fc.constantFrom(...CLASSIFICATIONS),
    purposes: fc.subarray([...PURPOSES], { minLength: 1 }),
    from: gridTime(0, 8),
    length: fc.integer({ min: 1, max: 6 }),
    onwardTransfer: fc.boolean(),
  })
  .map(({ from, length, ...rest }) => ({
    ...rest,
    legalBasis: 'treaty',
    validFrom: from.text,
    validUntil: new Date(from.ms + length * STEP).toISOString(),
  }));

const snapshotArb = (id: string): fc.Arbitrary<AgreementSnapshot> =>
  fc.record({
    id: fc.constant(id),
    version: fc.integer({ min: 1, max: 3 }),
    status: fc.constantFrom<AgreementStatus>('draft', 'active', 'active', 'suspended', 'terminated'),
    terms: termsArb,
  });

const agreementsArb: fc.Arbitrary<AgreementSnapshot[]> = fc
  .integer({ min: 0, max: 5 })
  .chain((n) => (n === 0 ? fc.constant([]) : fc.tuple(...Array.from({ length: n }, (_, i) => snapshotArb(`agr-${i}`)))));

const requestArb: fc.Arbitrary<ReleaseRequest> = fc.record({
  bundle: fc.record({
    ownerJurisdiction: fc.constantFrom(...J),
    status: fc.constantFrom('open', 'sealed', 'sealed'),
    crimeCategory: fc.constantFrom<string>(...CATS),
    classification: fc.constantFrom<string>(...CLASSIFICATIONS),
  }),
  requester: fc.record({ jurisdiction: fc.constantFrom(...J) }),
  recipient: fc.constantFrom(...J),
  purpose: fc.constantFrom(...PURPOSES),
  agreements: agreementsArb,
  now: fc.integer({ min: -1, max: 15 }).map((k) => new Date(T0 + k * STEP)),
});

// The oracle: SPEC §3 read literally, written without the implementation's helpers.
type Cond = { reason: string; holds: (a: AgreementSnapshot, r: ReleaseRequest) => boolean };
const between = (a: AgreementSnapshot, x: string, y: string) =>
  x !== y && [...a.terms.parties].sort().join('|') === [x, y].sort().join('|');
const COND: Cond[] = [
  { reason: 'agreement_inactive', holds: (a) => a.status === 'active' },
  {
    reason: 'agreement_expired',
    holds: (a, r) => Date.parse(a.terms.validFrom) <= r.now.getTime() && r.now.getTime() < Date.parse(a.terms.validUntil),
  },
  {
    reason: 'direction_not_permitted',
    holds: (a, r) => {
      const [p0, p1] = a.terms.parties;
      const o = r.bundle.ownerJurisdiction;
      return a.terms.direction === 'both' || (a.terms.direction === 'a_to_b' ? p0 === o && p1 === r.recipient : p1 === o && p0 === r.recipient);
    },
  },
  { reason: 'crime_category_not_covered', holds: (a, r) => (a.terms.crimeCategories as string[]).includes(r.bundle.crimeCategory) },
  {
    reason: 'classification_exceeds',
    holds: (a, r) => CLASSIFICATIONS.indexOf(r.bundle.classification as Classification) <= CLASSIFICATIONS.indexOf(a.terms.maxClassification),
  },
  { reason: 'purpose_not_permitted', holds: (a, r) => a.terms.purposes.includes(r.purpose) },
];
const candidates = (r: ReleaseRequest) => r.agreements.filter((a) => between(a, r.bundle.ownerJurisdiction, r.recipient));
const passesAll = (a: AgreementSnapshot, r: ReleaseRequest) => COND.every((c) => c.holds(a, r));
const passesThrough = (a: AgreementSnapshot, r: ReleaseRequest, k: number) => COND.slice(0, k + 1).every((c) => c.holds(a, r));

function prop<Ts extends [unknown, ...unknown[]]>(name: string, p: fc.IProperty<Ts>, numRuns = 3000): void {
  t.test(name, async (t) => {
    fc.assert(p, { numRuns });
    t.pass();
  });
}

prop(
  'oracle: the decision is exactly SPEC §3 with the documented precedence',
  fc.property(requestArb, (r) => {
    const d = releaseDecision(r);
    const cands = candidates(r);
    if (cands.length === 0) return !d.allow && d.reason === 'no_agreement';
    const firstFail = (a: AgreementSnapshot) => {
      const i = COND.findIndex((c) => !c.holds(a, r));
      return i === -1 ? COND.length : i;
    };
    const furthest = Math.max(...cands.map(firstFail));
    if (furthest < COND.length) return !d.allow && d.reason === COND[furthest]!.reason;
    if (r.bundle.status !== 'sealed') return !d.allow && d.reason === 'bundle_not_sealed';
    if (r.requester.jurisdiction !== r.bundle.ownerJurisdiction) return !d.allow && d.reason === 'not_owner';
    const passing = cands.filter((a) => passesAll(a, r)).sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : x.version - y.version));
    return d.allow && d.agreement.id === passing[0]!.id && d.agreement.version === passing[0]!.version;
  }),
);

/** Make condition `k` fail for one agreement (given the request), touching nothing else it needs. */
function breakCondition(a: AgreementSnapshot, r: ReleaseRequest, k: number): AgreementSnapshot {
  const tr = { ...a.terms };
  switch (k) {
    case 0:
      return { ...a, status: a.status === 'active' ? 'suspended' : a.status };
    case 1: {
      const now = r.now.getTime();
      return { ...a, terms: { ...tr, validFrom: new Date(now + STEP).toISOString(), validUntil: new Date(now + 2 * STEP).toISOString() } };
    }
    case 2:
      return { ...a, terms: { ...tr, direction: tr.parties[0] === r.bundle.ownerJurisdiction ? 'b_to_a' : 'a_to_b' } };
    case 3: {
      const left = tr.crimeCategories.filter((c) => c !== r.bundle.crimeCategory);
      return { ...a, terms: { ...tr, crimeCategories: left.length > 0 ? left : [CATS.find((c) => c !== r.bundle.crimeCategory)!] } };
    }
    case 4:
      return { ...a, terms: { ...tr, maxClassification: 'confidential' } };
    default: {
      const left = tr.purposes.filter((p) => p !== r.purpose);
      return { ...a, terms: { ...tr, purposes: left.length > 0 ? left : [PURPOSES.find((p) => p !== r.purpose)!] } };
    }
  }
}

prop(
  '(a) never allows when one condition of SPEC §3 fails for every agreement',
  fc.property(requestArb, fc.integer({ min: 0, max: COND.length + 1 }), (r0, k) => {
    let r: ReleaseRequest = r0;
    if (k < COND.length) {
      // Condition 4 is broken jointly: a secret bundle exceeds every non-secret maximum.
      if (k === 4) r = { ...r, bundle: { ...r.bundle, classification: 'secret' } };
      const rr = r;
      r = { ...rr, agreements: rr.agreements.map((a) => breakCondition(a, rr, k)) };
      if (!candidates(r).every((a) => !COND[k]!.holds(a, r))) return false; // the mutation itself must work
    } else if (k === COND.length) {
      r = { ...r, bundle: { ...r.bundle, status: 'open' } };
    } else {
      r = { ...r, requester: { jurisdiction: J.find((j) => j !== r.bundle.ownerJurisdiction)! } };
    }
    return releaseDecision(r).allow === false;
  }),
);

prop(
  '(a\') never allows when every agreement between owner and recipient fails some condition',
  fc.property(requestArb, (r) => {
    if (candidates(r).some((a) => passesAll(a, r))) return true;
    return releaseDecision(r).allow === false;
  }),
);

const satisfyingArb = (r: ReleaseRequest): fc.Arbitrary<AgreementSnapshot> =>
  fc
    .record({
      swap: fc.boolean(),
      both: fc.boolean(),
      extraCats: fc.subarray([...CATS]),
      extraPurposes: fc.subarray([...PURPOSES]),
      before: fc.integer({ min: 0, max: 5 }),
      after: fc.integer({ min: 1, max: 5 }),
      maxRank: fc.integer({ min: CLASSIFICATIONS.indexOf(r.bundle.classification as Classification), max: CLASSIFICATIONS.length - 1 }),
      version: fc.integer({ min: 1, max: 9 }),
    })
    .map((x) => {
      const o = r.bundle.ownerJurisdiction;
      const parties: [string, string] = x.swap ? [r.recipient, o] : [o, r.recipient];
      return {
        id: 'agr-good',
        version: x.version,
        status: 'active',
        terms: {
          parties,
          legalBasis: 'treaty',
          direction: x.both ? 'both' : x.swap ? 'b_to_a' : 'a_to_b',
          crimeCategories: [...new Set([...x.extraCats, r.bundle.crimeCategory as CrimeCategory])],
          maxClassification: CLASSIFICATIONS[x.maxRank]!,
          purposes: [...new Set([r.purpose, ...x.extraPurposes])],
          validFrom: new Date(r.now.getTime() - x.before * STEP).toISOString(),
          validUntil: new Date(r.now.getTime() + x.after * STEP).toISOString(),
          onwardTransfer: false,
        },
      } satisfies AgreementSnapshot;
    });

t.test('(b) allows whenever some agreement satisfies every condition', async (t) => {
  fc.assert(
    fc.property(
      requestArb
        .filter((r) => r.recipient !== r.bundle.ownerJurisdiction)
        .map((r) => ({ ...r, bundle: { ...r.bundle, status: 'sealed' }, requester: { jurisdiction: r.bundle.ownerJurisdiction } }))
        .chain((r) => fc.tuple(fc.constant(r), satisfyingArb(r), fc.nat())),
      ([r, good, pos]) => {
        const agreements = [...r.agreements];
        agreements.splice(pos % (agreements.length + 1), 0, good);
        const req = { ...r, agreements };
        if (!passesAll(good, req)) return false; // generator sanity
        const d = releaseDecision(req);
        if (!d.allow) return false;
        const named = agreements.find((a) => a.id === d.agreement.id && a.version === d.agreement.version);
        return named !== undefined && between(named, r.bundle.ownerJurisdiction, r.recipient) && passesAll(named, req);
      },
    ),
    { numRuns: 3000 },
  );
  t.pass();
});

t.test('(c) deterministic and independent of the order (and repetition) of the agreements', async (t) => {
  fc.assert(
    fc.property(
      requestArb.chain((r) =>
        fc.tuple(fc.constant(r), fc.shuffledSubarray([...r.agreements], { minLength: r.agreements.length, maxLength: r.agreements.length })),
      ),
      ([r, permuted]) => {
        const d = releaseDecision(r);
        const again = releaseDecision(structuredClone(r));
        const shuffled = releaseDecision({ ...r, agreements: permuted });
        const doubled = releaseDecision({ ...r, agreements: [...permuted, ...r.agreements] });
        const s = JSON.stringify(d);
        return JSON.stringify(again) === s && JSON.stringify(shuffled) === s && JSON.stringify(doubled) === s;
      },
    ),
    { numRuns: 3000 },
  );
  t.pass();
});

prop(
  '(d) the reported reason is consistent with the precedence',
  fc.property(requestArb, (r) => {
    const d = releaseDecision(r);
    if (d.allow) return true;
    const cands = candidates(r);
    const k = COND.findIndex((c) => c.reason === d.reason);
    switch (d.reason) {
      case 'no_agreement':
        return cands.length === 0;
      case 'bundle_not_sealed':
        return cands.some((a) => passesAll(a, r)) && r.bundle.status !== 'sealed';
      case 'not_owner':
        return cands.some((a) => passesAll(a, r)) && r.bundle.status === 'sealed' && r.requester.jurisdiction !== r.bundle.ownerJurisdiction;
      default:
        return (
          k >= 0 &&
          // some agreement passes everything before reason k and fails k …
          cands.some((a) => (k === 0 || passesThrough(a, r, k - 1)) && !COND[k]!.holds(a, r)) &&
          // … and no agreement gets past k, so no later reason could be the first failure.
          !cands.some((a) => passesThrough(a, r, k))
        );
    }
  }),
);

// ---------------------------------------------------------------------------
// Live check at every access
// ---------------------------------------------------------------------------

const RELEASE: ReleaseRecord = { recipient: 'ICC', purpose: 'prosecution', agreementId: 'agr-1', agreementVersion: 1, revokedAt: null };

function live(over: Partial<LiveReleaseRequest> = {}, release: Partial<ReleaseRecord> = {}, bundle: Partial<BundleFacts> = {}) {
  return liveReleaseDecision({
    bundle: { ...BUNDLE, ...bundle },
    accessor: { jurisdiction: 'ICC' },
    release: { ...RELEASE, ...release },
    agreement: agreement(),
    now: NOW,
    ...over,
  });
}

t.test('liveReleaseDecision: allow and every refusal', async (t) => {
  t.same(live(), { allow: true, agreement: { id: 'agr-1', version: 1 } });
  t.same(live({}, {}, {}), { allow: true, agreement: { id: 'agr-1', version: 1 } });
  // Liveness follows the agreement's current version, not the one at grant time.
  t.same(live({ agreement: agreement({}, 'active', 'agr-1', 3) }), { allow: true, agreement: { id: 'agr-1', version: 3 } });

  const cases: [string, ReturnType<typeof liveReleaseDecision>, string][] = [
    ['another jurisdiction', live({ accessor: { jurisdiction: 'DE' } }), 'not_recipient'],
    ['the owner is not the recipient', live({ accessor: { jurisdiction: 'NL' } }), 'not_recipient'],
    ['revoked', live({}, { revokedAt: '2026-05-01T00:00:00Z' }), 'release_revoked'],
    ['revoked beats everything else', live({ agreement: null }, { revokedAt: '2026-05-01T00:00:00Z' }), 'release_revoked'],
    ['agreement gone', live({ agreement: null }), 'no_agreement'],
    ['another agreement cannot stand in', live({ agreement: agreement({}, 'active', 'agr-2') }), 'no_agreement'],
    ['agreement with other parties', live({ agreement: agreement({ parties: ['NL', 'DE'] }) }), 'no_agreement'],
    ['suspended since', live({ agreement: agreement({}, 'suspended') }), 'agreement_inactive'],
    ['amended, new version still a draft', live({ agreement: agreement({}, 'draft', 'agr-1', 2) }), 'agreement_inactive'],
    ['terminated since', live({ agreement: agreement({}, 'terminated') }), 'agreement_inactive'],
    ['expired since', live({ now: new Date('2027-01-01T00:00:00Z') }), 'agreement_expired'],
    ['direction narrowed', live({ agreement: agreement({ direction: 'b_to_a' }) }), 'direction_not_permitted'],
    ['category dropped', live({ agreement: agreement({ crimeCategories: ['genocide'] }) }), 'crime_category_not_covered'],
    ['classification lowered', live({ agreement: agreement({ maxClassification: 'public' }) }), 'classification_exceeds'],
    ['purpose dropped', live({ agreement: agreement({ purposes: ['investigation'] }) }), 'purpose_not_permitted'],
    ['bundle not sealed', live({}, {}, { status: 'open' }), 'bundle_not_sealed'],
  ];
  for (const [name, d, reason] of cases) t.same(d, { allow: false, reason }, name);
  t.equal(live({}, { revokedAt: undefined as unknown as null }).allow, false, 'a missing revokedAt fails closed');
});

t.test('liveReleaseDecision agrees with releaseDecision on the release\'s own agreement', async (t) => {
  fc.assert(
    fc.property(requestArb, fc.nat(), (r, pick) => {
      const a = r.agreements[pick % Math.max(1, r.agreements.length)];
      if (!a) return true;
      const release: ReleaseRecord = { recipient: r.recipient, purpose: r.purpose, agreementId: a.id, agreementVersion: 1, revokedAt: null };
      const l = liveReleaseDecision({ bundle: r.bundle, accessor: { jurisdiction: r.recipient }, release, agreement: a, now: r.now });
      const g = releaseDecision({ ...r, requester: { jurisdiction: r.bundle.ownerJurisdiction }, agreements: [a] });
      return JSON.stringify(l) === JSON.stringify(g);
    }),
    { numRuns: 3000 },
  );
  t.pass();
});
