/** /v1/history: query parsing (every bad param → 400 naming it) and the columnar answer. */
import { bucketize, stepFor } from '../../shared/downsample.ts';
import { wireNum } from '../../shared/json.ts';
import type { History } from '../../shared/wire.ts';
import type { Ring } from '../store/ring.ts';
import { badParam } from './errors.ts';

export interface HistoryQuery {
  since: number | null; until: number | null; step: number | null; agg: 'avg' | 'minmax';
  limit: number | null; maxPoints: number | null; keys: string[] | null;
}

/** A present-but-bad value is an error; an absent one is null. Accepts integers and decimals, nothing else. */
function num(q: Record<string, string>, name: string, positive: boolean, integer = false): number | null {
  const raw = q[name];
  if (raw === undefined) return null;
  if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(raw.trim())) throw badParam(name, `must be a number, got ${JSON.stringify(raw.slice(0, 40))}`);
  const v = Number(raw);
  if (!Number.isFinite(v)) throw badParam(name, 'must be finite');
  if (positive && v <= 0) throw badParam(name, 'must be greater than 0');
  if (integer && !Number.isInteger(v)) throw badParam(name, 'must be a whole number');
  return v;
}

export function parseHistoryQuery(q: Record<string, string>, known: (key: string) => boolean): HistoryQuery {
  const since = num(q, 'since', false);
  const until = num(q, 'until', false);
  if (since !== null && until !== null && since > until) throw badParam('since', 'must not be after until');
  const step = num(q, 'step', true);
  if (step !== null && step < 1) throw badParam('step', 'must be at least 1 ms');
  const agg = q.agg ?? 'avg';
  if (agg !== 'avg' && agg !== 'minmax') throw badParam('agg', 'must be avg or minmax');
  const limit = num(q, 'limit', true, true);
  const maxPoints = num(q, 'max_points', true, true);
  let keys: string[] | null = null;
  if (q.keys !== undefined) {
    keys = q.keys.split(',').map((k) => k.trim()).filter(Boolean);
    if (!keys.length) throw badParam('keys', 'must list at least one series key');
    const unknown = keys.find((k) => !known(k));
    if (unknown) throw badParam('keys', `unknown series ${JSON.stringify(unknown.slice(0, 80))}`);
  }
  return { since, until, step, agg, limit, maxPoints, keys };
}

export function queryHistory(ring: Ring, q: HistoryQuery, intervalMs: number): History {
  const keys = q.keys ?? [...ring.keys];
  const cols = keys.map((k) => ring.column(k));
  let from = q.since === null ? 0 : ring.atOrAfter(q.since);
  const to = q.until === null ? ring.count : ring.after(q.until);
  let step = q.step;
  if (step === null && q.maxPoints !== null && to - from > q.maxPoints) {
    step = stepFor(ring.time(to - 1) - ring.time(from) + intervalMs, q.maxPoints, intervalMs);
  }
  if (step === null && q.limit !== null) from = Math.max(from, to - q.limit);
  const { t, cols: data } = ring.slice(from, Math.max(from, to), cols);
  const out: History = { t: [], series: {} };
  if (step === null) {
    out.t = Array.from(t);
    keys.forEach((k, j) => { out.series[k] = Array.from(data[j]!, wireNum); });
    return out;
  }
  const b = bucketize(t, data, 0, t.length, step, q.agg === 'minmax');
  const skip = q.limit !== null ? Math.max(0, b.t.length - q.limit) : 0;
  const tail = <T extends Float64Array>(a: T) => Array.from(a.subarray(skip), wireNum);
  out.t = Array.from(b.t.subarray(skip));
  out.step = step;
  keys.forEach((k, j) => { out.series[k] = tail(b.avg[j]!); });
  if (b.min && b.max) {
    out.min = {}; out.max = {};
    keys.forEach((k, j) => { out.min![k] = tail(b.min![j]!); out.max![k] = tail(b.max![j]!); });
  }
  return out;
}
