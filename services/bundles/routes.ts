/**
 * Evidence intake and retrieval (SPEC §2): create a bundle from a signed
 * manifest, stream its ciphertext in (resumably), seal it, list, view,
 * download, and show its custody. Every change and every refusal is a
 * custody entry; a caller who may not see a bundle gets the same 404 whether
 * or not it exists.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { principalOf } from '../auth/plugin.js';
import { Errors, domainError, type EvxError } from '../errors.js';
import { CANONICAL_UUID, canonicalId } from '../shared/ids.js';
import { problemResponses } from '../shared/schemas.js';
import type { JsonValue } from '../shared/jcs.js';
import type { BundleAccess } from './access.js';
import { loadVisible as loadVisibleBundle, recordRoleRefusal, refuse as refuseAndRecord } from './guard.js';
import { createBundle } from './intake.js';
import { parseRange } from './range.js';
import { EXACT_TIMESTAMP, getBundle, listBundles, markFileReceived, markSealed, type Bundle } from './repository.js';
import { BundleParams, BundleSummarySchema, BundleView, CreateBundleBody, CustodySchema, FileParams, FileState } from './schemas.js';
import { UploadInterruptedError, UploadLockedError, UploadOffsetError, UploadTooLargeError, type BlobKey } from '../storage/blob-store.js';
import type { Readable } from 'node:stream';

const TUS_VERSION = '1.0.0';
function mediaType(request: FastifyRequest): string | undefined {
  return request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
}

/**
 * Upload media types are checked before the body is parsed: otherwise a
 * JSON content type would have the JSON parser read (and refuse) the
 * ciphertext, and a PUT without a body would reach the handler with none.
 * The connection is closed so a refused body is not read to its end.
 */
function requireMediaType(type: string, what: string) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (mediaType(request) !== type) {
      reply.header('connection', 'close');
      throw Errors.unsupportedMediaType(`${what} takes Content-Type: ${type}`);
    }
  };
}

async function requireTusVersion(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const tus = request.headers['tus-resumable'];
  if (tus !== undefined && tus !== TUS_VERSION) {
    reply.headers({ 'tus-version': TUS_VERSION, connection: 'close' });
    throw Errors.preconditionFailed(`Tus-Resumable ${String(tus)} is not supported; use ${TUS_VERSION}`);
  }
}

function encodeCursor(b: { createdAtExact: string; id: string }): string {
  return Buffer.from(`${b.createdAtExact}|${b.id}`).toString('base64url');
}
function decodeCursor(text: string): { createdAtExact: string; id: string } {
  const [exact, id, ...rest] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  // The date must be a real one (PostgreSQL refuses 2026-02-30 with an error, not a 400): it must survive a round trip.
  const real = exact !== undefined && EXACT_TIMESTAMP.test(exact) && !Number.isNaN(Date.parse(exact)) && new Date(exact).toISOString().slice(0, 23) === exact.slice(0, 23);
  if (rest.length > 0 || !exact || !real || !id || !CANONICAL_UUID.test(id)) {
    throw Errors.validationFailed('after is not a cursor returned by this API');
  }
  return { createdAtExact: exact, id };
}

export const bundleRoutes: FastifyPluginAsyncTypebox = async (app) => {

  // Ciphertext arrives as a raw stream, handed to the route unread: no
  // buffering, and no bodyLimit either — the upload routes count bytes
  // against the manifest's cipherSize themselves.
  app.addContentTypeParser(['application/octet-stream', 'application/offset+octet-stream'], (_request, payload, done) => done(null, payload));

  const refuse = (request: FastifyRequest, bundleId: string, type: string, data: Record<string, JsonValue>, error: EvxError): Promise<never> =>
    refuseAndRecord(app, request, bundleId, type, data, error);
  const loadVisible = (request: FastifyRequest, id: string, action: string, need: (a: BundleAccess) => boolean) => loadVisibleBundle(app, request, id, action, need);

  const roleRefusal = (action: string) => recordRoleRefusal(app, action);

  async function loadForUpload(request: FastifyRequest, id: string, n: number, action: string): Promise<{ bundle: Bundle; file: Bundle['files'][number]; key: BlobKey }> {
    const { bundle, access } = await loadVisible(request, id, action, (a) => a.ownerJurisdiction);
    if (!access.uploader) return refuse(request, id, 'upload.refused', { n, reason: 'not_uploader' }, Errors.forbidden('only the officer who created the bundle may upload to it'));
    const file = bundle.files[n];
    if (!file) return refuse(request, id, 'upload.refused', { n, reason: 'no_such_file' }, Errors.notFound(`bundle ${id} has no file ${n} (its manifest lists ${bundle.files.length})`));
    if (bundle.status === 'sealed') return refuse(request, id, 'upload.refused', { n, reason: 'bundle_sealed' }, bundleSealed(id));
    if (file.receivedAt !== null || (await recoverReceipt(request, bundle, file))) return refuse(request, id, 'upload.refused', { n, reason: 'already_received' }, Errors.conflict(`file ${n} was already received completely`, { file: n }));
    return { bundle, file, key: { bundleId: id, n } };
  }

  function uploadInProgress(n: number): EvxError {
    return Errors.conflict(`another upload to file ${n} is in progress`, { file: n });
  }

  function bundleSealed(id: string): EvxError {
    return Errors.conflict(`bundle ${id} is sealed: its content can no longer change`);
  }

  /**
   * The file is complete: check its hash against the manifest, then commit
   * the object and record `file.received` in one unit. A wrong hash discards
   * the upload, so the next attempt starts from zero.
   */
  async function completeFile(request: FastifyRequest, bundle: Bundle, file: Bundle['files'][number], key: BlobKey, knownSha256: string | null): Promise<string> {
    const sha = knownSha256 ?? (await app.blobs.hashUpload(key));
    if (sha !== file.cipherSha256) {
      await app.blobs.discardUpload(key);
      return refuse(
        request,
        bundle.id,
        'upload.refused',
        { n: file.n, reason: 'cipher_hash_mismatch', cipherSha256: sha },
        domainError('cipher_hash_mismatch', `file ${file.n}: the ciphertext hashes to ${sha}, the manifest says ${file.cipherSha256}; the upload was discarded`, { file: file.n, problem: 'cipher_hash_mismatch' }),
      );
    }
    await app.blobs.commitUpload(key);
    await recordReceived(request, bundle.id, file, sha, {});
    return sha;
  }

  /** Mark the file received and record `file.received`, once, in one unit. */
  async function recordReceived(request: FastifyRequest, bundleId: string, file: Bundle['files'][number], sha: string, extra: Record<string, JsonValue>): Promise<void> {
    await app.custody.run(async (tx) => {
      const current = await getBundle(tx, bundleId, { forUpdate: true });
      if (current?.status !== 'open') throw bundleSealed(bundleId);
      // Two completions racing (or a recovery after a completion) record it once.
      if (!(await markFileReceived(tx, bundleId, file.n))) return;
      app.custody.append(tx, {
        type: 'file.received',
        actor: request.principal,
        subject: `bundle:${bundleId}`,
        data: { n: file.n, cipherSize: file.cipherSize, cipherSha256: sha, ...extra },
      });
    });
  }

  /**
   * Finish a receipt a crash interrupted. The object is committed before its
   * receipt is recorded: a crash in between leaves a complete object the
   * database calls not received, which no upload could ever replace; it is
   * recorded when it is as the manifest says. With `completeUpload` (seal),
   * an upload that holds all its bytes but was never checked and committed
   * (a crash after the last byte) is checked and committed now, as an empty
   * PATCH at the final offset would. True if the file is (now) received.
   */
  async function recoverReceipt(request: FastifyRequest, bundle: Bundle, file: Bundle['files'][number], options: { completeUpload?: boolean } = {}): Promise<boolean> {
    if (file.receivedAt !== null) return true;
    const key = { bundleId: bundle.id, n: file.n };
    if (!(await app.blobs.hasObject(key))) {
      if (!options.completeUpload || (await app.blobs.offset(key)) !== file.cipherSize) return false;
      try {
        await completeFile(request, bundle, file, key, null);
      } catch (err) {
        if (err instanceof UploadLockedError) return false;
        throw err;
      }
      file.receivedAt = new Date();
      return true;
    }
    const hash = createHash('sha256');
    for await (const chunk of app.blobs.read(key) as AsyncIterable<Buffer>) hash.update(chunk);
    const sha = hash.digest('hex');
    if (sha !== file.cipherSha256 || (await app.blobs.objectSize(key)) !== file.cipherSize) {
      request.log.error({ bundle: bundle.id, n: file.n, sha }, 'a committed object does not match its manifest entry');
      return false;
    }
    await recordReceived(request, bundle.id, file, sha, { recovered: true });
    file.receivedAt = new Date();
    return true;
  }

  /** Stream the request body into the upload at `offset`; the shared part of PUT and PATCH. */
  async function receive(request: FastifyRequest, reply: FastifyReply, bundle: Bundle, file: Bundle['files'][number], key: BlobKey, offset: number): Promise<{ received: number; cipherSha256: string | null }> {
    const declared = request.headers['content-length'];
    // tus: a wrong Upload-Offset is a 409 whatever the body; the size bound is judged from the real offset.
    const current = await app.blobs.offset(key);
    if (offset !== current) {
      reply.headers({ 'upload-offset': String(current), connection: 'close' });
      return refuse(request, bundle.id, 'upload.refused', { n: file.n, reason: 'offset_mismatch', offset, expected: current }, Errors.conflict(`Upload-Offset ${offset} does not match the ${current} bytes received`, { file: file.n, offset: current }));
    }
    if (declared !== undefined && offset + Number(declared) > file.cipherSize) {
      reply.header('connection', 'close');
      return refuse(
        request,
        bundle.id,
        'upload.refused',
        { n: file.n, reason: 'too_large' },
        Errors.payloadTooLarge(`file ${file.n} is ${file.cipherSize} bytes of ciphertext; ${offset} received and ${declared} more would exceed it`, { file: file.n }),
      );
    }
    let result;
    try {
      result = await app.blobs.append(key, offset, request.body as Readable, file.cipherSize);
    } catch (err) {
      if (err instanceof UploadTooLargeError) {
        await app.blobs.discardUpload(key);
        reply.header('connection', 'close');
        return refuse(request, bundle.id, 'upload.refused', { n: file.n, reason: 'too_large' }, Errors.payloadTooLarge(`file ${file.n}: more than its ${file.cipherSize} bytes of ciphertext were sent; the upload was discarded`, { file: file.n }));
      }
      if (err instanceof UploadOffsetError) {
        reply.header('upload-offset', String(err.expected));
        return refuse(request, bundle.id, 'upload.refused', { n: file.n, reason: 'offset_mismatch', offset, expected: err.expected }, Errors.conflict(`Upload-Offset ${offset} does not match the ${err.expected} bytes received`, { file: file.n, offset: err.expected }));
      }
      if (err instanceof UploadLockedError) return refuse(request, bundle.id, 'upload.refused', { n: file.n, reason: 'upload_in_progress' }, uploadInProgress(file.n));
      if (err instanceof UploadInterruptedError) {
        request.log.info({ bundle: bundle.id, n: file.n, offset: err.offset }, 'upload interrupted; the received prefix is kept for resumption');
        throw Errors.badRequest(`the upload was interrupted at offset ${err.offset}; resume with PATCH`);
      }
      throw err;
    }
    if (result.offset < file.cipherSize) return { received: result.offset, cipherSha256: null };
    const sha = await completeFile(request, bundle, file, key, result.fromStart ? result.appendedSha256 : null);
    return { received: result.offset, cipherSha256: sha };
  }

  app.post(
    '/v1/bundles',
    {
      bodyLimit: 16 * 1024 * 1024,
      config: { access: { roles: ['investigator'] } },
      schema: {
        tags: ['bundles'],
        summary: 'Create a bundle from a signed manifest and the owner jurisdiction key wrap',
        body: CreateBundleBody,
        response: { 201: Type.Object({ id: Type.String(), status: Type.Literal('open'), files: Type.Array(FileState) }), ...problemResponses(400, 401, 403, 422) },
      },
    },
    async (request, reply) => {
      const created = await createBundle(app, principalOf(request), request.body, randomUUID());
      return reply.status(201).send(created);
    },
  );

  app.put(
    '/v1/bundles/:id/files/:n',
    {
      config: { access: { roles: ['investigator'] } },
      onRequest: requireMediaType('application/octet-stream', 'PUT'),
      onError: roleRefusal('upload'),
      schema: {
        tags: ['bundles'],
        summary: 'Upload the ciphertext of file n (application/octet-stream), streamed; replaces a partial upload',
        params: FileParams,
        response: { 200: Type.Object({ n: Type.Integer(), received: Type.Integer(), cipherSha256: Type.Union([Type.String(), Type.Null()]) }), ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const id = canonicalId(request.params.id);
      const n = request.params.n;
      const { bundle, file, key } = await loadForUpload(request, id, n, 'upload');
      if ((await app.blobs.offset(key)) > 0) {
        try {
          await app.blobs.discardUpload(key);
        } catch (err) {
          if (err instanceof UploadLockedError) {
            reply.header('connection', 'close');
            return refuse(request, id, 'upload.refused', { n, reason: 'upload_in_progress' }, uploadInProgress(n));
          }
          throw err;
        }
      }
      const { received, cipherSha256 } = await receive(request, reply, bundle, file, key, 0);
      return { n, received, cipherSha256 };
    },
  );

  app.route({
    method: 'HEAD',
    url: '/v1/bundles/:id/files/:n',
    config: { access: { roles: ['investigator'] } },
    onError: roleRefusal('upload_offset'),
    schema: { tags: ['bundles'], summary: 'tus: the Upload-Offset of file n (bytes received, survives restarts)', params: FileParams },
    handler: async (request, reply) => {
      const params = request.params as { id: string; n: number };
      const id = canonicalId(params.id);
      const n = params.n;
      const { bundle, access } = await loadVisible(request, id, 'upload_offset', (a) => a.ownerJurisdiction);
      if (!access.uploader) return refuse(request, id, 'upload.refused', { n, reason: 'not_uploader' }, Errors.forbidden('only the officer who created the bundle may upload to it'));
      const file = bundle.files[n];
      if (!file) return refuse(request, id, 'upload.refused', { n, reason: 'no_such_file' }, Errors.notFound(`bundle ${id} has no file ${n} (its manifest lists ${bundle.files.length})`));
      const offset = await app.blobs.offset({ bundleId: id, n });
      return reply.status(200).headers({ 'upload-offset': String(offset), 'upload-length': String(file.cipherSize), 'tus-resumable': TUS_VERSION, 'cache-control': 'no-store' }).send();
    },
  });

  app.patch(
    '/v1/bundles/:id/files/:n',
    {
      config: { access: { roles: ['investigator'] } },
      onRequest: [requireTusVersion, requireMediaType('application/offset+octet-stream', 'PATCH')],
      onError: roleRefusal('upload'),
      schema: {
        tags: ['bundles'],
        summary: 'tus: append to file n at Upload-Offset (application/offset+octet-stream); 204 with the new Upload-Offset',
        params: FileParams,
        headers: Type.Object({ 'upload-offset': Type.Integer({ minimum: 0 }), 'tus-resumable': Type.Optional(Type.String()) }),
        response: { 204: Type.Null({ description: 'appended; see Upload-Offset' }), ...problemResponses(400, 401, 403, 404, 409, 412, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const id = canonicalId(request.params.id);
      const n = request.params.n;
      const offset = request.headers['upload-offset'];
      const { bundle, file, key } = await loadForUpload(request, id, n, 'upload');
      const { received } = await receive(request, reply, bundle, file, key, offset);
      return reply.status(204).headers({ 'upload-offset': String(received), 'tus-resumable': TUS_VERSION }).send(null);
    },
  );

  app.post(
    '/v1/bundles/:id/seal',
    {
      config: { access: { roles: ['investigator'] } },
      onError: roleRefusal('seal'),
      schema: {
        tags: ['bundles'],
        summary: 'Seal: every file complete and as in the manifest → immutable',
        params: BundleParams,
        response: { 200: Type.Object({ id: Type.String(), status: Type.Literal('sealed'), sealedAt: Type.String() }), ...problemResponses(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => {
      const id = canonicalId(request.params.id);
      const { bundle, access } = await loadVisible(request, id, 'seal', (a) => a.ownerJurisdiction);
      if (!access.uploader) return refuse(request, id, 'seal.refused', { reason: 'not_uploader' }, Errors.forbidden('only the officer who created the bundle may seal it'));
      if (bundle.status === 'sealed') return refuse(request, id, 'seal.refused', { reason: 'already_sealed' }, bundleSealed(id));
      for (const file of bundle.files) {
        await recoverReceipt(request, bundle, file, { completeUpload: true });
        const size = await app.blobs.objectSize({ bundleId: id, n: file.n });
        if (file.receivedAt === null || size === null) {
          const received = await app.blobs.offset({ bundleId: id, n: file.n });
          return refuse(request, id, 'seal.refused', { reason: 'file_incomplete', n: file.n }, Errors.conflict(`file ${file.n} is incomplete: ${received} of ${file.cipherSize} bytes received`, { file: file.n, received }));
        }
        if (size !== file.cipherSize) {
          return refuse(request, id, 'seal.refused', { reason: 'size_mismatch', n: file.n }, Errors.unprocessable(`file ${file.n} is ${size} bytes, the manifest says ${file.cipherSize}`, { file: file.n }));
        }
        // SPEC §4: every cipherSha256 is checked at seal, on the stored bytes themselves (streamed, ~1.5 GB/s).
        const hash = createHash('sha256');
        for await (const chunk of app.blobs.read({ bundleId: id, n: file.n }) as AsyncIterable<Buffer>) hash.update(chunk);
        const sha = hash.digest('hex');
        if (sha !== file.cipherSha256) {
          return refuse(request, id, 'seal.refused', { reason: 'cipher_hash_mismatch', n: file.n, cipherSha256: sha }, domainError('cipher_hash_mismatch', `file ${file.n}: the stored ciphertext hashes to ${sha}, the manifest says ${file.cipherSha256}`, { file: file.n, problem: 'cipher_hash_mismatch' }));
        }
      }
      const sealedAt = await app.custody.run(async (tx) => {
        const current = await getBundle(tx, id, { forUpdate: true });
        if (current?.status !== 'open') throw bundleSealed(id);
        if (current.files.some((f) => f.receivedAt === null)) throw Errors.conflict('a file is incomplete');
        const at = await markSealed(tx, id);
        app.custody.append(tx, { type: 'bundle.sealed', actor: request.principal, subject: `bundle:${id}`, data: { manifestSha256: bundle.manifestSha256, files: bundle.files.length } });
        return at;
      });
      return { id, status: 'sealed' as const, sealedAt: sealedAt.toISOString() };
    },
  );

  app.get(
    '/v1/bundles',
    {
      config: { access: { roles: 'any' } },
      schema: {
        tags: ['bundles'],
        summary: "Bundles the caller's jurisdiction owns or has a live release for",
        querystring: Type.Object({ after: Type.Optional(Type.String({ maxLength: 200 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ items: Type.Array(BundleSummarySchema), next: Type.Union([Type.String(), Type.Null()]) }), ...problemResponses(400, 401) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const limit = request.query.limit ?? 100;
      if (principal.jurisdiction === null) return { items: [], next: null };
      const after = request.query.after !== undefined ? decodeCursor(request.query.after) : null;
      const released = await app.releaseLookup.liveBundleIds(principal.jurisdiction);
      const rows = await listBundles(app.db, principal.jurisdiction, released, { after, limit: limit + 1 });
      const page = rows.slice(0, limit);
      return {
        items: page.map(({ createdAtExact: _cursor, ...b }) => ({ ...b, createdAt: b.createdAt.toISOString(), sealedAt: b.sealedAt?.toISOString() ?? null })),
        next: rows.length > limit ? encodeCursor(page[page.length - 1]!) : null,
      };
    },
  );

  app.get(
    '/v1/bundles/:id',
    {
      config: { access: { roles: 'any' } },
      schema: {
        tags: ['bundles'],
        summary: "Metadata, manifest + signature, and the caller's jurisdiction's key wrap",
        params: BundleParams,
        response: { 200: BundleView, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const id = canonicalId(request.params.id);
      const { bundle, access, principal } = await loadVisible(request, id, 'view', (a) => a.view);
      const keyWrap = access.content ? bundle.keyWrapOfCaller : null;
      const files = await Promise.all(bundle.files.map(async (f) => ({ n: f.n, cipherSize: f.cipherSize, received: f.receivedAt ? f.cipherSize : await app.blobs.offset({ bundleId: id, n: f.n }) })));
      await app.custody.run((tx) =>
        app.custody.append(tx, { type: 'bundle.accessed', actor: principal, subject: `bundle:${id}`, data: { keyWrap: keyWrap !== null } }),
      );
      const view = {
        id: bundle.id,
        ownerJurisdiction: bundle.ownerJurisdiction,
        status: bundle.status,
        manifest: bundle.manifest as unknown as Record<string, unknown>,
        manifestSha256: bundle.manifestSha256,
        signature: bundle.signature,
        keyWrap,
        files,
        createdAt: bundle.createdAt.toISOString(),
        sealedAt: bundle.sealedAt?.toISOString() ?? null,
      };
      return access.ownerJurisdiction ? { ...view, releases: await app.releaseLookup.list(id) } : view;
    },
  );

  app.get(
    '/v1/bundles/:id/files/:n',
    {
      exposeHeadRoute: false,
      config: { access: { roles: ['investigator', 'registry'] } },
      onError: roleRefusal('download'),
      schema: {
        tags: ['bundles'],
        summary: 'The ciphertext of file n (streamed; Range supported; ETag and Repr-Digest of the whole ciphertext)',
        params: FileParams,
        response: { ...problemResponses(400, 401, 403, 404, 416) },
      },
    },
    async (request, reply) => {
      const id = canonicalId(request.params.id);
      const n = request.params.n;
      const { bundle, principal } = await loadVisible(request, id, 'download', (a) => a.content);
      const file = bundle.files[n];
      if (!file || file.receivedAt === null) return refuse(request, id, 'access.denied', { action: 'download', n, reason: 'no_such_file' }, Errors.notFound(`bundle ${id} has no complete file ${n}`));
      const size = file.cipherSize;
      const range = parseRange(request.headers.range, size);
      if (range.kind === 'unsatisfiable') {
        reply.header('content-range', `bytes */${size}`);
        throw Errors.rangeNotSatisfiable(`the range ${request.headers.range ?? ''} is outside the ${size} bytes of file ${n}`);
      }
      await app.custody.run((tx) =>
        app.custody.append(tx, {
          type: 'file.downloaded',
          actor: principal,
          subject: `bundle:${id}`,
          data: range.kind === 'partial' ? { n, cipherSha256: file.cipherSha256, range: `${range.start}-${range.end}` } : { n, cipherSha256: file.cipherSha256 },
        }),
      );
      const digest = Buffer.from(file.cipherSha256, 'hex').toString('base64');
      reply.headers({
        'content-type': 'application/octet-stream',
        'accept-ranges': 'bytes',
        etag: `"${file.cipherSha256}"`,
        'repr-digest': `sha-256=:${digest}:`,
        digest: `sha-256=${digest}`,
        'cache-control': 'private, no-store',
      });
      if (range.kind === 'partial') {
        reply.status(206).headers({ 'content-range': `bytes ${range.start}-${range.end}/${size}`, 'content-length': String(range.end - range.start + 1) });
        // A stream is sent as is, never serialized; the response schema only documents the problems.
        return reply.send(app.blobs.read({ bundleId: id, n }, { start: range.start, end: range.end }) as never);
      }
      reply.header('content-length', String(size));
      return reply.send(app.blobs.read({ bundleId: id, n }) as never);
    },
  );

  app.get(
    '/v1/bundles/:id/custody',
    {
      config: { access: { roles: 'any' } },
      schema: {
        tags: ['bundles'],
        summary: "The bundle's custody entries, each with an inclusion proof to the signed checkpoint returned",
        params: BundleParams,
        response: { 200: CustodySchema, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const id = canonicalId(request.params.id);
      await loadVisible(request, id, 'custody', (a) => a.custody);
      return app.custody.custodyOf(`bundle:${id}`);
    },
  );
};
