/**
 * Group commit for custody-recording work.
 *
 * Every state change runs as a unit `work(tx)` that makes its change and
 * appends its custody entries in the same transaction. Appends serialize on
 * the log head row, so one transaction per unit would cap the whole service
 * at one fsync per entry. Instead, units that arrive while a batch is being
 * written wait for the next batch; a batch is ONE transaction that takes the
 * head lock once and runs each unit inside its own savepoint. A unit that
 * fails rolls back to its savepoint — its change and its entries vanish
 * together — and the others commit. Callers are answered only after the
 * batch's COMMIT returned, so nothing is reported done before it is durable.
 */
import { sql } from 'kysely';
import type { Db, Tx } from '../db/connect.js';
import { lockLogHead, restoreHead, snapshotHead } from './repository.js';

interface Unit<T> {
  work: (tx: Tx) => Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

export interface CustodyWriterOptions {
  /** Most units per transaction; bounds how long the head lock is held. */
  maxBatch?: number;
}

export class CustodyWriter {
  private readonly queue: Array<Unit<unknown>> = [];
  private draining = false;
  private readonly maxBatch: number;
  /** Units and batches written, for the benchmark's report. */
  readonly stats = { units: 0, batches: 0 };

  constructor(
    private readonly db: Db,
    options: CustodyWriterOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 256;
  }

  /** Run `work` in a transaction that holds the log head; resolves after commit. */
  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve, reject } as Unit<unknown>);
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        await this.writeBatch(batch);
      }
    } finally {
      this.draining = false;
    }
  }

  private async writeBatch(batch: Array<Unit<unknown>>): Promise<void> {
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      await this.db.transaction().execute(async (tx) => {
        await lockLogHead(tx);
        for (const unit of batch) {
          const before = snapshotHead(tx);
          await sql`SAVEPOINT evx_unit`.execute(tx);
          try {
            const value = await unit.work(tx);
            await sql`RELEASE SAVEPOINT evx_unit`.execute(tx);
            outcomes.push({ ok: true, value });
          } catch (error) {
            await sql`ROLLBACK TO SAVEPOINT evx_unit`.execute(tx);
            restoreHead(tx, before);
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (commitError) {
      // Nothing of this batch is committed: every unit fails, with its own error if it had one.
      batch.forEach((unit, i) => {
        const o = outcomes[i];
        unit.reject(o && !o.ok ? o.error : commitError);
      });
      return;
    }
    this.stats.batches += 1;
    this.stats.units += batch.length;
    batch.forEach((unit, i) => {
      const o = outcomes[i]!;
      if (o.ok) unit.resolve(o.value);
      else unit.reject(o.error);
    });
  }
}
