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

/** A run of columns in `keys` order (a missing column: undefined, read as gaps). */
interface Part {
  t: Float64Array;
  v: (Float64Array | undefined)[];
  min?: (Float64Array | undefined)[];
  max?: (Float64Array | undefined)[];
}

/** The first index of `tail` (rows in time order) whose time is >= t. */
function firstAtOrAfter(tail: readonly (readonly (number | null)[])[], t: number): number {
  let lo = 0,
    hi = tail.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((tail[mid]![0] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Tail rows [i0, i1) as columns (`idx`: each key's place in a row, -1 = absent). */
function tailPart(tail: readonly (readonly (number | null)[])[], idx: readonly number[], i0: number, i1: number): Part {
  const m = i1 - i0;
  const t = new Float64Array(m);
  for (let i = 0; i < m; i++) t[i] = tail[i0 + i]![0] as number;
  const v = idx.map((s) => {
    const c = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const x = s < 0 ? null : tail[i0 + i]![s + 1];
      c[i] = typeof x === 'number' ? x : NaN;
    }
    return c;
  });
  return { t, v };
}

function joinParts(parts: readonly Part[], keys: readonly string[], rollup: boolean): Series {
  const n = parts.reduce((a, p) => a + p.t.length, 0);
  const cat = (pick: (p: Part) => Float64Array | undefined) => {
    const o = new Float64Array(n);
    let at = 0;
    for (const p of parts) {
      const c = pick(p);
      if (c) o.set(c.subarray(0, p.t.length), at);
      else o.fill(NaN, at, at + p.t.length);
      at += p.t.length;
    }
    return o;
  };
  const t = cat((p) => p.t);
  const cols = new Map(keys.map((k, j) => [k, cat((p) => p.v[j])]));
  if (!rollup) return { t, cols };
  return {
    t,
    cols,
    min: new Map(keys.map((k, j) => [k, cat((p) => p.min?.[j] ?? p.v[j])])),
    max: new Map(keys.map((k, j) => [k, cat((p) => p.max?.[j] ?? p.v[j])])),
  };
}

/**
 * Stored series + the live tail after it. For raw the tail rows are appended as they are; for a
 * rollup tier they become buckets of the tier's step (the stored rollups end where the last closed
 * raw window ends, so the open window's buckets are computed here, from memory). For raw, tail
 * rows before the first stored one are put in front too: a read that ran while a backfill was
 * being stored (newest windows first) holds only the newest part of what the tail already has.
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
  const i0 = firstAtOrAfter(tail, Math.max(step ? lastStored + step : lastStored + 1, from));
  const i1 = Math.max(i0, firstAtOrAfter(tail, to + 1e-3));
  const p0 = !step && stored.t.length ? firstAtOrAfter(tail, from) : 0;
  const p1 = !step && stored.t.length ? Math.min(firstAtOrAfter(tail, stored.t[0]!), i0) : 0;
  if (i1 <= i0 && p1 <= p0) return stored;
  const idx = keys.map((k) => rowKeys.indexOf(k));
  const mid: Part = { t: stored.t, v: keys.map((k) => stored.cols.get(k)) };
  if (step) {
    mid.min = keys.map((k) => stored.min?.get(k) ?? stored.cols.get(k));
    mid.max = keys.map((k) => stored.max?.get(k) ?? stored.cols.get(k));
  }
  const after = tailPart(tail, idx, i0, i1);
  if (step) {
    const bs = after.v.map((v, j) => bucketRaw({ t: after.t, v: v! }, step, isExactKey(keys[j]!)));
    after.t = bs[0]?.t ?? new Float64Array(0);
    after.v = bs.map((b) => b.v);
    after.min = bs.map((b) => b.min!);
    after.max = bs.map((b) => b.max!);
  }
  const parts = p1 > p0 ? [tailPart(tail, idx, p0, p1), mid, after] : [mid, after];
  return joinParts(parts, keys, !!step);
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
