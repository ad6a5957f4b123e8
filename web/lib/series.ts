/**
 * Reading history for charts and exports: only the series a view needs are read and decoded (one
 * key range per series, all in one transaction), then joined on one time axis. Live views add the
 * in-memory tail (rows the stream delivered) after what is stored, bucketed like the tier, so a
 * live chart is redrawn from memory and IndexedDB is read once per range, not every second.
 */
import type { Tier } from '../../shared/chunk/index.ts';
import { ROLLUP_STEP_MS } from '../../shared/chunk/windows.ts';
import { CHUNKS, keyRange, type DB } from './db.ts';
import { decodeRun, MAX_WINDOW_MS, type Run } from './records.ts';
import { isExactKey } from '../../shared/catalog.ts';
import { bucketRaw } from './rollup.ts';

export interface Series {
  t: Float64Array;
  cols: Map<string, Float64Array>;
  /** rollup tiers: per-bucket extremes */
  min?: Map<string, Float64Array>;
  max?: Map<string, Float64Array>;
}

/** Which tier answers a range with at most a few thousand points. */
export function tierFor(spanMs: number, intervalMs: number): Tier {
  if (spanMs / Math.max(intervalMs, 1) <= 20_000) return 'raw';
  if (spanMs / 60_000 <= 20_000) return '1m';
  return '1h';
}

/** Stored history of `keys` in [from, to] from one tier. */
export async function readSeries(db: DB, ep: string, tier: Tier, keys: readonly string[], from: number, to: number): Promise<Series> {
  const store = db.transaction(CHUNKS).store;
  const lo = from - MAX_WINDOW_MS[tier];
  const recs = await Promise.all(keys.map((k) => store.getAll(keyRange(ep, tier, k, lo, to))));
  const runs = new Map<string, Run>();
  keys.forEach((k, i) => runs.set(k, decodeRun(recs[i]!.filter((r) => r.t1 >= from))));
  return joinRuns(runs, keys, from, to, tier !== 'raw');
}

/**
 * Series on one time axis (missing → NaN), clipped to [from, to]. Series of one endpoint nearly
 * always share their timestamps, so that case is a copy per column; otherwise the axis is the
 * union of all timestamps.
 */
export function joinRuns(runs: Map<string, Run>, keys: readonly string[], from: number, to: number, rollup: boolean): Series {
  let base: Float64Array | null = null;
  for (const k of keys) {
    const r = runs.get(k);
    if (r && (!base || r.t.length > base.length)) base = r.t;
  }
  let axis = base ?? new Float64Array(0);
  const shared = keys.every((k) => {
    const r = runs.get(k);
    return !r || !r.t.length || sameTimes(r.t, axis);
  });
  if (!shared) {
    const all = new Float64Array(keys.reduce((s, k) => s + (runs.get(k)?.t.length ?? 0), 0));
    let o = 0;
    for (const k of keys) {
      const r = runs.get(k);
      if (r) {
        all.set(r.t, o);
        o += r.t.length;
      }
    }
    all.sort();
    let w = 0;
    for (let i = 0; i < all.length; i++) if (!w || all[i] !== all[w - 1]) all[w++] = all[i]!;
    axis = all.subarray(0, w);
  }
  let a = 0,
    b = axis.length;
  while (a < b && axis[a]! < from) a++;
  while (b > a && axis[b - 1]! > to) b--;
  const t = axis.slice(a, b);
  const cols = new Map<string, Float64Array>();
  const min = rollup ? new Map<string, Float64Array>() : undefined;
  const max = rollup ? new Map<string, Float64Array>() : undefined;
  for (const k of keys) {
    const r = runs.get(k);
    const place = (src: Float64Array | undefined) => {
      const out = new Float64Array(t.length).fill(NaN);
      if (!r || !src || !r.t.length) return out;
      if (shared) {
        out.set(src.subarray(a, b));
        return out;
      }
      for (let i = 0, j = 0; i < r.t.length; i++) {
        const ti = r.t[i]!;
        if (ti < from || ti > to) continue;
        while (t[j]! < ti) j++;
        out[j] = src[i]!;
      }
      return out;
    };
    cols.set(k, place(r?.v));
    if (rollup) {
      min!.set(k, place(r?.min ?? r?.v));
      max!.set(k, place(r?.max ?? r?.v));
    }
  }
  return { t, cols, ...(rollup ? { min, max } : {}) };
}

function sameTimes(x: Float64Array, y: Float64Array): boolean {
  if (x === y) return true;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Stored series + the live tail after it. For raw the tail rows are appended as they are; for a
 * rollup tier they become buckets of the tier's step (the stored rollups end where the last closed
 * raw window ends, so the open window's buckets are computed here, from memory).
 */
export function withTail(
  stored: Series,
  tail: readonly (readonly (number | null)[])[],
  rowKeys: readonly string[],
  keys: readonly string[],
  tier: Tier,
  from: number,
  to: number,
): Series {
  const step = tier === 'raw' ? 0 : ROLLUP_STEP_MS[tier];
  const lastStored = stored.t.length ? stored.t[stored.t.length - 1]! : -Infinity;
  const after = step ? lastStored + step : lastStored + 1;
  let i0 = tail.length;
  while (i0 > 0 && (tail[i0 - 1]![0] as number) >= Math.max(after, from)) i0--;
  let i1 = tail.length;
  while (i1 > i0 && (tail[i1 - 1]![0] as number) > to) i1--;
  if (i1 <= i0) return stored;
  const idx = keys.map((k) => rowKeys.indexOf(k));
  const m = i1 - i0;
  const rt = new Float64Array(m);
  for (let i = 0; i < m; i++) rt[i] = tail[i0 + i]![0] as number;
  const col = (j: number) => {
    const c = new Float64Array(m);
    const s = idx[j]!;
    for (let i = 0; i < m; i++) {
      const v = s < 0 ? null : tail[i0 + i]![s + 1];
      c[i] = typeof v === 'number' ? v : NaN;
    }
    return c;
  };
  const extra: { t: Float64Array; v: Float64Array[]; min?: Float64Array[]; max?: Float64Array[] } = { t: rt, v: keys.map((_, j) => col(j)) };
  if (step) {
    const bs = extra.v.map((v, j) => bucketRaw({ t: rt, v }, step, isExactKey(keys[j]!)));
    extra.t = bs[0]?.t ?? new Float64Array(0);
    extra.v = bs.map((b) => b.v);
    extra.min = bs.map((b) => b.min!);
    extra.max = bs.map((b) => b.max!);
  }
  const n0 = stored.t.length,
    n = n0 + extra.t.length;
  const cat = (a: Float64Array | undefined, b: Float64Array) => {
    const o = new Float64Array(n);
    if (a) o.set(a.subarray(0, n0));
    else o.fill(NaN, 0, n0);
    o.set(b, n0);
    return o;
  };
  const t = cat(stored.t, extra.t);
  const cols = new Map(keys.map((k, j) => [k, cat(stored.cols.get(k), extra.v[j]!)]));
  if (!step) return { t, cols };
  return {
    t,
    cols,
    min: new Map(keys.map((k, j) => [k, cat(stored.min?.get(k) ?? stored.cols.get(k), extra.min![j]!)])),
    max: new Map(keys.map((k, j) => [k, cat(stored.max?.get(k) ?? stored.cols.get(k), extra.max![j]!)])),
  };
}

/** A series as stream-style rows [t, ...values in `keys` order] (null for a gap), for the display tail. */
export function seriesRows(s: Series, keys: readonly string[]): (number | null)[][] {
  const cols = keys.map((k) => s.cols.get(k));
  const rows: (number | null)[][] = new Array(s.t.length);
  for (let i = 0; i < s.t.length; i++) {
    const r: (number | null)[] = new Array(keys.length + 1);
    r[0] = s.t[i]!;
    for (let k = 0; k < cols.length; k++) {
      const v = cols[k]?.[i];
      r[k + 1] = v === undefined || v !== v ? null : v;
    }
    rows[i] = r;
  }
  return rows;
}
