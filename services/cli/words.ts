/**
 * Machine codes in plain words: release refusals (SPEC §3), other problem
 * codes worth a hint, and custody entry types for the auditor's timeline.
 */
import type { ProblemDocument } from './errors.js';

export interface ReleaseContext {
  owner: string;
  recipient: string;
  purpose: string;
  crimeCategory?: string;
  classification?: string;
}

/** SPEC §3 denial reasons (and release_exists) as a sentence; null for an unknown code. */
export function releaseRefusalInWords(code: string, c: ReleaseContext): string | null {
  switch (code) {
    case 'no_agreement':
      return `there is no agreement between ${c.owner} and ${c.recipient}`;
    case 'agreement_inactive':
      return `the agreement between ${c.owner} and ${c.recipient} is not active: it still awaits a signature, or it is suspended or terminated`;
    case 'agreement_expired':
      return `the agreement between ${c.owner} and ${c.recipient} is outside its validity period`;
    case 'direction_not_permitted':
      return `the agreement does not allow transfers from ${c.owner} to ${c.recipient}`;
    case 'crime_category_not_covered':
      return `the agreement does not cover the bundle's crime category${c.crimeCategory ? ` (${c.crimeCategory})` : ''}`;
    case 'classification_exceeds':
      return `the bundle's classification${c.classification ? ` (${c.classification})` : ''} is above the highest the agreement allows`;
    case 'purpose_not_permitted':
      return `the agreement does not permit the purpose "${c.purpose}"`;
    case 'bundle_not_sealed':
      return 'the bundle is not sealed yet: finish its upload first (evx upload --resume BUNDLE)';
    case 'not_owner':
      return `only ${c.owner}, the bundle's owner jurisdiction, may release it`;
    case 'release_exists':
      return `a live release of this bundle to ${c.recipient} already exists (revoke it first with evx release BUNDLE --to ${c.recipient} --revoke)`;
    default:
      return null;
  }
}

/** What to do about common refusals. */
export function problemHints(status: number, problem: ProblemDocument): string[] {
  switch (problem.code) {
    case 'unauthorized':
      return ['send a token: --token, EVX_TOKEN or the profile'];
    case 'token_expired':
      return ['the token has expired: get a new one (a development server: evx token ...)'];
    case 'token_invalid':
    case 'token_untrusted_issuer':
      return ['the server does not accept this token: check --url and that the token comes from an issuer this server trusts'];
    case 'forbidden_role':
      return ['your token lacks the role this action needs (roles: investigator, registry, agreement_officer, auditor, admin)'];
    case 'no_signing_key':
    case 'signing_key_mismatch':
      return ['register your signing key first: evx register officer-key'];
    case 'jurisdiction_unknown':
      return ['an admin must register the jurisdiction first: evx register jurisdiction CODE --name NAME'];
    default:
      if (status === 404) return ['it does not exist, or your jurisdiction may not (or no longer) see it: evx answers both with 404; a release ends when revoked or when its agreement is suspended, terminated or expires'];
      return [];
  }
}

const ENTRY_TYPES: Record<string, string> = {
  'bundle.created': 'created the bundle',
  'file.received': 'uploaded a file',
  'bundle.sealed': 'sealed the bundle',
  'bundle.accessed': 'viewed the bundle',
  'file.downloaded': 'downloaded a file',
  'access.denied': 'was refused access',
  'upload.refused': 'was refused an upload',
  'seal.refused': 'was refused sealing',
  'release.granted': 'released the bundle',
  'release.denied': 'was refused a release',
  'release.revoked': 'revoked a release',
  'release.refused': 'was refused a release request',
  'receipt.recorded': 'signed a receipt (custody handed over)',
  'receipt.refused': 'was refused a receipt',
};

export function entryTypeInWords(type: string): string {
  return ENTRY_TYPES[type] ?? type;
}

function short(hex: unknown): string {
  return typeof hex === 'string' && /^[0-9a-f]{64}$/.test(hex) ? `${hex.slice(0, 12)}…` : String(hex);
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return /^[0-9a-f]{64}$/.test(value) ? short(value) : value.length > 60 ? `${value.slice(0, 57)}…` : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value).slice(0, 60);
}

/** The interesting part of an entry's data, in a line. */
export function entryDetails(type: string, data: Record<string, unknown>): string {
  const d = data;
  switch (type) {
    case 'bundle.created': {
      const files = Array.isArray(d['files']) ? d['files'].length : '?';
      return `owner ${scalar(d['owner'])}, ${files} file(s), ${scalar(d['crimeCategory'])}, ${scalar(d['classification'])}, manifest ${short(d['manifestSha256'])}`;
    }
    case 'file.received':
      return `file ${scalar(d['n'])}, ${scalar(d['cipherSize'])} bytes of ciphertext, sha256 ${short(d['cipherSha256'])}`;
    case 'bundle.sealed':
      return `${scalar(d['files'])} file(s), manifest ${short(d['manifestSha256'])}`;
    case 'bundle.accessed':
      return d['keyWrap'] === true ? 'with its key wrap' : 'metadata only';
    case 'file.downloaded':
      return `file ${scalar(d['n'])}${d['range'] !== undefined ? `, bytes ${scalar(d['range'])}` : ''}`;
    case 'release.granted':
      return `to ${scalar(d['recipient'])} for "${scalar(d['purpose'])}", request ${scalar(d['requestReference'])}, agreement ${scalar(d['agreementId'])} v${scalar(d['agreementVersion'])}`;
    case 'release.denied':
      return `to ${scalar(d['recipient'])} for "${scalar(d['purpose'])}": ${scalar(d['reason'])}`;
    case 'release.revoked':
      return `from ${scalar(d['recipient'])}`;
    case 'release.refused':
      return `${d['action'] !== undefined ? `${scalar(d['action'])} ` : ''}to ${scalar(d['recipient'])}${d['purpose'] !== undefined ? ` for "${scalar(d['purpose'])}"` : ''}: ${scalar(d['reason'])}`;
    case 'receipt.recorded':
      return `by ${scalar(d['recipient'])}, key ${scalar(d['keyId'])}, manifest ${short(d['manifestSha256'])}`;
    case 'access.denied':
      return `${scalar(d['action'])}: ${scalar(d['reason'])}`;
    default:
      return Object.entries(d)
        .map(([k, v]) => `${k}=${scalar(v)}`)
        .join(', ');
  }
}
