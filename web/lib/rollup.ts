/**
 * Rollups folded from stored raw chunks, persistently. A per-endpoint watermark in `meta`
 * (`fold:<ep>`) says "raw rows before this time are in the 1m and 1h tiers"; folding reads the
 * raw records from the watermark up to a horizon (the start of the writer's open window), six
 * hours at a time, and moves the watermark in the same transaction as the rollups it wrote. So a
 * reload, an import or a new leader just folds again from the watermark: never a gap.
 *
 * Folding is idempotent: the 1-minute buckets of the folded span are replaced (not added to),
 * and each 1-hour bucket is recomputed from its hour's 1-minute buckets (weighted by sample
 * count), so folding a span twice, or over an agent's own rollups, gives the same result.
 */
import { isExactKey } from '../../shared/catalog.ts';
import { quantize, type Tier } from '../../shared/chunk/index.ts';
import { ROLLUP_STEP_MS, ROLLUP_WINDOW_MS, windowStart } from '../../shared/chunk/windows.ts';
import type { IDBPObjectStore } from 'idb';
import { CHUNKS, endRange, keyRange, type ChunkRecord, type DB, type GpulseDB } from './db.ts';
import { decodeRun, encodeRecord, MAX_WINDOW_MS, runChunk, type Run } from './records.ts';

type ChunkStore = IDBPObjectStore<GpulseDB, ('chunks3' | 'meta')[], 'chunks3', 'readwrite'>;

export const foldKey = (ep: string) => `fold:${ep}`;
const M = ROLLUP_STEP_MS['1m'];
const H = ROLLUP_STEP_MS['1h'];

export interface FoldResult {
  groups: number;
  keys: number;
  watermark: number | null;
}

/** Folds endpoint `ep`'s raw rows in [watermark, horizon) into its 1m and 1h tiers. */
export async function foldRollups(db: DB, ep: string, horizon: number): Promise<FoldResult> {
  const res: FoldResult = { groups: 0, keys: 0, watermark: null };
  for (;;) {
    const tx = db.transaction([CHUNKS, 'meta'], 'readwrite');
    const meta = tx.objectStore('meta');
    const store = tx.objectStore(CHUNKS);
    const byEnd = store.index('byEnd');
    let w = (await meta.get(foldKey(ep))) as number | undefined;
    if (w === undefined) {
      const first = await byEnd.openCursor(endRange(ep, 'raw', -Infinity, Infinity));
      if (!first) {
        await tx.done;
        return res;
      }
      w = Math.floor(first.value.t0 / M) * M;
    }
    res.watermark = w;
    if (w >= horizon) {
      await tx.done;
      return res;
    }
    const end = Math.min(horizon, windowStart('1m', w, 0) + ROLLUP_WINDOW_MS['1m']);
    const raws = (await byEnd.getAll(endRange(ep, 'raw', w, end + MAX_WINDOW_MS.raw))).filter((r) => r.t0 < end);
    if (!raws.length) {
      // Nothing stored in this stretch: jump to the next stored raw row instead of walking empty hours.
      const next = await byEnd.openCursor(endRange(ep, 'raw', end, Infinity));
      const to = next ? Math.min(horizon, Math.max(end, Math.floor(next.value.t0 / M) * M)) : end;
      await meta.put(to, foldKey(ep));
      await tx.done;
      res.watermark = to;
      if (!next) return res;
      continue;
    }
    const byKey = groupByKey(raws);
    const ws1m = windowStart('1m', w, 0),
      ws1h = windowStart('1h', w, 0);
    const keys = [...byKey.keys()];
    const [old1m, old1h] = await Promise.all([
      Promise.all(keys.map((k) => store.getAll(keyRange(ep, '1m', k, ws1m, ws1m + ROLLUP_WINDOW_MS['1m'] - 1)))),
      Promise.all(keys.map((k) => store.getAll(keyRange(ep, '1h', k, ws1h, ws1h + ROLLUP_WINDOW_MS['1h'] - 1)))),
    ]);
    const ops: Promise<unknown>[] = [];
    const hourFrom = Math.floor(w / H) * H;
    keys.forEach((key, i) => {
      const minutes = bucketRaw(clip(decodeRun(byKey.get(key)!), w, end), M, isExactKey(key));
      if (!minutes.t.length) return;
      const all1m = splice(decodeRun(old1m[i]!), w, end, minutes);
      const hours = bucketRollup(clip(all1m, hourFrom, end), H, isExactKey(key));
      const all1h = splice(decodeRun(old1h[i]!), hourFrom, end, hours);
      ops.push(...replaceWindow(store, ep, '1m', key, ws1m, all1m), ...replaceWindow(store, ep, '1h', key, ws1h, all1h));
      res.keys++;
    });
    ops.push(meta.put(end, foldKey(ep)));
    await Promise.all([...ops, tx.done]);
    res.groups++;
    res.watermark = end;
  }
}

/** Moves the watermark forward only (agent rollups cover up to `t`): never re-opens a gap behind it. */
export async function advanceWatermark(db: DB, ep: string, t: number, coveredFrom: number) {
  const tx = db.transaction('meta', 'readwrite');
  const w = (await tx.store.get(foldKey(ep))) as number | undefined;
  // The agent's rollups only replace folding if they start at or before what is still to fold.
  if (w === undefined || (coveredFrom <= w && t > w)) await tx.store.put(t, foldKey(ep));
  await tx.done;
}

function groupByKey(recs: ChunkRecord[]): Map<string, ChunkRecord[]> {
  const m = new Map<string, ChunkRecord[]>();
  for (const r of recs) {
    let a = m.get(r.key);
    if (!a) m.set(r.key, (a = []));
    a.push(r);
  }
  for (const a of m.values()) a.sort((x, y) => x.t0 - y.t0);
  return m;
}

/** Rows of a run with from ≤ t < to (a view, no copy). */
function clip(r: Run, from: number, to: number): Run {
  let a = 0,
    b = r.t.length;
  while (a < b && r.t[a]! < from) a++;
  while (b > a && r.t[b - 1]! >= to) b--;
  const s = (x?: Float64Array) => x?.subarray(a, b);
  return { t: s(r.t)!, v: s(r.v)!, min: s(r.min), max: s(r.max), count: s(r.count) };
}

/** An existing rollup run with its rows in [from, to) replaced by `fresh` (which lies inside it). */
function splice(old: Run, from: number, to: number, fresh: Run): Run {
  let a = 0;
  while (a < old.t.length && old.t[a]! < from) a++;
  let b = a;
  while (b < old.t.length && old.t[b]! < to) b++;
  const n = a + fresh.t.length + (old.t.length - b);
  const out: Run = { t: new Float64Array(n), v: new Float64Array(n), min: new Float64Array(n), max: new Float64Array(n), count: new Float64Array(n) };
  const parts: [Run, number, number][] = [
    [old, 0, a],
    [fresh, 0, fresh.t.length],
    [old, b, old.t.length],
  ];
  let o = 0;
  for (const [r, i, j] of parts) {
    out.t.set(r.t.subarray(i, j), o);
    out.v.set(r.v.subarray(i, j), o);
    out.min!.set((r.min ?? r.v).subarray(i, j), o);
    out.max!.set((r.max ?? r.v).subarray(i, j), o);
    if (r.count) out.count!.set(r.count.subarray(i, j), o);
    else out.count!.fill(1, o, o + j - i);
    o += j - i;
  }
  return out;
}

/** Deletes a series' records in one rollup window and writes the run as one chunk. */
function replaceWindow(store: ChunkStore, ep: string, tier: Exclude<Tier, 'raw'>, key: string, ws: number, run: Run): Promise<unknown>[] {
  if (!run.t.length) return [];
  return [store.delete(keyRange(ep, tier, key, ws, ws + ROLLUP_WINDOW_MS[tier] - 1)), store.put(encodeRecord(ep, runChunk(tier, key, run)))];
}

/**
 * Raw samples → buckets of `step`: avg over the non-null samples, min, max, and their count
 * (0 when every sample in the bucket was null, and then avg/min/max are NaN: a gap, never 0).
 */
/** exact: a user series, whose means are kept unrounded (the agent's rule). */
export function bucketRaw(r: Run, step: number, exact = false): Run {
  return buckets(r, step, false, exact);
}

/** Finer rollup buckets → coarser ones, averages weighted by sample count. */
export function bucketRollup(r: Run, step: number, exact = false): Run {
  return buckets(r, step, true, exact);
}

function buckets(r: Run, step: number, weighted: boolean, exact: boolean): Run {
  let n = 0;
  for (let i = 0, last = NaN; i < r.t.length; i++) {
    const b = Math.floor(r.t[i]! / step) * step;
    if (b !== last) {
      n++;
      last = b;
    }
  }
  const out = { t: new Float64Array(n), v: new Float64Array(n), min: new Float64Array(n), max: new Float64Array(n), count: new Float64Array(n) };
  let k = -1,
    last = NaN,
    sum = 0,
    cnt = 0,
    mn = NaN,
    mx = NaN;
  const close = () => {
    if (k < 0) return;
    out.v[k] = cnt ? (exact ? sum / cnt : quantize(sum / cnt)) : NaN;
    out.min[k] = cnt ? mn : NaN;
    out.max[k] = cnt ? mx : NaN;
    out.count[k] = cnt;
  };
  for (let i = 0; i < r.t.length; i++) {
    const b = Math.floor(r.t[i]! / step) * step;
    if (b !== last) {
      close();
      k++;
      out.t[k] = b;
      last = b;
      sum = 0;
      cnt = 0;
      mn = NaN;
      mx = NaN;
    }
    const v = r.v[i]!;
    const c = weighted ? (r.count?.[i] ?? 1) : 1;
    if (v !== v || !c) continue;
    sum += v * c;
    cnt += c;
    const lo = weighted ? (r.min?.[i] ?? v) : v,
      hi = weighted ? (r.max?.[i] ?? v) : v;
    if (!(mn <= lo)) mn = lo;
    if (!(mx >= hi)) mx = hi;
  }
  close();
  return out;
}
