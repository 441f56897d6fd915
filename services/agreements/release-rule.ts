/**
 * The release rule of SPEC §3, evaluated when a release is granted
 * (`releaseDecision`) and again at every access by a recipient
 * (`liveReleaseDecision`). Pure: the caller supplies the agreements and `now`.
 *
 * Decisions:
 *
 * - Reasons are checked in exactly the SPEC's order, per agreement:
 *   no_agreement, agreement_inactive, agreement_expired,
 *   direction_not_permitted, crime_category_not_covered,
 *   classification_exceeds, purpose_not_permitted, then the two conditions
 *   that do not depend on an agreement: bundle_not_sealed, not_owner.
 *   Consequence to know at the route: a non-owner is told `not_owner` only when
 *   everything else would pass, so the answer can reveal facts about the
 *   owner's agreements. Routes must refuse callers who may not see the bundle
 *   (404, SPEC §2) before asking this function.
 * - Several agreements between O and R: each is taken through the checks and
 *   the one that gets furthest decides the reason (its first failing check);
 *   the release is allowed iff some single agreement passes every check —
 *   conditions are never combined across agreements (category from one,
 *   purpose from another does not make a release). Among several passing
 *   agreements the one with the smallest (id, version) is named, so the answer
 *   never depends on the order of the list.
 * - "Between O and R" means the parties are exactly {O, R} in either order;
 *   O = R never has an agreement (self-agreements cannot exist).
 * - Validity window: validFrom inclusive, validUntil exclusive:
 *   validFrom ≤ now < validUntil. Unparseable stored bounds count as expired.
 * - Anything outside the vocabularies (a status, a classification) fails
 *   closed: an unknown bundle classification always exceeds, an unknown
 *   agreement status is inactive.
 * - `onwardTransfer` is not part of this rule: only the owner may release
 *   (`not_owner`), so a recipient can never pass evidence on through evx.
 */
import { CLASSIFICATIONS } from '../shared/vocabulary.js';
import { directionPermits, isBetween, parseRfc3339, type AgreementTerms } from './terms.js';
import type { AgreementStatus } from './lifecycle.js';

/** In precedence order: the first failing reason is reported. */
export const RELEASE_DENIAL_REASONS = [
  'no_agreement',
  'agreement_inactive',
  'agreement_expired',
  'direction_not_permitted',
  'crime_category_not_covered',
  'classification_exceeds',
  'purpose_not_permitted',
  'bundle_not_sealed',
  'not_owner',
] as const;
export type ReleaseDenialReason = (typeof RELEASE_DENIAL_REASONS)[number];

/** Reasons a recipient's access fails the live check; the agreement reasons keep the SPEC order. */
export const LIVE_DENIAL_REASONS = [
  'not_recipient',
  'release_revoked',
  'no_agreement',
  'agreement_inactive',
  'agreement_expired',
  'direction_not_permitted',
  'crime_category_not_covered',
  'classification_exceeds',
  'purpose_not_permitted',
  'bundle_not_sealed',
] as const;
export type LiveDenialReason = (typeof LIVE_DENIAL_REASONS)[number];

/** The current state of an agreement, as the release rule needs it. */
export interface AgreementSnapshot {
  id: string;
  version: number;
  status: AgreementStatus;
  terms: AgreementTerms;
}

export interface BundleFacts {
  ownerJurisdiction: string;
  /** `open` or `sealed`; anything but `sealed` is not sealed. */
  status: string;
  crimeCategory: string;
  classification: string;
}

export interface ReleaseRequest {
  bundle: BundleFacts;
  requester: { jurisdiction: string };
  recipient: string;
  purpose: string;
  agreements: readonly AgreementSnapshot[];
  now: Date;
}

export type ReleaseDecision =
  | { allow: true; agreement: { id: string; version: number } }
  | { allow: false; reason: ReleaseDenialReason };

/** A granted release as stored. */
export interface ReleaseRecord {
  recipient: string;
  purpose: string;
  agreementId: string;
  /** The version it was granted under: kept for audit; liveness is judged on the agreement's current version. */
  agreementVersion: number;
  /** RFC 3339, or null while not revoked. */
  revokedAt: string | null;
}

export interface LiveReleaseRequest {
  bundle: BundleFacts;
  /** The jurisdiction of the caller trying to read the bundle. */
  accessor: { jurisdiction: string };
  release: ReleaseRecord;
  /** The current state of the release's agreement, or null if it cannot be found. */
  agreement: AgreementSnapshot | null;
  now: Date;
}

export type LiveReleaseDecision =
  | { allow: true; agreement: { id: string; version: number } }
  | { allow: false; reason: LiveDenialReason };

/** Agreement checks 1..6 of SPEC §3 in order (no_agreement is check 0, decided by party match). */
type AgreementCheck = { reason: ReleaseDenialReason & LiveDenialReason; holds: (a: AgreementSnapshot) => boolean };

function rankOf(c: string): number {
  return (CLASSIFICATIONS as readonly string[]).indexOf(c);
}

function insideValidity(terms: AgreementTerms, now: Date): boolean {
  const t = now.getTime();
  const from = parseRfc3339(terms.validFrom);
  const until = parseRfc3339(terms.validUntil);
  if (from === null || until === null || Number.isNaN(t)) return false;
  return from <= t && t < until;
}

function agreementChecks(owner: string, recipient: string, bundle: BundleFacts, purpose: string, now: Date): AgreementCheck[] {
  return [
    { reason: 'agreement_inactive', holds: (a) => a.status === 'active' },
    { reason: 'agreement_expired', holds: (a) => insideValidity(a.terms, now) },
    { reason: 'direction_not_permitted', holds: (a) => directionPermits(a.terms, owner, recipient) },
    { reason: 'crime_category_not_covered', holds: (a) => (a.terms.crimeCategories as readonly string[]).includes(bundle.crimeCategory) },
    {
      reason: 'classification_exceeds',
      holds: (a) => {
        const have = rankOf(bundle.classification);
        const max = rankOf(a.terms.maxClassification);
        return have >= 0 && max >= 0 && have <= max;
      },
    },
    { reason: 'purpose_not_permitted', holds: (a) => a.terms.purposes.includes(purpose) },
  ];
}

/** Index of the first failing check, or checks.length if all hold. */
function progress(a: AgreementSnapshot, checks: readonly AgreementCheck[]): number {
  const i = checks.findIndex((c) => !c.holds(a));
  return i === -1 ? checks.length : i;
}

function compareIdVersion(x: AgreementSnapshot, y: AgreementSnapshot): number {
  if (x.id !== y.id) return x.id < y.id ? -1 : 1;
  return x.version - y.version;
}

/**
 * Pick, among agreements between the two jurisdictions, the one that gets
 * furthest through the checks; ties go to the smallest (id, version).
 */
function furthest(
  agreements: readonly AgreementSnapshot[],
  owner: string,
  recipient: string,
  checks: readonly AgreementCheck[],
): { agreement: AgreementSnapshot; failedAt: number } | null {
  let best: { agreement: AgreementSnapshot; failedAt: number } | null = null;
  for (const agreement of agreements) {
    if (!isBetween(agreement.terms, owner, recipient)) continue;
    const failedAt = progress(agreement, checks);
    if (best === null || failedAt > best.failedAt || (failedAt === best.failedAt && compareIdVersion(agreement, best.agreement) < 0)) {
      best = { agreement, failedAt };
    }
  }
  return best;
}

/** Decide a release request (POST /v1/bundles/:id/releases). */
export function releaseDecision(request: ReleaseRequest): ReleaseDecision {
  const { bundle, requester, recipient, purpose, agreements, now } = request;
  const owner = bundle.ownerJurisdiction;
  const checks = agreementChecks(owner, recipient, bundle, purpose, now);
  const best = furthest(agreements, owner, recipient, checks);
  if (best === null) return { allow: false, reason: 'no_agreement' };
  const failed = checks[best.failedAt];
  if (failed) return { allow: false, reason: failed.reason };
  if (bundle.status !== 'sealed') return { allow: false, reason: 'bundle_not_sealed' };
  if (requester.jurisdiction !== owner) return { allow: false, reason: 'not_owner' };
  return { allow: true, agreement: { id: best.agreement.id, version: best.agreement.version } };
}

/**
 * The check at every access by a recipient: the release must not be revoked,
 * must be the accessor's, and the agreement it was granted under must — now,
 * in its current version — be active, in validity, between owner and
 * recipient, permit owner → recipient, and cover the bundle's category,
 * classification and the release's purpose. No other agreement can stand in:
 * a release lives and dies with its own agreement.
 */
export function liveReleaseDecision(request: LiveReleaseRequest): LiveReleaseDecision {
  const { bundle, accessor, release, agreement, now } = request;
  if (accessor.jurisdiction !== release.recipient) return { allow: false, reason: 'not_recipient' };
  if (release.revokedAt !== null) return { allow: false, reason: 'release_revoked' };
  const owner = bundle.ownerJurisdiction;
  if (agreement === null || agreement.id !== release.agreementId || !isBetween(agreement.terms, owner, release.recipient)) {
    return { allow: false, reason: 'no_agreement' };
  }
  const checks = agreementChecks(owner, release.recipient, bundle, release.purpose, now);
  const failed = checks[progress(agreement, checks)];
  if (failed) return { allow: false, reason: failed.reason };
  if (bundle.status !== 'sealed') return { allow: false, reason: 'bundle_not_sealed' };
  return { allow: true, agreement: { id: agreement.id, version: agreement.version } };
}
