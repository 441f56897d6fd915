import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../auth/plugin.js';
import type { Principal } from '../auth/principal.js';
import { Errors } from '../errors.js';
import { getJurisdiction } from '../jurisdictions/repository.js';
import { Key32Base64, Timestamp, problemResponses } from '../shared/schemas.js';
import { listOfficerKeys, registerOfficerKey, type Officer } from './repository.js';
import { parseSigningPublicKey } from './signing-key.js';

const OfficerKeySchema = Type.Object({
  keyId: Type.String({ format: 'uuid' }),
  publicKey: Type.String(),
  jurisdiction: Type.String(),
  sub: Type.String(),
  issuer: Type.String(),
  createdAt: Timestamp,
});

function officerOf(principal: Principal): Officer {
  if (principal.jurisdiction === null) throw Errors.forbidden('the platform operator does not sign evidence or agreements; use a jurisdiction token');
  return { issuer: principal.issuer, sub: principal.sub, jurisdiction: principal.jurisdiction };
}

export const officerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/officers/me/keys',
    {
      config: { access: { roles: 'any' } },
      schema: {
        tags: ['officers'],
        summary: "Register the caller's Ed25519 signing key",
        body: Type.Object({ publicKey: Key32Base64 }, { additionalProperties: false }),
        response: { 200: OfficerKeySchema, 201: OfficerKeySchema, ...problemResponses(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const officer = officerOf(principal);
      const parsed = parseSigningPublicKey(request.body.publicKey);
      if ('problem' in parsed) {
        throw parsed.problem === 'weak'
          ? Errors.invalidKey('publicKey is a small-order or non-canonical Ed25519 point: signatures under it would prove nothing')
          : Errors.invalidKey('publicKey must be a 32-byte Ed25519 public key');
      }
      const publicKey = parsed.key;
      const result = await app.custody.run(async (tx) => {
        if (!(await getJurisdiction(tx, officer.jurisdiction))) {
          throw Errors.jurisdictionUnknown(`jurisdiction ${officer.jurisdiction} is not registered; an admin must register it first`);
        }
        const registered = await registerOfficerKey(tx, officer, publicKey);
        if (registered === 'taken') throw Errors.keyAlreadyRegistered('this public key is registered to another officer');
        if (registered.created) {
          app.custody.append(tx, {
            type: 'officer.key_registered',
            actor: principal,
            subject: `jurisdiction:${officer.jurisdiction}`,
            data: { keyId: registered.key.keyId, publicKey: registered.key.publicKey, sub: officer.sub, issuer: officer.issuer },
          });
        }
        return registered;
      });
      return reply.status(result.created ? 201 : 200).send(result.key);
    },
  );

  app.get(
    '/v1/officers/me/keys',
    {
      config: { access: { roles: 'any' } },
      schema: {
        tags: ['officers'],
        summary: "The caller's registered signing keys",
        response: { 200: Type.Object({ items: Type.Array(OfficerKeySchema) }), ...problemResponses(401, 403) },
      },
    },
    async (request) => ({ items: await listOfficerKeys(app.db, officerOf(principalOf(request))) }),
  );
};
