/**
 * nvitop monitor-web's `/history.json` from gpulse's raw tier: `{"buffer", "samples": [{"epoch",
 * "metrics"}]}` with its parameters (bucket_seconds, limit, max_samples, since in epoch seconds) and
 * its downsampling (epoch-aligned time buckets doubled until they fit, or equal-count slices).
 * Streamed a sample at a time from the store, so memory stays bounded whatever is asked.
 */
import type { Agent } from '../../agent.ts';
import { rowBatches, startOfLast, timeParts } from '../../store/read.ts';
import { badParam } from '../errors.ts';
import { bufferStats, compatMetrics, compatSourceKeys, metricsDict, PROCESS_STARTED_AT, type CompatMetric } from './metrics.ts';

/** At most this many of the newest selected rows are considered: monitor-web's default buffer (a day at 1 s). */
export const HISTORY_CAP = 86_400;

export interface CompatHistoryQuery {
  bucketSeconds: number | null;
  limit: number | null;
  maxSamples: number | null;
  since: number | null;
}

const INT = /^\s*[+-]?\d+\s*$/;
const FLOAT = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/** Present but unparsable or out of range → 400 naming the parameter; absent or empty → null (Python's parse_qs drops blanks). */
export function parseCompatHistoryQuery(q: Record<string, string>): CompatHistoryQuery {
  const text = (name: string) => (q[name] === undefined || q[name] === '' ? null : q[name]!);
  const positiveInt = (name: string) => {
    const s = text(name);
    if (s === null) return null;
    if (!INT.test(s) || Number(s) <= 0) throw badParam(name, `expected a positive integer, got ${JSON.stringify(s.slice(0, 40))}`);
    return Number(s);
  };
  const finite = (name: string, positive: boolean) => {
    const s = text(name);
    if (s === null) return null;
    const v = FLOAT.test(s) ? Number(s) : NaN;
    if (!Number.isFinite(v)) throw badParam(name, `expected a finite number, got ${JSON.stringify(s.slice(0, 40))}`);
    if (positive && v <= 0) throw badParam(name, `expected a positive number, got ${JSON.stringify(s.slice(0, 40))}`);
    return v;
  };
  return { bucketSeconds: finite('bucket_seconds', true), limit: positiveInt('limit'), maxSamples: positiveInt('max_samples'), since: finite('since', false) };
}

/** Which rows, and how they are grouped: `bucket(t, i)` names the output sample row i of time t falls in. */
interface Plan {
  from: number;
  to: number;
  n: number;
  bucket: ((t: number, i: number) => number) | null;
  timeBuckets: boolean;
}

function plan(agent: Agent, q: CompatHistoryQuery): Plan {
  const store = agent.store;
  // since is strict ("newer than"); stored stamps are whole milliseconds.
  let from = q.since === null ? -Infinity : Math.floor(q.since * 1000) + 1;
  from = Math.max(from, startOfLast(store, 'raw', Math.min(q.limit ?? HISTORY_CAP, HISTORY_CAP), from, Infinity));
  const times: number[] = [];
  for (const t of timeParts(store, 'raw', from, Infinity)) for (let i = 0; i < t.length; i++) if (t[i]! >= from) times.push(t[i]!);
  const n = times.length;
  // Rows that arrive while the answer is written are not part of it (the slices were cut for n).
  const to = n ? times[n - 1]! : -Infinity;
  const m = q.maxSamples;
  if (m === null || n <= m) return { from, to, n, bucket: null, timeBuckets: false };
  if (q.bucketSeconds !== null) {
    // monitor-web: epoch-aligned buckets, the width multiplied until the bucket count fits.
    // Widths are kept between 1 ms (stamps are whole milliseconds) and 10^15 ms (past it a bucket
    // start would overflow to Infinity and be written as null); both ends answer as monitor-web would.
    const clamp = (w: number) => Math.min(1e15, Math.max(1, w));
    let ms = clamp(q.bucketSeconds * 1000);
    const count = (w: number) => {
      let c = 0,
        last = NaN;
      for (const t of times) {
        const b = Math.floor(t / w);
        if (b !== last) {
          c++;
          last = b;
        }
      }
      return c;
    };
    for (let c = count(ms); c > m && ms < 1e15; c = count(ms)) ms = clamp(ms * Math.ceil(c / m));
    return { from, to, n, bucket: (t) => Math.floor(t / ms) * ms, timeBuckets: true };
  }
  // Equal-count slices: row i goes to slice ⌊i·m/n⌋, as monitor-web's start/stop arithmetic does.
  return { from, to, n, bucket: (_t, i) => Math.floor((i * m) / n), timeBuckets: false };
}

/** The document in pieces of about 64 KiB; the caller streams them as the client reads. */
export function* compatHistoryPieces(agent: Agent, q: CompatHistoryQuery): Generator<string> {
  const gpus = agent.gpu.devices.map((d) => d.index);
  const defs = compatMetrics(gpus);
  const keys = compatSourceKeys(gpus);
  const p = plan(agent, q);
  let out = `{"buffer":${JSON.stringify(bufferStats(agent))},"samples":[`;
  let first = true;
  const emit = (t: number, values: number[]) => {
    out += (first ? '' : ',') + JSON.stringify({ epoch: t / 1000, metrics: metricsDict(defs, values, t, PROCESS_STARTED_AT) });
    first = false;
  };
  // One bucket being averaged: sums and counts per metric (non-finite values skipped, as monitor-web).
  let cur: { id: number; tSum: number; rows: number; start: number; sum: number[]; cnt: number[] } | null = null;
  const flush = () => {
    if (!cur) return;
    const t = p.timeBuckets ? cur.start : Math.round(cur.tSum / cur.rows);
    emit(
      t,
      cur.sum.map((s, j) => (cur!.cnt[j] ? s / cur!.cnt[j]! : NaN)),
    );
    cur = null;
  };
  let i = 0;
  for (const b of rowBatches(agent.store, keys, p.from, p.to)) {
    const col = new Map(keys.map((k, j) => [k, b.cols[j]!]));
    for (let r = 0; r < b.t.length; r++, i++) {
      const t = b.t[r]!;
      const values = rowValues(defs, (k) => col.get(k)?.[r] ?? NaN);
      if (!p.bucket) emit(t, values);
      else {
        const id = p.bucket(t, i);
        if (cur && cur.id !== id) flush();
        cur ??= { id, tSum: 0, rows: 0, start: id, sum: values.map(() => 0), cnt: values.map(() => 0) };
        cur.tSum += t;
        cur.rows++;
        values.forEach((v, j) => {
          if (Number.isFinite(v)) {
            cur!.sum[j]! += v;
            cur!.cnt[j]!++;
          }
        });
      }
      if (out.length >= 65536) {
        yield out;
        out = '';
      }
    }
  }
  flush();
  yield out + ']}';
}

const rowValues = (defs: readonly CompatMetric[], get: (k: string) => number) => defs.map((d) => d.value(get));

/** Pieces as bytes, for a pulled response body. */
export function* compatHistoryBytes(agent: Agent, q: CompatHistoryQuery): Generator<Uint8Array> {
  const enc = new TextEncoder();
  for (const s of compatHistoryPieces(agent, q)) yield enc.encode(s);
}
