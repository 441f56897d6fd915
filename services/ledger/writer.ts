/**
 * Group commit for custody-recording work.
 *
 * Every state change runs as a unit `work(tx)` that makes its change and
 * appends its custody entries in the same transaction. Appends serialize on
 * the log head row, so one transaction per unit would cap the service at one
 * commit (fsync) and several round trips per entry. Instead, units arriving
 * while a batch is being written wait for the next one, and a batch is ONE
 * transaction: it runs each unit's work in turn, queueing their appends,
 * then locks the head, writes all queued entries in one statement, and
 * commits.
 * Callers are answered only after COMMIT returned: nothing is reported done
 * before it is durable, and every change commits with its custody entries.
 *
 * If a unit fails, the whole transaction is rolled back (so its change and
 * its entries vanish together) and the batch is run again without it. The
 * contract for `work` follows: it must touch only the database, through
 * `tx`, so that running it again is harmless; and it must not swallow
 * database errors (PostgreSQL aborts the whole transaction on one).
 */
import type { Db, Tx } from '../db/connect.js';
import { writeEntries, type AppendInput, type PendingAppend } from './repository.js';

interface Unit<T> {
  work: (tx: Tx) => Promise<T> | T;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

class UnitFailed {
  constructor(
    readonly index: number,
    readonly error: unknown,
  ) {}
}

export interface CustodyWriterOptions {
  /** Most units per transaction; bounds how long the head lock is held. */
  maxBatch?: number;
}

export class CustodyWriter {
  private readonly queue: Array<Unit<unknown>> = [];
  private draining = false;
  private readonly maxBatch: number;
  /** Appends queued by the units of the batch running in each transaction. */
  private readonly pending = new WeakMap<Tx, PendingAppend[]>();
  /** Units committed and transactions used, for the benchmark's report. */
  readonly stats = { units: 0, batches: 0, retries: 0 };

  constructor(
    private readonly db: Db,
    options: CustodyWriterOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 256;
  }

  /** Run `work` in a transaction that holds the log head; resolves after commit. */
  run<T>(work: (tx: Tx) => Promise<T> | T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve, reject } as Unit<unknown>);
      if (!this.draining) void this.drain();
    });
  }

  /**
   * Record an entry from inside a unit: it is written, in call order, with
   * the rest of the batch just before commit. Outside a unit it is an error,
   * because nothing would write it.
   */
  append(tx: Tx, input: AppendInput): void {
    const queue = this.pending.get(tx);
    if (!queue) throw new Error('custody append outside a CustodyWriter unit');
    queue.push({ input, time: new Date() });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        await this.writeBatch(this.queue.splice(0, this.maxBatch));
      }
    } finally {
      this.draining = false;
    }
  }

  private async writeBatch(initial: Array<Unit<unknown>>): Promise<void> {
    let units = initial;
    while (units.length > 0) {
      const values: unknown[] = [];
      try {
        await this.db.transaction().execute(async (tx) => {
          const queued: PendingAppend[] = [];
          this.pending.set(tx, queued);
          // The head is locked only at the end, by writeEntries: units run without holding it, and
          // since nothing waits for another lock after taking it, batches in different processes
          // cannot deadlock on it.
          for (let i = 0; i < units.length; i++) {
            try {
              values.push(await units[i]!.work(tx));
            } catch (error) {
              throw new UnitFailed(i, error);
            }
          }
          await writeEntries(tx, queued);
        });
      } catch (err) {
        if (err instanceof UnitFailed) {
          // Roll back was complete; answer the failed unit and run the others again.
          units[err.index]!.reject(err.error);
          units = units.filter((_, i) => i !== err.index);
          this.stats.retries += units.length > 0 ? 1 : 0;
          continue;
        }
        // Nothing of this batch is committed.
        for (const unit of units) unit.reject(err);
        return;
      }
      this.stats.batches += 1;
      this.stats.units += units.length;
      units.forEach((unit, i) => unit.resolve(values[i]));
      return;
    }
  }
}
