/** Legend figures for the visible range, like a Grafana legend: last, min, max and mean of the points shown. */
export interface LegendStats {
  last: number | null;
  min: number | null;
  max: number | null;
  avg: number | null;
}

/**
 * Stats of `ys` over the points whose x is in [from, to]. null/NaN points (gaps) are skipped; the
 * mean is over points, which the tiers space evenly. All null when no point is in range.
 */
export function legendStats(xs: ArrayLike<number>, ys: ArrayLike<number | null | undefined>, from: number, to: number): LegendStats {
  let last: number | null = null,
    min = Infinity,
    max = -Infinity,
    sum = 0,
    n = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const y = ys[i];
    if (x < from || x > to || y == null || !Number.isFinite(y)) continue;
    last = y;
    if (y < min) min = y;
    if (y > max) max = y;
    sum += y;
    n++;
  }
  return n ? { last, min, max, avg: sum / n } : { last: null, min: null, max: null, avg: null };
}
