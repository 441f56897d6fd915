/**
 * The custody log as a fastify decoration (`app.custody`), with the
 * checkpoint publisher: every EVX_CHECKPOINT_INTERVAL it signs a checkpoint
 * if the log grew. Stopped with the app.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { CustodyLog } from './custody-log.js';
import { loadOrCreateLogSigner } from './log-key.js';

declare module 'fastify' {
  interface FastifyInstance {
    custody: CustodyLog;
  }
}

export interface LedgerPluginOptions {
  dataDir: string;
  origin: string;
  signerKey: string | null;
  checkpointIntervalMs: number;
}

async function ledgerPlugin(app: FastifyInstance, options: LedgerPluginOptions): Promise<void> {
  const signer = loadOrCreateLogSigner(options.dataDir, options.origin, options.signerKey);
  const log = new CustodyLog(app.db, signer, options.origin);
  app.decorate('custody', log);
  app.log.info({ vkey: signer.vkey }, 'custody log key');

  let timer: NodeJS.Timeout | null = null;
  let publishing: Promise<unknown> | null = null;
  const tick = (): void => {
    if (publishing) return;
    publishing = log
      .size()
      .then(async (size) => {
        const latest = await log.checkpoint();
        if (size > latest.size) await log.publishCheckpoint();
      })
      .catch((err: unknown) => app.log.error({ err }, 'checkpoint publication failed'))
      .finally(() => {
        publishing = null;
      });
  };
  app.addHook('onReady', async () => {
    timer = setInterval(tick, options.checkpointIntervalMs);
    timer.unref();
  });
  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer);
    await publishing;
    await log.close();
  });
}

export default fp(ledgerPlugin, { name: 'evx-ledger', fastify: '5.x', dependencies: ['evx-database'] });
