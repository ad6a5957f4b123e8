/**
 * /v1/history: query parsing (every bad param → 400 naming it) and the columnar answer, streamed.
 * The document is written a window at a time as the client reads it (pull), so a full-range read
 * holds one decoded window, never the answer: first the time axis, then one pass per series.
 */
import type { Tier } from '../../shared/chunk/index.ts';
import { ROLLUP_STEP_MS } from '../../shared/chunk/windows.ts';
import { isExactKey } from '../../shared/catalog.ts';
import { stepFor } from '../../shared/downsample.ts';
import { seriesParts, startOfLast, timeParts } from '../store/read.ts';
import type { Store } from '../store/store.ts';
import { ByteWriter } from './byte-writer.ts';
import { badParam } from './errors.ts';
import { pullStream } from './direct-stream.ts';

export interface HistoryQuery {
  since: number | null;
  until: number | null;
  step: number | null;
  agg: 'avg' | 'minmax';
  limit: number | null;
  maxPoints: number | null;
  keys: string[] | null;
}

/** A present-but-bad value is an error; an absent one is null. Accepts integers and decimals, nothing else. */
export function num(q: Record<string, string>, name: string, positive: boolean, integer = false): number | null {
  const raw = q[name];
  if (raw === undefined) return null;
  if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(raw.trim())) throw badParam(name, `must be a number, got ${JSON.stringify(raw.slice(0, 40))}`);
  const v = Number(raw);
  if (!Number.isFinite(v)) throw badParam(name, 'must be finite');
  if (positive && v <= 0) throw badParam(name, 'must be greater than 0');
  if (integer && !Number.isInteger(v)) throw badParam(name, 'must be a whole number');
  return v;
}

export function parseKeys(q: Record<string, string>, known: (key: string) => boolean): string[] | null {
  if (q.keys === undefined) return null;
  const keys = q.keys
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (!keys.length) throw badParam('keys', 'must list at least one series key');
  const unknown = keys.find((k) => !known(k));
  if (unknown) throw badParam('keys', `unknown series ${JSON.stringify(unknown.slice(0, 80))}`);
  return keys;
}

export function parseRange(q: Record<string, string>): { since: number | null; until: number | null } {
  const since = num(q, 'since', false);
  const until = num(q, 'until', false);
  if (since !== null && until !== null && since > until) throw badParam('since', 'must not be after until');
  return { since, until };
}

export function parseHistoryQuery(q: Record<string, string>, known: (key: string) => boolean): HistoryQuery {
  const { since, until } = parseRange(q);
  const step = num(q, 'step', true);
  if (step !== null && step < 1) throw badParam('step', 'must be at least 1 ms');
  const agg = q.agg ?? 'avg';
  if (agg !== 'avg' && agg !== 'minmax') throw badParam('agg', 'must be avg or minmax');
  const limit = num(q, 'limit', true, true);
  const maxPoints = num(q, 'max_points', true, true);
  return { since, until, step, agg, limit, maxPoints, keys: parseKeys(q, known) };
}

/** The coarsest tier whose buckets divide `step` evenly (so every output bucket is whole tier buckets). */
export function tierForStep(step: number): Tier {
  if (step % ROLLUP_STEP_MS['1h'] === 0) return '1h';
  if (step % ROLLUP_STEP_MS['1m'] === 0) return '1m';
  return 'raw';
}

export interface Plan {
  tier: Tier;
  step: number | null;
  from: number;
  to: number;
  limit: number | null;
  keys: string[];
}

/**
 * Chooses tier, step and bounds. Never more than max_points points; step honoured with limit.
 * With both step and max_points, the coarser of step and the step max_points needs is used.
 */
export function planHistory(store: Store, q: HistoryQuery, intervalMs: number): Plan {
  const keys = q.keys ?? [...store.keys];
  const from = q.since ?? -Infinity,
    to = q.until ?? Infinity;
  let step = q.step;
  let limit = q.limit;
  if (q.maxPoints !== null) {
    const fit = stepForPoints(store, from, to, q.maxPoints, intervalMs);
    if (fit !== null && (step === null || fit > step)) step = fit;
    // Bucket edges can add one point: the newest max_points are what is asked for.
    limit = Math.min(limit ?? Infinity, q.maxPoints);
  }
  let tier: Tier = step === null ? 'raw' : tierForStep(step);
  // A tier with nothing in the range (older than its retention, say) falls back to a finer one that has it.
  while (tier !== 'raw' && store.groups(tier, from, to).length === 0 && !(tier === '1m' ? store.m1.n : store.h1.n)) tier = tier === '1h' ? '1m' : 'raw';
  return { tier, step, from, to, limit, keys };
}

/** The step that puts the stored data in [from, to] into at most `maxPoints` buckets; null when raw rows already fit. */
function stepForPoints(store: Store, from: number, to: number, maxPoints: number, intervalMs: number): number | null {
  const oldest = Math.max(from, oldestStored(store));
  const newest = Math.min(to, store.span('raw').newest ?? -Infinity);
  const width = Number.isFinite(oldest) && Number.isFinite(newest) ? newest - oldest + intervalMs : 0;
  if (width / intervalMs <= maxPoints) return null;
  const step = stepFor(width, maxPoints, intervalMs);
  // Round up to whole rollup buckets so a long range is answered from a rollup tier, not raw:
  // past half a bucket, the rounding still leaves at least half the points asked for.
  for (const s of [ROLLUP_STEP_MS['1h'], ROLLUP_STEP_MS['1m']]) if (step > s / 2) return Math.ceil(step / s) * s;
  return step;
}

/**
 * Time of the oldest stored data. A rollup's oldest time is its first bucket's edge, not a
 * sample's, so it counts only when that tier holds a whole bucket from before raw's oldest row
 * (raw dropped by retention); otherwise raw's oldest row is where the data starts.
 */
function oldestStored(store: Store): number {
  let oldest = store.span('raw').oldest ?? Infinity;
  for (const tier of ['1m', '1h'] as const) {
    const o = store.span(tier).oldest;
    if (o !== null && o + ROLLUP_STEP_MS[tier] <= oldest) oldest = o;
  }
  return oldest;
}

/** The history document as a response body. */
export function historyStream(store: Store, plan: Plan, minmax: boolean): ReadableStream<Uint8Array> {
  return pullStream(historyBytes(store, plan, minmax));
}

/** The whole document as text (tests, small answers). */
export function historyJson(store: Store, plan: Plan, minmax: boolean): string {
  const dec = new TextDecoder();
  let s = '';
  for (const b of historyBytes(store, plan, minmax)) s += dec.decode(b);
  return s;
}

/**
 * The JSON document in pieces of about 64 KiB, written into one reused buffer (each piece is
 * valid until the next is asked for): the time axis, then one pass per series.
 */
export function* historyBytes(store: Store, plan: Plan, minmax: boolean): Generator<Uint8Array> {
  const { tier, step, keys } = plan;
  let from = plan.from;
  let skip = 0;
  if (plan.limit !== null) {
    if (step === null) from = Math.max(from, startOfLast(store, tier, plan.limit, plan.from, plan.to));
    else {
      const n = countBuckets(store, tier, step, from, plan.to);
      skip = Math.max(0, n - plan.limit);
    }
  }
  const w = new ByteWriter();
  w.str('{"t":[');
  let first = true;
  const sep = () => {
    if (first) first = false;
    else w.byte(44);
  };
  // Time axis.
  let b = 0,
    lastB = NaN;
  for (const t of timeParts(store, tier, from, plan.to)) {
    for (let i = 0; i < t.length; i++) {
      if (step === null) {
        sep();
        w.whole(t[i]!);
        continue;
      }
      const bt = Math.floor(t[i]! / step) * step;
      if (bt === lastB) continue;
      lastB = bt;
      if (b++ >= skip) {
        sep();
        w.whole(bt);
      }
    }
    if (w.full) yield w.take();
  }
  w.str(']');
  const fields: ['series' | 'min' | 'max', 'v' | 'min' | 'max'][] = [['series', 'v']];
  if (minmax && step !== null) fields.push(['min', 'min'], ['max', 'max']);
  for (const [name, part] of fields) {
    w.str(`,"${name}":{`);
    for (let ki = 0; ki < keys.length; ki++) {
      w.str(`${ki ? ',' : ''}${JSON.stringify(keys[ki])}:[`);
      first = true;
      // User series go out unrounded; everything else at the wire's precision.
      const exact = isExactKey(keys[ki]!);
      const put = exact
        ? (x: number) => {
            sep();
            w.exact(x);
          }
        : (x: number) => {
            sep();
            w.num(x);
          };
      const bucket = step === null ? null : new Bucketer(step, skip, part, put);
      for (const p of seriesParts(store, tier, keys[ki]!, from, plan.to)) {
        if (bucket) bucket.feed(p);
        else for (let i = 0; i < p.v.length; i++) put(p.v[i]!);
        if (w.full) yield w.take();
      }
      bucket?.end();
      w.str(']');
    }
    w.str('}');
  }
  if (step !== null) w.str(`,"step":${step}`);
  w.str(`,"tier":"${tier}"}`);
  yield w.take();
}

function countBuckets(store: Store, tier: Tier, step: number, from: number, to: number): number {
  let n = 0,
    last = NaN;
  for (const t of timeParts(store, tier, from, to))
    for (let i = 0; i < t.length; i++) {
      const b = Math.floor(t[i]! / step) * step;
      if (b !== last) {
        n++;
        last = b;
      }
    }
  return n;
}

/**
 * Folds a series into epoch-aligned buckets of `step`: raw values weigh 1, rollup buckets weigh
 * their count; min/max of the parts' min/max. Emits one value per bucket present in the time axis.
 */
class Bucketer {
  #b = NaN;
  #sum = 0;
  #n = 0;
  #min = NaN;
  #max = NaN;
  #idx = 0;
  constructor(
    readonly step: number,
    readonly skip: number,
    readonly part: 'v' | 'min' | 'max',
    readonly emit: (x: number) => void,
  ) {}

  feed(p: { t: Float64Array; v: Float64Array; min: Float64Array | null; max: Float64Array | null; count: Float64Array | null }) {
    for (let i = 0; i < p.t.length; i++) {
      const b = Math.floor(p.t[i]! / this.step) * this.step;
      if (b !== this.#b) {
        if (this.#b === this.#b) this.#flush();
        this.#b = b;
      }
      const v = p.v[i]!;
      if (v !== v) continue;
      const w = p.count ? p.count[i]! : 1;
      if (!(w > 0)) continue;
      this.#sum += v * w;
      this.#n += w;
      const lo = p.min ? p.min[i]! : v,
        hi = p.max ? p.max[i]! : v;
      if (!(this.#min <= lo)) this.#min = lo;
      if (!(this.#max >= hi)) this.#max = hi;
    }
  }

  #flush() {
    if (this.#idx++ >= this.skip) this.emit(this.part === 'v' ? (this.#n ? this.#sum / this.#n : NaN) : this.part === 'min' ? this.#min : this.#max);
    this.#sum = 0;
    this.#n = 0;
    this.#min = NaN;
    this.#max = NaN;
  }

  end() {
    if (this.#b === this.#b) this.#flush();
  }
}
