/**
 * Authentication and route access. Every route declares `config.access`;
 * a route without one is refused at startup, so "who may call this" is
 * never left to chance. Tokens are verified by @fastify/jwt (fast-jwt) with
 * the key and algorithm allow-list of the issuer named in the token.
 */
import fastifyJwt, { type TokenOrHeader } from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Errors, isEvxError } from '../errors.js';
import type { Role } from '../shared/vocabulary.js';
import { ASYMMETRIC_ALGORITHMS, type TrustedIssuer } from './issuers.js';
import { principalFromClaims, type Principal } from './principal.js';

/** `public`: no token; `roles: 'any'`: any valid token; else at least one of the roles. */
export type Access = 'public' | { roles: readonly Role[] | 'any' };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface AuthOptions {
  issuers: TrustedIssuer[];
  audience: string;
  clockToleranceSeconds: number;
}

/** The authenticated caller of a non-public route. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw Errors.unauthorized('this route requires a bearer token');
  return request.principal;
}

function mapJwtError(err: unknown): Error {
  if (isEvxError(err)) return err;
  const code = (err as { code?: string }).code ?? '';
  if (code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED') return Errors.tokenExpired('the token has expired');
  if (code === 'FST_JWT_NO_AUTHORIZATION_IN_HEADER') return Errors.unauthorized('missing Authorization: Bearer <token>');
  if (code === 'FST_JWT_BAD_REQUEST') return Errors.unauthorized('the Authorization header must be "Bearer <token>"');
  if (code === 'FAST_JWT_MISSING_SIGNATURE') return Errors.tokenInvalid('the token is not signed');
  const message = (err as Error).message ?? '';
  // fast-jwt's claim messages name the claim, never key material; keep them short.
  if (/aud/i.test(message)) return Errors.tokenInvalid('the token audience is not accepted');
  if (/iss/i.test(message)) return Errors.tokenInvalid('the token issuer is not accepted');
  if (/nbf|not active|not yet valid/i.test(message)) return Errors.tokenInvalid('the token is not yet valid');
  if (/signature/i.test(message)) return Errors.tokenInvalid('the token signature is not valid');
  if (/missing|required/i.test(message)) return Errors.tokenInvalid('the token lacks a required claim (iss, sub, aud, exp)');
  return Errors.tokenInvalid('the token could not be verified');
}

async function authPlugin(app: FastifyInstance, options: AuthOptions): Promise<void> {
  const byIssuer = new Map(options.issuers.map((i) => [i.issuer, i]));
  if (byIssuer.size === 0) throw new Error('auth: at least one issuer is required');

  await app.register(fastifyJwt, {
    decoratorName: 'jwtPayload',
    // The key callback needs the header (alg) as well as the payload (iss).
    decode: { complete: true },
    secret: async (_request: FastifyRequest, decoded: TokenOrHeader) => {
      // With a key callback, @fastify/jwt passes the decoded (unverified) token: only used to pick the issuer.
      const token = decoded as { header?: { alg?: unknown }; payload?: { iss?: unknown } };
      const iss = token.payload?.iss;
      const issuer = typeof iss === 'string' ? byIssuer.get(iss) : undefined;
      if (!issuer) throw Errors.tokenUntrustedIssuer(typeof iss === 'string' ? `issuer "${iss.slice(0, 200)}" is not trusted` : 'the token has no iss claim');
      const alg = token.header?.alg;
      if (typeof alg !== 'string' || !(issuer.algorithms as string[]).includes(alg)) {
        throw Errors.tokenInvalid(`algorithm ${typeof alg === 'string' ? alg.slice(0, 20) : '(none)'} is not accepted for issuer ${issuer.issuer}`);
      }
      return issuer.publicKeyPem;
    },
    verify: {
      algorithms: [...ASYMMETRIC_ALGORITHMS],
      allowedIss: [...byIssuer.keys()],
      allowedAud: [options.audience],
      requiredClaims: ['iss', 'sub', 'aud', 'exp'],
      clockTolerance: options.clockToleranceSeconds * 1000,
      cache: false,
    },
  });

  app.decorateRequest('principal', null);

  app.addHook('onRoute', (route) => {
    // The docs UI's own asset routes are public documentation.
    if (route.url.startsWith('/docs')) {
      route.config = { ...(route.config ?? {}), access: 'public' };
      return;
    }
    if (route.config?.access === undefined) {
      throw new Error(`route ${String(route.method)} ${route.url} does not declare config.access`);
    }
  });

  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access;
    // Unknown routes reach the not-found handler, which reveals nothing.
    if (access === undefined || access === 'public') return;
    let payload: Record<string, unknown>;
    try {
      payload = await request.jwtVerify<Record<string, unknown>>();
    } catch (err) {
      throw mapJwtError(err);
    }
    const issuer = byIssuer.get(payload['iss'] as string);
    if (!issuer) throw Errors.tokenUntrustedIssuer('the token issuer is not trusted');
    const principal = principalFromClaims(payload, issuer);
    request.principal = principal;
    if (access.roles !== 'any' && !access.roles.some((r) => principal.roles.has(r))) {
      throw Errors.forbiddenRole(`this action requires the role ${access.roles.join(' or ')}`);
    }
  });
}

export default fp(authPlugin, { name: 'evx-auth', fastify: '5.x' });
