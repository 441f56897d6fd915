import t from 'tap';
import fc from 'fast-check';
import {
  agreementStateProblems,
  applyAgreementAction,
  draftAgreement,
  type Actor,
  type AgreementAction,
  type AgreementResult,
  type AgreementState,
  type OfficerKey,
} from '../../services/agreements/lifecycle.js';
import { termsBytes, termsHash, type AgreementTerms } from '../../services/agreements/terms.js';
import { releaseDecision } from '../../services/agreements/release-rule.js';
import { ed25519Generate, ed25519Sign, ed25519Verify } from '../../services/shared/ed25519.js';
import { decodeBase64, encodeBase64 } from '../../services/shared/encoding.js';

// ---------------------------------------------------------------------------
// Fixtures: officers with registered keys
// ---------------------------------------------------------------------------

interface Officer {
  actor: Actor;
  key: OfficerKey;
  seed: Buffer;
}

function officer(jurisdiction: string, sub: string, keyId: string): Officer {
  const { seed, publicKey } = ed25519Generate();
  const actor = { iss: `https://id.${jurisdiction.toLowerCase()}.example`, sub, jurisdiction };
  return { actor, seed, key: { keyId, ...actor, publicKey } };
}

const NL = officer('NL', 'nl-officer', 'k-nl');
const NL2 = officer('NL', 'nl-officer-2', 'k-nl2');
const ICC = officer('ICC', 'icc-officer', 'k-icc');
const DE = officer('DE', 'de-officer', 'k-de');
const known = new Set(['NL', 'ICC', 'DE']);
const NOW = new Date('2026-03-01T10:00:00Z');
const ctx = (o: Officer, now = NOW) => ({ actor: o.actor, now });

const TERMS: AgreementTerms = {
  parties: ['NL', 'ICC'],
  legalBasis: 'Rome Statute, Part 9',
  direction: 'a_to_b',
  crimeCategories: ['war_crimes', 'genocide'],
  maxClassification: 'confidential',
  purposes: ['investigation', 'prosecution'],
  validFrom: '2026-01-01T00:00:00Z',
  validUntil: '2030-01-01T00:00:00Z',
  onwardTransfer: false,
};
const AMENDED: AgreementTerms = { ...TERMS, crimeCategories: ['war_crimes'], maxClassification: 'restricted' };

function sig(o: Officer, terms: AgreementTerms): string {
  return encodeBase64(ed25519Sign(o.seed, termsBytes(terms)));
}

function ok(r: AgreementResult): Extract<AgreementResult, { ok: true }> {
  if (!r.ok) throw new Error(`expected success, got ${r.error.code}: ${r.error.detail}`);
  return r;
}

function draft(terms: unknown = TERMS, by: Officer = NL): AgreementState {
  return ok(draftAgreement({ id: 'agr-1', terms, knownJurisdictions: known }, ctx(by))).state;
}

function signBy(state: AgreementState, o: Officer, over: Partial<Extract<AgreementAction, { type: 'sign' }>> = {}): AgreementResult {
  return applyAgreementAction(
    state,
    { type: 'sign', version: state.version, signature: sig(o, state.terms), signerKeys: [o.key], ...over },
    ctx(o),
  );
}

function active(): AgreementState {
  return ok(signBy(ok(signBy(draft(), NL)).state, ICC)).state;
}

function refused(t: Asserter, r: AgreementResult, code: string, status: number, name?: string): void {
  t.same(r.ok ? { ok: true } : { code: r.error.code, status: r.error.status }, { code, status }, name ?? code);
}
type Asserter = Pick<typeof t, 'same'>;

function snapshot(s: AgreementState) {
  return { id: s.id, version: s.version, status: s.status, terms: s.terms };
}

// ---------------------------------------------------------------------------
// Drafting
// ---------------------------------------------------------------------------

t.test('drafting makes version 1, a draft with no signatures, one history item and one event', async (t) => {
  const r = ok(draftAgreement({ id: 'agr-1', terms: TERMS, knownJurisdictions: known }, ctx(ICC)));
  t.equal(r.state.version, 1);
  t.equal(r.state.status, 'draft');
  t.same(r.state.signatures, []);
  t.same(r.state.terms, TERMS);
  t.equal(r.state.termsHash, termsHash(TERMS));
  t.same(r.events, [
    { type: 'agreement.drafted', subject: 'agreement:agr-1', data: { agreementId: 'agr-1', version: 1, termsHash: termsHash(TERMS), parties: ['NL', 'ICC'] } },
  ]);
  t.equal(r.state.history.length, 1);
  t.match(r.state.history[0], { seq: 0, at: NOW.toISOString(), actor: ICC.actor, type: 'agreement.drafted', version: 1, status: 'draft', terms: TERMS });
  t.same(agreementStateProblems(r.state), []);
});

t.test('drafting is refused for non-parties and for invalid terms', async (t) => {
  refused(t, draftAgreement({ id: 'x', terms: TERMS, knownJurisdictions: known }, ctx(DE)), 'not_a_party', 403);
  const bad = draftAgreement({ id: 'x', terms: { ...TERMS, parties: ['NL', 'NL'], extra: 1 }, knownJurisdictions: known }, ctx(NL));
  refused(t, bad, 'terms_invalid', 400);
  t.same(bad.ok ? [] : bad.error.problems?.map((p) => p.code).sort(), ['field_unknown', 'parties_identical']);
  // A party unknown to the registry is refused, even if the drafter is the other party.
  refused(t, draftAgreement({ id: 'x', terms: TERMS, knownJurisdictions: new Set(['NL']) }, ctx(NL)), 'terms_invalid', 400);
});

// ---------------------------------------------------------------------------
// Signing and activation
// ---------------------------------------------------------------------------

t.test('one signature does not activate; the second party\'s signature on the same version does', async (t) => {
  const d = draft();
  const one = ok(signBy(d, NL));
  t.equal(one.state.status, 'draft');
  t.same(one.events.map((e) => e.type), ['agreement.signed']);
  t.same(one.state.signatures, [{ jurisdiction: 'NL', sub: 'nl-officer', keyId: 'k-nl', signature: sig(NL, TERMS) }]);
  t.same(releaseDecision(releaseReq(one.state)), { allow: false, reason: 'agreement_inactive' }, 'no release on one signature');

  const two = ok(signBy(one.state, ICC));
  t.equal(two.state.status, 'active');
  t.equal(two.state.version, 1);
  t.same(two.events.map((e) => e.type), ['agreement.signed', 'agreement.activated']);
  t.same(two.events[1], { type: 'agreement.activated', subject: 'agreement:agr-1', data: { agreementId: 'agr-1', version: 1, termsHash: termsHash(TERMS) } });
  t.same(two.state.history.map((h) => [h.seq, h.type, h.status, h.version]), [
    [0, 'agreement.drafted', 'draft', 1],
    [1, 'agreement.signed', 'draft', 1],
    [2, 'agreement.signed', 'draft', 1],
    [3, 'agreement.activated', 'active', 1],
  ]);
  t.same(agreementStateProblems(two.state), []);
  t.same(releaseDecision(releaseReq(two.state)), { allow: true, agreement: { id: 'agr-1', version: 1 } });
  // Both stored signatures verify over JCS(terms) with each party's key.
  for (const s of two.state.signatures) {
    const key = s.jurisdiction === 'NL' ? NL.key : ICC.key;
    t.ok(ed25519Verify(key.publicKey, termsBytes(two.state.terms), decodeBase64(s.signature, 64)!), `${s.jurisdiction} signature verifies`);
  }
  // Order of signing does not matter.
  t.equal(ok(signBy(ok(signBy(d, ICC)).state, NL)).state.status, 'active');
});

function releaseReq(s: AgreementState) {
  return {
    bundle: { ownerJurisdiction: 'NL', status: 'sealed', crimeCategory: 'war_crimes', classification: 'restricted' },
    requester: { jurisdiction: 'NL' },
    recipient: 'ICC',
    purpose: 'prosecution',
    agreements: [snapshot(s)],
    now: NOW,
  };
}

t.test('signature refusals', async (t) => {
  const d = draft();
  const signedNL = ok(signBy(d, NL)).state;

  refused(t, signBy(d, DE), 'not_a_party', 403, 'a non-party cannot sign');
  refused(t, signBy(d, NL, { version: 2 }), 'version_mismatch', 409, 'future version');
  refused(t, signBy(d, NL, { version: 0 }), 'version_mismatch', 409, 'past version');
  refused(t, signBy(signedNL, NL), 'already_signed', 409, 'same officer again');
  refused(t, signBy(signedNL, NL2), 'already_signed', 409, 'another officer of the same party');
  refused(t, signBy(d, NL, { signature: sig(NL, AMENDED) }), 'signature_invalid', 422, 'signature over other terms');
  refused(t, signBy(d, NL, { signature: sig(NL, { ...TERMS, parties: ['ICC', 'NL'] }) }), 'signature_invalid', 422, 'signature over reordered parties');
  refused(t, signBy(d, NL, { signature: sig(ICC, TERMS) }), 'signature_invalid', 422, "the other party's signature submitted by NL");
  refused(t, signBy(d, NL, { signature: sig(DE, TERMS), signerKeys: [DE.key] }), 'signing_key_mismatch', 422, 'a key registered to another jurisdiction');
  refused(
    t,
    signBy(d, NL, { signature: sig(NL, TERMS), signerKeys: [{ ...NL.key, jurisdiction: 'ICC' }] }),
    'signing_key_mismatch',
    422,
    'NL officer holding a key registered for ICC',
  );
  refused(t, signBy(d, NL, { signature: sig(NL2, TERMS), signerKeys: [NL2.key] }), 'signing_key_mismatch', 422, "another NL officer's key");
  refused(t, signBy(d, NL, { signerKeys: [] }), 'no_signing_key', 422);
  refused(t, signBy(d, NL, { signature: 'not base64!' }), 'signature_invalid', 422, 'malformed base64');
  refused(t, signBy(d, NL, { signature: encodeBase64(Buffer.alloc(63)) }), 'signature_invalid', 422, '63 bytes');
  refused(t, signBy(d, NL, { signature: encodeBase64(Buffer.alloc(64)) }), 'signature_invalid', 422, 'zero signature');
  refused(t, signBy(active(), NL), 'invalid_transition', 409, 'signing an active agreement');

  // A failed signature leaves no trace: the next valid one is still accepted.
  t.equal(ok(signBy(d, NL)).state.signatures.length, 1);
});

t.test('signatures: canonical storage and key choice', async (t) => {
  const d = draft();
  // The last base64 character of 64 bytes carries 4 unused bits: another spelling of the same bytes.
  const canonical = sig(NL, TERMS);
  const last = canonical[canonical.length - 3]!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const variant = canonical.slice(0, -3) + alphabet[alphabet.indexOf(last) + 1] + '==';
  t.same(decodeBase64(variant, 64), decodeBase64(canonical, 64), 'fixture: same bytes');
  const s = ok(signBy(d, NL, { signature: variant })).state;
  t.equal(s.signatures[0]!.signature, canonical, 'stored in canonical base64');

  // With several registered keys, the one that verifies is recorded; foreign keys are never used.
  const rotated = officer('NL', 'nl-officer', 'k-nl-old');
  const keys = [{ ...rotated.key, iss: NL.actor.iss }, { ...DE.key }, NL.key];
  const r = ok(signBy(d, NL, { signerKeys: keys }));
  t.equal(r.state.signatures[0]!.keyId, 'k-nl');
  // DE's key is in the list, but a DE signature must not be accepted for NL.
  refused(t, signBy(d, NL, { signature: sig(DE, TERMS), signerKeys: keys }), 'signature_invalid', 422);
});

// ---------------------------------------------------------------------------
// Suspension, resumption, termination, amendment
// ---------------------------------------------------------------------------

t.test('suspend: either party, only from active, immediate', async (t) => {
  for (const by of [NL, ICC]) {
    const r = ok(applyAgreementAction(active(), { type: 'suspend', reason: 'review' }, ctx(by)));
    t.equal(r.state.status, 'suspended');
    t.equal(r.state.version, 1, 'no new version');
    t.same(r.events, [{ type: 'agreement.suspended', subject: 'agreement:agr-1', data: { agreementId: 'agr-1', version: 1, reason: 'review' } }]);
    t.same(releaseDecision(releaseReq(r.state)), { allow: false, reason: 'agreement_inactive' });
    t.same(agreementStateProblems(r.state), []);
  }
  const suspended = ok(applyAgreementAction(active(), { type: 'suspend', reason: 'review' }, ctx(NL))).state;
  refused(t, applyAgreementAction(draft(), { type: 'suspend', reason: 'x' }, ctx(NL)), 'invalid_transition', 409, 'suspending a draft');
  refused(t, applyAgreementAction(suspended, { type: 'suspend', reason: 'x' }, ctx(ICC)), 'invalid_transition', 409, 'suspending twice');
  refused(t, applyAgreementAction(active(), { type: 'suspend', reason: 'x' }, ctx(DE)), 'not_a_party', 403);
  for (const reason of ['', '   ', 'x'.repeat(501), 'bad \uDC00', 42 as unknown as string]) {
    refused(t, applyAgreementAction(active(), { type: 'suspend', reason }, ctx(NL)), 'reason_invalid', 400, `reason ${JSON.stringify(reason).slice(0, 20)}`);
  }
  t.ok(applyAgreementAction(active(), { type: 'suspend', reason: 'x'.repeat(500) }, ctx(NL)).ok, '500 characters are fine');
});

t.test('resume: only from suspended; new draft version with the same terms needing both signatures', async (t) => {
  const suspended = ok(applyAgreementAction(active(), { type: 'suspend', reason: 'review' }, ctx(NL))).state;
  const r = ok(applyAgreementAction(suspended, { type: 'resume' }, ctx(ICC)));
  t.equal(r.state.status, 'draft');
  t.equal(r.state.version, 2);
  t.same(r.state.terms, TERMS);
  t.same(r.state.signatures, [], 'old signatures do not carry over');
  t.same(r.events, [
    { type: 'agreement.resumed', subject: 'agreement:agr-1', data: { agreementId: 'agr-1', version: 2, previousVersion: 1, termsHash: termsHash(TERMS) } },
  ]);
  t.same(releaseDecision(releaseReq(r.state)), { allow: false, reason: 'agreement_inactive' }, 'resume alone does not reactivate');

  refused(t, signBy(r.state, NL, { version: 1 }), 'version_mismatch', 409, 'signing the old version');
  const one = ok(signBy(r.state, NL));
  t.equal(one.state.status, 'draft', 'one signature does not reactivate');
  const both = ok(signBy(one.state, ICC));
  t.equal(both.state.status, 'active');
  t.equal(both.state.version, 2);
  t.same(releaseDecision(releaseReq(both.state)), { allow: true, agreement: { id: 'agr-1', version: 2 } });

  refused(t, applyAgreementAction(active(), { type: 'resume' }, ctx(NL)), 'invalid_transition', 409, 'resume active');
  refused(t, applyAgreementAction(draft(), { type: 'resume' }, ctx(NL)), 'invalid_transition', 409, 'resume draft');
  refused(t, applyAgreementAction(r.state, { type: 'resume' }, ctx(NL)), 'invalid_transition', 409, 'resume the resumed draft');
  refused(t, applyAgreementAction(suspended, { type: 'resume' }, ctx(DE)), 'not_a_party', 403);
});

t.test('terminate: either party, from draft, active or suspended; final', async (t) => {
  const suspended = ok(applyAgreementAction(active(), { type: 'suspend', reason: 'review' }, ctx(NL))).state;
  for (const [name, state] of [
    ['draft', draft()],
    ['active', active()],
    ['suspended', suspended],
  ] as const) {
    for (const by of [NL, ICC]) {
      const r = ok(applyAgreementAction(state, { type: 'terminate', reason: 'treaty denounced' }, ctx(by)));
      t.equal(r.state.status, 'terminated', `${name} → terminated by ${by.actor.jurisdiction}`);
      t.same(r.events[0]?.data, { agreementId: 'agr-1', version: state.version, previousStatus: name, reason: 'treaty denounced' });
      t.same(agreementStateProblems(r.state), []);
    }
  }
  const terminated = ok(applyAgreementAction(active(), { type: 'terminate', reason: 'end' }, ctx(ICC))).state;
  t.same(releaseDecision(releaseReq(terminated)), { allow: false, reason: 'agreement_inactive' });
  const actions: AgreementAction[] = [
    { type: 'sign', version: 1, signature: sig(NL, TERMS), signerKeys: [NL.key] },
    { type: 'suspend', reason: 'x' },
    { type: 'terminate', reason: 'again' },
    { type: 'resume' },
    { type: 'amend', terms: AMENDED, knownJurisdictions: known },
  ];
  for (const a of actions) {
    for (const by of [NL, ICC]) refused(t, applyAgreementAction(terminated, a, ctx(by)), 'agreement_terminated', 409, `${a.type} after termination`);
    refused(t, applyAgreementAction(terminated, a, ctx(DE)), 'not_a_party', 403, `${a.type} by a non-party`);
  }
  refused(t, applyAgreementAction(active(), { type: 'terminate', reason: '' }, ctx(NL)), 'reason_invalid', 400);
});

t.test('amend: new draft version, releases stop until both parties sign the new terms', async (t) => {
  const r = ok(applyAgreementAction(active(), { type: 'amend', terms: AMENDED, knownJurisdictions: known }, ctx(ICC)));
  t.equal(r.state.status, 'draft');
  t.equal(r.state.version, 2);
  t.same(r.state.terms, AMENDED);
  t.equal(r.state.termsHash, termsHash(AMENDED));
  t.same(r.state.signatures, []);
  t.same(r.events, [
    {
      type: 'agreement.amended',
      subject: 'agreement:agr-1',
      data: { agreementId: 'agr-1', version: 2, termsHash: termsHash(AMENDED), parties: ['NL', 'ICC'], previousVersion: 1, previousStatus: 'active' },
    },
  ]);
  t.match(r.state.history.at(-1), { type: 'agreement.amended', version: 2, status: 'draft', terms: AMENDED });
  t.same(r.state.history[0]?.terms, TERMS, 'the earlier terms stay in history');
  t.same(releaseDecision(releaseReq(r.state)), { allow: false, reason: 'agreement_inactive' }, 'amendment suspends releases');

  refused(t, signBy(r.state, NL, { signature: sig(NL, TERMS) }), 'signature_invalid', 422, 'a signature over the old terms');
  refused(t, signBy(r.state, NL, { version: 1, signature: sig(NL, TERMS) }), 'version_mismatch', 409);
  const one = ok(signBy(r.state, NL));
  t.equal(one.state.status, 'draft');
  const both = ok(signBy(one.state, ICC));
  t.equal(both.state.status, 'active');
  t.same(releaseDecision(releaseReq(both.state)), { allow: true, agreement: { id: 'agr-1', version: 2 } });
  t.same(
    releaseDecision({ ...releaseReq(both.state), bundle: { ...releaseReq(both.state).bundle, classification: 'confidential' } }),
    { allow: false, reason: 'classification_exceeds' },
    'the narrower amended terms apply',
  );
});

t.test('amend: from draft discards pending signatures; from suspended; refusals', async (t) => {
  const signedNL = ok(signBy(draft(), NL)).state;
  const fromDraft = ok(applyAgreementAction(signedNL, { type: 'amend', terms: AMENDED, knownJurisdictions: known }, ctx(ICC))).state;
  t.equal(fromDraft.version, 2);
  t.same(fromDraft.signatures, [], 'the pending NL signature was on version 1');
  t.equal(ok(signBy(fromDraft, ICC)).state.status, 'draft', 'ICC alone cannot activate version 2');

  const suspended = ok(applyAgreementAction(active(), { type: 'suspend', reason: 'review' }, ctx(NL))).state;
  const fromSuspended = ok(applyAgreementAction(suspended, { type: 'amend', terms: AMENDED, knownJurisdictions: known }, ctx(NL))).state;
  t.equal(fromSuspended.status, 'draft');
  t.equal(fromSuspended.version, 2);

  const swapped = { ...AMENDED, parties: ['ICC', 'NL'], direction: 'b_to_a' };
  t.ok(applyAgreementAction(active(), { type: 'amend', terms: swapped, knownJurisdictions: known }, ctx(NL)).ok, 'party order may change');
  refused(
    t,
    applyAgreementAction(active(), { type: 'amend', terms: { ...AMENDED, parties: ['NL', 'DE'] }, knownJurisdictions: known }, ctx(NL)),
    'parties_changed',
    422,
  );
  refused(t, applyAgreementAction(active(), { type: 'amend', terms: TERMS, knownJurisdictions: known }, ctx(NL)), 'terms_unchanged', 409);
  const invalid = applyAgreementAction(active(), { type: 'amend', terms: { ...AMENDED, purposes: [] }, knownJurisdictions: known }, ctx(NL));
  refused(t, invalid, 'terms_invalid', 400);
  t.same(invalid.ok ? null : invalid.error.problems, [{ code: 'purposes_empty', path: '/purposes', detail: 'purposes must list at least one purpose' }]);
  refused(t, applyAgreementAction(active(), { type: 'amend', terms: AMENDED, knownJurisdictions: known }, ctx(DE)), 'not_a_party', 403);
});

t.test('actions never mutate the state they are given', async (t) => {
  const s = active();
  const before = structuredClone(s);
  ok(applyAgreementAction(s, { type: 'suspend', reason: 'r' }, ctx(NL)));
  ok(applyAgreementAction(s, { type: 'amend', terms: AMENDED, knownJurisdictions: known }, ctx(NL)));
  ok(applyAgreementAction(s, { type: 'terminate', reason: 'r' }, ctx(NL)));
  const d = draft();
  const dBefore = structuredClone(d);
  ok(signBy(d, NL));
  t.same(s, before);
  t.same(d, dBefore);
});

t.test('a corrupt stored state is refused, not acted on', async (t) => {
  const d = draft();
  const cases: [string, AgreementState][] = [
    ['active without signatures', { ...d, status: 'active', history: [{ ...d.history[0]!, status: 'active' }] }],
    ['terms changed under the hash', { ...d, terms: AMENDED }],
    ['signature by a non-party', { ...d, signatures: [{ jurisdiction: 'DE', sub: 'x', keyId: 'k', signature: sig(DE, TERMS) }] }],
    ['status disagreeing with history', { ...d, status: 'suspended' }],
    ['unknown status', { ...d, status: 'paused' as AgreementState['status'] }],
    ['empty history', { ...d, history: [] }],
  ];
  for (const [name, state] of cases) {
    t.not(agreementStateProblems(state).length, 0, name);
    refused(t, applyAgreementAction(state, { type: 'terminate', reason: 'x' }, ctx(NL)), 'agreement_state_invalid', 500, name);
  }
});

// ---------------------------------------------------------------------------
// Model-based property: random action sequences against a small model
// ---------------------------------------------------------------------------

type Step =
  | { kind: 'sign'; who: 0 | 1 | 2; versionDelta: number; forge: 'none' | 'other_terms' | 'foreign_key' }
  | { kind: 'suspend' | 'terminate' | 'resume'; who: 0 | 1 | 2 }
  | { kind: 'amend'; who: 0 | 1 | 2; variant: 0 | 1 | 2 };

const VARIANTS: AgreementTerms[] = [TERMS, AMENDED, { ...TERMS, purposes: ['trial_support'] }];
const WHO = [NL, ICC, DE] as const;

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('sign' as const), who: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>, versionDelta: fc.constantFrom(0, 0, 0, -1, 1), forge: fc.constantFrom('none', 'none', 'none', 'other_terms', 'foreign_key') as fc.Arbitrary<'none' | 'other_terms' | 'foreign_key'> }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('suspend' as const, 'terminate' as const, 'resume' as const), who: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2> }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('amend' as const), who: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>, variant: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2> }) },
);

t.test('model: random action sequences keep every invariant', async (t) => {
  fc.assert(
    fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
      let state = draft();
      // The model: what the SPEC says should happen, tracked independently.
      let status: AgreementState['status'] = 'draft';
      let version = 1;
      let terms = TERMS;
      let signed = new Set<string>();
      for (const step of steps) {
        const who = WHO[step.who];
        let action: AgreementAction;
        if (step.kind === 'sign') {
          const signer = step.forge === 'foreign_key' ? DE : who;
          const signedTerms = step.forge === 'other_terms' ? { ...terms, legalBasis: 'something else' } : terms;
          action = { type: 'sign', version: state.version + step.versionDelta, signature: sig(signer, signedTerms), signerKeys: [who.key] };
        } else if (step.kind === 'amend') {
          action = { type: 'amend', terms: VARIANTS[step.variant], knownJurisdictions: known };
        } else if (step.kind === 'resume') {
          action = { type: 'resume' };
        } else {
          action = { type: step.kind, reason: 'because' };
        }
        const r = applyAgreementAction(state, action, ctx(who));

        // Expected outcome from the model.
        let expect: string;
        const j = who.actor.jurisdiction;
        if (j === 'DE') expect = 'not_a_party';
        else if (status === 'terminated') expect = 'agreement_terminated';
        else if (step.kind === 'sign') {
          if (status !== 'draft') expect = 'invalid_transition';
          else if (step.versionDelta !== 0) expect = 'version_mismatch';
          else if (signed.has(j)) expect = 'already_signed';
          else if (step.forge !== 'none') expect = 'signature_invalid';
          else expect = signed.size === 1 ? 'activated' : 'signed';
        } else if (step.kind === 'suspend') expect = status === 'active' ? 'ok' : 'invalid_transition';
        else if (step.kind === 'resume') expect = status === 'suspended' ? 'ok' : 'invalid_transition';
        else if (step.kind === 'terminate') expect = 'ok';
        else if (step.kind === 'amend') expect = VARIANTS[step.variant] === terms ? 'terms_unchanged' : 'ok';
        else throw new Error('unreachable');

        if (!r.ok) {
          if (r.error.code !== expect) throw new Error(`expected ${expect}, got ${r.error.code} for ${JSON.stringify(step)} in ${status}`);
          continue;
        }
        if (['not_a_party', 'agreement_terminated', 'invalid_transition', 'version_mismatch', 'already_signed', 'signature_invalid', 'terms_unchanged'].includes(expect)) {
          throw new Error(`expected ${expect}, got success for ${JSON.stringify(step)} in ${status}`);
        }
        // Advance the model.
        if (step.kind === 'sign') {
          signed.add(j);
          if (signed.size === 2) status = 'active';
        } else if (step.kind === 'suspend') status = 'suspended';
        else if (step.kind === 'terminate') status = 'terminated';
        else if (step.kind === 'resume') {
          status = 'draft';
          version++;
          signed = new Set();
        } else if (step.kind === 'amend') {
          status = 'draft';
          version++;
          terms = VARIANTS[step.variant]!;
          signed = new Set();
        }

        const prev = state;
        state = r.state;
        // Invariants.
        if (state.status !== status || state.version !== version || state.terms !== terms && termsHash(state.terms) !== termsHash(terms)) {
          throw new Error(`state ${state.status}/v${state.version} differs from model ${status}/v${version}`);
        }
        if (agreementStateProblems(state).length > 0) throw new Error(agreementStateProblems(state).join('; '));
        if (state.history.length !== prev.history.length + r.events.length) throw new Error('history and events out of step');
        r.events.forEach((e, i) => {
          const item = state.history[prev.history.length + i]!;
          if (item.type !== e.type || item.data !== e.data || e.subject !== 'agreement:agr-1') throw new Error('history item does not match event');
        });
        if (JSON.stringify(state.history.slice(0, prev.history.length)) !== JSON.stringify(prev.history)) throw new Error('history rewritten');
        if (state.status === 'active') {
          // Active means: both parties' registered keys verify over JCS of the current terms.
          for (const p of state.terms.parties) {
            const s = state.signatures.find((x) => x.jurisdiction === p);
            const key = p === 'NL' ? NL.key : ICC.key;
            if (!s || !ed25519Verify(key.publicKey, termsBytes(state.terms), decodeBase64(s.signature, 64)!)) throw new Error('active without valid signatures');
          }
        }
        const allowedNow = releaseDecision(releaseReq(state)).allow;
        if (allowedNow && state.status !== 'active') throw new Error('release allowed while not active');
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass();
});
