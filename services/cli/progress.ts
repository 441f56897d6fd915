/**
 * Transfer progress: a redrawn bar with MB/s and ETA on a terminal, plain
 * lines (every 10 % or 15 s) when stderr is a file or a pipe, nothing with
 * --quiet. The rate is over the last few seconds, so a resumed transfer
 * does not report the skipped bytes as speed.
 */
import type { OutStream } from './settings.js';

const REDRAW_MS = 150;
const PLAIN_INTERVAL_MS = 15_000;
const WINDOW_MS = 5_000;

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

export interface ProgressOptions {
  quiet: boolean;
  /** What is counted: bytes (default, with MB/s) or entries (with entries/s). */
  unit?: 'bytes' | 'entries';
}

/** Below this, a non-terminal gets only the final line: intermediate lines would be noise. */
const PLAIN_MIN_BYTES = 16e6;
const PLAIN_MIN_ENTRIES = 20_000;

export class Progress {
  readonly #out: OutStream;
  readonly #unit: 'bytes' | 'entries';
  readonly #label: string;
  readonly #total: number;
  readonly #tty: boolean;
  readonly #enabled: boolean;
  readonly #started = performance.now();
  #samples: Array<{ t: number; done: number }> = [];
  #done = 0;
  #lastDraw = 0;
  #lastPlainStep = -1;
  #lastPlainAt = 0;
  #finished = false;

  constructor(out: OutStream, label: string, total: number, options: ProgressOptions) {
    this.#out = out;
    this.#unit = options.unit ?? 'bytes';
    this.#label = label;
    this.#total = total;
    this.#tty = out.isTTY === true;
    this.#enabled = !options.quiet;
  }

  /** Bytes per second over the whole transfer so far (for summaries). */
  get averageRate(): number {
    const seconds = (performance.now() - this.#started) / 1000;
    return seconds > 0 ? this.#done / seconds : 0;
  }

  /** Sets the absolute position (a resumed transfer starts above zero). */
  set(done: number): void {
    const now = performance.now();
    if (done < this.#done) this.#samples = [];
    this.#done = done;
    this.#samples.push({ t: now, done });
    while (this.#samples.length > 2 && now - this.#samples[0]!.t > WINDOW_MS) this.#samples.shift();
    if (!this.#enabled || this.#finished) return;
    if (this.#tty) {
      if (now - this.#lastDraw >= REDRAW_MS) this.#draw(now);
    } else if (this.#total >= (this.#unit === 'bytes' ? PLAIN_MIN_BYTES : PLAIN_MIN_ENTRIES)) {
      const step = this.#total > 0 ? Math.floor((done / this.#total) * 10) : 10;
      if (step > this.#lastPlainStep || now - this.#lastPlainAt >= PLAIN_INTERVAL_MS) {
        this.#lastPlainStep = step;
        this.#lastPlainAt = now;
        this.#out.write(`${this.#line(now)}\n`);
      }
    }
  }

  add(bytes: number): void {
    this.set(this.#done + bytes);
  }

  #rate(now: number): number {
    const first = this.#samples[0];
    if (!first || now - first.t < 200) return 0;
    return ((this.#done - first.done) / (now - first.t)) * 1000;
  }

  #amount(n: number): string {
    return this.#unit === 'bytes' ? formatBytes(n) : String(n);
  }

  #speed(rate: number): string {
    return this.#unit === 'bytes' ? `${(rate / 1e6).toFixed(1)} MB/s` : `${Math.round(rate)} entries/s`;
  }

  #line(now: number): string {
    const rate = this.#rate(now);
    const pct = this.#total > 0 ? Math.min(100, (this.#done / this.#total) * 100) : 100;
    const eta = rate > 0 ? formatDuration((this.#total - this.#done) / rate) : '--:--';
    return `${this.#label}: ${pct.toFixed(0).padStart(3)}% ${this.#amount(this.#done)} of ${this.#amount(this.#total)}, ${this.#speed(rate)}, ETA ${eta}`;
  }

  #draw(now: number): void {
    this.#lastDraw = now;
    const width = Math.max(10, Math.min(30, (this.#out.columns ?? 80) - 70));
    const frac = this.#total > 0 ? Math.min(1, this.#done / this.#total) : 1;
    const filled = Math.round(frac * width);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
    const rate = this.#rate(now);
    const eta = rate > 0 ? formatDuration((this.#total - this.#done) / rate) : '--:--';
    this.#out.write(`\r\x1b[K${this.#label} ${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${this.#amount(this.#done)}/${this.#amount(this.#total)} ${this.#speed(rate)} ETA ${eta}`);
  }

  /** Final line: total and average speed. */
  finish(summary?: string): void {
    if (this.#finished) return;
    this.#finished = true;
    if (!this.#enabled) return;
    const seconds = (performance.now() - this.#started) / 1000;
    const text = summary ?? `${this.#label}: ${this.#amount(this.#done)} in ${seconds.toFixed(1)} s (${this.#speed(this.averageRate)})`;
    this.#out.write(this.#tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  }

  /** Before a warning mid-transfer: leaves the bar's line; the transfer goes on and is still reported. */
  interrupt(): void {
    if (this.#enabled && !this.#finished && this.#tty) this.#out.write('\n');
    this.#lastDraw = 0;
  }

  /** Leaves the bar's line for good, so an error message starts on a fresh one. */
  abort(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#enabled && this.#tty) this.#out.write('\n');
  }
}
