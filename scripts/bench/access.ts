/**
 * `npm run bench:access`: latency of GET /v1/bundles/:id for a live
 * recipient (ICC registry) with 10,000 agreements and 100,000 bundles in the
 * database, at a fixed 200 requests/s (open loop: latency is measured from
 * each request's scheduled time, so a slow server cannot hide its queue),
 * next to GET /healthz under the same load in the same run. The server runs
 * as its own process (`services/server.ts`), as in production.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { mintEdDSAToken } from '../../services/auth/dev-issuer.js';
import { benchDatabase, machine } from './common.js';
import { freePort } from '../../services/shared/os-process.js';

const RATE = Number(process.env['BENCH_RATE'] ?? 200);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 15);
const AGREEMENTS = 10_000;
const BUNDLES = 100_000;
const RELEASED_TO_ICC = 1_000;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function seed(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const t0 = performance.now();
  await c.query(`
    INSERT INTO jurisdictions (code, name, kind)
      SELECT 'J' || lpad(i::text, 4, '0'), 'Jurisdiction ' || i, 'state' FROM generate_series(1, 150) i;
    INSERT INTO jurisdictions (code, name, kind) VALUES ('NL', 'Netherlands', 'state'), ('ICC', 'International Criminal Court', 'tribunal');
    INSERT INTO jurisdiction_keys (jurisdiction, key_version, box_public_key)
      SELECT code, 1, sha256(convert_to('box:' || code, 'UTF8')) FROM jurisdictions;
    INSERT INTO officer_keys (key_id, issuer, sub, jurisdiction, public_key)
      SELECT gen_random_uuid(), 'https://idp.' || code, 'officer', code, sha256(convert_to('sig:' || code, 'UTF8')) FROM jurisdictions;`);
  // 10,000 active agreements: NL–ICC plus 9,999 between pairs of the other jurisdictions.
  await c.query(`
    WITH pairs AS (
      SELECT a.code AS low, b.code AS high FROM jurisdictions a JOIN jurisdictions b ON a.code < b.code
      WHERE a.code LIKE 'J%' AND b.code LIKE 'J%' ORDER BY a.code, b.code LIMIT ${AGREEMENTS - 1}
    ), all_pairs AS (SELECT 'ICC' AS low, 'NL' AS high UNION ALL SELECT low, high FROM pairs)
    INSERT INTO agreements (id, party_low, party_high, version, status, terms, terms_sha256, signatures)
    SELECT gen_random_uuid(), low, high, 1, 'active',
      jsonb_build_object('parties', jsonb_build_array(high, low), 'legalBasis', 'MLA treaty', 'direction', 'both',
        'crimeCategories', jsonb_build_array('war_crimes', 'terrorism', 'corruption'), 'maxClassification', 'secret',
        'purposes', jsonb_build_array('trial', 'investigation'), 'validFrom', '2020-01-01T00:00:00Z', 'validUntil', '2099-01-01T00:00:00Z', 'onwardTransfer', false),
      encode(sha256(convert_to(low || high, 'UTF8')), 'hex'), '[]'::jsonb
    FROM all_pairs`);
  const manifest = (owner: string) =>
    `'{"caseReference":"CASE-' || i || '","classification":"confidential","createdAt":"2026-01-01T00:00:00Z","crimeCategory":"war_crimes","files":[{"chunkSize":1048576,"cipherSha256":"${'a'.repeat(64)}","cipherSize":1040,"name":"exhibit.bin","noncePrefix":"AAAAAAAAAAAAAAAAAAAAAA==","sha256":"${'b'.repeat(64)}","size":1024}],"signer":{"jurisdiction":"' || ${owner} || '","publicKey":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","sub":"officer"},"v":1}'`;
  await c.query(`
    CREATE TEMP TABLE seed_bundles AS
      SELECT gen_random_uuid() AS id, i,
        CASE WHEN i <= ${RELEASED_TO_ICC} THEN 'NL' ELSE 'J' || lpad((1 + i % 150)::text, 4, '0') END AS owner
      FROM generate_series(1, ${BUNDLES}) i;
    INSERT INTO bundles (id, owner_jurisdiction, status, manifest, manifest_sha256, signature, signer_key_id, uploader_issuer, uploader_sub, crime_category, classification, created_at, sealed_at)
      SELECT b.id, b.owner, 'sealed', convert_to(${manifest('b.owner')}, 'UTF8'), encode(sha256(convert_to(b.id::text, 'UTF8')), 'hex'),
        'c2lnbmF0dXJl', k.key_id, k.issuer, 'officer', 'war_crimes', 'confidential', now() - (b.i || ' seconds')::interval, now()
      FROM seed_bundles b JOIN officer_keys k ON k.jurisdiction = b.owner;
    INSERT INTO bundle_files (bundle_id, n, cipher_size, cipher_sha256, received_at)
      SELECT id, 0, 1040, '${'a'.repeat(64)}', now() FROM seed_bundles;
    INSERT INTO key_wraps (bundle_id, jurisdiction, key_version, wrap)
      SELECT id, owner, 1, jsonb_build_object('jurisdiction', owner, 'keyVersion', 1, 'ephemeralPublicKey', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'nonce', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'box', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA') FROM seed_bundles;
    INSERT INTO key_wraps (bundle_id, jurisdiction, key_version, wrap)
      SELECT id, 'ICC', 1, jsonb_build_object('jurisdiction', 'ICC', 'keyVersion', 1, 'ephemeralPublicKey', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'nonce', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'box', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA') FROM seed_bundles WHERE i <= ${RELEASED_TO_ICC};
    -- Releases: NL's bundles to ICC, and every other bundle to a partner of its owner.
    INSERT INTO releases (id, bundle_id, recipient, purpose, request_reference, agreement_id, agreement_version, granted_by_issuer, granted_by_sub)
      SELECT gen_random_uuid(), b.id, CASE WHEN a.party_low = b.owner THEN a.party_high ELSE a.party_low END, 'trial', 'REQ-' || b.i, a.id, 1, 'https://idp.' || b.owner, 'officer'
      FROM seed_bundles b
      JOIN LATERAL (SELECT * FROM agreements WHERE party_low = b.owner OR party_high = b.owner ORDER BY id LIMIT 1) a ON true;
    ANALYZE;`);
  const ids = (await c.query<{ id: string }>(`SELECT id FROM seed_bundles WHERE i <= ${RELEASED_TO_ICC}`)).rows.map((r) => r.id);
  const counts = (await c.query<{ a: string; b: string; r: string }>('SELECT (SELECT count(*) FROM agreements) a, (SELECT count(*) FROM bundles) b, (SELECT count(*) FROM releases) r')).rows[0]!;
  process.stderr.write(`seeded ${counts.a} agreements, ${counts.b} bundles, ${counts.r} releases in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  await c.end();
  return ids;
}

interface Result {
  p50: number;
  p99: number;
  max: number;
  errors: number;
  n: number;
}

/** Open-loop load: request i is due at t0 + i/RATE; its latency counts from then. */
async function load(port: number, pathFor: (i: number) => string, headers: Record<string, string>, seconds: number): Promise<Result> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const total = Math.round(RATE * seconds);
  const latencies: number[] = [];
  let errors = 0;
  const t0 = performance.now() + 50;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      new Promise<void>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, path: pathFor(i), headers, agent }, (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== 200) errors += 1;
            latencies.push(performance.now() - due);
            resolve();
          });
        });
        req.on('error', () => {
          errors += 1;
          resolve();
        });
        req.end();
      }),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { p50: q(0.5), p99: q(0.99), max: latencies[latencies.length - 1] ?? NaN, errors, n: latencies.length };
}

const db = await benchDatabase('evx_bench_access');
const ids = await seed(db.url);
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const issuers = [{ issuer: 'https://idp.icc.example', jurisdiction: 'ICC', publicKey: publicKey.export({ format: 'pem', type: 'spki' }), algorithms: ['EdDSA'] }];
const token = mintEdDSAToken('https://idp.icc.example', privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { sub: 'icc-registry', roles: ['registry'], audience: 'evx', ttl: 3600 });
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'evx-bench-access-'));
const port = await freePort();
const server = spawn(process.execPath, [...(process.env['BENCH_NODE_ARGS']?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', path.join(root, 'services/server.ts')], {
  cwd: root,
  env: { ...process.env, DATABASE_URL: db.url, EVX_DATA_DIR: dataDir, PORT: String(port), EVX_ISSUERS: JSON.stringify(issuers), LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
try {
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => http.get({ host: '127.0.0.1', port, path: '/readyz' }, (res) => { res.resume(); resolve(res.statusCode === 200); }).on('error', () => resolve(false)));
    if (ok) break;
    if (i > 300) throw new Error('the server did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  const auth = { authorization: `Bearer ${token}` };
  const first = await new Promise<number>((resolve) => http.get({ host: '127.0.0.1', port, path: `/v1/bundles/${ids[0]}`, headers: auth }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }));
  if (first !== 200) throw new Error(`GET /v1/bundles/:id as ICC answered ${first}`);
  await load(port, (i) => `/v1/bundles/${ids[i % ids.length]}`, auth, 2); // warm-up
  const health = await load(port, () => '/healthz', {}, SECONDS);
  const bundle = await load(port, (i) => `/v1/bundles/${ids[(i * 7) % ids.length]}`, auth, SECONDS);
  console.log(`## bench:access — ${new Date().toISOString()}`);
  console.log('');
  console.log(`Machine: ${machine()}; database: ${db.label}; ${AGREEMENTS} agreements, ${BUNDLES} bundles, ${BUNDLES} releases; ${RATE} requests/s for ${SECONDS} s each, open loop.`);
  console.log('');
  console.log('| request | n | errors | p50 ms | p99 ms | max ms |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [name, r] of [['GET /healthz (baseline)', health], ['GET /v1/bundles/:id as a live recipient', bundle]] as const) {
    console.log(`| ${name} | ${r.n} | ${r.errors} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(2)} |`);
  }
  console.log('');
  console.log(`Ratio to /healthz: p50 ×${(bundle.p50 / health.p50).toFixed(1)}, p99 ×${(bundle.p99 / health.p99).toFixed(1)}. Each bundle view re-checks the release against its agreement and appends a custody entry (a commit).`);
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.on('close', r));
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
}
