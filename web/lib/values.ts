/** Reading the newest values out of an endpoint's state by series key. */
import type { EpState } from './state.ts';

const cache = new WeakMap<string[], Map<string, number>>();
export function indexOf(keys: string[], key: string): number {
  let m = cache.get(keys);
  if (!m) {
    m = new Map(keys.map((k, i) => [k, i]));
    cache.set(keys, m);
  }
  return m.get(key) ?? -1;
}

/** The newest value of `key`, or null when unknown/unsupported. */
export function val(s: EpState, key: string): number | null {
  const i = indexOf(s.keys, key);
  if (i < 0 || !s.last) return null;
  const v = s.last[i + 1];
  return typeof v === 'number' ? v : null;
}

/** The last `n` values of `key` from the live tail, for sparklines. */
export function recent(s: EpState, key: string, n: number): number[] {
  const i = indexOf(s.keys, key);
  if (i < 0) return [];
  return s.tail.slice(-n).map((r) => (typeof r[i + 1] === 'number' ? (r[i + 1] as number) : NaN));
}

export const pct = (a: number | null, b: number | null) => (a == null || b == null || !b ? null : (a / b) * 100);
