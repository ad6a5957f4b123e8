/**
 * Which epoch-aligned window a chunk covers, per tier. The agent seals chunks at these boundaries
 * and the PWA cuts its own chunks at the same ones, so the same rows give the same chunk on both
 * sides and a rollup bucket never straddles two source windows.
 */
import type { Tier } from './chunk.ts';

/** Rollup bucket widths. */
export const ROLLUP_STEP_MS = { '1m': 60_000, '1h': 3_600_000 } as const;

/** Rollup windows: 1-minute buckets sealed every 6 h (360 buckets), 1-hour buckets every 10 days (240). */
export const ROLLUP_WINDOW_MS = { '1m': 6 * 3_600_000, '1h': 10 * 86_400_000 } as const;

/** Divisors of an hour, in seconds: a raw window is one of these so hours and minutes stay aligned. */
const RAW_WINDOWS_S = [60, 120, 180, 240, 300, 360, 600, 720, 900, 1200, 1800, 3600];

/**
 * Raw window for a sampling interval: the longest divisor of an hour that holds at most 1000
 * samples (1 s → 15 min = 900 samples; 0.1 s → 1 min; ≥ 3.6 s → 1 h). Bounds the open chunks
 * in RAM (series × 1000 values) while keeping the per-chunk header cost under a few hundredths of
 * a byte per value.
 */
export function rawWindowMs(intervalMs: number): number {
  let best = RAW_WINDOWS_S[0]!;
  for (const s of RAW_WINDOWS_S) if ((s * 1000) / intervalMs <= 1000) best = s;
  return best * 1000;
}

export function windowMs(tier: Tier, intervalMs: number): number {
  return tier === 'raw' ? rawWindowMs(intervalMs) : ROLLUP_WINDOW_MS[tier];
}

/** Start of the window holding t. */
export function windowStart(tier: Tier, t: number, intervalMs: number): number {
  const w = windowMs(tier, intervalMs);
  return Math.floor(t / w) * w;
}

/** Start of the rollup bucket holding t. */
export function bucketStart(tier: '1m' | '1h', t: number): number {
  const s = ROLLUP_STEP_MS[tier];
  return Math.floor(t / s) * s;
}
