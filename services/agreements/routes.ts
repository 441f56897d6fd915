/**
 * Bilateral agreements (SPEC §2–3): drafted, signed by both parties,
 * suspended, terminated, resumed and amended through the pure lifecycle in
 * lifecycle.ts; each step stored with its custody entries in one unit.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { principalOf } from '../auth/plugin.js';
import type { Principal } from '../auth/principal.js';
import { Errors, domainError } from '../errors.js';
import { allJurisdictionCodes } from '../jurisdictions/repository.js';
import { listOfficerKeys } from '../officers/repository.js';
import type { JsonValue } from '../shared/jcs.js';
import { problemResponses } from '../shared/schemas.js';
import { applyAgreementAction, draftAgreement, type AgreementAction, type AgreementResult, type AgreementState, type Actor as AgreementActor, type OfficerKey } from './lifecycle.js';
import { canonicalId } from '../shared/ids.js';
import { listAgreementIds, loadAgreement, saveAgreement } from './repository.js';
import { isParty } from './terms.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
const AgreementView = Type.Object({
  id: Type.String(),
  version: Type.Integer(),
  status: Type.Union([Type.Literal('draft'), Type.Literal('active'), Type.Literal('suspended'), Type.Literal('terminated')]),
  terms: Type.Object({}, { additionalProperties: true }),
  termsSha256: Type.String(),
  signatures: Type.Array(Type.Object({ jurisdiction: Type.String(), sub: Type.String(), keyId: Type.String(), signature: Type.String() })),
  history: Type.Array(Type.Object({}, { additionalProperties: true })),
});
const Terms = Type.Object({}, { additionalProperties: true, description: 'SPEC §3 terms; validated field by field, unknown fields refused' });

function view(state: AgreementState): Static<typeof AgreementView> {
  return {
    id: state.id,
    version: state.version,
    status: state.status,
    terms: state.terms,
    termsSha256: state.termsHash,
    signatures: state.signatures,
    history: state.history as unknown as Array<Record<string, unknown>>,
  };
}

/**
 * PostgreSQL cannot store U+0000 in jsonb (terms, history) and answers with an
 * error, so a NUL anywhere in submitted terms or a reason is refused here as
 * bad input (400) instead of failing the transaction (500). Everything else
 * about the text is judged by the terms validation and the lifecycle.
 */
function refuseNul(value: unknown, location: string): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) throw Errors.validationFailed(`${location} must not contain U+0000`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => refuseNul(v, `${location}/${i}`));
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      refuseNul(k, `${location} (member name)`);
      refuseNul(v, `${location}/${k}`);
    }
  }
}

function agreementActor(principal: Principal): AgreementActor {
  if (principal.jurisdiction === null) throw Errors.forbidden('agreements are made by officers of jurisdictions, not by the platform operator');
  return { iss: principal.issuer, sub: principal.sub, jurisdiction: principal.jurisdiction };
}

function mayRead(principal: Principal, state: AgreementState): boolean {
  if (principal.jurisdiction !== null && isParty(state.terms, principal.jurisdiction)) return true;
  return principal.roles.has('auditor') && (principal.operator || false);
}

function unwrap(result: AgreementResult): Extract<AgreementResult, { ok: true }> {
  if (!result.ok) {
    const { code, detail, problems } = result.error;
    throw domainError(code, detail, problems ? { errors: problems } : undefined);
  }
  return result;
}

export const agreementRoutes: FastifyPluginAsyncTypebox = async (app) => {
  async function signerKeys(principal: Principal): Promise<OfficerKey[]> {
    if (principal.jurisdiction === null) return [];
    const keys = await listOfficerKeys(app.db, { issuer: principal.issuer, sub: principal.sub, jurisdiction: principal.jurisdiction });
    return keys.map((k) => ({ keyId: k.keyId, iss: k.issuer, sub: k.sub, jurisdiction: k.jurisdiction, publicKey: Buffer.from(k.publicKey, 'base64') }));
  }

  /** A denied look at an agreement is recorded, and looks like a missing one. */
  async function notVisible(request: FastifyRequest, id: string, action: string): Promise<never> {
    const principal = request.principal;
    await app.custody
      .run((tx) => app.custody.append(tx, { type: 'access.denied', actor: principal, subject: `agreement:${id}`, data: { action, reason: 'not_permitted' } as Record<string, JsonValue> }))
      .catch((err: unknown) => request.log.error({ err }, 'could not record a refused attempt'));
    throw Errors.notFound(`agreement ${id} not found`);
  }

  /** Load, check visibility, apply the action, store state and custody events: one unit. */
  async function act(request: FastifyRequest, id: string, action: AgreementAction, name: string): Promise<AgreementState> {
    const principal = principalOf(request);
    const actor = agreementActor(principal);
    refuseNul(request.body, 'body');
    const current = await loadAgreement(app.db, id);
    if (!current || principal.jurisdiction === null || !isParty(current.terms, principal.jurisdiction)) return notVisible(request, id, name);
    const outcome = await app.custody.run(async (tx) => {
      const state = await loadAgreement(tx, id, { forUpdate: true });
      if (!state) throw Errors.notFound(`agreement ${id} not found`);
      const result = applyAgreementAction(state, action, { actor, now: new Date() });
      if (!result.ok) return result;
      await saveAgreement(tx, state, result.state);
      for (const e of result.events) app.custody.append(tx, { type: e.type, actor: principal, subject: e.subject, data: e.data as unknown as Record<string, JsonValue> });
      return result;
    });
    if (!outcome.ok && outcome.error.status < 500) {
      // A refused action by a party (a signature that does not verify, a conflict with the state) is recorded too.
      await app.custody
        .run((tx) => app.custody.append(tx, { type: 'agreement.refused', actor: principal, subject: `agreement:${id}`, data: { agreementId: id, action: name, reason: outcome.error.code } }))
        .catch((err: unknown) => request.log.error({ err }, 'could not record a refused attempt'));
    }
    return unwrap(outcome).state;
  }

  const officer = { access: { roles: ['agreement_officer'] as const } };

  app.post(
    '/v1/agreements',
    {
      config: officer,
      schema: {
        tags: ['agreements'],
        summary: 'Draft an agreement with a counterparty',
        body: Type.Object({ terms: Terms }, { additionalProperties: false }),
        response: { 201: AgreementView, ...problemResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const actor = agreementActor(principal);
      refuseNul(request.body.terms, 'body/terms');
      const knownJurisdictions = await allJurisdictionCodes(app.db);
      const state = await app.custody.run(async (tx) => {
        const { state: created, events } = unwrap(draftAgreement({ id: randomUUID(), terms: request.body.terms, knownJurisdictions }, { actor, now: new Date() }));
        await saveAgreement(tx, null, created);
        for (const e of events) app.custody.append(tx, { type: e.type, actor: principal, subject: e.subject, data: e.data as unknown as Record<string, JsonValue> });
        return created;
      });
      return reply.status(201).send(view(state));
    },
  );

  app.post(
    '/v1/agreements/:id/signatures',
    {
      config: officer,
      schema: {
        tags: ['agreements'],
        summary: "Sign the current terms version (Ed25519 over JCS(terms)); active once both parties signed",
        params: IdParams,
        body: Type.Object({ version: Type.Integer({ minimum: 1 }), signature: Type.String({ maxLength: 200 }) }, { additionalProperties: false }),
        response: { 200: AgreementView, ...problemResponses(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => view(await act(request, canonicalId(request.params.id), { type: 'sign', version: request.body.version, signature: request.body.signature, signerKeys: await signerKeys(principalOf(request)) }, 'sign')),
  );

  for (const verb of ['suspend', 'terminate'] as const) {
    app.post(
      `/v1/agreements/:id/${verb}`,
      {
        config: officer,
        schema: {
          tags: ['agreements'],
          summary: verb === 'suspend' ? 'Suspend at once (either party)' : 'Terminate at once and for good (either party)',
          params: IdParams,
          body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
          response: { 200: AgreementView, ...problemResponses(400, 401, 403, 404, 409) },
        },
      },
      async (request) => view(await act(request, canonicalId(request.params.id), { type: verb, reason: request.body.reason }, verb)),
    );
  }

  app.post(
    '/v1/agreements/:id/resume',
    {
      config: officer,
      schema: {
        tags: ['agreements'],
        summary: 'Resume a suspended agreement: a new draft version that both parties must sign again',
        params: IdParams,
        body: Type.Object({}, { additionalProperties: false }),
        response: { 200: AgreementView, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => view(await act(request, canonicalId(request.params.id), { type: 'resume' }, 'resume')),
  );

  app.post(
    '/v1/agreements/:id/versions',
    {
      config: officer,
      schema: {
        tags: ['agreements'],
        summary: 'Amend: new terms as a new draft version, needing both signatures (releases stop until then)',
        params: IdParams,
        body: Type.Object({ terms: Terms }, { additionalProperties: false }),
        response: { 200: AgreementView, ...problemResponses(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => view(await act(request, canonicalId(request.params.id), { type: 'amend', terms: request.body.terms, knownJurisdictions: await allJurisdictionCodes(app.db) }, 'amend')),
  );

  app.get(
    '/v1/agreements',
    {
      config: { access: { roles: 'any' } },
      schema: {
        tags: ['agreements'],
        summary: "Agreements of the caller's jurisdiction (all of them for the operator's auditors)",
        querystring: Type.Object({ after: Type.Optional(Type.String({ format: 'uuid' })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ items: Type.Array(AgreementView), next: Type.Union([Type.String(), Type.Null()]) }), ...problemResponses(400, 401) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const limit = request.query.limit ?? 50;
      const everything = principal.operator && principal.roles.has('auditor');
      if (principal.jurisdiction === null && !everything) return { items: [], next: null };
      const ids = await listAgreementIds(app.db, everything ? null : principal.jurisdiction, { after: request.query.after, limit: limit + 1 });
      const page = ids.slice(0, limit);
      const states = await Promise.all(page.map((id) => loadAgreement(app.db, id)));
      return { items: states.filter((s): s is AgreementState => s !== null).map(view), next: ids.length > limit ? page[page.length - 1]! : null };
    },
  );

  app.get(
    '/v1/agreements/:id',
    {
      config: { access: { roles: 'any' } },
      schema: {
        tags: ['agreements'],
        summary: 'Terms, status, signatures and full history (parties and auditors)',
        params: IdParams,
        response: { 200: AgreementView, ...problemResponses(401, 404) },
      },
    },
    async (request) => {
      const id = canonicalId(request.params.id);
      const state = await loadAgreement(app.db, id);
      if (!state || !mayRead(principalOf(request), state)) return notVisible(request, id, 'view');
      return view(state);
    },
  );
};
