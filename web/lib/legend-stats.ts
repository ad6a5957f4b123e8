/** Legend figures for the visible range, like a Grafana legend: last, min, max and mean of the points shown. */
export interface LegendStats {
  last: number | null;
  min: number | null;
  max: number | null;
  avg: number | null;
}

type Col = ArrayLike<number | null | undefined>;

/**
 * Stats of `ys` over the points whose x is in [from, to]. null/NaN points (gaps) are skipped; the
 * mean is over points, which the tiers space evenly. All null when no point is in range. On a
 * rollup tier `lo`/`hi` are each bucket's minimum and maximum: min and max come from them, so a
 * 1-minute spike still shows on a day's chart of averages.
 */
export function legendStats(xs: ArrayLike<number>, ys: Col, from: number, to: number, lo?: Col, hi?: Col): LegendStats {
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
    const a = lo?.[i],
      b = hi?.[i];
    const yl = a != null && Number.isFinite(a) ? a : y,
      yh = b != null && Number.isFinite(b) ? b : y;
    if (yl < min) min = yl;
    if (yh > max) max = yh;
    sum += y;
    n++;
  }
  return n ? { last, min, max, avg: sum / n } : { last: null, min: null, max: null, avg: null };
}
