/**
 * How long each tier is kept, per endpoint (a default for all, overridable per endpoint), and
 * pruning: by age, and when the browser's quota is hit, per-endpoint fair shares: the live endpoint
 * holding the most bytes over its share (live stored bytes / live endpoints with data and the
 * writer) loses its oldest raw data (then its oldest 1-minute rollups). An agent that floods history
 * so loses its own data, not the data of the next endpoint that happens to write; only when no
 * endpoint is over its share does the writing endpoint prune its own. Read-only imports, which
 * nothing can refetch, give only when nothing else can.
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
  return (await deleteEnded(db, ep, tier, before, false)).records;
}

/** pruneTier, also weighing what went (`weigh`: reads the values of those records, and only those). */
async function deleteEnded(db: DB, ep: string, tier: Tier, before: number, weigh: boolean): Promise<{ records: number; bytes: number }> {
  const tx = db.transaction(CHUNKS, 'readwrite');
  const range = endRange(ep, tier, -Infinity, before - 1);
  const index = tx.store.index('byEnd');
  const [keys, values] = await Promise.all([index.getAllKeys(range), weigh ? index.getAll(range) : []]);
  await Promise.all([...keys.map((k) => tx.store.delete(k)), tx.done]);
  return { records: keys.length, bytes: values.reduce((s, r) => s + r.bytes.byteLength, 0) };
}

/** Deletes everything of one tier of `ep` older than the given retention. */
export async function applyRetention(db: DB, ep: string, r: Retention, now = Date.now()): Promise<number> {
  let n = 0;
  for (const tier of ['raw', '1m', '1h'] as const) n += await pruneTier(db, ep, tier, now - r[tier]);
  return n;
}

/**
 * Quota relief for one endpoint: its oldest hour of raw records (every series), or when it holds
 * no raw, its oldest six hours of 1-minute rollups. Returns what went (0 records: nothing to give)
 * and its stored bytes.
 */
export async function pruneOldest(db: DB, ep: string): Promise<{ tier: Tier; records: number; bytes: number }> {
  for (const [tier, span] of [
    ['raw', 3_600_000],
    ['1m', 6 * 3_600_000],
  ] as const) {
    const first = await db
      .transaction(CHUNKS)
      .store.index('byEnd')
      .openKeyCursor(endRange(ep, tier, -Infinity, Infinity));
    if (!first) continue;
    const gone = await deleteEnded(db, ep, tier, (first.key[2] as number) + span, true);
    if (gone.records) return { tier, ...gone };
  }
  return { tier: 'raw', records: 0, bytes: 0 };
}

/**
 * Stored chunk bytes per endpoint: one cursor over every record. It reads every value (a record
 * has no byte size outside its bytes, and no index to read one from), so quotaTally reuses it.
 */
export async function bytesByEndpoint(db: DB): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let c = await db.transaction(CHUNKS).store.openCursor(); c; c = await c.continue()) {
    out.set(c.value.ep, (out.get(c.value.ep) ?? 0) + c.value.bytes.byteLength);
  }
  return out;
}

/** How long a byte tally stands for the store: a full store hits its quota on write after write, and each tally reads all of it. */
const TALLY_FRESH_MS = 5_000;
const tallies = new WeakMap<DB, { at: number; bytes: Map<string, number> }>();

/**
 * Stored bytes per endpoint for quota relief: the tally taken in the last few seconds, as adjusted
 * by what was pruned since, else a fresh one. (Writes since it was taken are not in it: a few
 * seconds of rows against a store at its quota.)
 */
export async function quotaTally(db: DB, now: number): Promise<Map<string, number>> {
  const t = tallies.get(db);
  // A clock stepped back makes the tally look younger than it is: only an age in [0, 5 s) counts.
  if (t && now - t.at >= 0 && now - t.at < TALLY_FRESH_MS) return t.bytes;
  const bytes = await bytesByEndpoint(db);
  tallies.set(db, { at: now, bytes });
  return bytes;
}

/**
 * Who prunes on a quota error: live endpoints over their fair share, most over first, then the
 * writer, then read-only imports, largest first. The share is the live endpoints' stored bytes over
 * their number, the writer counted even while it holds nothing (a newly paired endpoint's first
 * backfill makes one holding everything give way). Imports stay out of the share and are pruned
 * only as the last resort: nothing can refetch them, and they are usually the largest holders.
 * (A tally only when the quota is hit: a running byte count would cost a meta write per chunk flush.)
 */
export function pruneOrder(bytes: ReadonlyMap<string, number>, writer: string, readOnly: ReadonlySet<string> = new Set()): string[] {
  const live = new Map([...bytes].filter(([ep, b]) => b > 0 && !readOnly.has(ep)));
  if (!readOnly.has(writer)) live.set(writer, bytes.get(writer) ?? 0);
  const share = [...live.values()].reduce((s, b) => s + b, 0) / Math.max(1, live.size);
  const bySize = (a: [string, number], b: [string, number]) => b[1] - a[1];
  const over = [...live].filter(([, b]) => b > share).sort(bySize);
  const imports = [...bytes].filter(([ep, b]) => b > 0 && readOnly.has(ep)).sort(bySize);
  return [...new Set([...over.map(([ep]) => ep), writer, ...imports.map(([ep]) => ep)])];
}

export const isQuotaError = (e: unknown) => (e as DOMException)?.name === 'QuotaExceededError' || /quota/i.test(String((e as Error)?.message ?? ''));

/**
 * Runs a write for endpoint `ep`; on QuotaExceededError prunes the oldest data (raw, then 1m) of the
 * live endpoint most over its fair share, or of `ep` when none is, an import only when nothing else
 * can give (see pruneOrder), and retries, telling
 * `onPrune` what went and whose. Gives up (rethrows) when nothing is left to prune.
 */
export async function withQuotaRelief<T>(
  db: DB,
  ep: string,
  write: () => Promise<T>,
  onPrune: (p: { ep: string; tier: Tier; records: number }) => void,
  now: () => number = Date.now,
): Promise<T> {
  let bytes: Map<string, number> | null = null;
  let readOnly: Set<string> | null = null;
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (e) {
      if (!isQuotaError(e) || attempt >= 50) throw e;
      bytes ??= await quotaTally(db, now());
      readOnly ??= new Set((await db.getAll('endpoints')).filter((x) => x.readOnly).map((x) => x.id));
      let pruned: { ep: string; tier: Tier; records: number } | null = null;
      for (const victim of pruneOrder(bytes, ep, readOnly)) {
        const p = await pruneOldest(db, victim);
        if (!p.records) continue;
        pruned = { ep: victim, tier: p.tier, records: p.records };
        // The tally (shared with the next few seconds' quota errors) loses what went.
        bytes.set(victim, Math.max(0, (bytes.get(victim) ?? 0) - p.bytes));
        break;
      }
      if (!pruned) throw e;
      onPrune(pruned);
    }
  }
}
