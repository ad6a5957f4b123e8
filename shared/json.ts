/**
 * Numbers on the wire: two decimals at most (Float32 history would otherwise print
 * 12.300000190734863), and NaN/±Infinity become null so the JSON stays strict.
 */
export function wireNum(v: number): number | null {
  if (!Number.isFinite(v)) return null;
  return Math.abs(v) >= 1e6 ? Math.round(v) : Math.round(v * 100) / 100;
}

/** JSON.stringify that maps non-finite numbers to null (the default already does; this documents it) and never throws on bigint. */
export function strictJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' && !Number.isFinite(v) ? null : v));
}
