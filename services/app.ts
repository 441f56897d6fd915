/**
 * The application factory: the one way an evx app is built, by the server
 * entry, the tests and the demo. It wires infrastructure plugins (database,
 * auth, ledger, storage) and then the domain routes.
 */
import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { LoggerOptions } from 'pino';
import authPlugin from './auth/plugin.js';
import { loadOrCreateDevIssuer } from './auth/dev-issuer.js';
import type { TrustedIssuer } from './auth/issuers.js';
import type { Config } from './config.js';
import databasePlugin from './db/plugin.js';
import { healthRoutes } from './http/health.js';
import openapiPlugin from './http/openapi.js';
import problemHandler from './http/problem-handler.js';
import { installValidators } from './http/validation.js';
import { jurisdictionRoutes } from './jurisdictions/routes.js';
import ledgerPlugin from './ledger/plugin.js';
import { ledgerRoutes } from './ledger/routes.js';
import { officerRoutes } from './officers/routes.js';
import { bundleRoutes } from './bundles/routes.js';
import storagePlugin from './storage/plugin.js';
import bundlesPlugin from './bundles/plugin.js';
import { agreementRoutes } from './agreements/routes.js';
import { releaseRoutes } from './agreements/release-routes.js';
import { releaseLookup } from './agreements/releases.js';

/** Log paths that may carry credentials or key material. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  // Credentials and key material, at the top level of a log object and one level down.
  ...['token', 'privateKey', 'secretKey', 'seed', 'password', 'signature', 'keyWrap', 'keyWraps', 'box'].flatMap((k) => [k, `*.${k}`]),
  'body',
];

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
  };
}

export interface BuildAppOptions {
  /** A ready logger (tests pass a silent or capturing one); default: pino at config.logLevel. */
  logger?: FastifyBaseLogger;
}

/** The issuers to trust: configured ones, else (outside production) the development issuer. */
export function resolveIssuers(config: Config, log: { warn(msg: string): void }): TrustedIssuer[] {
  if (config.issuers.length > 0) return config.issuers;
  if (config.production) throw new Error('no token issuers configured in production');
  const dev = loadOrCreateDevIssuer(config.dataDir);
  log.warn(
    `!!! DEVELOPMENT ISSUER IN USE: no EVX_ISSUERS configured, trusting the local development issuer "${dev.issuer}" ` +
      `(key in ${config.dataDir}/dev-issuer.json) which may mint tokens for ANY jurisdiction. Never use this in production. !!!`,
  );
  return [dev];
}

export async function buildApp(config: Config, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  if (config.databaseUrl === null) throw new Error('buildApp needs a database URL (start the embedded database first)');
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: loggerOptions(config.logLevel) }),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>();

  installValidators(app);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(problemHandler);
  await app.register(databasePlugin, { connectionString: config.databaseUrl, poolSize: config.dbPoolSize });
  await app.register(authPlugin, {
    issuers: resolveIssuers(config, app.log),
    audience: config.audience,
    clockToleranceSeconds: config.clockToleranceSeconds,
  });
  await app.register(ledgerPlugin, {
    dataDir: config.dataDir,
    origin: config.logOrigin,
    signerKey: config.logKey,
    checkpointIntervalMs: config.checkpointIntervalMs,
  });
  await app.register(storagePlugin, { blobDir: config.blobDir });
  await app.register(bundlesPlugin, { releaseLookup: releaseLookup(app.db) });
  await app.register(openapiPlugin);

  await app.register(healthRoutes);
  await app.register(jurisdictionRoutes);
  await app.register(officerRoutes);
  await app.register(ledgerRoutes);
  await app.register(bundleRoutes);
  await app.register(agreementRoutes);
  await app.register(releaseRoutes);

  return app;
}
