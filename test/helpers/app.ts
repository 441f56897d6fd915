/**
 * A real app on a fresh database, with real issuers for NL, DE, ICC and the
 * operator, and a token minter. Requests go through `app.inject` (the full
 * HTTP pipeline: routing, hooks, validation, serialization).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../services/app.js';
import { loadConfig, type Config } from '../../services/config.js';
import { createDatabase } from './database.js';
import { issuersJson, makeIssuer, mint, type ClaimsInput, type TestIssuer } from './tokens.js';

export interface TestContext {
  teardown(fn: () => unknown): void;
}

export interface TestIssuers {
  NL: TestIssuer;
  DE: TestIssuer;
  ICC: TestIssuer;
  operator: TestIssuer;
}

let cachedIssuers: TestIssuers | null = null;
export function testIssuers(): TestIssuers {
  cachedIssuers ??= {
    NL: makeIssuer('https://idp.nl.example', 'EdDSA', { jurisdiction: 'NL' }),
    DE: makeIssuer('https://idp.de.example', 'ES256', { jurisdiction: 'DE' }),
    ICC: makeIssuer('https://idp.icc.example', 'RS256', { jurisdiction: 'ICC' }),
    operator: makeIssuer('https://operator.example', 'EdDSA', { operator: true }),
  };
  return cachedIssuers;
}

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  databaseUrl: string;
  dataDir: string;
  issuers: TestIssuers;
  /** Mint a token from one of the test issuers (jurisdiction claim defaults to the issuer's). */
  token(who: keyof TestIssuers, claims?: ClaimsInput): string;
  /** Shorthand: Authorization header for `who` with `roles`. */
  auth(who: keyof TestIssuers, roles: string[], claims?: ClaimsInput): { authorization: string };
}

export function tempDir(t: TestContext, prefix = 'evx-t-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function buildTestApp(t: TestContext, env: Record<string, string> = {}, databaseUrl?: string): Promise<TestApp> {
  const url = databaseUrl ?? (await createDatabase(t));
  const dataDir = tempDir(t);
  const issuers = testIssuers();
  const config = loadConfig({
    DATABASE_URL: url,
    EVX_DATA_DIR: dataDir,
    EVX_ISSUERS: issuersJson(Object.values(issuers)),
    EVX_CHECKPOINT_INTERVAL: '50ms',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const app = await buildApp(config, { logger: pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }) });
  t.teardown(() => app.close());
  await app.ready();
  const token = (who: keyof TestIssuers, claims: ClaimsInput = {}): string => mint(issuers[who], claims);
  return {
    app,
    config,
    databaseUrl: url,
    dataDir,
    issuers,
    token,
    auth: (who, roles, claims = {}) => ({ authorization: `Bearer ${token(who, { roles, ...claims })}` }),
  };
}

/** Register jurisdictions as the operator; returns nothing, fails the test on any refusal. */
export async function registerJurisdictions(ta: TestApp, codes: Array<{ code: string; kind?: 'state' | 'tribunal' | 'organisation' }>): Promise<void> {
  for (const j of codes) {
    const res = await ta.app.inject({
      method: 'POST',
      url: '/v1/jurisdictions',
      headers: ta.auth('operator', ['admin']),
      payload: { code: j.code, name: `${j.code} authority`, kind: j.kind ?? 'state' },
    });
    if (res.statusCode !== 201) throw new Error(`registering ${j.code}: ${res.statusCode} ${res.body}`);
  }
}
