/** Repeat-and-summarize helpers for benchmarks: min / median / max, percentiles. */
export const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
export const pctl = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!; };
export const summary = (xs: number[], digits = 3) => ({ min: +Math.min(...xs).toFixed(digits), median: +median(xs).toFixed(digits), max: +Math.max(...xs).toFixed(digits), n: xs.length });

/** Runs fn `reps` times (after one warm-up) and returns per-call microseconds of each run of `iters` calls. */
export function timeit(fn: () => void, iters: number, reps = 5): number[] {
  for (let i = 0; i < Math.min(iters, 100); i++) fn();
  const out: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = Bun.nanoseconds();
    for (let i = 0; i < iters; i++) fn();
    out.push((Bun.nanoseconds() - t0) / iters / 1000);
  }
  return out;
}
