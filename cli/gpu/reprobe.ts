/**
 * With no GPU provider at start (driver not loaded yet, library missing), look again with backoff:
 * every `baseMs` (30 s; GPULSE_GPU_REPROBE_MS for tests), doubling to `maxMs` (10 × base). When a
 * provider comes up its GPUs join the live catalog without a restart, and the re-probe stops.
 */
import type { Selection } from './select.ts';

export interface ReprobeOptions {
  baseMs: number;
  maxMs: number;
  select: () => Promise<Selection>;
  /** Called once, with the provider that came up. */
  onFound: (s: Selection) => void;
  /** Each failed attempt's reasons (provider notes). */
  onMiss?: (notes: string[]) => void;
}

export class GpuReprobe {
  attempts = 0;
  next = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #done = false;

  constructor(readonly opts: ReprobeOptions) {}

  /** The delay before attempt n (0-based). */
  delay(n: number): number {
    return Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** Math.min(n, 20));
  }

  start() {
    this.#arm();
  }
  stop() {
    this.#done = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  /** For /v1/info: when the next attempt is due, or null once a provider is up. */
  info(): { next: number; attempts: number } | null {
    return this.#done ? null : { next: this.next, attempts: this.attempts };
  }

  #arm() {
    if (this.#done) return;
    const d = this.delay(this.attempts);
    this.next = Date.now() + d;
    this.#timer = setTimeout(() => void this.#try(), d);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  async #try() {
    if (this.#done) return;
    this.attempts++;
    let s: Selection;
    try {
      s = await this.opts.select();
    } catch (e) {
      s = { provider: null as never, notes: [(e as Error).message] };
    }
    if (this.#done) {
      s.provider?.close();
      return;
    }
    if (s.provider && s.provider.devices.length) {
      this.#done = true;
      this.opts.onFound(s);
      return;
    }
    this.opts.onMiss?.(s.notes);
    this.#arm();
  }
}
