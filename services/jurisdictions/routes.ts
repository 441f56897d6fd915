import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../auth/plugin.js';
import { Errors } from '../errors.js';
import { JurisdictionCode, Key32Base64, PageQuery, Timestamp, problemResponses } from '../shared/schemas.js';
import { parseBoxPublicKey } from './box-key.js';
import { addJurisdictionKey, getJurisdiction, insertJurisdiction, listJurisdictions } from './repository.js';

const JurisdictionKeySchema = Type.Object({ keyVersion: Type.Integer(), boxPublicKey: Type.String(), createdAt: Timestamp });
const JurisdictionSchema = Type.Object({
  code: Type.String(),
  name: Type.String(),
  kind: Type.Union([Type.Literal('state'), Type.Literal('tribunal'), Type.Literal('organisation')]),
  createdAt: Timestamp,
  currentKeyVersion: Type.Union([Type.Integer(), Type.Null()]),
  keys: Type.Array(JurisdictionKeySchema),
});

export const jurisdictionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/jurisdictions',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        tags: ['jurisdictions'],
        summary: 'Register a jurisdiction (admin)',
        body: Type.Object(
          {
            code: JurisdictionCode,
            name: Type.String({ minLength: 1, maxLength: 200 }),
            kind: Type.Union([Type.Literal('state'), Type.Literal('tribunal'), Type.Literal('organisation')]),
          },
          { additionalProperties: false },
        ),
        response: { 201: JurisdictionSchema, ...problemResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const created = await app.custody.run(async (tx) => {
        const j = await insertJurisdiction(tx, request.body);
        if (!j) throw Errors.jurisdictionExists(`jurisdiction ${request.body.code} is already registered`);
        app.custody.append(tx, { type: 'jurisdiction.registered', actor: principalOf(request), subject: `jurisdiction:${j.code}`, data: { code: j.code, name: j.name, kind: j.kind } });
        return j;
      });
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/v1/jurisdictions',
    {
      config: { access: { roles: 'any' } },
      schema: {
        tags: ['jurisdictions'],
        summary: 'List jurisdictions with their box key versions',
        querystring: PageQuery,
        response: { 200: Type.Object({ items: Type.Array(JurisdictionSchema), next: Type.Union([Type.String(), Type.Null()]) }), ...problemResponses(400, 401) },
      },
    },
    async (request) => listJurisdictions(app.db, { after: request.query.after, limit: request.query.limit ?? 100 }),
  );

  app.get(
    '/v1/jurisdictions/:code',
    {
      config: { access: { roles: 'any' } },
      schema: {
        tags: ['jurisdictions'],
        summary: 'One jurisdiction with its box key versions',
        params: Type.Object({ code: JurisdictionCode }, { additionalProperties: false }),
        response: { 200: JurisdictionSchema, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const j = await getJurisdiction(app.db, request.params.code);
      if (!j) throw Errors.notFound(`jurisdiction ${request.params.code} is not registered`);
      return j;
    },
  );

  app.put(
    '/v1/jurisdictions/:code/keys',
    {
      config: { access: { roles: ['admin', 'agreement_officer'] } },
      schema: {
        tags: ['jurisdictions'],
        summary: 'Add a new X25519 box key version (rotation keeps old versions)',
        params: Type.Object({ code: JurisdictionCode }, { additionalProperties: false }),
        body: Type.Object({ boxPublicKey: Key32Base64 }, { additionalProperties: false }),
        response: {
          201: Type.Object({ code: Type.String(), keyVersion: Type.Integer(), boxPublicKey: Type.String(), createdAt: Timestamp }),
          ...problemResponses(400, 401, 403, 404, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { code } = request.params;
      if (!principal.roles.has('admin') && principal.jurisdiction !== code) {
        throw Errors.forbidden(`an agreement officer may only rotate the keys of their own jurisdiction (${principal.jurisdiction ?? 'none'})`);
      }
      const key = parseBoxPublicKey(request.body.boxPublicKey);
      if (!key) throw Errors.invalidKey('boxPublicKey is a low-order X25519 point and cannot protect a key wrap');
      const added = await app.custody.run(async (tx) => {
        const result = await addJurisdictionKey(tx, code, key);
        if (result === null) throw Errors.notFound(`jurisdiction ${code} is not registered`);
        if (result === 'duplicate') throw Errors.keyAlreadyRegistered(`this key is already a key version of ${code}`);
        app.custody.append(tx, {
          type: 'jurisdiction.key_added',
          actor: principal,
          subject: `jurisdiction:${code}`,
          data: { keyVersion: result.keyVersion, boxPublicKey: result.boxPublicKey },
        });
        return result;
      });
      return reply.status(201).send({ code, ...added });
    },
  );
};
