/** OpenAPI 3 generated from the route schemas, at /openapi.json, with browsable docs at /docs. */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

async function openapiPlugin(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'evx',
        version: '1',
        description: 'Secure evidence exchange with a verifiable custody log. Errors are RFC 9457 problem+json with a `code`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
    transform: ({ schema, url, route }) => {
      const access = route.config?.access;
      const transformed = { ...(schema ?? {}) } as Record<string, unknown>;
      if (access === 'public') transformed['security'] = [];
      else if (access !== undefined) {
        const who = access.roles === 'any' ? 'any authenticated caller' : `role ${access.roles.join(' or ')}`;
        transformed['description'] = [transformed['description'], `Who may call: ${who}.`].filter(Boolean).join(' ');
      }
      return { schema: transformed, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
}

export default fp(openapiPlugin, { name: 'evx-openapi', fastify: '5.x' });
