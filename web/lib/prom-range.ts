/**
 * The arithmetic of a Prometheus range query for a chart: the step fit to the chart's width (never
 * finer than the scrape interval, never over the API's 11,000 points per series), the `rate()`
 * window that step needs, and a query_range answer laid on the step grid as chart columns, with
 * every step that has no sample (a gap, a NaN) as null so the line breaks instead of bridging it.
 */
import type { PromSeries } from './prometheus.ts';

/** Prometheus refuses a range query with more than this many points per series (`exceeded maximum resolution`). */
export const PROM_MAX_POINTS = 11_000;
/** Prometheus' default scrape interval: the floor for the step when the real one is not known. */
export const DEFAULT_SCRAPE_S = 15;

/** A query_range window, all in seconds: the grid is start, start + step, … up to end. */
export interface RangeQuery {
  start: number;
  end: number;
  step: number;
}

/**
 * `step = max(ceil(range / width), scrape, ceil(range / 11000))`: a point per pixel at most, none
 * finer than the data, within the API's limit. The start is aligned down to a multiple of the step
 * so that each refresh evaluates the same instants (no jitter between polls; VictoriaMetrics aligns
 * the same way); the aligned window is then cut back if that pushed it past the limit.
 */
export function rangeQuery(fromMs: number, toMs: number, widthPx: number, scrapeS: number = DEFAULT_SCRAPE_S): RangeQuery {
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs <= fromMs)
    throw new RangeError(`range query: "to" (${toMs}) must be after "from" (${fromMs})`);
  if (!(widthPx >= 1)) throw new RangeError(`range query: the chart width must be at least 1 px, got ${widthPx}`);
  const scrape = scrapeS > 0 && Number.isFinite(scrapeS) ? scrapeS : DEFAULT_SCRAPE_S;
  const range = (toMs - fromMs) / 1000;
  const step = Math.max(Math.ceil(range / Math.floor(widthPx)), scrape, Math.ceil(range / PROM_MAX_POINTS));
  const end = toMs / 1000;
  let start = Math.floor(fromMs / 1000 / step) * step;
  if ((end - start) / step > PROM_MAX_POINTS) start += step;
  return { start, end, step };
}

/** Grafana's `$__rate_interval`: a window that holds at least four scrapes and covers a whole step, so `rate()` never sees fewer than two samples. */
export function rateWindow(stepS: number, scrapeS: number = DEFAULT_SCRAPE_S): string {
  return `${Math.ceil(Math.max(stepS + scrapeS, 4 * scrapeS))}s`;
}

/** The grid's instants in milliseconds (the chart's x column). */
export function gridMs(q: RangeQuery): number[] {
  const n = Math.floor((q.end - q.start) / q.step + 1e-9) + 1;
  return Array.from({ length: n }, (_, i) => Math.round((q.start + i * q.step) * 1000));
}

/**
 * One column per series, on the grid: a sample lands on the nearest step (Prometheus evaluates at
 * exactly start + k·step; rounding only absorbs float noise); a step without a sample stays null.
 * `x`: the grid, when the caller has it already (a chart lays every query on the same one).
 */
export function alignToGrid(series: PromSeries[], q: RangeQuery, x: number[] = gridMs(q)): { x: number[]; ys: (number | null)[][] } {
  const ys = series.map((s) => {
    const y: (number | null)[] = new Array(x.length).fill(null);
    for (let j = 0; j < s.t.length; j++) {
      const i = Math.round((s.t[j]! - q.start) / q.step);
      if (i >= 0 && i < y.length) y[i] = s.v[j] ?? null;
    }
    return y;
  });
  return { x, ys };
}

/**
 * The scrape interval from a target's raw samples (an instant query of `up{…}[5m]` answers them
 * as a matrix): the median gap between samples, in whole seconds; the default when there are too
 * few to tell (a target scraped for the first time).
 */
export function scrapeIntervalOf(series: PromSeries[]): number {
  const t = series.find((s) => s.t.length >= 3)?.t;
  if (!t) return DEFAULT_SCRAPE_S;
  const gaps = t
    .slice(1)
    .map((x, i) => x - t[i]!)
    .sort((a, b) => a - b);
  return Math.max(1, Math.round(gaps[Math.floor(gaps.length / 2)]!));
}
