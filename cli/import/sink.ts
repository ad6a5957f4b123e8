/**
 * Where parsed rows go: the checks every format shares, then the store. A parser hands over a row
 * only once the whole row is valid; the sink decides whether it is stored or skipped (and why),
 * applies the wire precision (quantize, as the agent does at ingest) and keeps the counts.
 */
import { MAX_TIME, quantize } from '../../shared/chunk/index.ts';
// The store sets aside rows further ahead of the clock than FUTURE_SLACK_MS at its next open: refuse them here.
import { FUTURE_SLACK_MS, type Store } from '../store/store.ts';

/** A bad row when bad rows stop the import (the default): names where and what. */
export class BadRowError extends Error {
  override name = 'BadRowError';
  constructor(
    readonly where: string,
    readonly why: string,
  ) {
    super(`${where}: ${why}`);
  }
}

export interface FileStats {
  file: string;
  format: string;
  rows: number;
  values: number;
  series: number;
  /** Not after the store's newest row (existing history, or an earlier file of this import). */
  overlap: number;
  /** Not after an earlier row of the same file (out of order, or a repeated time). */
  order: number;
  /** Ahead of the clock: the agent would refuse every sample after them. */
  future: number;
  /** Older than the 1h tier's retention: the store would drop them at once. */
  expired: number;
  /** Bad rows skipped (--skip-bad). */
  bad: number;
  /** Imported rows older than the raw retention: they remain as 1m/1h rollups only. */
  rollupOnly: number;
  /** Of those, rows older than the 1m retention too: in the 1h tier only. */
  hourOnly: number;
  ms: number;
  /** Set when the file stopped early: the message. */
  error: string | null;
}

export const newStats = (file: string): FileStats => ({
  file,
  format: '?',
  rows: 0,
  values: 0,
  series: 0,
  overlap: 0,
  order: 0,
  future: 0,
  expired: 0,
  bad: 0,
  rollupOnly: 0,
  hourOnly: 0,
  ms: 0,
  error: null,
});

export interface SinkOptions {
  skipBad: boolean;
  now: number;
  retentionMs: { raw: number; '1m': number; '1h': number };
  /** Where the messages of skipped bad rows go (the first few per file). */
  warn: (m: string) => void;
}

const SHOWN_BAD = 10;
/** Values between collector nudges. */
const GC_EVERY = 1 << 20;

export class Sink {
  stats: FileStats = newStats('');
  #keys: readonly string[] = [];
  #keysDirty = false;
  #newest: number;
  #fileNewest = -Infinity;
  #sinceGc = 0;
  readonly #future: number;
  readonly #oldest: number;
  readonly #rawOldest: number;
  readonly #m1Oldest: number;

  constructor(
    readonly store: Store,
    readonly o: SinkOptions,
  ) {
    this.#newest = store.lastT ?? -Infinity;
    this.#future = o.now + FUTURE_SLACK_MS;
    this.#oldest = o.now - o.retentionMs['1h'];
    this.#rawOldest = o.now - o.retentionMs.raw;
    this.#m1Oldest = o.now - o.retentionMs['1m'];
  }

  beginFile(file: string): FileStats {
    this.stats = newStats(file);
    this.#fileNewest = -Infinity;
    this.#keys = [];
    return this.stats;
  }

  /** Columns of the rows that follow (the same array may grow between rows: call again after). */
  setKeys(keys: readonly string[]) {
    this.#keys = keys;
    this.#keysDirty = true;
    if (keys.length > this.stats.series) this.stats.series = keys.length;
  }

  /** Why a row time cannot be stored at all (a bad row), or null. */
  static badTime(t: number): string | null {
    if (!Number.isInteger(t)) return `time ${t} is not an integer number of ms`;
    if (t < 0 || t >= MAX_TIME) return `time ${t} is out of range`;
    return null;
  }

  /**
   * One whole, validated row: values in setKeys order, NaN = null, at full precision (quantized
   * here, in place). Stored, or skipped and counted by reason.
   */
  row(t: number, values: Float64Array) {
    const s = this.stats;
    if (t > this.#future) {
      s.future++;
      return;
    }
    if (t < this.#oldest) {
      s.expired++;
      return;
    }
    if (t <= this.#fileNewest) {
      s.order++;
      return;
    }
    this.#fileNewest = t;
    if (t <= this.#newest) {
      s.overlap++;
      return;
    }
    if (this.#keysDirty) {
      this.store.setKeys(this.#keys);
      this.#keysDirty = false;
    }
    const n = this.#keys.length;
    let nn = 0;
    for (let i = 0; i < n; i++) {
      const q = quantize(values[i]!);
      values[i] = q;
      if (q === q) nn++;
    }
    if (!this.store.append(t, values)) {
      s.overlap++;
      return;
    }
    this.#newest = t;
    s.rows++;
    s.values += nn;
    // The store allocates per sealed window; a bulk import outruns the collector's pacing.
    if ((this.#sinceGc += nn + 1) > GC_EVERY) {
      this.#sinceGc = 0;
      Bun.gc(true);
    }
    if (t < this.#rawOldest) {
      s.rollupOnly++;
      if (t < this.#m1Oldest) s.hourOnly++;
    }
  }

  /** A bad row: stops the import (BadRowError) unless --skip-bad, which counts it and goes on. */
  bad(where: string | (() => string), why: string) {
    const at = () => (typeof where === 'string' ? where : where());
    if (!this.o.skipBad) throw new BadRowError(at(), why);
    const n = ++this.stats.bad;
    if (n <= SHOWN_BAD) this.o.warn(`${at()}: ${why}; skipped`);
    else if (n === SHOWN_BAD + 1) this.o.warn(`${this.stats.file}: more bad rows; the rest are counted, not shown`);
  }
}
