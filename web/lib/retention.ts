/**
 * How long each tier is kept, per endpoint (a default for all, overridable per endpoint), and
 * pruning: by age, and when the browser's quota is hit, the oldest raw data of the endpoint whose
 * write failed (then its oldest 1-minute rollups) — never another endpoint's data.
 */
import type { Tier } from '../../shared/chunk/index.ts';
import { CHUNKS, endRange, type DB } from './db.ts';

export interface Retention {
  raw: number;
  '1m': number;
  '1h': number;
}
export const DEFAULT_RETENTION: Retention = { raw: 7 * 86_400_000, '1m': 90 * 86_400_000, '1h': 730 * 86_400_000 };
export const retentionKey = (ep: string) => `retention:${ep}`;

/** Deletes an endpoint's records of one tier that end before `before`; returns how many went. */
export async function pruneTier(db: DB, ep: string, tier: Tier, before: number): Promise<number> {
  const tx = db.transaction(CHUNKS, 'readwrite');
  const keys = await tx.store.index('byEnd').getAllKeys(endRange(ep, tier, -Infinity, before - 1));
  await Promise.all([...keys.map((k) => tx.store.delete(k)), tx.done]);
  return keys.length;
}

/** Deletes everything of one tier of `ep` older than the given retention. */
export async function applyRetention(db: DB, ep: string, r: Retention, now = Date.now()): Promise<number> {
  let n = 0;
  for (const tier of ['raw', '1m', '1h'] as const) n += await pruneTier(db, ep, tier, now - r[tier]);
  return n;
}

/**
 * Quota relief for one endpoint: its oldest hour of raw records (every series), or when it holds
 * no raw, its oldest six hours of 1-minute rollups. Returns what went (0 records: nothing to give).
 */
export async function pruneOldest(db: DB, ep: string): Promise<{ tier: Tier; records: number }> {
  for (const [tier, span] of [
    ['raw', 3_600_000],
    ['1m', 6 * 3_600_000],
  ] as const) {
    const first = await db
      .transaction(CHUNKS)
      .store.index('byEnd')
      .openKeyCursor(endRange(ep, tier, -Infinity, Infinity));
    if (!first) continue;
    const records = await pruneTier(db, ep, tier, (first.key[2] as number) + span);
    if (records) return { tier, records };
  }
  return { tier: 'raw', records: 0 };
}

export const isQuotaError = (e: unknown) => (e as DOMException)?.name === 'QuotaExceededError' || /quota/i.test(String((e as Error)?.message ?? ''));

/**
 * Runs a write for endpoint `ep`; on QuotaExceededError prunes that endpoint's oldest data (raw,
 * then 1m) and retries, telling `onPrune` what went. Gives up (rethrows) when nothing is left to prune.
 */
export async function withQuotaRelief<T>(db: DB, ep: string, write: () => Promise<T>, onPrune: (p: { tier: Tier; records: number }) => void): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (e) {
      if (!isQuotaError(e) || attempt >= 50) throw e;
      const p = await pruneOldest(db, ep);
      if (!p.records) throw e;
      onPrune(p);
    }
  }
}
