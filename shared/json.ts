/**
 * Numbers on the wire: about four significant digits below 1000 and whole numbers above (Float32
 * history would otherwise print 12.300000190734863, and a frame should cost under 8 bytes a value);
 * NaN/±Infinity become null so the JSON stays strict.
 */
export function wireNum(v: number): number | null {
  if (!Number.isFinite(v)) return null;
  const a = Math.abs(v);
  return a >= 1000 ? Math.round(v) : a >= 100 ? Math.round(v * 10) / 10 : Math.round(v * 100) / 100;
}

/** Strict JSON for every response and stream event: NaN/±Infinity already become null in JSON.stringify; bigint (NVML's 64-bit counters) becomes a number instead of throwing. */
export function strictJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
}
