/**
 * Turns a stream of rows into stored chunks. Raw chunks cover fixed 10-minute windows, 1-minute
 * rollups 1-day windows, 1-hour rollups 30-day windows, all epoch-aligned, so a rollup bucket never
 * straddles two source chunks. Rollups are computed when a raw window closes and merged (weighted
 * by sample count) into the open rollup chunk.
 */
import { bucketize } from '../../shared/downsample.ts';
import type { Chunk, DB, Tier } from './db.ts';

export const WINDOW: Record<Tier, number> = { raw: 600_000, '1m': 86_400_000, '1h': 30 * 86_400_000 };
const STEP: Record<Exclude<Tier, 'raw'>, number> = { '1m': 60_000, '1h': 3_600_000 };

interface Open { chunk: Chunk; len: number; n?: Float32Array; flushed?: number }

/** Growable columns (doubling), trimmed to length when written. */
function grow<T extends Float32Array | Float64Array>(a: T, len: number): T {
  if (len < a.length) return a;
  const b = new (a.constructor as { new (n: number): T })(Math.max(16, a.length * 2));
  b.set(a);
  return b;
}

const trimmed = (o: Open): Chunk => ({
  ...o.chunk,
  t: o.chunk.t.slice(0, o.len),
  v: o.chunk.v.map((c) => c.slice(0, o.len)),
  ...(o.chunk.min ? { min: o.chunk.min.map((c) => c.slice(0, o.len)), max: o.chunk.max!.map((c) => c.slice(0, o.len)) } : {}),
});

export class ChunkWriter {
  #open: Partial<Record<Tier, Open>> = {};
  #dirty = new Set<Tier>();
  #closed: Chunk[] = [];

  constructor(readonly ep: string) {}

  /** Appends one row (values in `keys` order). Rows must come in time order; older ones are ignored. */
  append(t: number, keys: string[], values: ArrayLike<number | null>) {
    let o = this.#open.raw;
    if (o && (t <= o.chunk.t[o.len - 1]! || false)) return;
    if (o && (Math.floor(t / WINDOW.raw) !== Math.floor(o.chunk.t0 / WINDOW.raw) || !sameKeys(o.chunk.keys, keys))) {
      this.#close(o);
      o = undefined;
    }
    if (!o) {
      o = { chunk: { ep: this.ep, tier: 'raw', t0: t, t1: t, keys: [...keys], t: new Float64Array(64), v: keys.map(() => new Float32Array(64)) }, len: 0 };
      this.#open.raw = o;
    }
    const c = o.chunk;
    c.t = grow(c.t, o.len);
    c.t[o.len] = t;
    for (let k = 0; k < keys.length; k++) {
      c.v[k] = grow(c.v[k]!, o.len);
      const x = values[k];
      c.v[k]![o.len] = x == null ? NaN : x;
    }
    o.len++;
    c.t1 = t;
    this.#dirty.add('raw');
  }

  /** A closed raw window: store it and fold its buckets into the 1m and 1h rollups. */
  #close(o: Open) {
    const raw = trimmed(o);
    this.#closed.push(raw);
    for (const tier of ['1m', '1h'] as const) this.#rollup(tier, raw);
  }

  #rollup(tier: '1m' | '1h', raw: Chunk) {
    const b = bucketize(raw.t, raw.v, 0, raw.t.length, STEP[tier], true);
    const counts = new Float32Array(b.t.length);
    for (let i = 0, k = -1, last = NaN; i < raw.t.length; i++) { const bt = Math.floor(raw.t[i]! / STEP[tier]) * STEP[tier]; if (bt !== last) { k++; last = bt; } counts[k]!++; }
    let o = this.#open[tier];
    for (let i = 0; i < b.t.length; i++) {
      const bt = b.t[i]!;
      if (o && (Math.floor(bt / WINDOW[tier]) !== Math.floor(o.chunk.t0 / WINDOW[tier]) || !sameKeys(o.chunk.keys, raw.keys))) {
        this.#closed.push(trimmed(o));
        o = undefined;
      }
      if (!o) {
        const k = raw.keys.length;
        o = { chunk: { ep: this.ep, tier, t0: bt, t1: bt, keys: [...raw.keys], t: new Float64Array(64), v: mk(k), min: mk(k), max: mk(k) }, len: 0, n: new Float32Array(64) };
        this.#open[tier] = o;
      }
      const c = o.chunk;
      let j = o.len - 1;
      if (j < 0 || c.t[j]! !== bt) {
        j = o.len++;
        c.t = grow(c.t, j); o.n = grow(o.n!, j);
        c.t[j] = bt; o.n[j] = 0;
        for (let s = 0; s < c.v.length; s++) {
          c.v[s] = grow(c.v[s]!, j); c.min![s] = grow(c.min![s]!, j); c.max![s] = grow(c.max![s]!, j);
          c.v[s]![j] = NaN; c.min![s]![j] = NaN; c.max![s]![j] = NaN;
        }
      }
      const n0 = o.n![j]!, n1 = counts[i]!;
      for (let s = 0; s < c.v.length; s++) {
        const a = b.avg[s]![i]!;
        if (a !== a) continue;
        const prev = c.v[s]![j]!;
        c.v[s]![j] = prev !== prev ? a : (prev * n0 + a * n1) / (n0 + n1);
        const mn = b.min![s]![i]!, mx = b.max![s]![i]!;
        if (!(c.min![s]![j]! <= mn)) c.min![s]![j] = mn;
        if (!(c.max![s]![j]! >= mx)) c.max![s]![j] = mx;
      }
      o.n![j] = n0 + n1;
      c.t1 = bt;
      this.#dirty.add(tier);
    }
  }

  /**
   * Everything to write now, in one transaction. The open raw window is written as a small
   * segment holding only the rows since the last flush (rewriting the whole window every 2 s
   * would write each row ~300 times); a closed window replaces its own segments with one chunk.
   */
  async flush(db: DB): Promise<number> {
    const closed = this.#closed.splice(0);
    const segments: Chunk[] = [];
    const raw = this.#open.raw;
    if (raw && this.#dirty.has('raw') && raw.len > (raw.flushed ?? 0)) {
      segments.push(slice(raw.chunk, raw.flushed ?? 0, raw.len));
      raw.flushed = raw.len;
    }
    const rollups: Chunk[] = [];
    for (const tier of this.#dirty) { const o = this.#open[tier]; if (tier !== 'raw' && o && o.len) rollups.push(trimmed(o)); }
    this.#dirty.clear();
    if (!closed.length && !segments.length && !rollups.length) return 0;
    const tx = db.transaction('chunks', 'readwrite', { durability: 'relaxed' });
    const ops: Promise<unknown>[] = [];
    for (const c of closed) {
      // Requests in one transaction run in order: drop this chunk's segments, then write it whole.
      if (c.tier === 'raw') ops.push(tx.store.delete(IDBKeyRange.bound([c.ep, 'raw', c.t0], [c.ep, 'raw', c.t1])));
      ops.push(tx.store.put(c));
    }
    for (const c of [...segments, ...rollups]) ops.push(tx.store.put(c));
    await Promise.all([...ops, tx.done]);
    return closed.length + segments.length + rollups.length;
  }

  /** Time of the newest row this writer holds (written or not); null before the first. */
  get lastT(): number | null { const o = this.#open.raw; return o && o.len ? o.chunk.t[o.len - 1]! : null; }

  /** Rows held in memory but not yet written (for "what would a crash lose"). */
  get pending(): number { return this.#dirty.has('raw') ? this.#open.raw?.len ?? 0 : 0; }
}

/** Rows [a, b) of a chunk as a chunk of their own (a segment of an open window). */
function slice(c: Chunk, a: number, b: number): Chunk {
  return { ep: c.ep, tier: c.tier, t0: c.t[a]!, t1: c.t[b - 1]!, keys: c.keys, t: c.t.slice(a, b), v: c.v.map((x) => x.slice(a, b)) };
}

const mk = (k: number) => Array.from({ length: k }, () => new Float32Array(64));
const sameKeys = (a: string[], b: string[]) => a.length === b.length && a.every((k, i) => k === b[i]);

export interface Series { t: Float64Array; cols: Map<string, Float32Array>; min?: Map<string, Float32Array>; max?: Map<string, Float32Array> }

/** Joins chunks into one column set for the wanted keys (missing keys → NaN), clipped to [from, to]. */
export function joinChunks(chunks: Chunk[], keys: string[], from: number, to: number): Series {
  let n = 0;
  for (const c of chunks) for (let i = 0; i < c.t.length; i++) if (c.t[i]! >= from && c.t[i]! <= to) n++;
  const t = new Float64Array(n);
  const cols = new Map(keys.map((k) => [k, new Float32Array(n).fill(NaN)]));
  const rollup = chunks.some((c) => c.min);
  const min = rollup ? new Map(keys.map((k) => [k, new Float32Array(n).fill(NaN)])) : undefined;
  const max = rollup ? new Map(keys.map((k) => [k, new Float32Array(n).fill(NaN)])) : undefined;
  let w = 0;
  let last = -Infinity;
  for (const c of chunks) {
    const idx = keys.map((k) => c.keys.indexOf(k));
    for (let i = 0; i < c.t.length; i++) {
      const ti = c.t[i]!;
      if (ti < from || ti > to || ti <= last) continue;
      t[w] = ti; last = ti;
      keys.forEach((k, j) => {
        const s = idx[j]!;
        if (s < 0) return;
        cols.get(k)![w] = c.v[s]![i]!;
        if (c.min) { min!.get(k)![w] = c.min[s]![i]!; max!.get(k)![w] = c.max![s]![i]!; }
      });
      w++;
    }
  }
  const cut = <T extends Float32Array | Float64Array>(a: T) => a.subarray(0, w) as T;
  return { t: cut(t), cols: new Map([...cols].map(([k, v]) => [k, cut(v)])), ...(min ? { min: new Map([...min].map(([k, v]) => [k, cut(v)])), max: new Map([...max!].map(([k, v]) => [k, cut(v)])) } : {}) };
}

/** Which tier answers a range with at most a few thousand points. */
export function tierFor(spanMs: number, intervalMs: number): Tier {
  if (spanMs / Math.max(intervalMs, 1) <= 20_000) return 'raw';
  if (spanMs / 60_000 <= 20_000) return '1m';
  return '1h';
}
