/**
 * Epoch-aligned bucketing over columnar typed arrays. A bucket starts at floor(t/step)*step;
 * NaN values are skipped, and an all-NaN bucket stays NaN (a gap, never 0).
 */
export interface Buckets {
  t: Float64Array;
  avg: Float64Array[];
  min: Float64Array[] | null;
  max: Float64Array[] | null;
}

/** `times` sorted ascending over [from, to); `cols` read over the same index range. */
export function bucketize(times: ArrayLike<number>, cols: ArrayLike<number>[], from: number, to: number, step: number, minmax: boolean): Buckets {
  // Count buckets first so every output is allocated once at its final size.
  let n = 0;
  let last = NaN;
  for (let i = from; i < to; i++) {
    const b = Math.floor(times[i]! / step) * step;
    if (b !== last) {
      n++;
      last = b;
    }
  }
  const t = new Float64Array(n);
  const avg = cols.map(() => new Float64Array(n).fill(NaN));
  const min = minmax ? cols.map(() => new Float64Array(n).fill(NaN)) : null;
  const max = minmax ? cols.map(() => new Float64Array(n).fill(NaN)) : null;
  const sums = new Float64Array(cols.length);
  const counts = new Uint32Array(cols.length);
  let k = -1;
  last = NaN;
  const flush = () => {
    for (let c = 0; c < cols.length; c++) if (counts[c]) avg[c]![k] = sums[c]! / counts[c]!;
    sums.fill(0);
    counts.fill(0);
  };
  for (let i = from; i < to; i++) {
    const b = Math.floor(times[i]! / step) * step;
    if (b !== last) {
      if (k >= 0) flush();
      k++;
      t[k] = b;
      last = b;
    }
    for (let c = 0; c < cols.length; c++) {
      const v = cols[c]![i]!;
      if (v !== v) continue; // NaN
      sums[c]! += v;
      counts[c]!++;
      if (min) {
        const m = min[c]!;
        if (!(m[k]! <= v)) m[k] = v;
        const x = max![c]!;
        if (!(x[k]! >= v)) x[k] = v;
      }
    }
  }
  if (k >= 0) flush();
  return { t, avg, min, max };
}

/** Smallest "nice" step (a multiple of `base`) that keeps `span` under `maxPoints` buckets. */
export function stepFor(span: number, maxPoints: number, base: number): number {
  const raw = Math.max(base, Math.ceil(span / Math.max(1, maxPoints)));
  return Math.ceil(raw / base) * base;
}
