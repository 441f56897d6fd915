/**
 * RFC 9457 problem details for every error. Only our named errors, schema
 * validation and a short list of well-understood framework errors carry a
 * message to the client; anything else is an opaque 500 whose details stay
 * in the log under the request id. No stack trace, SQL or SQLSTATE leaves.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Errors, problemInfo, problemOf, type EvxError } from '../errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  [extension: string]: unknown;
}

export function problemType(code: string): string {
  return `urn:evx:problem:${code}`;
}

interface ValidationItem {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

function describeValidation(err: FastifyError & { validation?: ValidationItem[]; validationContext?: string }): { detail: string; errors: Array<{ location: string; message: string }> } {
  const where = err.validationContext ?? 'request';
  const errors = (err.validation ?? []).map((v) => {
    let message = v.message ?? 'is invalid';
    if (v.keyword === 'additionalProperties' && typeof v.params?.['additionalProperty'] === 'string') {
      message = `has an unknown field "${v.params['additionalProperty']}"`;
    }
    return { location: `${where}${v.instancePath ?? ''}`, message };
  });
  const first = errors[0];
  return { detail: first ? `${first.location} ${first.message}` : `${where} is invalid`, errors };
}

/** Framework errors we understand and may describe; their own messages are not reused. */
const FRAMEWORK_ERRORS: Record<string, { code: string; detail: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type', detail: 'this content type is not accepted here' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', detail: 'the request body exceeds the limit for this route' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'bad_request', detail: 'the JSON body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'bad_request', detail: 'the body is not valid JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'bad_request', detail: 'Content-Length does not match the body' },
  FST_ERR_CTP_EMPTY_TYPE: { code: 'unsupported_media_type', detail: 'a Content-Type is required' },
  FST_ERR_CTP_INVALID_TYPE: { code: 'unsupported_media_type', detail: 'the Content-Type is invalid' },
  FST_ERR_BAD_URL: { code: 'bad_request', detail: 'the URL is malformed' },
  FST_ERR_ASYNC_CONSTRAINT: { code: 'bad_request', detail: 'the request does not match the route constraints' },
};

export function toProblem(err: unknown, requestId: string): ProblemDocument {
  const ours = problemOf(err);
  if (ours) {
    const e = err as EvxError;
    return { type: problemType(ours.code), title: ours.title, status: ours.status, detail: e.message, code: ours.code, ...(e.extensions ?? {}) };
  }
  const fe = err as FastifyError & { validation?: ValidationItem[] };
  if (fe && Array.isArray(fe.validation)) {
    const { detail, errors } = describeValidation(fe);
    const info = problemInfo('validation_failed')!;
    return { type: problemType('validation_failed'), title: info.title, status: 400, detail, code: 'validation_failed', errors };
  }
  if (fe && typeof fe.code === 'string') {
    // JSON parse errors from the body parser carry a SyntaxError with statusCode 400.
    const known = FRAMEWORK_ERRORS[fe.code];
    if (known) {
      const info = problemInfo(known.code)!;
      return { type: problemType(known.code), title: info.title, status: info.status, detail: known.detail, code: known.code };
    }
  }
  if (err instanceof SyntaxError && (err as { statusCode?: number }).statusCode === 400) {
    return { type: problemType('bad_request'), title: 'Bad request', status: 400, detail: 'the body is not valid JSON', code: 'bad_request' };
  }
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    // A 4xx we did not name: keep the status, not the message.
    return { type: problemType('bad_request'), title: 'Bad request', status, detail: 'the request was refused', code: status === 404 ? 'not_found' : 'bad_request' };
  }
  const info = problemInfo('internal_error')!;
  return {
    type: problemType('internal_error'),
    title: info.title,
    status: 500,
    detail: `an internal error occurred; it was logged with request id ${requestId}`,
    code: 'internal_error',
  };
}

export function sendProblem(reply: FastifyReply, problem: ProblemDocument): FastifyReply {
  return reply.status(problem.status).header('content-type', PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}

async function problemHandler(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const problem = toProblem(err, request.id);
    if (problem.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: problem.code, status: problem.status }, 'request refused');
    if (problem.status === 401) reply.header('www-authenticate', 'Bearer realm="evx"');
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    return sendProblem(reply, toProblem(Errors.routeNotFound(`no route ${request.method} ${request.url.split('?')[0]}`), request.id));
  });
}

export default fp(problemHandler, { name: 'evx-problem-handler', fastify: '5.x' });
