/** Range presets of the host view, and the one it opens at when the URL names none. */
import { ROLLUP_STEP_MS } from '../../shared/chunk/windows.ts';
import { CHUNKS, endRange, TIERS, type DB } from './db.ts';
import type { RangeView } from '../ui/use-series.ts';

export const RANGES: [string, number][] = [
  ['1m', 60e3],
  ['5m', 300e3],
  ['15m', 900e3],
  ['30m', 1800e3],
  ['1h', 3600e3],
  ['3h', 10800e3],
  ['6h', 21600e3],
  ['12h', 43200e3],
  ['24h', 86400e3],
  ['7d', 604800e3],
  ['30d', 2592000e3],
];

/** A view's range from its address (`?range=&from=&to=`): a zoom only when both ends make a window. */
export function rangeViewOf(q: URLSearchParams, range: string): RangeView {
  const from = Number(q.get('from')),
    to = Number(q.get('to'));
  return { range: q.get('range') ?? range, ...(from > 0 && to > from ? { from, to } : {}) };
}

/** The longest range a view opens at by itself; longer ones are a click away. */
export const MAX_DEFAULT_MS = 86400e3;
/** Preset used when nothing is stored yet. */
export const EMPTY_DEFAULT = '1h';

/**
 * The smallest preset that shows everything held (up to 24 h). 10 % slack, so 3 h and a few
 * minutes of history (a backfilled 3 h plus what arrived since) still opens at 3 h, not 6 h.
 */
export function defaultRange(heldMs: number | null): string {
  if (heldMs === null || !(heldMs > 0)) return EMPTY_DEFAULT;
  const want = Math.min(heldMs / 1.1, MAX_DEFAULT_MS);
  return (RANGES.find(([, ms]) => ms >= want) ?? RANGES[RANGES.length - 1]!)[0];
}

/**
 * Start of the oldest data stored for an endpoint in any tier, or null when nothing is. A rollup
 * bucket counts from its end: an hour bucket stamped 20:00 may hold only rows from 20:10 (which the
 * raw tier then dates exactly), and counting from 20:00 would open 3 h of history at 6h.
 */
export async function oldestHeld(db: DB, ep: string): Promise<number | null> {
  let oldest: number | null = null;
  for (const tier of TIERS) {
    const cur = await db
      .transaction(CHUNKS)
      .store.index('byEnd')
      .openCursor(endRange(ep, tier, -Infinity, Infinity));
    const t = cur ? cur.value.t0 + (tier === 'raw' ? 0 : ROLLUP_STEP_MS[tier]) : null;
    if (t !== null && (oldest === null || t < oldest)) oldest = t;
  }
  return oldest;
}
