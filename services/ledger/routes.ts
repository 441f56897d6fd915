import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../auth/plugin.js';
import { Errors } from '../errors.js';
import { entrySubject } from './repository.js';
import { problemResponses } from '../shared/schemas.js';

const Hex32 = Type.String({ pattern: '^[0-9a-f]{64}$' });
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/** Entries are returned as stored (their canonical JSON), so the schema leaves them open. */
const EntrySchema = Type.Object({}, { additionalProperties: true, description: 'custody entry (SPEC §4), see docs/FORMATS.md' });

export const ledgerRoutes: FastifyPluginAsyncTypebox = async (app) => {

  app.get(
    '/v1/log/key',
    {
      config: { access: 'public' },
      schema: { tags: ['log'], summary: "The log's verifier key (C2SP note vkey), text/plain", response: { 200: Type.String() } },
    },
    async (_request, reply) => reply.type('text/plain; charset=utf-8').send(`${app.custody.vkey}\n`),
  );

  app.get(
    '/v1/log/checkpoint',
    {
      config: { access: 'public' },
      schema: { tags: ['log'], summary: 'The latest signed checkpoint (C2SP tlog-checkpoint in a signed note), text/plain', response: { 200: Type.String() } },
    },
    async (_request, reply) => {
      const cp = await app.custody.checkpoint();
      return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(cp.note);
    },
  );

  app.get(
    '/v1/log/entries',
    {
      config: { access: { roles: ['auditor'] } },
      schema: {
        tags: ['log'],
        summary: 'Raw entries [start, end), at most 1000',
        querystring: Type.Object({ start: Count, end: Count }, { additionalProperties: false }),
        response: { 200: Type.Object({ entries: Type.Array(EntrySchema) }), ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const { start, end } = request.query;
      if (end < start) throw Errors.validationFailed('end must not be less than start');
      if (end - start > 1000) throw Errors.validationFailed('at most 1000 entries per request (end - start <= 1000)');
      const size = await app.custody.size();
      if (end > size) throw Errors.validationFailed(`end ${end} is beyond the log size ${size}`);
      const rows = await app.custody.entries(start, end);
      return { entries: rows.map((r) => r.entry) };
    },
  );

  app.get(
    '/v1/log/proofs/inclusion',
    {
      // Auditors, and the parties of the bundle the entry is about (checked below).
      config: { access: { roles: 'any' } },
      schema: {
        tags: ['log'],
        summary: 'RFC 6962 audit path for entry seq in the tree of size `size`',
        querystring: Type.Object({ seq: Count, size: Count }, { additionalProperties: false }),
        response: { 200: Type.Object({ leafIndex: Type.Integer(), treeSize: Type.Integer(), hashes: Type.Array(Hex32) }), ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const { seq, size } = request.query;
      const logSize = await app.custody.size();
      if (size > logSize) throw Errors.validationFailed(`size ${size} is beyond the log size ${logSize}`);
      if (seq >= size) throw Errors.validationFailed('seq must be less than size');
      const principal = principalOf(request);
      if (!principal.roles.has('auditor')) {
        const subject = await entrySubject(app.db, seq);
        const bundleId = subject?.startsWith('bundle:') ? subject.slice('bundle:'.length) : null;
        if (bundleId === null || !(await app.bundleParty(principal, bundleId))) {
          throw Errors.forbidden('inclusion proofs are for auditors and for the parties of the bundle an entry is about');
        }
      }
      return app.custody.inclusionProof(seq, size);
    },
  );

  app.get(
    '/v1/log/proofs/consistency',
    {
      config: { access: 'public' },
      schema: {
        tags: ['log'],
        summary: 'RFC 6962 consistency proof between tree sizes `from` and `to`',
        querystring: Type.Object({ from: Count, to: Count }, { additionalProperties: false }),
        response: { 200: Type.Object({ from: Type.Integer(), to: Type.Integer(), hashes: Type.Array(Hex32) }), ...problemResponses(400) },
      },
    },
    async (request) => {
      const { from, to } = request.query;
      if (from > to) throw Errors.validationFailed('from must not be greater than to');
      const logSize = await app.custody.size();
      if (to > logSize) throw Errors.validationFailed(`to ${to} is beyond the log size ${logSize}`);
      return { from, to, hashes: await app.custody.consistencyProof(from, to) };
    },
  );

  app.get(
    '/v1/log/verify',
    {
      config: { access: { roles: ['auditor'] } },
      schema: {
        tags: ['log'],
        summary: 'Server-side full verification: chain, subject chains, every checkpoint root and signature',
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            size: Type.Integer(),
            checked: Type.Integer(),
            firstBad: Type.Union([Type.Object({ seq: Type.Integer(), reason: Type.String() }), Type.Null()]),
          }),
          ...problemResponses(401, 403),
        },
      },
    },
    async () => app.custody.verify(),
  );
};
