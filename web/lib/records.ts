/**
 * From encoded frames to stored records and back: the record's index fields come from the frame
 * header, so a record always describes its bytes; decoding merges a series' records (which may
 * overlap: an agent's full window next to the segments this browser wrote of it) into one
 * strictly increasing run.
 */
import { decodeChunk, encodeChunk, type Chunk, type ChunkHeader, type Tier } from '../../shared/chunk/index.ts';
import type { ChunkRecord } from './db.ts';

/** The widest window of each tier: a record overlapping [from, …] has t0 ≥ from − this. */
export const MAX_WINDOW_MS: Record<Tier, number> = { raw: 3_600_000, '1m': 6 * 3_600_000, '1h': 10 * 86_400_000 };

/** An ArrayBuffer holding exactly these bytes (IDB clones the whole buffer behind a view). */
function ownBuffer(u: Uint8Array): ArrayBuffer {
  return u.byteOffset === 0 && u.byteLength === u.buffer.byteLength && u.buffer instanceof ArrayBuffer ? u.buffer : (u.slice().buffer as ArrayBuffer);
}

export function toRecord(ep: string, h: Pick<ChunkHeader, 'tier' | 'key' | 't0' | 't1' | 'n'>, bytes: ArrayBuffer): ChunkRecord {
  return { ep, tier: h.tier, key: h.key, t0: h.t0, t1: h.t1, n: h.n, bytes };
}

/** Encodes a chunk into a record of endpoint `ep` (throws on invalid input, as encodeChunk does). */
export function encodeRecord(ep: string, c: Chunk): ChunkRecord {
  const n = c.t.length;
  return { ep, tier: c.tier, key: c.key, t0: c.t[0]!, t1: c.t[n - 1]!, n, bytes: ownBuffer(encodeChunk(c)) };
}

/** Columns of one series: raw has v; rollups have avg/min/max/count. */
export interface Run {
  t: Float64Array;
  v: Float64Array;
  min?: Float64Array;
  max?: Float64Array;
  count?: Float64Array;
}

/** Decoded records that fail their checksum are left out (and reported), never thrown. */
function decodeRecord(r: ChunkRecord): Chunk | null {
  const d = decodeChunk(new Uint8Array(r.bytes));
  if (d.ok) return d.value;
  console.warn(`gpulse: unreadable chunk ${r.ep} ${r.tier} ${r.key} @${r.t0}: ${d.error.kind} ${d.error.message}`);
  return null;
}

const asRun = (c: Chunk): Run => (c.tier === 'raw' ? { t: c.t, v: c.v } : { t: c.t, v: c.avg, min: c.min, max: c.max, count: c.count });

/**
 * One strictly increasing run from a series' records (sorted by t0). The common case, records
 * laid end to end, is a plain concatenation; overlaps fall back to a merge where the later record
 * wins a shared timestamp (a whole window replaces the segments it was built from).
 */
export function mergeRuns(runs: Run[]): Run {
  const live = runs.filter((r) => r.t.length);
  if (live.length === 1) return live[0]!;
  const rollup = live.some((r) => r.count);
  let total = 0;
  let ordered = true;
  let last = -Infinity;
  for (const r of live) {
    total += r.t.length;
    if (r.t[0]! <= last) ordered = false;
    last = r.t[r.t.length - 1]!;
  }
  const out: Run = {
    t: new Float64Array(total),
    v: new Float64Array(total),
    ...(rollup ? { min: new Float64Array(total), max: new Float64Array(total), count: new Float64Array(total) } : {}),
  };
  if (ordered) {
    let o = 0;
    for (const r of live) {
      out.t.set(r.t, o);
      out.v.set(r.v, o);
      if (rollup) {
        out.min!.set(r.min ?? r.v, o);
        out.max!.set(r.max ?? r.v, o);
        out.count!.set(r.count ?? new Float64Array(r.t.length).fill(1), o);
      }
      o += r.t.length;
    }
    return out;
  }
  // Overlap: index every (run, row) by time, later runs first on ties, and keep the first of each time.
  const idx: [number, number, number][] = [];
  live.forEach((r, j) => {
    for (let i = 0; i < r.t.length; i++) idx.push([r.t[i]!, -j, i]);
  });
  idx.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let w = 0;
  for (let k = 0; k < idx.length; k++) {
    const [t, nj, i] = idx[k]!;
    if (w && out.t[w - 1] === t) continue;
    const r = live[-nj]!;
    out.t[w] = t;
    out.v[w] = r.v[i]!;
    if (rollup) {
      out.min![w] = (r.min ?? r.v)[i]!;
      out.max![w] = (r.max ?? r.v)[i]!;
      out.count![w] = r.count ? r.count[i]! : 1;
    }
    w++;
  }
  const cut = (a?: Float64Array) => a?.subarray(0, w);
  return { t: cut(out.t)!, v: cut(out.v)!, ...(rollup ? { min: cut(out.min), max: cut(out.max), count: cut(out.count) } : {}) };
}

/** Decodes and merges one series' records (sorted by t0), leaving out unreadable ones. */
export function decodeRun(recs: ChunkRecord[]): Run {
  const runs: Run[] = [];
  for (const r of recs) {
    const c = decodeRecord(r);
    if (c) runs.push(asRun(c));
  }
  if (!runs.length) return { t: new Float64Array(0), v: new Float64Array(0) };
  return mergeRuns(runs);
}

/** A run as a chunk to encode. */
export function runChunk(tier: Tier, key: string, r: Run): Chunk {
  return tier === 'raw'
    ? { tier, key, t: r.t, v: r.v }
    : { tier, key, t: r.t, avg: r.v, min: r.min ?? r.v, max: r.max ?? r.v, count: r.count ?? new Float64Array(r.t.length).fill(1) };
}
