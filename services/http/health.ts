import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Errors } from '../errors.js';
import { problemResponses } from '../shared/schemas.js';

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: { tags: ['health'], summary: 'The process is up', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['health'],
        summary: 'The database is reachable',
        response: { 200: Type.Object({ status: Type.Literal('ready') }), ...problemResponses(503) },
      },
    },
    async () => {
      if (!(await app.databaseReady())) throw Errors.serviceUnavailable('the database is not reachable');
      return { status: 'ready' as const };
    },
  );
};
