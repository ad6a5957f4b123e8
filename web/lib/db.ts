/**
 * IndexedDB through idb. History is stored in the agent's own chunk format (shared/chunk): one
 * record = one series key × one epoch-aligned window of one tier, holding the encoded frame bytes
 * exactly as the agent sends or seals them. Records are keyed [ep, tier, key, t0], so a chart reads
 * only the keys it draws; the [ep, tier, t1] index serves range scans, folding and pruning.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { Tier } from '../../shared/chunk/index.ts';
import { migrateV2Chunks, type V2Chunk } from './migrate.ts';
import type { Rule } from './alert-rules.ts';

export type { Tier };
export const TIERS: Tier[] = ['raw', '1m', '1h'];

/** One encoded chunk frame and what its header says (copied out so nothing needs decoding to find it). */
export interface ChunkRecord {
  ep: string;
  tier: Tier;
  key: string;
  t0: number;
  t1: number;
  /** samples (raw) or buckets (rollups) */
  n: number;
  bytes: ArrayBuffer;
}

export interface Endpoint {
  id: string;
  name: string;
  url: string;
  token: string;
  order: number;
  readOnly?: boolean;
  /** Absent: a gpulse agent. 'prometheus': a Prometheus-compatible API base URL, polled read-only (web/lib/prom-fleet.ts). */
  kind?: 'prometheus';
  added: number;
  /** Free-form labels for the overview's filter ("prod", "a100"), edited in Settings. */
  tags?: string[];
}
export interface StoredEvent {
  ep: string;
  id: string;
  t: number;
  label: string;
  end_t?: number | null;
  source: 'agent' | 'user' | 'local';
  color?: string | null;
  kind?: string;
  scope?: string;
}
/** Alert rules: web/lib/alert-rules.ts (older shapes are read by its normalizeRule). */
export type { Rule as AlertRule } from './alert-rules.ts';

export const CHUNKS = 'chunks3';

export interface GpulseDB extends DBSchema {
  endpoints: { key: string; value: Endpoint };
  /** Only while upgrading from v2: the columnar multi-key chunks, migrated into chunks3 and deleted. */
  chunks: { key: [string, Tier, number]; value: V2Chunk; indexes: { byEnd: [string, Tier, number] } };
  chunks3: { key: [string, Tier, string, number]; value: ChunkRecord; indexes: { byEnd: [string, Tier, number] } };
  events: { key: [string, string]; value: StoredEvent; indexes: { byTime: [string, number] } };
  meta: { key: string; value: unknown };
  alerts: { key: string; value: Rule };
}

export type DB = IDBPDatabase<GpulseDB>;
export const DB_NAME = 'gpulse';
export const DB_VERSION = 3;

export function openDb(name = DB_NAME, onBlocking?: () => void): Promise<DB> {
  return openDB<GpulseDB>(name, DB_VERSION, {
    upgrade(db, oldVersion, _newVersion, tx) {
      // A ladder, not a switch: each step runs once, in order, from whatever version the user had.
      if (oldVersion < 1) {
        db.createObjectStore('endpoints', { keyPath: 'id' });
        const chunks = db.createObjectStore('chunks', { keyPath: ['ep', 'tier', 't0'] });
        chunks.createIndex('byEnd', ['ep', 'tier', 't1']);
        db.createObjectStore('meta');
      }
      if (oldVersion < 2) {
        const ev = db.createObjectStore('events', { keyPath: ['ep', 'id'] });
        ev.createIndex('byTime', ['ep', 't']);
        db.createObjectStore('alerts', { keyPath: 'id' });
      }
      if (oldVersion < 3) {
        const c3 = db.createObjectStore(CHUNKS, { keyPath: ['ep', 'tier', 'key', 't0'] });
        c3.createIndex('byEnd', ['ep', 'tier', 't1']);
        // Runs inside the versionchange transaction: every step is an IDB request or sync code
        // (encoding is sync), so the transaction stays alive until the old store is gone.
        void migrateV2Chunks(tx).then(
          () => db.deleteObjectStore('chunks'),
          (e) => {
            console.error('gpulse: history migration failed; keeping the old database', e);
            tx.abort();
          },
        );
      }
    },
    blocking() {
      onBlocking?.();
    },
  });
}

/** Key range of one series' records in one tier with t0 in [a, b]. */
export const keyRange = (ep: string, tier: Tier, key: string, a: number, b: number) => IDBKeyRange.bound([ep, tier, key, a], [ep, tier, key, b]);
/** Index range of one tier's records with t1 in [a, b]. */
export const endRange = (ep: string, tier: Tier, a: number, b: number) => IDBKeyRange.bound([ep, tier, a], [ep, tier, b]);

/** Newest stored time of a tier (the t1 of its newest record), or null. */
export async function lastTime(db: DB, ep: string, tier: Tier = 'raw'): Promise<number | null> {
  const cur = await db
    .transaction(CHUNKS)
    .store.index('byEnd')
    .openKeyCursor(endRange(ep, tier, -Infinity, Infinity), 'prev');
  return cur ? (cur.key[2] as number) : null;
}

export async function deleteEndpointData(db: DB, ep: string) {
  const tx = db.transaction([CHUNKS, 'events', 'endpoints', 'meta'], 'readwrite');
  const chunks = tx.objectStore(CHUNKS);
  const meta = tx.objectStore('meta');
  await Promise.all([
    ...TIERS.map((t) => chunks.delete(IDBKeyRange.bound([ep, t], [ep, t, []]))),
    tx.objectStore('events').delete(IDBKeyRange.bound([ep, ''], [ep, '\uffff'])),
    tx.objectStore('endpoints').delete(ep),
    ...[`schema:${ep}`, `fold:${ep}`, `retention:${ep}`, `backfill:${ep}`, `lastknown:${ep}`].map((k) => meta.delete(k)),
    tx.done,
  ]);
}
