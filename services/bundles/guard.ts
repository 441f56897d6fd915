/**
 * The checks every bundle route starts with: who may see the bundle, and a
 * custody entry for every refused attempt. A caller who may not see a
 * bundle gets the same 404 whether or not it exists.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../auth/plugin.js';
import type { Principal } from '../auth/principal.js';
import { Errors, problemOf, type EvxError } from '../errors.js';
import { CANONICAL_UUID } from '../shared/ids.js';
import type { JsonValue } from '../shared/jcs.js';
import { bundleAccess, type BundleAccess } from './access.js';
import { getBundle, type BundleWithWrap } from './repository.js';

/** Record a refused attempt on a bundle in the custody log, then throw `error`. */
export async function refuse(app: FastifyInstance, request: FastifyRequest, bundleId: string, type: string, data: Record<string, JsonValue>, error: EvxError): Promise<never> {
  try {
    await app.custody.run((tx) => app.custody.append(tx, { type, actor: request.principal, subject: `bundle:${bundleId}`, data }));
  } catch (err) {
    request.log.error({ err }, 'could not record a refused attempt');
  }
  throw error;
}

export interface VisibleBundle {
  /** Carries the caller's jurisdiction's key wrap: serve it only where `access.content` holds. */
  bundle: BundleWithWrap;
  access: BundleAccess;
  principal: Principal;
}

/** The bundle and what the caller may do with it; a recorded 404 when `need` does not hold. */
export async function loadVisible(app: FastifyInstance, request: FastifyRequest, id: string, action: string, need: (a: BundleAccess) => boolean): Promise<VisibleBundle> {
  const principal = principalOf(request);
  const bundle = await getBundle(app.db, id, { keyWrapFor: principal.jurisdiction });
  const releases = bundle ? await app.releaseLookup.facts(id, principal.jurisdiction, bundle) : { live: false, any: false };
  const access = bundle ? bundleAccess(bundle, principal, releases) : null;
  if (!bundle || !access || !need(access)) {
    return refuse(app, request, id, 'access.denied', { action, reason: bundle ? 'not_permitted' : 'no_such_bundle' }, Errors.notFound(`bundle ${id} not found`));
  }
  return { bundle, access, principal };
}

/**
 * Role refusals (403 forbidden_role) happen in the auth hook, before any
 * handler runs. As a route's (or plugin's) onError hook, this records them
 * in the bundle's custody too, so that every denied access is there. The
 * answer does not depend on the bundle, so recording it reveals nothing.
 */
export function recordRoleRefusal(app: FastifyInstance, action: string | ((request: FastifyRequest) => string)) {
  return async (request: FastifyRequest, _reply: FastifyReply, error: Error): Promise<void> => {
    if (problemOf(error)?.code !== 'forbidden_role' || request.principal === null) return;
    const raw = (request.params as { id?: unknown } | undefined)?.id;
    const id = typeof raw === 'string' ? raw.toLowerCase() : '';
    if (!CANONICAL_UUID.test(id)) return;
    const data = { action: typeof action === 'string' ? action : action(request), reason: 'role_not_permitted' };
    await app.custody
      .run((tx) => app.custody.append(tx, { type: 'access.denied', actor: request.principal, subject: `bundle:${id}`, data }))
      .catch((err: unknown) => request.log.error({ err }, 'could not record a refused attempt'));
  };
}
