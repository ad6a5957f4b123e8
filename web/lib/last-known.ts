/**
 * Each endpoint's newest values and when they arrived, kept in IndexedDB (`meta`,
 * `lastknown:<id>`): after a reload with the agent down, the overview and host view show what the
 * endpoint last reported and when, instead of N/A. Only the leader writes (it sees every sample);
 * one small record per endpoint, at most one transaction every few seconds for the whole fleet.
 */
import type { SnapshotExtras } from '../../shared/wire.ts';
import type { DB } from './db.ts';

export interface LastKnown {
  keys: string[];
  /** [t, ...values], indexed by `keys` */
  last: (number | null)[];
  extras: SnapshotExtras | null;
  /** when it arrived, on this browser's clock */
  seen: number;
}

export const lastKnownKey = (id: string) => `lastknown:${id}`;
/** How often dirty records are written: a crash loses at most this much of "last seen". */
export const LAST_KNOWN_EVERY_MS = 5000;

/** A stored record is only trusted when its shape is right (it may come from an older build). */
function valid(v: unknown): v is LastKnown {
  const k = v as LastKnown;
  return (
    !!k &&
    Array.isArray(k.keys) &&
    Array.isArray(k.last) &&
    k.last.length === k.keys.length + 1 &&
    typeof k.last[0] === 'number' &&
    typeof k.seen === 'number' &&
    (k.extras === null || (typeof k.extras === 'object' && Array.isArray(k.extras.gpus)))
  );
}

export async function loadLastKnown(db: DB, ids: string[]): Promise<Map<string, LastKnown>> {
  const tx = db.transaction('meta');
  const got = await Promise.all(ids.map((id) => tx.store.get(lastKnownKey(id))));
  const out = new Map<string, LastKnown>();
  ids.forEach((id, i) => {
    if (valid(got[i])) out.set(id, got[i]);
  });
  return out;
}

/** Batches the records: `note(id)` marks an endpoint changed; `flush()` writes every changed one at once. */
export class LastKnownWriter {
  #dirty = new Set<string>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    readonly db: () => DB,
    readonly read: (id: string) => LastKnown | null,
  ) {}

  note(id: string) {
    this.#dirty.add(id);
  }

  forget(id: string) {
    this.#dirty.delete(id);
  }

  start(every = LAST_KNOWN_EVERY_MS) {
    this.#timer ??= setInterval(() => void this.flush(), every);
  }

  stop() {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async flush() {
    if (!this.#dirty.size) return;
    const ids = [...this.#dirty];
    this.#dirty.clear();
    const recs = ids.map((id) => [id, this.read(id)] as const).filter((x): x is readonly [string, LastKnown] => x[1] !== null);
    if (!recs.length) return;
    try {
      const tx = this.db().transaction('meta', 'readwrite');
      await Promise.all([...recs.map(([id, r]) => tx.store.put(r, lastKnownKey(id))), tx.done]);
    } catch (e) {
      // Storage full or closing: the next sample marks it again; history matters more than this.
      console.warn('gpulse: last-known values not saved', e);
    }
  }
}
