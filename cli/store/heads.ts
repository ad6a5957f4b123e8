/**
 * The open windows: the only history held in RAM. Columnar Float64Arrays, grown by doubling and
 * reused across windows, so a tick is a handful of stores and no allocation.
 *   RawHead: the rows of the open raw window (one time column, one value column per series).
 *   RollupHead: the 1-minute or 1-hour buckets of its open window (sum, min, max, count per
 *   series), fed with every raw row, so the tier is current to the last tick and a one-tick
 *   spike survives as a bucket's min/max.
 */
import { encodeChunk, quantize, type Tier } from '../../shared/chunk/index.ts';
import { ROLLUP_STEP_MS, windowMs } from '../../shared/chunk/windows.ts';
import { isExactKey } from '../../shared/catalog.ts';

/**
 * Room for `need` entries, doubling, but never past `cap` (the rows or buckets a window can hold)
 * unless more are needed: a window of 900 rows then costs 900 slots per series, not 1024.
 */
function grown(a: Float64Array<ArrayBuffer>, need: number, cap = Infinity): Float64Array<ArrayBuffer> {
  if (need <= a.length) return a;
  // Past the cap (rows denser than the interval, as an import can bring) it doubles again, never +1 a row.
  const b = new Float64Array(need <= cap ? Math.min(Math.max(need, a.length * 2), cap) : Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** Column index per key, extendable: series can join (they read NaN before they existed). */
class Columns {
  keys: string[] = [];
  index = new Map<string, number>();
  add(key: string): number {
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.keys.length;
      this.keys.push(key);
      this.index.set(key, i);
    }
    return i;
  }
  /** Keeps only `keep`'s keys (in their order here); returns the old index of each kept column. */
  retain(keep: ReadonlySet<string>): number[] {
    const old = this.keys.map((k, i) => [k, i] as const).filter(([k]) => keep.has(k));
    this.keys = old.map(([k]) => k);
    this.index = new Map(this.keys.map((k, i) => [k, i]));
    return old.map(([, i]) => i);
  }
}

export interface SealedChunk {
  key: string;
  bytes: Uint8Array;
}
export interface Sealed {
  tier: Tier;
  windowStart: number;
  first: number;
  last: number;
  rows: number;
  chunks: SealedChunk[];
}

/** What both heads share: the open window's columns and its time column (n rows used). */
abstract class Head {
  readonly cols = new Columns();
  n = 0;
  windowStart = NaN;

  constructor(public t: Float64Array<ArrayBuffer>) {}

  get keys(): readonly string[] {
    return this.cols.keys;
  }
  get first(): number | null {
    return this.n ? this.t[0]! : null;
  }
  get last(): number | null {
    return this.n ? this.t[this.n - 1]! : null;
  }
}

export class RawHead extends Head {
  v: Float64Array<ArrayBuffer>[] = [];
  readonly windowMs: number;

  /** Rows a window can hold at the interval (aligned, strictly increasing stamps). */
  readonly capacity: number;

  constructor(readonly intervalMs: number) {
    super(new Float64Array(64));
    this.windowMs = windowMs('raw', intervalMs);
    this.capacity = Math.ceil(this.windowMs / intervalMs);
  }

  setKeys(keys: readonly string[]) {
    for (const k of keys) if (this.cols.add(k) === this.v.length) this.v.push(new Float64Array(this.t.length).fill(NaN));
  }

  /** Does t fall outside the open window (so the window must be sealed first)? */
  closes(t: number): boolean {
    return this.n > 0 && Math.floor(t / this.windowMs) * this.windowMs !== this.windowStart;
  }

  /** Appends a row; `map[i]` is the column of values[i]. The caller guarantees t > last. */
  append(t: number, values: ArrayLike<number>, map: ArrayLike<number>) {
    if (this.n === 0) this.windowStart = Math.floor(t / this.windowMs) * this.windowMs;
    const i = this.n;
    if (i >= this.t.length) {
      this.t = grown(this.t, i + 1, this.capacity);
      for (let c = 0; c < this.v.length; c++) {
        const old = this.v[c]!.length;
        this.v[c] = grown(this.v[c]!, this.t.length, this.capacity);
        this.v[c]!.fill(NaN, old);
      }
    }
    this.t[i] = t;
    for (let c = 0; c < this.v.length; c++) this.v[c]![i] = NaN;
    for (let j = 0; j < map.length; j++) this.v[map[j]!]![i] = values[j] ?? NaN;
    this.n = i + 1;
  }

  /** Encodes the window (or its rows so far) as one chunk per series. */
  encode(): Sealed {
    const t = this.t.subarray(0, this.n);
    const chunks = this.cols.keys.map((key, c) => ({ key, bytes: encodeChunk({ tier: 'raw', key, t, v: this.v[c]!.subarray(0, this.n) }) }));
    return { tier: 'raw', windowStart: this.windowStart, first: this.t[0]!, last: this.t[this.n - 1]!, rows: this.n, chunks };
  }

  reset() {
    this.n = 0;
    this.windowStart = NaN;
  }

  /**
   * Drops the columns of series that left the catalog (between windows only: a sealed window has
   * been written, so nothing is lost). Without this a process or user series that came and went
   * would cost a column, and an all-null chunk per window, for the life of the agent.
   */
  retain(keep: ReadonlySet<string>): boolean {
    if (this.n || this.cols.keys.every((k) => keep.has(k))) return false;
    const from = this.cols.retain(keep);
    this.v = from.map((i) => this.v[i]!);
    return true;
  }

  get bytes(): number {
    return this.t.byteLength + this.v.reduce((s, c) => s + c.byteLength, 0);
  }
}

export class RollupHead extends Head {
  readonly step: number;
  readonly windowMs: number;
  sum: Float64Array<ArrayBuffer>[] = [];
  min: Float64Array<ArrayBuffer>[] = [];
  max: Float64Array<ArrayBuffer>[] = [];
  count: Float64Array<ArrayBuffer>[] = [];

  /** Buckets in a window. */
  readonly capacity: number;

  constructor(readonly tier: '1m' | '1h') {
    super(new Float64Array(16));
    this.step = ROLLUP_STEP_MS[tier];
    this.windowMs = windowMs(tier, 0);
    this.capacity = Math.ceil(this.windowMs / this.step);
  }

  setKeys(keys: readonly string[]) {
    for (const k of keys) {
      if (this.cols.add(k) !== this.sum.length) continue;
      const len = this.t.length;
      this.sum.push(new Float64Array(len));
      this.count.push(new Float64Array(len));
      this.min.push(new Float64Array(len).fill(NaN));
      this.max.push(new Float64Array(len).fill(NaN));
    }
  }

  closes(t: number): boolean {
    return this.n > 0 && Math.floor(t / this.windowMs) * this.windowMs !== this.windowStart;
  }

  /** The bucket row for time t, opened (zeroed) if it is new. */
  #bucket(t: number): number {
    const b = Math.floor(t / this.step) * this.step;
    if (this.n && this.t[this.n - 1] === b) return this.n - 1;
    if (this.n === 0) this.windowStart = Math.floor(t / this.windowMs) * this.windowMs;
    const i = this.n;
    if (i >= this.t.length) {
      this.t = grown(this.t, i + 1, this.capacity);
      const len = this.t.length;
      for (let c = 0; c < this.sum.length; c++) {
        this.sum[c] = grown(this.sum[c]!, len, len);
        this.count[c] = grown(this.count[c]!, len, len);
        this.min[c] = grown(this.min[c]!, len, len);
        this.max[c] = grown(this.max[c]!, len, len);
      }
    }
    this.t[i] = b;
    for (let c = 0; c < this.sum.length; c++) {
      this.sum[c]![i] = 0;
      this.count[c]![i] = 0;
      this.min[c]![i] = NaN;
      this.max[c]![i] = NaN;
    }
    this.n = i + 1;
    return i;
  }

  /** Folds one raw row (t ascending). */
  addRow(t: number, values: ArrayLike<number>, map: ArrayLike<number>) {
    const i = this.#bucket(t);
    for (let j = 0; j < map.length; j++) {
      const x = values[j] ?? NaN;
      if (x !== x) continue;
      const c = map[j]!;
      const sum = this.sum[c]!,
        cnt = this.count[c]!;
      sum[i] = sum[i]! + x;
      cnt[i] = cnt[i]! + 1;
      if (!(this.min[c]![i]! <= x)) this.min[c]![i] = x;
      if (!(this.max[c]![i]! >= x)) this.max[c]![i] = x;
    }
  }

  /** Folds a finer bucket of one series (rebuilding the 1 h head from sealed 1 m chunks). */
  addBucket(t: number, col: number, avg: number, min: number, max: number, count: number) {
    if (!(count > 0)) {
      this.#bucket(t);
      return;
    }
    const i = this.#bucket(t);
    const sum = this.sum[col]!,
      cnt = this.count[col]!;
    sum[i] = sum[i]! + avg * count;
    cnt[i] = cnt[i]! + count;
    if (!(this.min[col]![i]! <= min)) this.min[col]![i] = min;
    if (!(this.max[col]![i]! >= max)) this.max[col]![i] = max;
  }

  /** avg/min/max/count of bucket i of column c, avg at the wire's precision (user series: unrounded). */
  avg(c: number, i: number): number {
    const n = this.count[c]![i]!;
    if (!(n > 0)) return NaN;
    const a = this.sum[c]![i]! / n;
    return isExactKey(this.cols.keys[c]!) ? a : quantize(a);
  }

  encode(): Sealed {
    const n = this.n;
    const t = this.t.subarray(0, n);
    const avg = new Float64Array(n);
    const chunks = this.cols.keys.map((key, c) => {
      for (let i = 0; i < n; i++) avg[i] = this.avg(c, i);
      return {
        key,
        bytes: encodeChunk({
          tier: this.tier,
          key,
          t,
          avg,
          min: this.min[c]!.subarray(0, n),
          max: this.max[c]!.subarray(0, n),
          count: this.count[c]!.subarray(0, n),
        }),
      };
    });
    return { tier: this.tier, windowStart: this.windowStart, first: this.t[0]!, last: this.t[n - 1]!, rows: n, chunks };
  }

  reset() {
    this.n = 0;
    this.windowStart = NaN;
  }

  /** As RawHead.retain: between windows, drop the columns of series no longer in the catalog. */
  retain(keep: ReadonlySet<string>): boolean {
    if (this.n || this.cols.keys.every((k) => keep.has(k))) return false;
    const from = this.cols.retain(keep);
    this.sum = from.map((i) => this.sum[i]!);
    this.count = from.map((i) => this.count[i]!);
    this.min = from.map((i) => this.min[i]!);
    this.max = from.map((i) => this.max[i]!);
    return true;
  }

  get bytes(): number {
    return this.t.byteLength + 4 * this.sum.reduce((s, c) => s + c.byteLength, 0);
  }
}
