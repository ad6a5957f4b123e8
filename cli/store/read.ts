/**
 * Reading the store a window at a time: sealed groups oldest first, then the open window. Every
 * reader holds at most one decoded window, so a full-range read costs the same memory as a short
 * one. Rows are strictly increasing: a group that overlaps an earlier one (an import, a re-seal
 * after a crash) only contributes rows after what was already given.
 */
import { chunksRead } from './memory-guard.ts';
import { ChunkBuffers, encodeChunk, type Tier } from '../../shared/chunk/index.ts';
import type { RawHead, RollupHead } from './heads.ts';
import type { GroupRef } from './segments.ts';
import type { Store } from './store.ts';

export interface RowBatch {
  t: Float64Array;
  cols: Float64Array[];
}
/** One series over one window. Raw: v; rollups: avg/min/max/count. */
export interface SeriesPart {
  t: Float64Array;
  v: Float64Array;
  min: Float64Array | null;
  max: Float64Array | null;
  count: Float64Array | null;
}

const NO_ROWS = new Float64Array(0);

/** First index with t[i] > x (strict) or t[i] >= x. */
function bound(t: Float64Array, x: number, strict: boolean): number {
  let lo = 0,
    hi = t.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (strict ? t[m]! > x : t[m]! >= x) hi = m;
    else lo = m + 1;
  }
  return lo;
}

/** Index range [a, b) of t within [from, to] and after `after`. */
function range(t: Float64Array, from: number, to: number, after: number): [number, number] {
  const a = Math.max(bound(t, from, false), bound(t, after, true));
  return [a, Math.max(a, bound(t, to, true))];
}

/** Buffers whose time array (number 0) is another's: decoding a group's chunks one after another overwrites it with the same times. */
class SharedTimes extends ChunkBuffers {
  constructor(readonly times: ChunkBuffers) {
    super();
  }
  override take(i: number, n: number): Float64Array {
    return i === 0 ? this.times.take(0, n) : super.take(i, n);
  }
}

/** Times of a group's rows (from any readable chunk; every chunk of a group shares them). */
function groupTimes(store: Store, ref: GroupRef, into: ChunkBuffers): Float64Array | null {
  for (const k of store.dir(ref)?.chunks.keys() ?? []) {
    const c = store.chunk(ref, k, into);
    if (c) return c.t;
  }
  return null;
}

function head(store: Store, tier: Tier): RawHead | RollupHead {
  return tier === 'raw' ? store.raw : tier === '1m' ? store.m1 : store.h1;
}

/**
 * Raw rows of `keys` over [from, to], a window at a time (stream replay, export). Each batch's
 * arrays are reused for the next one: read a batch before asking for the next.
 */
export function* rowBatches(store: Store, keys: readonly string[], from: number, to: number): Generator<RowBatch> {
  let last = -Infinity;
  // One value array per series, one time array for all (every chunk of a group has the same times).
  const spare = new ChunkBuffers();
  const bufs = keys.map(() => new SharedTimes(spare));
  const scratch = { buf: new Uint8Array(0) };
  for (const ref of store.groups('raw', from, to)) {
    // Most of a group's series (a replay, an export): the group in one read into a reused buffer.
    const chunks = store.groupChunks(ref, keys, bufs, scratch);
    const t = chunks.find((c) => c)?.t ?? groupTimes(store, ref, spare);
    if (!t) continue;
    const [a, b] = range(t, from, to, last);
    if (a >= b) continue;
    yield { t: t.subarray(a, b), cols: chunks.map((c) => (c && c.tier === 'raw' ? c.v.subarray(a, b) : spare.take(9, b - a).fill(NaN))) };
    last = t[b - 1]!;
  }
  const h = store.raw;
  const [a, b] = range(h.t.subarray(0, h.n), from, to, last);
  if (a < b) {
    // Copies: the open window's arrays are reused when it seals, possibly while this batch is read.
    yield {
      t: h.t.slice(a, b),
      cols: keys.map((k) => {
        const c = h.cols.index.get(k);
        return c === undefined ? new Float64Array(b - a).fill(NaN) : h.v[c]!.slice(a, b);
      }),
    };
  }
}

/** The time axis of a tier over [from, to], a window at a time (each part valid until the next). */
export function* timeParts(store: Store, tier: Tier, from: number, to: number): Generator<Float64Array> {
  let last = -Infinity;
  const bufs = new ChunkBuffers();
  for (const ref of store.groups(tier, from, to)) {
    chunksRead(1);
    const t = groupTimes(store, ref, bufs);
    if (!t) continue;
    const [a, b] = range(t, from, to, last);
    if (a < b) {
      yield t.subarray(a, b);
      last = t[b - 1]!;
    }
  }
  const h = head(store, tier);
  const [a, b] = range(h.t.subarray(0, h.n), from, to, last);
  if (a < b) yield h.t.slice(a, b);
}

/** One series of a tier over [from, to] (NaN where it has no value), aligned with timeParts; each part valid until the next. */
export function* seriesParts(store: Store, tier: Tier, key: string, from: number, to: number): Generator<SeriesPart> {
  let last = -Infinity;
  const bufs = new ChunkBuffers();
  const spare = new ChunkBuffers();
  for (const ref of store.groups(tier, from, to)) {
    chunksRead(1);
    const c = store.chunk(ref, key, bufs);
    const t = c?.t ?? groupTimes(store, ref, spare);
    if (!t) continue;
    const [a, b] = range(t, from, to, last);
    if (a >= b) continue;
    last = t[b - 1]!;
    const ts = t.subarray(a, b);
    if (!c) {
      const nan = spare.take(8, b - a).fill(NaN);
      yield { t: ts, v: nan, min: tier === 'raw' ? null : nan, max: tier === 'raw' ? null : nan, count: tier === 'raw' ? null : spare.take(9, b - a).fill(0) };
      continue;
    }
    if (c.tier === 'raw') yield { t: ts, v: c.v.subarray(a, b), min: null, max: null, count: null };
    else yield { t: ts, v: c.avg.subarray(a, b), min: c.min.subarray(a, b), max: c.max.subarray(a, b), count: c.count.subarray(a, b) };
  }
  const h = head(store, tier);
  const [a, b] = range(h.t.subarray(0, h.n), from, to, last);
  if (a >= b) return;
  const col = h.cols.index.get(key);
  const ts = h.t.slice(a, b);
  if (tier === 'raw') {
    const r = h as RawHead;
    yield { t: ts, v: col === undefined ? new Float64Array(b - a).fill(NaN) : r.v[col]!.slice(a, b), min: null, max: null, count: null };
    return;
  }
  const r = h as RollupHead;
  const v = new Float64Array(b - a).fill(NaN),
    mn = v.slice(),
    mx = v.slice(),
    n = new Float64Array(b - a);
  if (col !== undefined)
    for (let i = a; i < b; i++) {
      v[i - a] = r.avg(col, i);
      mn[i - a] = r.min[col]![i]!;
      mx[i - a] = r.max[col]![i]!;
      n[i - a] = r.count[col]![i]!;
    }
  yield { t: ts, v, min: mn, max: mx, count: n };
}

/**
 * Chunk frames of a tier over [from, to] as stored (no decode), window by window, key order within
 * a window; the open window last, encoded from memory (a prefix of what it will seal as).
 */
export function* chunkFrames(store: Store, tier: Tier, keys: readonly string[] | null, from: number, to: number): Generator<Uint8Array> {
  for (const ref of store.groups(tier, from, to)) {
    const dir = store.dir(ref);
    if (!dir) continue;
    chunksRead(keys?.length ?? dir.chunks.size);
    for (const k of keys ?? [...dir.chunks.keys()]) {
      const b = store.chunkBytes(ref, k);
      if (b) yield b;
    }
  }
  const h = head(store, tier);
  if (!h.n || h.t[h.n - 1]! < from || h.t[0]! > to) return;
  if (tier === 'raw') {
    const r = h as RawHead;
    const t = r.t.subarray(0, r.n);
    for (const k of keys ?? r.keys) {
      const c = r.cols.index.get(k);
      if (c !== undefined) yield encodeChunk({ tier: 'raw', key: k, t, v: r.v[c]!.subarray(0, r.n) });
    }
    return;
  }
  const r = h as RollupHead;
  const t = r.t.subarray(0, r.n);
  const avg = new Float64Array(r.n);
  for (const k of keys ?? r.keys) {
    const c = r.cols.index.get(k);
    if (c === undefined) continue;
    for (let i = 0; i < r.n; i++) avg[i] = r.avg(c, i);
    yield encodeChunk({ tier, key: k, t, avg, min: r.min[c]!.subarray(0, r.n), max: r.max[c]!.subarray(0, r.n), count: r.count[c]!.subarray(0, r.n) });
  }
}

/** Raw rows held, newest first, until `limit` are counted: the time to start from for "the last N rows". */
export function startOfLast(store: Store, tier: Tier, limit: number, from: number, to: number): number {
  let need = limit;
  const h = head(store, tier);
  const [a, b] = range(h.t.subarray(0, h.n), from, to, -Infinity);
  if (b - a >= need) return h.t[b - need]!;
  need -= b - a;
  const refs = store.groups(tier, from, to);
  const bufs = new ChunkBuffers();
  for (let i = refs.length - 1; i >= 0; i--) {
    const t = groupTimes(store, refs[i]!, bufs) ?? NO_ROWS;
    const [x, y] = range(t, from, to, -Infinity);
    if (y - x >= need) return t[y - need]!;
    need -= y - x;
  }
  return from;
}
