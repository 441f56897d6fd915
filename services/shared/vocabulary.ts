/** Closed vocabularies of SPEC §3, shared by manifests, agreements and the release rule. */

export const CRIME_CATEGORIES = [
  'genocide',
  'crimes_against_humanity',
  'war_crimes',
  'aggression',
  'terrorism',
  'trafficking',
  'cybercrime',
  'corruption',
  'organised_crime',
] as const;
export type CrimeCategory = (typeof CRIME_CATEGORIES)[number];

/** In ascending order: the index is the rank (public < restricted < confidential < secret). */
export const CLASSIFICATIONS = ['public', 'restricted', 'confidential', 'secret'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

export function classificationRank(c: Classification): number {
  return CLASSIFICATIONS.indexOf(c);
}

export const ROLES = ['investigator', 'registry', 'agreement_officer', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const JURISDICTION_CODE_PATTERN = '^[A-Z][A-Z0-9_-]{1,15}$';

export function isCrimeCategory(x: unknown): x is CrimeCategory {
  return typeof x === 'string' && (CRIME_CATEGORIES as readonly string[]).includes(x);
}
export function isClassification(x: unknown): x is Classification {
  return typeof x === 'string' && (CLASSIFICATIONS as readonly string[]).includes(x);
}
