/**
 * The leader tab's connections: one LiveConnection and one ChunkWriter per agent endpoint, and a
 * poll loop per Prometheus source (web/lib/prom-poller.ts). What a connection delivers is sent as
 * tab messages (applied here and in every other tab); events are stored; rows go to the writer,
 * flushed in batches by HistorySync. Followers hold none of this.
 */
import { clipText, type TabMessage } from '../../shared/tab-messages.ts';
import { validateEvents } from '../../shared/validate.ts';
import { agentFetch } from './agent-api.ts';
import { xidOf } from './alert-eval.ts';
import { deleteEndpointData, type DB, type StoredEvent } from './db.ts';
import { TAIL } from './endpoint-store.ts';
import { EVENT_BUDGET, keepEventBudget, storedEvent } from './event-budget.ts';
import type { FleetStore } from './fleet-store.ts';
import type { HistorySync } from './history.ts';
import { LiveConnection } from './live.ts';
import { PromPoller } from './prom-poller.ts';
import { ChunkWriter } from './writer.ts';

/**
 * Open-window segments are written every this many 2-second flush ticks (a minute), and when the
 * tab is hidden or closed. Each costs a put per series on the main thread (100 agents × 40 series
 * every 10 s was a tenth of the main thread), and rows not yet written are replayed by the agent
 * after a crash (the stream resumes from the newest stored sample).
 */
const SEGMENT_TICKS = 30;

export interface ConnectionsHost {
  db(): DB;
  readonly fleet: FleetStore;
  readonly history: HistorySync;
  send(m: TabMessage): void;
  /** The newest rows of a batch, for alert rules. */
  sampled(id: string, keys: string[], rows: (number | null)[][]): void;
  /** An agent event (live, or fetched after a reconnect), for XID alert rules. */
  event(id: string, e: StoredEvent): void;
  /** An endpoint still named after its address takes the agent's hostname. */
  rename(id: string, name: string): void;
}

export class Connections {
  /** Each connection with the address and token it was opened with. */
  #conns = new Map<string, { conn: LiveConnection; url: string; token: string }>();
  #writers = new Map<string, ChunkWriter>();
  #flushTimer: ReturnType<typeof setInterval> | null = null;
  #flushing: Promise<void> | null = null;
  readonly #prom: PromPoller;

  constructor(readonly host: ConnectionsHost) {
    this.#prom = new PromPoller({ fleet: host.fleet, send: (m) => host.send(m) });
  }

  /** The endpoints this tab streams from (host-silent alert rules watch these). */
  streaming(): string[] {
    return [...this.#conns.keys()];
  }

  writer(id: string): ChunkWriter | undefined {
    return this.#writers.get(id);
  }

  /**
   * This tab just became the leader: connect every endpoint, fold what the previous leader (or an
   * interrupted import) stored but did not fold, and start the batched writes: closed windows
   * within 2 s, segments of open windows every minute and when the tab is hidden (SEGMENT_TICKS),
   * last-known values every 5 s.
   */
  lead() {
    const { fleet, history } = this.host;
    this.sync();
    // Folding what a previous leader left is a read-write transaction over the chunk store, which
    // holds up the view's first reads behind it: it waits until the page has drawn (up to 3 s).
    whenIdle(() => {
      for (const id of fleet.order) {
        const s = fleet.get(id);
        if (s) void history.foldStored(id, s.schema?.interval_ms ?? 1000, !!s.ep.readOnly);
      }
    });
    let tick = 0;
    this.#flushTimer ??= setInterval(() => {
      if (this.#flushing) return; // the previous one is still writing (a slow disk): skip a tick, never pile up
      this.#flushing = this.flush(++tick % SEGMENT_TICKS === 0, true).finally(() => (this.#flushing = null));
    }, 2000);
    fleet.lastKnown.start();
    const now = () => {
      void this.flush();
      void fleet.lastKnown.flush();
    };
    addEventListener('pagehide', now);
    // A hidden tab may be frozen or discarded without a pagehide (phones): write what is held now.
    if (typeof document !== 'undefined') document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && now());
  }

  /**
   * Batched writes: one transaction per endpoint (web/lib/history.ts). `spread`: one endpoint after
   * another, so a hundred agents closing their windows in the same second (windows are aligned to
   * the clock) are a hundred short tasks, not one long one; otherwise all at once (the tab is going).
   */
  async flush(segments = true, spread = false) {
    const all = [...this.#writers];
    if (!spread) await Promise.all(all.map(([id, w]) => this.host.history.flush(id, w, segments)));
    else for (const [id, w] of all) await this.host.history.flush(id, w, segments);
  }

  connect(id: string) {
    const s = this.host.fleet.get(id);
    // A Prometheus endpoint has no stream: its view polls it (web/ui/prom-tiles.tsx).
    if (!s || s.ep.readOnly || s.ep.kind === 'prometheus' || this.#conns.has(id)) return;
    const { send } = this.host;
    if (!this.#writers.has(id)) this.#writers.set(id, new ChunkWriter(id, s.schema?.interval_ms ?? 1000));
    const conn = new LiveConnection(
      { url: s.ep.url, token: s.ep.token, resumeFrom: () => this.host.history.resume(id) },
      {
        // An agent's error text is its own: cut to what a tab message may carry, or followers would drop it.
        status: (status) => send({ type: 'status', id, status: 'message' in status ? { ...status, message: clipText(status.message) } : status }),
        schema: (schema) => {
          void this.host.fleet.saveSchema(id, schema);
          this.#writers.get(id)?.setInterval(schema.interval_ms);
          void this.#backfillEvents(id);
          send({ type: 'schema', id, schema });
          const cur = this.host.fleet.get(id)?.ep;
          // A rename by the user wins.
          if (cur && cur.name === new URL(cur.url).host && schema.hostname) this.host.rename(id, schema.hostname);
        },
        rows: (keys, rows) => {
          const w = this.#writers.get(id)!;
          for (const r of rows) w.append(r[0] as number, keys, r);
          this.host.sampled(id, keys, rows);
          send({ type: 'rows', id, keys, rows: rows.slice(-TAIL) });
          this.host.fleet.lastKnown.note(id);
        },
        snapshot: (extras) => {
          send({ type: 'extras', id, extras });
          this.host.fleet.lastKnown.note(id);
        },
        event: (e) => {
          const ev = e as StoredEvent & { op?: string };
          const stored = storedEvent(id, ev);
          if (ev.op === 'delete') void this.host.db().delete('events', [id, ev.id]);
          else
            void this.host
              .db()
              .put('events', stored)
              .then(() => keepEventBudget(this.host.db(), id));
          send({ type: 'stored', id });
          if (ev.op !== 'delete') this.#event(id, stored);
        },
      },
    );
    this.#conns.set(id, { conn, url: s.ep.url, token: s.ep.token });
    conn.start();
  }

  /**
   * Matches the connections (and Prometheus polls) to the endpoint list, which any tab may have
   * changed: new endpoints are connected, removed ones dropped, a changed token or address reconnects.
   */
  sync() {
    for (const [id, c] of this.#conns) {
      const ep = this.host.fleet.get(id)?.ep;
      if (!ep) {
        // Removed in another tab, which deleted its data; what this tab was still writing for it (a
        // flush, a backfill, its last-known values) is deleted again once that work is done.
        this.disconnect(id);
        this.host.fleet.lastKnown.forget(id);
        void this.host.history.serial(id, () => deleteEndpointData(this.host.db(), id)).catch(() => {});
      } else if (ep.url !== c.url || ep.token !== c.token) this.reconnect(id);
    }
    for (const id of this.host.fleet.order) this.connect(id);
    this.#prom.sync();
  }

  /** Drops the connection and its writer (rows not flushed yet are the agent's to replay). */
  disconnect(id: string) {
    this.#conns.get(id)?.conn.stop();
    this.#conns.delete(id);
    this.#writers.delete(id);
  }

  /** A fresh connection with the endpoint's current address and token (its writer is kept). */
  reconnect(id: string) {
    this.#conns.get(id)?.conn.stop();
    this.#conns.delete(id);
    this.connect(id);
  }

  kick(id: string) {
    this.#conns.get(id)?.conn.kick();
  }

  kickAll() {
    for (const c of this.#conns.values()) c.conn.kick();
  }

  /** An agent event: to the alert rules, and an XID to every tab's overview. */
  #event(id: string, e: StoredEvent) {
    this.host.event(id, e);
    // Recognised as the XID alert rules recognise it (alert-eval.ts): subject `gpu<N>`.
    const x = xidOf(e);
    if (x) this.host.send({ type: 'xid', id, gpu: Number(x.subject.slice(3)), t: e.t });
  }

  /** Events made while this browser was away (marks from a shell, agent events): fetched on every (re)connect. */
  async #backfillEvents(id: string) {
    const s = this.host.fleet.get(id);
    if (!s) return;
    const db = this.host.db();
    try {
      const r = await agentFetch(s.ep, '/v1/events');
      if (!r.ok) return;
      // Checked like the stream's events (shared/validate.ts): a bad event is dropped alone, and said.
      const v = validateEvents(await r.json());
      if (!v.ok) return console.warn(`gpulse: ${s.ep.name}: /v1/events refused: ${v.reason}`);
      const { dropped } = v.value;
      if (dropped.length) console.warn(`gpulse: ${s.ep.name}: ${dropped.length} bad event(s) from /v1/events dropped (${dropped[0]})`);
      const tx = db.transaction('events', 'readwrite');
      const keep = v.value.events.slice(-EVENT_BUDGET).map((e) => storedEvent(id, e));
      await Promise.all([...keep.map((e) => tx.store.put(e)), tx.done]);
      await keepEventBudget(db, id);
      this.host.send({ type: 'stored', id });
      for (const e of keep) this.#event(id, e); // an XID while no tab was open
    } catch {
      /* the stream will report the connection problem */
    }
  }
}

/** After the first paint has settled: an idle moment, or 3 s at most (setTimeout where there is no requestIdleCallback). */
function whenIdle(fn: () => void) {
  if (typeof requestIdleCallback === 'function') requestIdleCallback(fn, { timeout: 3000 });
  else setTimeout(fn, 1000);
}
