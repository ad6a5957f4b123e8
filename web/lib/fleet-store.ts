/**
 * The fleet in this tab: the endpoint list in the user's order, one EndpointStore each (status,
 * catalog, last-known values), and the per-endpoint retention overrides. The list lives in
 * IndexedDB; any tab may change it, then every tab re-reads it (`reload`), keeping the live state
 * of endpoints it already holds.
 */
import type { TabMessage } from '../../shared/tab-messages.ts';
import type { Schema } from '../../shared/wire.ts';
import { deleteEndpointData, type DB, type Endpoint } from './db.ts';
import { EndpointStore } from './endpoint-store.ts';
import { LastKnownWriter, loadLastKnown } from './last-known.ts';
import { retentionKey, type Retention } from './retention.ts';

export const schemaKey = (id: string) => `schema:${id}`;
/** The messages about one endpoint's state (the rest concern the whole app). */
export type EndpointMessage = Extract<TabMessage, { type: 'status' | 'schema' | 'rows' | 'extras' | 'stored' | 'xid' | 'prom' }>;
/** Messages held per endpoint this tab does not list yet. */
const MAX_EARLY = 100;

export class FleetStore {
  eps = new Map<string, EndpointStore>();
  order: string[] = [];
  /** Per-endpoint overrides of the default retention, tier by tier. */
  epRetention = new Map<string, Partial<Retention>>();
  /** The leader keeps each endpoint's newest values in IndexedDB (started by `keepLastKnown`). */
  readonly lastKnown: LastKnownWriter;
  #early = new Map<string, EndpointMessage[]>();

  constructor(readonly db: () => DB) {
    this.lastKnown = new LastKnownWriter(db, (id) => this.eps.get(id)?.lastKnown() ?? null);
  }

  get(id: string): EndpointStore | undefined {
    return this.eps.get(id);
  }

  /** Re-reads the list; endpoints already held keep their live state, new ones start from what is stored. */
  async reload() {
    const db = this.db();
    const list = (await db.getAll('endpoints')).sort((a, b) => a.order - b.order);
    const fresh = list.filter((ep) => !this.eps.has(ep.id)).map((ep) => ep.id);
    const tx = db.transaction('meta');
    const [schemas, retention, known] = await Promise.all([
      Promise.all(fresh.map((id) => tx.store.get(schemaKey(id)) as Promise<Schema | undefined>)),
      Promise.all(list.map((ep) => tx.store.get(retentionKey(ep.id)) as Promise<Partial<Retention> | undefined>)),
      loadLastKnown(db, fresh),
    ]);
    list.forEach((ep, i) => {
      const r = retention[i];
      if (r) this.epRetention.set(ep.id, r);
      else this.epRetention.delete(ep.id);
    });
    // Built after the awaits, from the state as it is now: a schema or rows that arrived meanwhile are kept.
    const next = new Map<string, EndpointStore>();
    for (const ep of list) {
      const cur = this.eps.get(ep.id);
      if (cur) {
        cur.ep = ep;
        next.set(ep.id, cur);
        continue;
      }
      const i = fresh.indexOf(ep.id);
      const s = new EndpointStore(ep, (i >= 0 && schemas[i]) || null);
      const k = known.get(ep.id);
      if (k) s.restore(k);
      next.set(ep.id, s);
    }
    this.eps = next;
    this.order = list.map((e) => e.id);
    const early = this.#early;
    this.#early = new Map();
    for (const [id, ms] of early) if (next.has(id)) for (const m of ms) this.apply(m);
  }

  /**
   * Applies one endpoint's news to its store; false when there is no such endpoint here yet (another
   * tab just added it and sends before this tab has re-read the list): held until the next `reload`.
   */
  apply(m: EndpointMessage): boolean {
    const s = this.eps.get(m.id);
    if (!s) {
      const early = this.#early.get(m.id) ?? [];
      if (early.length < MAX_EARLY) this.#early.set(m.id, [...early, m]);
      return false;
    }
    if (m.type === 'status') s.setStatus(m.status);
    else if (m.type === 'schema') s.setSchema(m.schema);
    else if (m.type === 'extras') s.setExtras(m.extras);
    else if (m.type === 'stored') s.touch();
    else if (m.type === 'prom') s.setProm(m);
    else if (m.type === 'xid') s.noteXid(m.gpu, m.t);
    else s.addRows(m.keys, m.rows);
    return true;
  }

  /** A new endpoint at the end of the list, stored. */
  async add(fields: Pick<Endpoint, 'name' | 'url' | 'token'> & Partial<Pick<Endpoint, 'readOnly' | 'kind'>>): Promise<Endpoint> {
    const ep: Endpoint = { id: crypto.randomUUID(), order: this.order.length, added: Date.now(), ...fields };
    await this.db().put('endpoints', ep);
    await this.reload();
    return ep;
  }

  /** Stored patch; false when the endpoint is gone. */
  async update(id: string, patch: Partial<Pick<Endpoint, 'name' | 'token' | 'order' | 'tags'>>): Promise<boolean> {
    const db = this.db();
    const ep = await db.get('endpoints', id);
    if (!ep) return false;
    await db.put('endpoints', { ...ep, ...patch });
    await this.reload();
    return true;
  }

  /** Swaps an endpoint with its neighbour `delta` places away; false when that is past either end. */
  async move(id: string, delta: number): Promise<boolean> {
    const i = this.order.indexOf(id),
      j = i + delta;
    if (i < 0 || j < 0 || j >= this.order.length) return false;
    const ids = [...this.order];
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    const tx = this.db().transaction('endpoints', 'readwrite');
    await Promise.all([
      ...ids.map(async (eid, k) => {
        const ep = await tx.store.get(eid);
        if (ep) await tx.store.put({ ...ep, order: k });
      }),
      tx.done,
    ]);
    await this.reload();
    return true;
  }

  /** The endpoint and everything stored for it. */
  async remove(id: string) {
    this.lastKnown.forget(id);
    await deleteEndpointData(this.db(), id);
    await this.reload();
  }

  async setRetention(id: string, r: Partial<Retention> | null) {
    const db = this.db();
    if (r && Object.keys(r).length) {
      await db.put('meta', r, retentionKey(id));
      this.epRetention.set(id, r);
    } else {
      await db.delete('meta', retentionKey(id));
      this.epRetention.delete(id);
    }
  }

  /** Stores a catalog so a reload (or another tab meeting the endpoint) lays out its views at once. */
  saveSchema(id: string, schema: Schema) {
    return this.db().put('meta', schema, schemaKey(id));
  }
}
