/**
 * `bundleAccess` (services/bundles/access.ts): who may see a bundle's
 * metadata, its ciphertext and key wrap, and its custody. Pure, so it is
 * tested here as a table of the callers the system knows and with
 * fast-check properties over every combination of jurisdiction, issuer,
 * subject, roles and release facts. The HTTP consequences of the same rule are
 * in test/agreements/authorization-matrix.test.ts.
 */
import fc from 'fast-check';
import t from 'tap';
import type { Principal } from '../../services/auth/principal.js';
import { bundleAccess, type BundleAccess, type ReleaseFacts } from '../../services/bundles/access.js';
import { ROLES, type Role } from '../../services/shared/vocabulary.js';

const NL_ISS = 'https://idp.nl.example';
const ICC_ISS = 'https://idp.icc.example';
const DE_ISS = 'https://idp.de.example';
const OP_ISS = 'https://operator.example';

const BUNDLE = { ownerJurisdiction: 'NL', uploader: { issuer: NL_ISS, sub: 'nl-uploader' } };

function principal(jurisdiction: string | null, roles: Role[], sub = 'someone', issuer?: string): Principal {
  const iss = issuer ?? (jurisdiction === 'NL' ? NL_ISS : jurisdiction === 'ICC' ? ICC_ISS : jurisdiction === 'DE' ? DE_ISS : OP_ISS);
  return { issuer: iss, sub, jurisdiction, operator: jurisdiction === null, roles: new Set(roles) };
}

const NONE: ReleaseFacts = { live: false, any: false };
const LIVE: ReleaseFacts = { live: true, any: true };
const PAST: ReleaseFacts = { live: false, any: true };

function expected(over: Partial<BundleAccess>): BundleAccess {
  return { ownerJurisdiction: false, uploader: false, liveRecipient: false, pastOrPresentRecipient: false, content: false, view: false, custody: false, ...over };
}

t.test('table: each kind of caller gets exactly these rights', async (t) => {
  const owner = { ownerJurisdiction: true, view: true, custody: true };
  const ownerContent = { ...owner, content: true };
  const live = { liveRecipient: true, pastOrPresentRecipient: true, view: true, custody: true };
  const cases: Array<[string, Principal, ReleaseFacts, BundleAccess]> = [
    ['owner investigator, the uploader', principal('NL', ['investigator'], 'nl-uploader'), NONE, expected({ ...ownerContent, uploader: true })],
    ['owner investigator, not the uploader', principal('NL', ['investigator'], 'nl-other'), NONE, expected(ownerContent)],
    ['the uploader\'s sub at another issuer of the same jurisdiction is not the uploader', principal('NL', ['investigator'], 'nl-uploader', 'https://other-idp.nl.example'), NONE, expected(ownerContent)],
    ['the uploader\'s sub in another jurisdiction is nobody', principal('DE', ['investigator'], 'nl-uploader'), NONE, expected({})],
    ['owner registry', principal('NL', ['registry']), NONE, expected(ownerContent)],
    ['owner agreement officer: metadata and custody, no content', principal('NL', ['agreement_officer']), NONE, expected(owner)],
    ['owner auditor: metadata and custody, no content', principal('NL', ['auditor']), NONE, expected(owner)],
    ['owner token without roles: metadata and custody, no content', principal('NL', []), NONE, expected(owner)],
    ['live recipient registry', principal('ICC', ['registry']), LIVE, expected({ ...live, content: true })],
    ['live recipient investigator', principal('ICC', ['investigator']), LIVE, expected({ ...live, content: true })],
    ['live recipient agreement officer: no content', principal('ICC', ['agreement_officer']), LIVE, expected(live)],
    ['live recipient token without roles: no content', principal('ICC', []), LIVE, expected(live)],
    ['past recipient registry (revoked, suspended, expired, terminated): custody only', principal('ICC', ['registry']), PAST, expected({ pastOrPresentRecipient: true, custody: true })],
    ['past recipient investigator: custody only', principal('ICC', ['investigator']), PAST, expected({ pastOrPresentRecipient: true, custody: true })],
    ['recipient jurisdiction auditor, live: metadata and custody', principal('ICC', ['auditor']), LIVE, expected(live)],
    ['recipient jurisdiction auditor, past: metadata and custody', principal('ICC', ['auditor']), PAST, expected({ pastOrPresentRecipient: true, view: true, custody: true })],
    ['unrelated investigator', principal('DE', ['investigator']), NONE, expected({})],
    ['unrelated registry', principal('DE', ['registry']), NONE, expected({})],
    ['unrelated auditor', principal('DE', ['auditor']), NONE, expected({})],
    ['unrelated, every role', principal('DE', ['investigator', 'registry', 'agreement_officer', 'auditor']), NONE, expected({})],
    ['operator auditor: metadata and custody, never content', principal(null, ['auditor']), NONE, expected({ view: true, custody: true })],
    ['operator auditor with content roles: still no content', principal(null, ['auditor', 'investigator', 'registry']), NONE, expected({ view: true, custody: true })],
    ['operator admin: nothing', principal(null, ['admin']), NONE, expected({})],
    ['operator investigator: nothing', principal(null, ['investigator', 'registry']), NONE, expected({})],
    ['operator with (impossible) live facts: nothing', principal(null, ['registry']), LIVE, expected({})],
    ['owner with (impossible) release facts: just the owner', principal('NL', ['registry']), LIVE, expected(ownerContent)],
  ];
  for (const [name, p, facts, want] of cases) t.same(bundleAccess(BUNDLE, p, facts), want, name);
});

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

const jurisdictionArb = fc.constantFrom<string | null>('NL', 'ICC', 'DE', null);
const rolesArb = fc.subarray([...ROLES]) as fc.Arbitrary<Role[]>;
const subArb = fc.constantFrom('nl-uploader', 'someone', 'icc-registry');
const issuerArb = fc.constantFrom(NL_ISS, ICC_ISS, DE_ISS, OP_ISS, 'https://other-idp.nl.example');
/** Realistic principals (operator iff no jurisdiction, as principalFromClaims makes them) and, rarely, impossible ones. */
const principalArb: fc.Arbitrary<Principal> = fc
  .record({ jurisdiction: jurisdictionArb, roles: rolesArb, sub: subArb, issuer: issuerArb, flipOperator: fc.boolean().map((b) => b && Math.random() < 0.2) })
  .map(({ jurisdiction, roles, sub, issuer, flipOperator }) => ({
    issuer,
    sub,
    jurisdiction,
    // Mostly consistent; sometimes an operator flag on a jurisdiction's token (or none on the operator's) to check the rule fails closed.
    operator: flipOperator ? jurisdiction !== null : jurisdiction === null,
    roles: new Set(roles),
  }));
/** Any facts, including the impossible live-but-never-released. */
const factsArb: fc.Arbitrary<ReleaseFacts> = fc.record({ live: fc.boolean(), any: fc.boolean() });
const bundleArb = fc.record({
  ownerJurisdiction: fc.constantFrom('NL', 'ICC', 'DE'),
  uploader: fc.record({ issuer: issuerArb, sub: subArb }),
});
const numRuns = 2000;

const handlesContent = (p: Principal): boolean => p.roles.has('investigator') || p.roles.has('registry');

t.test('property: ciphertext and key wraps only for investigators and registries of the owner or a live recipient', async (t) => {
  fc.assert(
    fc.property(bundleArb, principalArb, factsArb, (bundle, p, facts) => {
      const a = bundleAccess(bundle, p, facts);
      const ownerOrLive = p.jurisdiction !== null && (p.jurisdiction === bundle.ownerJurisdiction || facts.live);
      return a.content === (ownerOrLive && handlesContent(p));
    }),
    { numRuns },
  );
  t.pass('content ⇔ (owner ∨ live recipient) ∧ (investigator ∨ registry)');
});

t.test('property: the operator (no jurisdiction) never gets content, ownership or recipient rights, whatever its roles and facts', async (t) => {
  fc.assert(
    fc.property(bundleArb, principalArb, factsArb, (bundle, p0, facts) => {
      const p = { ...p0, jurisdiction: null };
      const a = bundleAccess(bundle, p, facts);
      return !a.content && !a.ownerJurisdiction && !a.uploader && !a.liveRecipient && !a.pastOrPresentRecipient;
    }),
    { numRuns },
  );
  t.pass('operator: no content');
});

t.test('property: a stranger (not owner, never a recipient, not the operator\'s auditor) gets nothing at all', async (t) => {
  fc.assert(
    fc.property(bundleArb, principalArb, (bundle, p) => {
      fc.pre(p.jurisdiction !== bundle.ownerJurisdiction && !(p.operator && p.roles.has('auditor')));
      const a = bundleAccess(bundle, p, NONE);
      return Object.values(a).every((v) => v === false);
    }),
    { numRuns },
  );
  t.pass('stranger: all false');
});

t.test('property: the implications between the rights hold for every input', async (t) => {
  fc.assert(
    fc.property(bundleArb, principalArb, factsArb, (bundle, p, facts) => {
      const a = bundleAccess(bundle, p, facts);
      const checks: Array<[string, boolean]> = [
        ['content ⇒ view', !a.content || a.view],
        ['view ⇒ custody (whoever sees a bundle sees its custody)', !a.view || a.custody],
        ['uploader ⇒ ownerJurisdiction', !a.uploader || a.ownerJurisdiction],
        ['uploader ⇔ owner ∧ same issuer ∧ same sub', a.uploader === (a.ownerJurisdiction && p.issuer === bundle.uploader.issuer && p.sub === bundle.uploader.sub)],
        ['ownerJurisdiction ⇔ caller acts for the owner', a.ownerJurisdiction === (p.jurisdiction !== null && p.jurisdiction === bundle.ownerJurisdiction)],
        ['liveRecipient ⇒ live facts ∧ not owner', !a.liveRecipient || (facts.live && !a.ownerJurisdiction)],
        ['liveRecipient ⇒ pastOrPresentRecipient', !a.liveRecipient || a.pastOrPresentRecipient],
        ['owner and recipient exclude each other', !(a.ownerJurisdiction && a.pastOrPresentRecipient)],
        ['view ⇒ owner ∨ live recipient ∨ auditor', !a.view || a.ownerJurisdiction || a.liveRecipient || p.roles.has('auditor')],
        ['custody ⇒ owner ∨ recipient ∨ auditor', !a.custody || a.ownerJurisdiction || a.pastOrPresentRecipient || p.roles.has('auditor')],
        ['an auditor sees only what its jurisdiction owns or received, or everything if it is the operator\'s',
          !(p.roles.has('auditor') && a.view) || p.operator || a.ownerJurisdiction || a.pastOrPresentRecipient],
      ];
      const failed = checks.filter(([, ok]) => !ok).map(([name]) => name);
      if (failed.length > 0) throw new Error(`violated: ${failed.join('; ')}`);
      return true;
    }),
    { numRuns },
  );
  t.pass('all implications hold');
});

function atMost(a: BundleAccess, b: BundleAccess): boolean {
  return (Object.keys(a) as Array<keyof BundleAccess>).every((k) => !a[k] || b[k]);
}

t.test('property: losing the live release (revocation, suspension, expiry, termination) never grants more', async (t) => {
  fc.assert(
    fc.property(bundleArb, principalArb, fc.boolean(), (bundle, p, any) => {
      const dead = bundleAccess(bundle, p, { live: false, any });
      const live = bundleAccess(bundle, p, { live: true, any });
      return atMost(dead, live) && !dead.liveRecipient && (p.jurisdiction === bundle.ownerJurisdiction || !dead.content);
    }),
    { numRuns },
  );
  t.pass('monotone in the live fact');
});

t.test('property: fewer roles never grant more; unknown roles and admin grant nothing on a bundle', async (t) => {
  fc.assert(
    fc.property(bundleArb, principalArb, factsArb, rolesArb, (bundle, p, facts, subset) => {
      const fewer = { ...p, roles: new Set([...subset].filter((r) => p.roles.has(r))) };
      const withAdmin = { ...p, roles: new Set([...p.roles, 'admin' as Role]) };
      const full = bundleAccess(bundle, p, facts);
      return atMost(bundleAccess(bundle, fewer, facts), full) && JSON.stringify(bundleAccess(bundle, withAdmin, facts)) === JSON.stringify(bundleAccess(bundle, p, { ...facts }));
    }),
    { numRuns },
  );
  t.pass('monotone in roles');
});

t.test('property: the answer depends on the caller\'s jurisdiction, not on the name of its issuer or subject (except uploader)', async (t) => {
  fc.assert(
    fc.property(bundleArb, principalArb, factsArb, issuerArb, subArb, (bundle, p, facts, issuer, sub) => {
      const a = bundleAccess(bundle, p, facts);
      const b = bundleAccess(bundle, { ...p, issuer, sub }, facts);
      return JSON.stringify({ ...a, uploader: false }) === JSON.stringify({ ...b, uploader: false });
    }),
    { numRuns },
  );
  t.pass('issuer and sub only decide the uploader');
});
