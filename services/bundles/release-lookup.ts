/**
 * What the bundle routes need to know about releases. The agreements module
 * provides the implementation; until it is registered, there are none.
 */
import type { BundleFacts } from '../agreements/release-rule.js';
import type { ReleaseFacts } from './access.js';

export interface ReleaseView {
  recipient: string;
  purpose: string;
  requestReference: string;
  agreementId: string;
  agreementVersion: number;
  grantedAt: string;
  revokedAt: string | null;
}

export interface ReleaseLookup {
  /**
   * Whether `jurisdiction` holds a live release of the bundle now, or ever
   * held one. `bundle`: its facts when the caller has already loaded them.
   */
  facts(bundleId: string, jurisdiction: string | null, bundle?: BundleFacts): Promise<ReleaseFacts>;
  /** Ids of bundles released to `jurisdiction` with a release that is live now. */
  liveBundleIds(jurisdiction: string): Promise<string[]>;
  /** Every release of the bundle, for its owner. */
  list(bundleId: string): Promise<ReleaseView[]>;
}

export const NO_RELEASES: ReleaseLookup = {
  facts: async () => ({ live: false, any: false }),
  liveBundleIds: async () => [],
  list: async () => [],
};
