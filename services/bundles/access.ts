/**
 * Who may do what with a bundle (SPEC §2, §3). Pure: the facts about
 * releases are looked up by the caller and passed in, so the rule itself is
 * tested exhaustively without a database.
 */
import type { Principal } from '../auth/principal.js';

export interface ReleaseFacts {
  /** A release to the caller's jurisdiction that is live now (not revoked, agreement active and covering). */
  live: boolean;
  /** Any release to the caller's jurisdiction, live or not: a past or present recipient. */
  any: boolean;
}

export interface BundleAccess {
  /** The caller acts for the owner jurisdiction. */
  ownerJurisdiction: boolean;
  /** The caller is the officer who created (and uploads to) the bundle. */
  uploader: boolean;
  liveRecipient: boolean;
  pastOrPresentRecipient: boolean;
  /** May see ciphertext and its jurisdiction's key wrap: investigators and registries of the owner or a live recipient. */
  content: boolean;
  /** May see metadata (manifest, status). */
  view: boolean;
  /** May see the custody chain. */
  custody: boolean;
}

export function bundleAccess(bundle: { ownerJurisdiction: string; uploader: { issuer: string; sub: string } }, principal: Principal, releases: ReleaseFacts): BundleAccess {
  const ownerJurisdiction = principal.jurisdiction !== null && principal.jurisdiction === bundle.ownerJurisdiction;
  const uploader = ownerJurisdiction && principal.issuer === bundle.uploader.issuer && principal.sub === bundle.uploader.sub;
  const liveRecipient = !ownerJurisdiction && principal.jurisdiction !== null && releases.live;
  // A live release is a release: facts claiming live without any must not make a recipient who sees the bundle but not its custody.
  const pastOrPresentRecipient = !ownerJurisdiction && principal.jurisdiction !== null && (releases.any || releases.live);
  const handlesContent = principal.roles.has('investigator') || principal.roles.has('registry');
  const content = (ownerJurisdiction || liveRecipient) && handlesContent;
  // Auditors oversee: the operator's auditors everything, a jurisdiction's auditors what their jurisdiction owns or received.
  const auditor = principal.roles.has('auditor') && (principal.operator || ownerJurisdiction || pastOrPresentRecipient);
  const view = ownerJurisdiction || liveRecipient || auditor;
  const custody = ownerJurisdiction || pastOrPresentRecipient || auditor;
  return { ownerJurisdiction, uploader, liveRecipient, pastOrPresentRecipient, content, view, custody };
}
