/**
 * History as a ring of columns: one Float64Array of times and one Float32Array per series.
 * push() copies one row in place, so memory is flat once the ring is full.
 */
export class Ring {
  readonly capacity: number;
  #t: Float64Array;
  #cols: Float32Array[];
  #keys: string[];
  #index = new Map<string, number>();
  #head = 0; // next write slot
  #count = 0;

  constructor(capacity: number, keys: readonly string[]) {
    this.capacity = Math.max(1, Math.floor(capacity));
    this.#t = new Float64Array(this.capacity);
    this.#keys = [...keys];
    this.#cols = this.#keys.map(() => new Float32Array(this.capacity));
    this.#keys.forEach((k, i) => this.#index.set(k, i));
  }

  get keys(): readonly string[] { return this.#keys; }
  get count(): number { return this.#count; }
  get oldest(): number | null { return this.#count ? this.#t[this.#slot(0)]! : null; }
  get newest(): number | null { return this.#count ? this.#t[this.#slot(this.#count - 1)]! : null; }
  /** Bytes held by the columns (what retention × catalog costs). */
  get bytes(): number { return this.#t.byteLength + this.#cols.reduce((s, c) => s + c.byteLength, 0); }

  /** Appends one sample; `values` is in key order. Times must not go backwards (older rows are dropped). */
  push(t: number, values: ArrayLike<number>): boolean {
    if (this.#count && t <= this.newest!) return false;
    const s = this.#head;
    this.#t[s] = t;
    const cols = this.#cols;
    for (let c = 0; c < cols.length; c++) cols[c]![s] = values[c] ?? NaN;
    this.#head = (s + 1) % this.capacity;
    if (this.#count < this.capacity) this.#count++;
    return true;
  }

  /** Logical index i (0 = oldest) → physical slot. */
  #slot(i: number): number { return (this.#head - this.#count + i + this.capacity) % this.capacity; }

  time(i: number): number { return this.#t[this.#slot(i)]!; }
  value(col: number, i: number): number { return this.#cols[col]![this.#slot(i)]!; }
  column(key: string): number { return this.#index.get(key) ?? -1; }

  /** First logical index with time > t (binary search; times ascend). */
  after(t: number): number { return this.#search(t, false); }
  /** First logical index with time >= t. */
  atOrAfter(t: number): number { return this.#search(t, true); }

  #search(t: number, inclusive: boolean): number {
    let lo = 0, hi = this.#count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const x = this.time(mid);
      if (inclusive ? x >= t : x > t) hi = mid; else lo = mid + 1;
    }
    return lo;
  }

  /** Copies logical rows [from, to) of the given columns into contiguous arrays (query path, not the tick path). */
  slice(from: number, to: number, cols: readonly number[]): { t: Float64Array; cols: Float32Array[] } {
    const n = Math.max(0, to - from);
    const t = new Float64Array(n);
    const out = cols.map(() => new Float32Array(n));
    if (!n) return { t, cols: out };
    const a = this.#slot(from);
    const first = Math.min(n, this.capacity - a);
    t.set(this.#t.subarray(a, a + first));
    if (first < n) t.set(this.#t.subarray(0, n - first), first);
    cols.forEach((c, j) => {
      const src = this.#cols[c]!;
      out[j]!.set(src.subarray(a, a + first));
      if (first < n) out[j]!.set(src.subarray(0, n - first), first);
    });
    return { t, cols: out };
  }

  /** Writes row i (all columns) into `out`; used for replays and persistence. */
  row(i: number, out: Float64Array): number {
    const s = this.#slot(i);
    for (let c = 0; c < this.#cols.length; c++) out[c] = this.#cols[c]![s]!;
    return this.#t[s]!;
  }

  /** A new ring with other keys and/or capacity, keeping the columns that still exist. */
  reshape(keys: readonly string[], capacity = this.capacity): Ring {
    const next = new Ring(capacity, keys);
    const map = keys.map((k) => this.column(k));
    const row = new Float64Array(this.#keys.length);
    const vals = new Float64Array(keys.length);
    for (let i = Math.max(0, this.#count - next.capacity); i < this.#count; i++) {
      const t = this.row(i, row);
      for (let c = 0; c < map.length; c++) vals[c] = map[c]! >= 0 ? row[map[c]!]! : NaN;
      next.push(t, vals);
    }
    return next;
  }
}
