/**
 * IndexedDB through idb. History is stored as columnar chunks: one record holds up to CHUNK rows
 * of one endpoint and tier (a Float64Array of times and one Float32Array per series), so a day at
 * 1 s is ~150 records, not 86,400. Tiers: raw, 1-minute and 1-hour rollups with avg/min/max.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

export type Tier = 'raw' | '1m' | '1h';
export const TIERS: Tier[] = ['raw', '1m', '1h'];
export const TIER_STEP: Record<Tier, number> = { raw: 0, '1m': 60_000, '1h': 3_600_000 };

export interface Chunk {
  ep: string;
  tier: Tier;
  t0: number;
  t1: number;
  keys: string[];
  t: Float64Array;
  /** avg for rollups; the value for raw */
  v: Float32Array[];
  min?: Float32Array[];
  max?: Float32Array[];
}

export interface Endpoint { id: string; name: string; url: string; token: string; order: number; readOnly?: boolean; added: number }
export interface StoredEvent { ep: string; id: string; t: number; label: string; end_t?: number | null; source: 'agent' | 'user' | 'local'; color?: string | null; kind?: string; scope?: string }
export interface AlertRule { id: string; ep: string | '*'; metric: string; op: '>' | '<'; threshold: number; forS: number; label: string }

interface GpulseDB extends DBSchema {
  endpoints: { key: string; value: Endpoint };
  chunks: { key: [string, Tier, number]; value: Chunk; indexes: { byEnd: [string, Tier, number] } };
  events: { key: [string, string]; value: StoredEvent; indexes: { byTime: [string, number] } };
  meta: { key: string; value: unknown };
  alerts: { key: string; value: AlertRule };
}

export type DB = IDBPDatabase<GpulseDB>;
export const DB_NAME = 'gpulse';
export const DB_VERSION = 2;

export function openDb(name = DB_NAME, onBlocking?: () => void): Promise<DB> {
  return openDB<GpulseDB>(name, DB_VERSION, {
    upgrade(db, oldVersion) {
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
    },
    blocking() { onBlocking?.(); },
  });
}

/** Chunks of one endpoint and tier overlapping [from, to], in time order: one getAll on the end-time index. */
export async function readChunks(db: DB, ep: string, tier: Tier, from: number, to: number): Promise<Chunk[]> {
  const ending = await db.getAllFromIndex('chunks', 'byEnd', IDBKeyRange.bound([ep, tier, from], [ep, tier, Infinity]));
  return ending.filter((c) => c.t0 <= to).sort((a, b) => a.t0 - b.t0);
}

export async function lastTime(db: DB, ep: string): Promise<number | null> {
  const cur = await db.transaction('chunks').store.index('byEnd').openCursor(IDBKeyRange.bound([ep, 'raw', -Infinity], [ep, 'raw', Infinity]), 'prev');
  return cur ? cur.value.t1 : null;
}

/** Deletes an endpoint's chunks older than the tier's retention; returns how many went. */
export async function prune(db: DB, ep: string, tier: Tier, before: number): Promise<number> {
  const tx = db.transaction('chunks', 'readwrite');
  const keys = await tx.store.index('byEnd').getAllKeys(IDBKeyRange.bound([ep, tier, -Infinity], [ep, tier, before]));
  await Promise.all([...keys.map((k) => tx.store.delete(k)), tx.done]);
  return keys.length;
}

export async function deleteEndpointData(db: DB, ep: string) {
  const tx = db.transaction(['chunks', 'events', 'endpoints'], 'readwrite');
  const chunks = tx.objectStore('chunks');
  const events = tx.objectStore('events');
  await Promise.all([
    ...TIERS.map((t) => chunks.delete(IDBKeyRange.bound([ep, t, -Infinity], [ep, t, Infinity]))),
    events.delete(IDBKeyRange.bound([ep, ''], [ep, '\uffff'])),
    tx.objectStore('endpoints').delete(ep),
    tx.done,
  ]);
}
