/**
 * Bundle facts other modules need: the release lookup (provided by the
 * agreements module, none until then) and "is this caller a party of that
 * bundle" for the log's inclusion proofs.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Principal } from '../auth/principal.js';
import { NO_RELEASES, type ReleaseLookup } from './release-lookup.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Releases as the bundle routes see them. */
    releaseLookup: ReleaseLookup;
    /** Whether the caller's jurisdiction owns the bundle or ever received it. */
    bundleParty: (principal: Principal, bundleId: string) => Promise<boolean>;
  }
}

async function bundlesPlugin(app: FastifyInstance, options: { releaseLookup?: ReleaseLookup }): Promise<void> {
  app.decorate('releaseLookup', options.releaseLookup ?? NO_RELEASES);
  app.decorate('bundleParty', async (principal: Principal, bundleId: string) => {
    if (principal.jurisdiction === null) return false;
    const row = await app.db.selectFrom('bundles').select('owner_jurisdiction').where('id', '=', bundleId).executeTakeFirst();
    if (!row) return false;
    if (row.owner_jurisdiction === principal.jurisdiction) return true;
    return (await app.releaseLookup.facts(bundleId, principal.jurisdiction)).any;
  });
}

export default fp(bundlesPlugin, { name: 'evx-bundles', fastify: '5.x', dependencies: ['evx-database'] });
