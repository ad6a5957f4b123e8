/**
 * Each endpoint's events live within their own budget: an agent that floods events (broken or
 * hostile) fills only its own share, never the quota that other endpoints' history needs. Past the
 * budget that endpoint's oldest events go; labels are cut to what an agent may send.
 */
import type { DB, StoredEvent } from './db.ts';

export const EVENT_BUDGET = 5000;
const MAX_LABEL = 500;

/** The event as stored: the label bounded. */
export const boundedEvent = (e: StoredEvent): StoredEvent => (e.label.length > MAX_LABEL ? { ...e, label: e.label.slice(0, MAX_LABEL) } : e);

/** An agent's event (stream or /v1/events) as this browser stores it for endpoint `ep`, label bounded. */
export function storedEvent(ep: string, e: Omit<StoredEvent, 'ep'>): StoredEvent {
  return boundedEvent({
    ep,
    id: e.id,
    t: e.t,
    label: e.label,
    end_t: e.end_t ?? null,
    source: e.source === 'user' ? 'user' : 'agent',
    color: e.color ?? null,
    kind: e.kind,
    scope: e.scope,
  });
}

/** Deletes endpoint `ep`'s oldest events beyond `max`; returns how many went. */
export async function keepEventBudget(db: DB, ep: string, max = EVENT_BUDGET): Promise<number> {
  const range = IDBKeyRange.bound([ep, -Infinity], [ep, Infinity]);
  const n = await db.countFromIndex('events', 'byTime', range);
  if (n <= max) return 0;
  const tx = db.transaction('events', 'readwrite');
  let cur = await tx.store.index('byTime').openCursor(range);
  let over = n - max;
  while (cur && over > 0) {
    await cur.delete();
    over--;
    cur = await cur.continue();
  }
  await tx.done;
  return n - max - over;
}
