/**
 * The v2 → v3 upgrade step: v2 stored columnar chunks (one record = many keys × up to 10 minutes
 * of one tier, values as Float32); v3 stores one encoded frame per key and epoch-aligned window.
 * Runs inside the versionchange transaction, so it may only await IDB requests: one cursor over
 * the old store (in [ep, tier, t0] order, so windows fill in time order), re-cut at the v3
 * windows and encoded synchronously. Every sample is carried over; v2 rollups had no per-bucket
 * sample count, so the count is estimated as the bucket width over the sampling interval.
 */
import type { IDBPTransaction, StoreNames } from 'idb';
import { isExactKey } from '../../shared/catalog.ts';
import { encodeChunk, quantize, TIER_STEP_MS, type Chunk, type Tier } from '../../shared/chunk/index.ts';
import { windowStart } from '../../shared/chunk/windows.ts';
import type { ChunkRecord, GpulseDB } from './db.ts';

/** A v2 record (web/lib/db.ts before v3). */
export interface V2Chunk {
  ep: string;
  tier: Tier;
  t0: number;
  t1: number;
  keys: string[];
  t: Float64Array;
  /** avg for rollups; the value for raw */
  v: Float32Array[];
  min?: Float32Array[];
  max?: Float32Array[];
}

type UpgradeTx = IDBPTransaction<GpulseDB, StoreNames<GpulseDB>[], 'versionchange'>;

/** One series' rows of the window being filled (plain arrays: this runs once per install). */
interface Acc {
  t: number[];
  v: number[];
  min: number[];
  max: number[];
}

export interface MigrateReport {
  records: number;
  chunks: number;
  samples: number;
  skipped: number;
}

export async function migrateV2Chunks(tx: UpgradeTx): Promise<MigrateReport> {
  const report: MigrateReport = { records: 0, chunks: 0, samples: 0, skipped: 0 };
  if (!tx.objectStoreNames.contains('chunks')) return report;
  const intervals = new Map<string, number>();
  for (let c = await tx.objectStore('meta').openCursor(); c; c = await c.continue()) {
    const m = /^schema:(.+)$/.exec(String(c.key));
    const iv = (c.value as { interval_ms?: unknown })?.interval_ms;
    if (m && typeof iv === 'number' && iv > 0) intervals.set(m[1]!, iv);
  }
  const out = tx.objectStore('chunks3');
  let ep = '',
    tier: Tier = 'raw',
    interval = 1000,
    ws = NaN;
  let acc = new Map<string, Acc>();
  const lastRaw = new Map<string, number>();
  const emit = () => {
    for (const [key, a] of acc) {
      if (!a.t.length) continue;
      const t = Float64Array.from(a.t);
      const chunk: Chunk =
        tier === 'raw'
          ? { tier, key, t, v: Float64Array.from(a.v) }
          : {
              tier,
              key,
              t,
              avg: Float64Array.from(a.v),
              min: Float64Array.from(a.min),
              max: Float64Array.from(a.max),
              count: Float64Array.from(a.v, (x) => (x === x ? Math.max(1, Math.round(TIER_STEP_MS[tier] / interval)) : 0)),
            };
      let bytes: Uint8Array;
      try {
        bytes = encodeChunk(chunk);
      } catch (e) {
        report.skipped += a.t.length;
        console.warn(`gpulse: migration skipped ${key} ${tier} @${a.t[0]}: ${(e as Error).message}`);
        continue;
      }
      const rec: ChunkRecord = { ep, tier, key, t0: a.t[0]!, t1: a.t[a.t.length - 1]!, n: a.t.length, bytes: bytes.slice().buffer };
      // A failed put aborts the upgrade (and keeps v2); the rejection itself needs no handler.
      out.put(rec).catch(() => {});
      report.chunks++;
      report.samples += a.t.length;
    }
    acc = new Map();
  };
  for (let cur = await tx.objectStore('chunks').openCursor(); cur; cur = await cur.continue()) {
    const c = cur.value;
    report.records++;
    if (!c || !Array.isArray(c.keys) || !(c.t instanceof Float64Array) || !Array.isArray(c.v)) {
      report.skipped++;
      continue;
    }
    if (c.ep !== ep || c.tier !== tier) {
      emit();
      ep = c.ep;
      tier = c.tier;
      interval = intervals.get(ep) ?? 1000;
      ws = NaN;
    }
    for (let i = 0; i < c.t.length; i++) {
      const ti = c.t[i]!;
      if (tier === 'raw') lastRaw.set(ep, Math.max(lastRaw.get(ep) ?? -Infinity, ti));
      const w = windowStart(tier, ti, interval);
      if (w !== ws) {
        emit();
        ws = w;
      }
      for (let k = 0; k < c.keys.length; k++) {
        const key = c.keys[k]!;
        let a = acc.get(key);
        if (!a) acc.set(key, (a = { t: [], v: [], min: [], max: [] }));
        if (a.t.length && ti <= a.t[a.t.length - 1]!) continue; // overlapping v2 segments: keep the first copy
        a.t.push(ti);
        // v2 stored Float32: user series keep what they had (no wire rounding on top).
        const q = isExactKey(key) ? (x: number) => x : quantize;
        a.v.push(q(c.v[k]?.[i] ?? NaN));
        if (tier !== 'raw') {
          a.min.push(q(c.min?.[k]?.[i] ?? NaN));
          a.max.push(q(c.max?.[k]?.[i] ?? NaN));
        }
      }
    }
  }
  emit();
  // v2 folded each raw window when it closed, so its rollups cover all but the last one: fold again
  // from the start of the last 6-hour rollup window (folding is idempotent, so overlap is harmless).
  const meta = tx.objectStore('meta');
  for (const [e, t] of lastRaw) meta.put(windowStart('1m', t, 0), `fold:${e}`).catch(() => {});
  return report;
}
