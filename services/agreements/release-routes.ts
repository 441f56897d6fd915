/**
 * Releases and receipts (SPEC §2–3): the owner releases a sealed bundle to a
 * recipient under an agreement, with the bundle key wrapped for the
 * recipient's current box key; the recipient's registry records a signed
 * receipt. Every grant, denial, revocation and receipt is a custody entry.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Executor } from '../db/connect.js';
import { loadVisible, recordRoleRefusal, refuse } from '../bundles/guard.js';
import { canonicalId } from '../shared/ids.js';
import { upsertKeyWrap } from '../bundles/repository.js';
import { Errors, domainError, type EvxError } from '../errors.js';
import { validateKeyWrap } from '../envelope/index.js';
import { currentJurisdictionKey, getJurisdiction } from '../jurisdictions/repository.js';
import { listOfficerKeys } from '../officers/repository.js';
import { decodeBase64 } from '../shared/encoding.js';
import { ed25519Verify } from '../shared/ed25519.js';
import { JurisdictionCode, problemResponses, Timestamp } from '../shared/schemas.js';
import { agreementsBetween } from './repository.js';
import { insertRelease, revokeRelease } from './releases.js';
import { releaseDecision } from './release-rule.js';
import { PURPOSE_PATTERN } from './terms.js';

const BundleParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

/** Control characters (NUL cannot even be stored) and lone surrogates (cannot be canonicalised into a custody entry). */
const UNSTORABLE_TEXT = /[\u0000-\u001f\u007f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The action a release route performs, as named in custody entries. */
function actionOf(method: string, url: string | undefined): string {
  if (url?.endsWith('/receipts')) return 'receipt';
  return method === 'DELETE' ? 'revoke' : 'release';
}

/** The bytes a recipient officer signs to acknowledge custody (SPEC §2.1 receipt). */
export function receiptMessage(bundleId: string, manifestSha256: string): Buffer {
  return Buffer.from(`evx/receipt/v1\n${bundleId}\n${manifestSha256}\n`, 'utf8');
}

export const releaseRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // The role gate (auth plugin, onRequest) refuses before any handler runs; every
  // denied attempt on a bundle is still recorded (SPEC §2), so record it here.
  // Scoped to this plugin's routes: all of them name a bundle in `:id`.
  app.addHook('onError', recordRoleRefusal(app, (request) => actionOf(request.method, request.routeOptions.url)));

  app.post(
    '/v1/bundles/:id/releases',
    {
      config: { access: { roles: ['investigator'] } },
      schema: {
        tags: ['releases'],
        summary: 'Release a sealed bundle to a recipient under an agreement; 403 with the first failing reason',
        params: BundleParams,
        body: Type.Object(
          {
            recipient: JurisdictionCode,
            purpose: Type.String({ pattern: PURPOSE_PATTERN, description: 'one of the agreement\'s purposes' }),
            requestReference: Type.String({ minLength: 1, maxLength: 200, description: 'the requesting authority\'s reference; printable text' }),
            keyWrap: Type.Object({}, { additionalProperties: true, description: 'SPEC §4 key wrap for the recipient' }),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ recipient: Type.String(), agreementId: Type.String(), agreementVersion: Type.Integer(), grantedAt: Timestamp }),
          ...problemResponses(400, 401, 403, 404, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const id = canonicalId(request.params.id);
      const { recipient, purpose, requestReference } = request.body;
      // Goes into the release row and the custody entry: refuse what neither can hold, as any other bad input (before looking at the bundle).
      if (UNSTORABLE_TEXT.test(requestReference)) throw Errors.validationFailed('body/requestReference must be printable text (no control characters, well-formed Unicode)');
      const { bundle, access, principal } = await loadVisible(app, request, id, 'release', (a) => a.view);
      const deny = (reason: string, detail: string): Promise<never> =>
        refuse(app, request, id, 'release.denied', { recipient, purpose, reason }, domainError(reason, detail, { reason }));
      // Refusals that are not SPEC §3 denials (bad wrap, unknown recipient, a live release exists) are recorded too.
      const refused = (reason: string, error: EvxError): Promise<never> => refuse(app, request, id, 'release.refused', { recipient, purpose, reason }, error);

      const wrap = validateKeyWrap(request.body.keyWrap);
      if (!wrap.ok) {
        const first = wrap.problems[0];
        return refused('key_wrap_invalid', Errors.validationFailed(`body/keyWrap${first?.path ?? ''} ${first?.message ?? 'is invalid'}`, { errors: wrap.problems }));
      }
      // Only the owner releases; asked by anyone else (a recipient, say), the answer reveals nothing of the owner's agreements.
      if (!access.ownerJurisdiction) return deny('not_owner', `only ${bundle.ownerJurisdiction}, the owner, may release this bundle`);
      if (recipient === bundle.ownerJurisdiction) return refused('recipient_is_owner', domainError('recipient_is_owner', 'a bundle cannot be released to its owner', { problem: 'recipient_is_owner' }));
      if (!(await getJurisdiction(app.db, recipient))) return refused('jurisdiction_unknown', Errors.jurisdictionUnknown(`jurisdiction ${recipient} is not registered`));

      const judge = async (db: Executor, lock: boolean) =>
        releaseDecision({
          bundle: { ownerJurisdiction: bundle.ownerJurisdiction, status: bundle.status, crimeCategory: bundle.crimeCategory, classification: bundle.classification },
          requester: { jurisdiction: principal.jurisdiction! },
          recipient,
          purpose,
          agreements: await agreementsBetween(db, bundle.ownerJurisdiction, recipient, { lock }),
          now: new Date(),
        });
      const decision = await judge(app.db, false);
      if (!decision.allow) return deny(decision.reason, `the release of this bundle to ${recipient} for "${purpose}" is not allowed: ${decision.reason}`);

      const current = await currentJurisdictionKey(app.db, recipient);
      if (!current) return refused('jurisdiction_has_no_key', domainError('jurisdiction_has_no_key', `${recipient} has no box key to wrap for`, { problem: 'jurisdiction_has_no_key' }));
      if (wrap.value.jurisdiction !== recipient || wrap.value.keyVersion !== current.keyVersion) {
        return refused(
          'key_version_not_current',
          domainError('key_version_not_current', `keyWrap must be for ${recipient} key version ${current.keyVersion} (got ${wrap.value.jurisdiction} version ${wrap.value.keyVersion})`, { problem: 'key_version_not_current' }),
        );
      }

      const outcome = await app.custody.run(async (tx) => {
        // Judged again in the transaction that records the grant, with the agreements locked: a
        // suspension, termination or amendment that committed since the check above (or races it
        // from another process) is seen, never overtaken — no grant is logged after a suspension.
        const final = await judge(tx, true);
        if (!final.allow) return { kind: 'denied', reason: final.reason } as const;
        const release = await insertRelease(tx, {
          id: randomUUID(),
          bundleId: id,
          recipient,
          purpose,
          requestReference,
          agreementId: final.agreement.id,
          agreementVersion: final.agreement.version,
          grantedBy: { issuer: principal.issuer, sub: principal.sub },
        });
        if (!release) return { kind: 'exists' } as const;
        await upsertKeyWrap(tx, id, wrap.value);
        app.custody.append(tx, {
          type: 'release.granted',
          actor: principal,
          subject: `bundle:${id}`,
          data: { recipient, purpose, requestReference, agreementId: final.agreement.id, agreementVersion: final.agreement.version, recipientKeyVersion: current.keyVersion },
        });
        return { kind: 'granted', release } as const;
      });
      if (outcome.kind === 'denied') return deny(outcome.reason, `the release of this bundle to ${recipient} for "${purpose}" is not allowed: ${outcome.reason}`);
      if (outcome.kind === 'exists') return refused('release_exists', domainError('release_exists', `a live release of this bundle to ${recipient} exists; revoke it first`));
      const granted = outcome.release;
      return reply.status(201).send({ recipient, agreementId: granted.agreementId, agreementVersion: granted.agreementVersion, grantedAt: granted.grantedAt });
    },
  );

  app.delete(
    '/v1/bundles/:id/releases/:recipient',
    {
      config: { access: { roles: ['investigator'] } },
      schema: {
        tags: ['releases'],
        summary: "Revoke the live release to a recipient: its key wrap is deleted and its next request fails",
        params: Type.Object({ id: Type.String({ format: 'uuid' }), recipient: JurisdictionCode }, { additionalProperties: false }),
        response: { 200: Type.Object({ recipient: Type.String(), revokedAt: Timestamp }), ...problemResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const id = canonicalId(request.params.id);
      const { recipient } = request.params;
      const { principal } = await loadVisible(app, request, id, 'revoke', (a) => a.ownerJurisdiction);
      const revoked = await app.custody.run(async (tx) => {
        const r = await revokeRelease(tx, id, recipient);
        if (!r) return null;
        app.custody.append(tx, { type: 'release.revoked', actor: principal, subject: `bundle:${id}`, data: { recipient, agreementId: r.agreementId } });
        return r;
      });
      if (!revoked) return refuse(app, request, id, 'release.refused', { action: 'revoke', recipient, reason: 'no_live_release' }, Errors.notFound(`no live release of this bundle to ${recipient}`));
      return { recipient, revokedAt: revoked.revokedAt! };
    },
  );

  app.post(
    '/v1/bundles/:id/receipts',
    {
      config: { access: { roles: ['registry'] } },
      schema: {
        tags: ['releases'],
        summary: "Record the recipient officer's signed receipt: Ed25519 over `evx/receipt/v1\\n<id>\\n<manifest sha256>\\n`",
        params: BundleParams,
        body: Type.Object({ signature: Type.String({ maxLength: 200 }) }, { additionalProperties: false }),
        response: {
          201: Type.Object({ bundleId: Type.String(), jurisdiction: Type.String(), keyId: Type.String(), manifestSha256: Type.String(), recordedAt: Timestamp }),
          ...problemResponses(400, 401, 403, 404, 422),
        },
      },
    },
    async (request, reply) => {
      const id = canonicalId(request.params.id);
      const { bundle, principal } = await loadVisible(app, request, id, 'receipt', (a) => a.liveRecipient && a.content);
      const signature = decodeBase64(request.body.signature, 64);
      const message = receiptMessage(id, bundle.manifestSha256);
      const keys = await listOfficerKeys(app.db, { issuer: principal.issuer, sub: principal.sub, jurisdiction: principal.jurisdiction! });
      const key = signature ? keys.find((k) => ed25519Verify(Buffer.from(k.publicKey, 'base64'), message, signature)) : undefined;
      if (!key) {
        return refuse(app, request, id, 'receipt.refused', { reason: 'signature_invalid' }, domainError('signature_invalid', 'the signature does not verify over the receipt message with any signing key registered to you'));
      }
      const receiptId = randomUUID();
      const recordedAt = await app.custody.run(async (tx) => {
        const row = await tx
          .insertInto('receipts')
          .values({ id: receiptId, bundle_id: id, jurisdiction: principal.jurisdiction!, issuer: principal.issuer, sub: principal.sub, key_id: key.keyId, signature: request.body.signature, manifest_sha256: bundle.manifestSha256 })
          .returning('recorded_at')
          .executeTakeFirstOrThrow();
        app.custody.append(tx, {
          type: 'receipt.recorded',
          actor: principal,
          subject: `bundle:${id}`,
          data: { recipient: principal.jurisdiction!, keyId: key.keyId, manifestSha256: bundle.manifestSha256, signature: request.body.signature },
        });
        return row.recorded_at;
      });
      return reply.status(201).send({ bundleId: id, jurisdiction: principal.jurisdiction!, keyId: key.keyId, manifestSha256: bundle.manifestSha256, recordedAt: recordedAt.toISOString() });
    },
  );
};
