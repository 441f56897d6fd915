/**
 * Who is calling: derived only from a verified token and the issuer that
 * signed it (SPEC §1). A token can never widen what its issuer may speak for.
 */
import { Errors } from '../errors.js';
import { JURISDICTION_CODE_PATTERN, ROLES, type Role } from '../shared/vocabulary.js';
import type { TrustedIssuer } from './issuers.js';

export interface Principal {
  issuer: string;
  sub: string;
  /** The jurisdiction the caller acts for; null for the platform operator. */
  jurisdiction: string | null;
  operator: boolean;
  roles: ReadonlySet<Role>;
}

export interface Actor {
  iss: string;
  sub: string;
  jurisdiction: string | null;
}

export function actorOf(p: Principal): Actor {
  return { iss: p.issuer, sub: p.sub, jurisdiction: p.jurisdiction };
}

const CODE = new RegExp(JURISDICTION_CODE_PATTERN);

/** Map verified claims to a principal, refusing any claim the issuer may not make. */
export function principalFromClaims(claims: Record<string, unknown>, issuer: TrustedIssuer): Principal {
  const sub = claims['sub'];
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256) throw Errors.tokenInvalid('the sub claim must be a non-empty string');

  const rawRoles = claims['roles'] ?? [];
  if (!Array.isArray(rawRoles) || rawRoles.some((r) => typeof r !== 'string')) throw Errors.tokenInvalid('the roles claim must be an array of strings');
  // Unknown role names grant nothing (deny by default); they are not an error.
  const roles = new Set((rawRoles as string[]).filter((r): r is Role => (ROLES as readonly string[]).includes(r)));

  const claimed = claims['jurisdiction'];
  if (claimed !== undefined && (typeof claimed !== 'string' || !CODE.test(claimed))) throw Errors.tokenInvalid('the jurisdiction claim must be a jurisdiction code');

  let jurisdiction: string | null;
  let operator: boolean;
  if (issuer.development === true) {
    jurisdiction = (claimed as string | undefined) ?? null;
    operator = jurisdiction === null;
  } else if (issuer.operator) {
    if (claimed !== undefined) throw Errors.tokenInvalid(`issuer ${issuer.issuer} is the platform operator and cannot act for jurisdiction ${String(claimed)}`);
    jurisdiction = null;
    operator = true;
  } else {
    if (claimed !== undefined && claimed !== issuer.jurisdiction) {
      throw Errors.tokenInvalid(`issuer ${issuer.issuer} speaks only for ${issuer.jurisdiction}, not for ${String(claimed)}`);
    }
    jurisdiction = issuer.jurisdiction;
    operator = false;
  }
  if (roles.has('admin') && !operator) {
    throw Errors.tokenInvalid(`the admin role is honoured only from an operator issuer, not from ${issuer.issuer}`);
  }
  return { issuer: issuer.issuer, sub, jurisdiction, operator, roles };
}
