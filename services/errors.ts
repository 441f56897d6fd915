/**
 * Every refusal evx makes is one of these named errors: a stable `code`, an
 * HTTP status and a title. They become RFC 9457 problem+json in
 * `problem-handler.ts`; anything else becomes an opaque 500.
 */
import createError, { type FastifyError } from '@fastify/error';

export interface ProblemInfo {
  /** The problem document's `code`: lower snake case, stable, documented. */
  code: string;
  status: number;
  title: string;
}

/** By problem code ('token_invalid') and by error code ('EVX_TOKEN_INVALID'; @fastify/error upper-cases codes). */
const byProblemCode = new Map<string, ProblemInfo>();
const byErrorCode = new Map<string, ProblemInfo>();

export type EvxErrorConstructor = ReturnType<typeof defineProblem>;

export interface EvxError extends FastifyError {
  statusCode: number;
  /** Extra members of the problem document (e.g. `reason`, `file`). */
  extensions?: Record<string, unknown>;
}

/** Define a named error; `detail` is the only message argument, so it is never re-formatted. */
function defineProblem(code: string, status: number, title: string) {
  const info = { code, status, title };
  const errorCode = `EVX_${code.toUpperCase()}`;
  byProblemCode.set(code, info);
  byErrorCode.set(errorCode, info);
  const Ctor = createError<[string]>(errorCode, '%s', status);
  return Object.assign(
    (detail: string, extensions?: Record<string, unknown>): EvxError => {
      const err = new Ctor(detail) as EvxError;
      if (extensions) err.extensions = extensions;
      return err;
    },
    { code, status },
  );
}

/** The registered problem for a problem code. */
export function problemInfo(code: string): ProblemInfo | undefined {
  return byProblemCode.get(code);
}

/** The registered problem an error was created as, if it is one of ours. */
export function problemOf(err: unknown): ProblemInfo | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as Error & { code?: unknown }).code;
  return typeof code === 'string' ? byErrorCode.get(code) : undefined;
}

export function isEvxError(err: unknown): err is EvxError {
  return problemOf(err) !== undefined;
}

export const Errors = {
  validationFailed: defineProblem('validation_failed', 400, 'The request is not valid'),
  badRequest: defineProblem('bad_request', 400, 'Bad request'),
  unauthorized: defineProblem('unauthorized', 401, 'Authentication required'),
  tokenInvalid: defineProblem('token_invalid', 401, 'The bearer token is not valid'),
  tokenExpired: defineProblem('token_expired', 401, 'The bearer token has expired'),
  tokenUntrustedIssuer: defineProblem('token_untrusted_issuer', 401, 'The token was not issued by a trusted issuer'),
  forbiddenRole: defineProblem('forbidden_role', 403, 'Your roles do not allow this action'),
  forbidden: defineProblem('forbidden', 403, 'This action is not allowed'),
  notFound: defineProblem('not_found', 404, 'Not found'),
  routeNotFound: defineProblem('route_not_found', 404, 'No such route'),
  methodNotAllowed: defineProblem('method_not_allowed', 405, 'Method not allowed'),
  conflict: defineProblem('conflict', 409, 'Conflict with the current state'),
  jurisdictionExists: defineProblem('jurisdiction_exists', 409, 'The jurisdiction is already registered'),
  jurisdictionUnknown: defineProblem('jurisdiction_unknown', 422, 'The jurisdiction is not registered'),
  keyAlreadyRegistered: defineProblem('key_already_registered', 409, 'The key is already registered'),
  invalidKey: defineProblem('invalid_key', 422, 'The key is not acceptable'),
  payloadTooLarge: defineProblem('payload_too_large', 413, 'The request body is too large'),
  unsupportedMediaType: defineProblem('unsupported_media_type', 415, 'Unsupported media type'),
  unprocessable: defineProblem('unprocessable', 422, 'The request cannot be processed'),
  preconditionFailed: defineProblem('precondition_failed', 412, 'Precondition failed'),
  rangeNotSatisfiable: defineProblem('range_not_satisfiable', 416, 'Range not satisfiable'),
  serviceUnavailable: defineProblem('service_unavailable', 503, 'The service is not ready'),
  internal: defineProblem('internal_error', 500, 'Internal error'),
} as const;

/** Refusals whose code comes from pure logic (the agreement lifecycle, the release rule). */
const DOMAIN_PROBLEMS: Array<[code: string, status: number, title: string]> = [
  ['not_a_party', 403, 'Not a party to the agreement'],
  ['agreement_terminated', 409, 'The agreement is terminated'],
  ['invalid_transition', 409, 'Not possible in the agreement\'s current state'],
  ['version_mismatch', 409, 'Not the current terms version'],
  ['already_signed', 409, 'Already signed by this party'],
  ['terms_unchanged', 409, 'The amendment does not change the terms'],
  ['terms_invalid', 400, 'The terms are invalid'],
  ['reason_invalid', 400, 'The reason is invalid'],
  ['no_signing_key', 422, 'No registered signing key'],
  ['signing_key_mismatch', 422, 'The signing key does not belong to the caller'],
  ['signature_invalid', 422, 'The signature does not verify'],
  ['parties_changed', 422, 'An amendment cannot change the parties'],
  ['agreement_state_invalid', 500, 'Internal error'],
  // SPEC §3 release denials, in precedence order.
  ['no_agreement', 403, 'No agreement between the owner and the recipient'],
  ['agreement_inactive', 403, 'The agreement is not active'],
  ['agreement_expired', 403, 'Outside the agreement\'s validity period'],
  ['direction_not_permitted', 403, 'The agreement does not permit this direction'],
  ['crime_category_not_covered', 403, 'The crime category is not covered'],
  ['classification_exceeds', 403, 'The classification exceeds what the agreement allows'],
  ['purpose_not_permitted', 403, 'The purpose is not permitted'],
  ['bundle_not_sealed', 403, 'The bundle is not sealed'],
  ['not_owner', 403, 'Only the owner jurisdiction may release'],
  ['release_exists', 409, 'A live release to this recipient exists'],
  // Bundle creation, upload and release checks the server can make without plaintext.
  ['signer_not_caller', 422, 'The manifest is not signed by the caller'],
  ['signer_key_not_registered', 422, 'The signer key is not registered to the caller'],
  ['manifest_signature_invalid', 422, 'The manifest signature does not verify'],
  ['owner_key_wrap_missing', 422, 'No key wrap for the owner jurisdiction'],
  ['jurisdiction_has_no_key', 422, 'The jurisdiction has no box key'],
  ['key_version_not_current', 422, 'The key wrap does not use the current key version'],
  ['cipher_hash_mismatch', 422, 'The ciphertext does not match the manifest'],
  ['recipient_is_owner', 422, 'A bundle cannot be released to its owner'],
];
const domainProblems = new Map(DOMAIN_PROBLEMS.map(([code, status, title]) => [code, defineProblem(code, status, title)]));

/** The named error for a code produced by pure domain logic; unknown codes are a programming error. */
export function domainError(code: string, detail: string, extensions?: Record<string, unknown>): EvxError {
  const make = domainProblems.get(code);
  if (!make) throw new Error(`no problem is defined for code ${code}`);
  return make(detail, extensions);
}
