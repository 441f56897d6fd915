/**
 * The agreement state machine of SPEC §2–3 as pure functions: no I/O, no
 * clock, no key lookup. The caller (routes/repository) loads the state, the
 * caller's registered officer keys and the set of known jurisdictions, calls
 * `draftAgreement` or `applyAgreementAction`, and on success stores the new
 * state and appends the returned custody events — atomically, in one
 * transaction, or not at all.
 *
 * Decisions:
 *
 * - "Version" is the version of the terms under signature. It starts at 1 and
 *   goes up by one for every new draft: amendment (`POST …/versions`) and
 *   resumption (`POST …/resume`). Signatures, activation, suspension and
 *   termination do not bump it, they add history items: otherwise the first
 *   signature would make the version the other party was asked to sign stale,
 *   and `POST …/signatures {version}` could never name a version both parties
 *   sign. SPEC §3's "every change makes a new version" is read as "every change
 *   makes a new history item" (each with its own `seq` and custody event).
 * - A draft becomes active when both parties have signed the current version.
 *   Signatures of earlier versions never count: amendment and resumption start
 *   with no signatures.
 * - One signature per party per version. A second one from the same party —
 *   even by another officer or key of that jurisdiction — is refused
 *   (`already_signed`), never replaces the first.
 * - A signature counts only if it verifies, under Ed25519, over JCS(terms) of
 *   the current version with a key registered to the calling officer
 *   (same issuer, subject and jurisdiction), and the caller's jurisdiction is a
 *   party. The signature is stored re-encoded in canonical base64 so that
 *   different spellings of the same bytes cannot coexist.
 * - Amending an agreement (new terms) makes a new draft version, whatever the
 *   state it came from (draft, active or suspended). Releases stop at once:
 *   a draft is not active, so the release rule refuses with
 *   `agreement_inactive` until both parties have signed the new terms. This is
 *   the safe choice: an amendment may narrow the terms, and neither party has
 *   yet agreed to the new text. Amendments keep the same two parties (order may
 *   change, since both re-sign anyway) and must change the terms.
 * - Suspension: only from active; termination: from draft, active or
 *   suspended. Either party alone suffices and the effect is immediate.
 *   Terminated is final: every action on it fails with `agreement_terminated`.
 * - Resumption: only from suspended; it makes a new draft version with the
 *   same terms, needing both signatures again. Caveat (see report): Ed25519 is
 *   deterministic and the SPEC signs only JCS(terms), so a "fresh" signature
 *   over unchanged terms is byte-identical to the old one. What makes it fresh
 *   is that the officer must submit it again through an authenticated request.
 * - Check order for every action: party membership (403) first, then the
 *   terminated/transition conflicts (409), then input (400/422). Role checks
 *   (`agreement_officer`) belong to the route, which knows the token.
 */
import { decodeBase64, encodeBase64 } from '../shared/encoding.js';
import { ed25519Verify } from '../shared/ed25519.js';
import { isBetween, isParty, termsBytes, termsHash, validateTerms, type AgreementTerms, type TermsProblem } from './terms.js';

export const AGREEMENT_STATUSES = ['draft', 'active', 'suspended', 'terminated'] as const;
export type AgreementStatus = (typeof AGREEMENT_STATUSES)[number];

export const REASON_MAX_LENGTH = 500;

/** Who acts: the verified token's identity. */
export interface Actor {
  iss: string;
  sub: string;
  jurisdiction: string;
}

/** An officer's registered Ed25519 key (POST /v1/officers/me/keys), as bound at registration. */
export interface OfficerKey {
  keyId: string;
  iss: string;
  sub: string;
  jurisdiction: string;
  /** Raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
}

export interface AgreementSignature {
  jurisdiction: string;
  sub: string;
  keyId: string;
  /** Standard padded base64 of the 64-byte Ed25519 signature over JCS(terms). */
  signature: string;
}

export type AgreementEventType =
  | 'agreement.drafted'
  | 'agreement.signed'
  | 'agreement.activated'
  | 'agreement.suspended'
  | 'agreement.resumed'
  | 'agreement.terminated'
  | 'agreement.amended';

/*
 * Custody event data: ids, hashes, jurisdictions and reasons only (SPEC §4).
 * The terms themselves stay in the agreement's history; their hash in the log
 * binds them.
 */
export interface DraftedData {
  agreementId: string;
  version: number;
  termsHash: string;
  parties: [string, string];
}
export interface AmendedData extends DraftedData {
  previousVersion: number;
  previousStatus: AgreementStatus;
}
export interface SignedData {
  agreementId: string;
  version: number;
  termsHash: string;
  jurisdiction: string;
  sub: string;
  keyId: string;
  signature: string;
}
export interface ActivatedData {
  agreementId: string;
  version: number;
  termsHash: string;
}
export interface SuspendedData {
  agreementId: string;
  version: number;
  reason: string;
}
export interface ResumedData {
  agreementId: string;
  version: number;
  previousVersion: number;
  termsHash: string;
}
export interface TerminatedData {
  agreementId: string;
  version: number;
  previousStatus: AgreementStatus;
  reason: string;
}

export type AgreementEvent =
  | { type: 'agreement.drafted'; subject: string; data: DraftedData }
  | { type: 'agreement.amended'; subject: string; data: AmendedData }
  | { type: 'agreement.signed'; subject: string; data: SignedData }
  | { type: 'agreement.activated'; subject: string; data: ActivatedData }
  | { type: 'agreement.suspended'; subject: string; data: SuspendedData }
  | { type: 'agreement.resumed'; subject: string; data: ResumedData }
  | { type: 'agreement.terminated'; subject: string; data: TerminatedData };

export type AgreementEventData = AgreementEvent['data'];

export interface AgreementHistoryItem {
  /** 0-based position in this agreement's history. */
  seq: number;
  /** RFC 3339 UTC. */
  at: string;
  actor: Actor;
  type: AgreementEventType;
  /** Terms version current after this item. */
  version: number;
  /** Status after this item. */
  status: AgreementStatus;
  data: AgreementEventData;
  /** The full terms of a new version (drafted, amended, resumed), so earlier versions stay readable. */
  terms?: AgreementTerms;
}

export interface AgreementState {
  id: string;
  version: number;
  status: AgreementStatus;
  terms: AgreementTerms;
  termsHash: string;
  /** Signatures on the current version only. */
  signatures: AgreementSignature[];
  history: AgreementHistoryItem[];
}

export type AgreementErrorCode =
  | 'not_a_party'
  | 'agreement_terminated'
  | 'invalid_transition'
  | 'version_mismatch'
  | 'already_signed'
  | 'no_signing_key'
  | 'signing_key_mismatch'
  | 'signature_invalid'
  | 'terms_invalid'
  | 'terms_unchanged'
  | 'parties_changed'
  | 'reason_invalid'
  | 'agreement_state_invalid';

export interface AgreementError {
  code: AgreementErrorCode;
  /** HTTP status: 403 not a party, 409 state conflict, 400 bad input, 422 bad signature/key, 500 corrupt state. */
  status: 400 | 403 | 409 | 422 | 500;
  detail: string;
  /** For `terms_invalid`: what exactly is wrong. */
  problems?: TermsProblem[];
}

export type AgreementResult =
  | { ok: true; state: AgreementState; events: AgreementEvent[] }
  | { ok: false; error: AgreementError };

export type AgreementAction =
  | {
      type: 'sign';
      version: number;
      /** base64 Ed25519 signature as submitted. */
      signature: string;
      /** The calling officer's registered keys; only keys bound to the actor are ever used. */
      signerKeys: readonly OfficerKey[];
    }
  | { type: 'suspend'; reason: string }
  | { type: 'terminate'; reason: string }
  | { type: 'resume' }
  | { type: 'amend'; terms: unknown; knownJurisdictions: ReadonlySet<string> };

export interface ActionContext {
  actor: Actor;
  now: Date;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function fail(code: AgreementErrorCode, status: AgreementError['status'], detail: string, problems?: TermsProblem[]): AgreementResult {
  return { ok: false, error: problems ? { code, status, detail, problems } : { code, status, detail } };
}

function timestamp(now: Date): string {
  // A broken clock is a programming error, not bad input: fail loudly.
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError('ctx.now must be a valid Date');
  return now.toISOString();
}

function subjectOf(id: string): string {
  return `agreement:${id}`;
}

function copyActor(actor: Actor): Actor {
  return { iss: actor.iss, sub: actor.sub, jurisdiction: actor.jurisdiction };
}

/** Reason texts end up in custody entries, so they must be canonicalisable and bounded. */
function checkReason(reason: unknown): AgreementResult | null {
  if (typeof reason !== 'string' || LONE_SURROGATE.test(reason) || reason.trim() === '' || [...reason].length > REASON_MAX_LENGTH) {
    return fail('reason_invalid', 400, `reason must be a non-blank string of at most ${REASON_MAX_LENGTH} characters`);
  }
  return null;
}

/**
 * Build the new state by appending one history item per event. Keeps the
 * history and the custody events in lock-step: every change is both.
 */
function commit(
  prior: AgreementState | null,
  next: Omit<AgreementState, 'history'>,
  steps: { event: AgreementEvent; status: AgreementStatus; terms?: AgreementTerms }[],
  ctx: ActionContext,
): AgreementResult {
  const at = timestamp(ctx.now);
  const history = prior ? [...prior.history] : [];
  for (const step of steps) {
    const item: AgreementHistoryItem = {
      seq: history.length,
      at,
      actor: copyActor(ctx.actor),
      type: step.event.type,
      version: next.version,
      status: step.status,
      data: step.event.data,
    };
    if (step.terms) item.terms = step.terms;
    history.push(item);
  }
  return { ok: true, state: { ...next, history }, events: steps.map((s) => s.event) };
}

/**
 * Start an agreement: validate the terms, require the drafting officer's
 * jurisdiction to be one of the parties, and create version 1 as a draft.
 */
export function draftAgreement(
  input: { id: string; terms: unknown; knownJurisdictions: ReadonlySet<string> },
  ctx: ActionContext,
): AgreementResult {
  const validation = validateTerms(input.terms, { knownJurisdictions: input.knownJurisdictions });
  if (!validation.ok) return fail('terms_invalid', 400, 'the terms are invalid', validation.problems);
  const terms = validation.terms;
  if (!isParty(terms, ctx.actor.jurisdiction)) {
    return fail('not_a_party', 403, 'an agreement can only be drafted by an officer of one of its parties');
  }
  const hash = termsHash(terms);
  const event: AgreementEvent = {
    type: 'agreement.drafted',
    subject: subjectOf(input.id),
    data: { agreementId: input.id, version: 1, termsHash: hash, parties: [terms.parties[0], terms.parties[1]] },
  };
  return commit(null, { id: input.id, version: 1, status: 'draft', terms, termsHash: hash, signatures: [] }, [{ event, status: 'draft', terms }], ctx);
}

/**
 * Structural invariants of a stored state. Does not re-verify signatures
 * (that needs the keys); a repository may call this after loading.
 */
export function agreementStateProblems(state: AgreementState): string[] {
  const problems: string[] = [];
  if (!(AGREEMENT_STATUSES as readonly string[]).includes(state.status)) problems.push(`unknown status ${String(state.status)}`);
  if (!Number.isSafeInteger(state.version) || state.version < 1) problems.push('version must be a positive integer');
  const [a, b] = state.terms.parties;
  if (a === b) problems.push('parties must differ');
  let hash: string | null = null;
  try {
    hash = termsHash(state.terms);
  } catch {
    problems.push('terms cannot be canonicalised');
  }
  if (hash !== null && hash !== state.termsHash) problems.push('termsHash does not match the terms');
  const signed = new Set<string>();
  for (const s of state.signatures) {
    if (!isParty(state.terms, s.jurisdiction)) problems.push(`signature by non-party ${s.jurisdiction}`);
    if (signed.has(s.jurisdiction)) problems.push(`two signatures by ${s.jurisdiction}`);
    signed.add(s.jurisdiction);
  }
  const bothSigned = signed.has(a) && signed.has(b);
  if (state.status === 'active' && !bothSigned) problems.push('active without both signatures on the current version');
  if (state.status === 'suspended' && !bothSigned) problems.push('suspended without both signatures on the current version');
  if (state.status === 'draft' && bothSigned) problems.push('draft with both signatures');
  const last = state.history[state.history.length - 1];
  if (!last) problems.push('empty history');
  else {
    if (last.status !== state.status) problems.push('last history item disagrees with status');
    if (last.version !== state.version) problems.push('last history item disagrees with version');
  }
  state.history.forEach((item, i) => {
    if (item.seq !== i) problems.push(`history item ${i} has seq ${item.seq}`);
  });
  return problems;
}

/**
 * Apply one officer action to an agreement. Never mutates `state`; returns the
 * new state and the custody events to record, or an error with a stable code.
 */
export function applyAgreementAction(state: AgreementState, action: AgreementAction, ctx: ActionContext): AgreementResult {
  const broken = agreementStateProblems(state);
  if (broken.length > 0) return fail('agreement_state_invalid', 500, `stored agreement is inconsistent: ${broken.join('; ')}`);
  if (!isParty(state.terms, ctx.actor.jurisdiction)) {
    return fail('not_a_party', 403, 'only an officer of a party to the agreement may act on it');
  }
  if (state.status === 'terminated') return fail('agreement_terminated', 409, 'the agreement is terminated; termination is final');

  switch (action.type) {
    case 'sign':
      return sign(state, action, ctx);
    case 'suspend':
      return suspend(state, action.reason, ctx);
    case 'terminate':
      return terminate(state, action.reason, ctx);
    case 'resume':
      return resume(state, ctx);
    case 'amend':
      return amend(state, action.terms, action.knownJurisdictions, ctx);
    default: {
      const unknown: never = action;
      return fail('invalid_transition', 409, `unknown action ${JSON.stringify((unknown as { type?: unknown }).type)}`);
    }
  }
}

function sign(state: AgreementState, action: Extract<AgreementAction, { type: 'sign' }>, ctx: ActionContext): AgreementResult {
  if (state.status !== 'draft') {
    return fail('invalid_transition', 409, `only a draft can be signed; the agreement is ${state.status}`);
  }
  if (action.version !== state.version) {
    return fail('version_mismatch', 409, `the current version is ${state.version}, not ${String(action.version)}`);
  }
  const { actor } = ctx;
  if (state.signatures.some((s) => s.jurisdiction === actor.jurisdiction)) {
    return fail('already_signed', 409, `${actor.jurisdiction} has already signed version ${state.version}`);
  }
  // Only the caller's own keys, bound to the caller's jurisdiction, may sign for it.
  const usable = action.signerKeys.filter((k) => k.iss === actor.iss && k.sub === actor.sub && k.jurisdiction === actor.jurisdiction);
  if (usable.length === 0) {
    return action.signerKeys.length === 0
      ? fail('no_signing_key', 422, 'the officer has no registered signing key')
      : fail('signing_key_mismatch', 422, `no registered key of this officer is bound to ${actor.jurisdiction}`);
  }
  const signatureBytes = typeof action.signature === 'string' ? decodeBase64(action.signature, 64) : null;
  if (!signatureBytes) return fail('signature_invalid', 422, 'signature must be 64 bytes in standard padded base64');
  const message = termsBytes(state.terms);
  const key = usable.find((k) => ed25519Verify(k.publicKey, message, signatureBytes));
  if (!key) {
    return fail('signature_invalid', 422, `signature does not verify over JCS(terms) of version ${state.version} with the officer's registered key`);
  }

  const signature: AgreementSignature = {
    jurisdiction: actor.jurisdiction,
    sub: actor.sub,
    keyId: key.keyId,
    signature: encodeBase64(signatureBytes),
  };
  const signatures = [...state.signatures, signature];
  const subject = subjectOf(state.id);
  const base = { agreementId: state.id, version: state.version, termsHash: state.termsHash };
  const steps: { event: AgreementEvent; status: AgreementStatus }[] = [
    { event: { type: 'agreement.signed', subject, data: { ...base, ...signature } }, status: 'draft' },
  ];
  const [a, b] = state.terms.parties;
  const active = signatures.some((s) => s.jurisdiction === a) && signatures.some((s) => s.jurisdiction === b);
  // The signature itself leaves a draft; activation is its own history item and custody event.
  if (active) steps.push({ event: { type: 'agreement.activated', subject, data: base }, status: 'active' });
  return commit(state, { ...state, status: active ? 'active' : 'draft', signatures }, steps, ctx);
}

function suspend(state: AgreementState, reason: string, ctx: ActionContext): AgreementResult {
  if (state.status !== 'active') return fail('invalid_transition', 409, `only an active agreement can be suspended; it is ${state.status}`);
  const bad = checkReason(reason);
  if (bad) return bad;
  const event: AgreementEvent = {
    type: 'agreement.suspended',
    subject: subjectOf(state.id),
    data: { agreementId: state.id, version: state.version, reason },
  };
  return commit(state, { ...state, status: 'suspended' }, [{ event, status: 'suspended' }], ctx);
}

function terminate(state: AgreementState, reason: string, ctx: ActionContext): AgreementResult {
  // Reached for draft, active and suspended: terminated was refused before.
  const bad = checkReason(reason);
  if (bad) return bad;
  const event: AgreementEvent = {
    type: 'agreement.terminated',
    subject: subjectOf(state.id),
    data: { agreementId: state.id, version: state.version, previousStatus: state.status, reason },
  };
  return commit(state, { ...state, status: 'terminated' }, [{ event, status: 'terminated' }], ctx);
}

function resume(state: AgreementState, ctx: ActionContext): AgreementResult {
  if (state.status !== 'suspended') return fail('invalid_transition', 409, `only a suspended agreement can be resumed; it is ${state.status}`);
  const version = state.version + 1;
  const event: AgreementEvent = {
    type: 'agreement.resumed',
    subject: subjectOf(state.id),
    data: { agreementId: state.id, version, previousVersion: state.version, termsHash: state.termsHash },
  };
  return commit(state, { ...state, version, status: 'draft', signatures: [] }, [{ event, status: 'draft', terms: state.terms }], ctx);
}

function amend(state: AgreementState, input: unknown, knownJurisdictions: ReadonlySet<string>, ctx: ActionContext): AgreementResult {
  const validation = validateTerms(input, { knownJurisdictions });
  if (!validation.ok) return fail('terms_invalid', 400, 'the terms are invalid', validation.problems);
  const terms = validation.terms;
  if (!isBetween(terms, state.terms.parties[0], state.terms.parties[1])) {
    return fail('parties_changed', 422, `an amendment must keep the parties ${state.terms.parties.join(' and ')}`);
  }
  const hash = termsHash(terms);
  if (hash === state.termsHash) {
    return fail('terms_unchanged', 409, 'the amendment does not change the terms; suspend and resume to re-confirm them');
  }
  const version = state.version + 1;
  const event: AgreementEvent = {
    type: 'agreement.amended',
    subject: subjectOf(state.id),
    data: {
      agreementId: state.id,
      version,
      termsHash: hash,
      parties: [terms.parties[0], terms.parties[1]],
      previousVersion: state.version,
      previousStatus: state.status,
    },
  };
  return commit(state, { ...state, version, status: 'draft', terms, termsHash: hash, signatures: [] }, [{ event, status: 'draft', terms }], ctx);
}
