/** Series → uPlot's aligned columns. Gaps stay gaps: NaN → null, and a break longer than `gapMs` gets an explicit null point. */
import type { AlignedData } from 'uplot';
import type { Series } from './series.ts';

export function aligned(series: Series, make: ((g: (k: string) => number) => number)[], gapMs: number): AlignedData {
  const xs: number[] = [];
  const ys: (number | null)[][] = make.map(() => []);
  const t = series.t;
  let i = 0;
  const none = new Float64Array(0);
  const cols = new Map<string, Float64Array>();
  const g = (k: string) => {
    let c = cols.get(k);
    if (!c) cols.set(k, (c = series.cols.get(k) ?? none));
    return c[i] ?? NaN;
  };
  for (; i < t.length; i++) {
    if (i > 0 && t[i]! - t[i - 1]! > gapMs) {
      xs.push(t[i - 1]! + 1);
      ys.forEach((y) => y.push(null));
    }
    xs.push(t[i]!);
    for (let j = 0; j < make.length; j++) {
      const v = make[j]!(g);
      ys[j]!.push(Number.isFinite(v) ? v : null);
    }
  }
  return [xs, ...ys] as AlignedData;
}

/** The columns of `keys`, as they are. */
export const alignedKeys = (series: Series, keys: readonly string[], gapMs: number): AlignedData =>
  aligned(
    series,
    keys.map((k) => (g) => g(k)),
    gapMs,
  );

/** How long a break must be to show as a gap: 3 intervals, or the tier's step for long ranges. */
export const gapFor = (intervalMs: number, spanMs: number) =>
  Math.max(3 * intervalMs, spanMs > 86400e3 ? 3 * 3600e3 : spanMs > 3 * 3600e3 ? 180e3 : 3 * intervalMs);
