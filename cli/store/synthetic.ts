/** Synthetic history for benchmarks (GPULSE_BENCH_FILL=1): fills the ring up to now with plausible rows. */
import type { Ring } from './ring.ts';

export function fillSynthetic(ring: Ring, intervalMs: number, now = Date.now()): number {
  const n = ring.capacity;
  const row = new Float64Array(ring.keys.length);
  const start = Math.floor(now / intervalMs) * intervalMs - n * intervalMs;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < row.length; c++) row[c] = 50 + 40 * Math.sin((i + c * 97) / 600) + (c % 7);
    ring.push(start + i * intervalMs, row);
  }
  return n;
}
