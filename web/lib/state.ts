/**
 * App state. One tab is the leader (Web Locks): it holds one connection per endpoint and is the
 * only writer to IndexedDB; it fans everything out to the other tabs on a BroadcastChannel, so
 * history is never written twice and the browser's six-connections-per-host limit is not eaten
 * by tabs. When the leader closes, the next tab takes the lock and resumes from what is stored.
 */
import { EVENT_BUDGET, keepEventBudget, storedEvent } from './event-budget.ts';
import { agentFetch } from './agent-api.ts';
import type { GpuSnapshot, Snapshot } from '../../shared/wire.ts';
import { deleteEndpointData, openDb, type AlertRule, type DB, type Endpoint, type StoredEvent, type Tier } from './db.ts';
import { AlertEngine, type Alert, type Transition } from './alerts.ts';
import { HistorySync } from './history.ts';
import { LiveConnection, type EndpointStatus, type Schema } from './live.ts';
import { applyRetention, DEFAULT_RETENTION, retentionKey, type Retention } from './retention.ts';
import { readSeries, type Series } from './series.ts';
import { ChunkWriter } from './writer.ts';
import { noteXid } from './fleet.ts';

/** The stream's `snapshot` event: the non-numeric state of each GPU, and workloads. */
export interface SnapshotExtras {
  gpus: (Pick<GpuSnapshot, 'index' | 'pstate' | 'throttle' | 'processes'> & {
    lost: boolean;
    mig: boolean | null;
    ecc_volatile: GpuSnapshot['ecc_volatile'] | null;
  })[];
  workloads: Snapshot['workloads'];
}

export interface EpState {
  ep: Endpoint;
  status: EndpointStatus;
  schema: Schema | null;
  keys: string[];
  /** The newest row ([t, ...values]) and a tail of recent rows for sparklines and live charts. */
  last: (number | null)[] | null;
  tail: (number | null)[][];
  extras: SnapshotExtras | null;
  /**
   * Bumped when stored history changes other than by live rows (a backfill, an import, pruning,
   * events), so charts re-read IndexedDB; live rows reach charts through `tail`, from memory.
   */
  rev: number;
  /** When the last live row arrived (browser clock): the overview's "last seen" for an offline host. */
  lastSeen?: number;
  /** GPU index → time of the newest XID event seen (web/lib/fleet.ts noteXid), for the health rules. */
  xidAt?: Record<number, number>;
}

export { DEFAULT_RETENTION, type Retention };
const TAIL = 3600;
/** Open-window segments are written every this many 2-second flush ticks. */
const SEGMENT_TICKS = 5;

type Msg =
  | { type: 'status'; id: string; status: EndpointStatus }
  | { type: 'schema'; id: string; schema: Schema }
  /** `history`: rows of stored history (a backfill's recent hour), drawn at once rather than at the next render slot */
  | { type: 'rows'; id: string; keys: string[]; rows: (number | null)[][]; history?: true }
  | { type: 'extras'; id: string; extras: SnapshotExtras }
  | { type: 'stored'; id: string }
  | { type: 'endpoints' }
  | { type: 'event'; id: string; event: StoredEvent }
  | { type: 'alerts'; log: Alert[] }
  | { type: 'rules' }
  | { type: 'kick'; id: string };

export class AppState {
  db!: DB;
  eps = new Map<string, EpState>();
  order: string[] = [];
  leader = false;
  notice: string | null = null;
  retention: Retention = DEFAULT_RETENTION;
  /** Per-endpoint overrides of `retention`, tier by tier. */
  epRetention = new Map<string, Partial<Retention>>();
  #subs = new Set<() => void>();
  #queued = false;
  #conns = new Map<string, LiveConnection>();
  #writers = new Map<string, ChunkWriter>();
  #chan: BroadcastChannel | null = null;
  #flushTimer: ReturnType<typeof setInterval> | null = null;
  /** Backfills, writes, folds and the quota, one endpoint at a time (the leader's job). */
  history = ((app: AppState) =>
    new HistorySync({
      get db() {
        return app.db;
      },
      endpoint: (id) => app.eps.get(id),
      writer: (id) => app.#writers.get(id),
      retentionFor: (id) => app.retentionFor(id),
      stored: (id) => app.#send({ type: 'stored', id }),
      schema: (id, schema) => app.#send({ type: 'schema', id, schema }),
      rows: (id, keys, rows) => app.#send({ type: 'rows', id, keys, rows, history: true }),
      get notice() {
        return app.notice;
      },
      set notice(n) {
        app.notice = n;
      },
      emit: () => app.emit(),
    }))(this);
  alerts = new AlertEngine();
  alertLog: Alert[] = [];

  async init(dbName?: string) {
    this.db = await openDb(dbName, () => {
      this.db.close();
      this.notice = 'gpulse was updated in another tab: reload this one.';
      this.emit();
    });
    this.retention = ((await this.db.get('meta', 'retention')) as Retention | undefined) ?? DEFAULT_RETENTION;
    await this.#loadEndpoints();
    this.alertLog = ((await this.db.get('meta', 'alertlog')) as Alert[] | undefined) ?? [];
    this.alerts.setRules(await this.db.getAll('alerts'), Date.now());
    if (typeof BroadcastChannel !== 'undefined') {
      this.#chan = new BroadcastChannel('gpulse');
      this.#chan.onmessage = (e: MessageEvent<Msg>) => this.#apply(e.data, false);
    }
    void navigator.storage?.persist?.().catch(() => {});
    if (navigator.locks) {
      // Queued until this tab is the leader; held for the tab's life.
      void navigator.locks.request(
        'gpulse-leader',
        () =>
          new Promise<void>(() => {
            this.#becomeLeader();
          }),
      );
    } else this.#becomeLeader();
    addEventListener('online', () => {
      for (const c of this.#conns.values()) c.kick();
    });
  }

  subscribe(fn: () => void) {
    this.#subs.add(fn);
    return () => this.#subs.delete(fn);
  }
  #lastRender = 0;
  /**
   * Many SSE rows become one render: at most one per animation frame, at most four a second, and
   * less often as the fleet grows (samples from 50 agents arrive spread over each second, and
   * painting 50 tiles on each would cost more than the news is worth: 1 s at 50 endpoints).
   */
  emit(urgent = false) {
    const frame = () => (typeof requestAnimationFrame !== 'undefined' && !document.hidden ? requestAnimationFrame(run) : run());
    const run = () => {
      this.#queued = false;
      this.#waiting = null;
      this.#lastRender = performance.now();
      for (const f of this.#subs) f();
    };
    // Urgent (history a view is waiting for, e.g. a backfill's recent hour): the next frame, not the next slot.
    if (urgent && this.#waiting) {
      clearTimeout(this.#waiting);
      this.#waiting = null;
      frame();
      return;
    }
    if (this.#queued) return;
    this.#queued = true;
    const gap = Math.min(1000, Math.max(250, this.order.length * 20));
    const wait = urgent ? 0 : Math.max(0, gap - (performance.now() - this.#lastRender));
    if (wait > 0) this.#waiting = setTimeout(frame, wait);
    else frame();
  }
  #waiting: ReturnType<typeof setTimeout> | null = null;

  async #loadEndpoints() {
    const list = (await this.db.getAll('endpoints')).sort((a, b) => a.order - b.order);
    const stored = new Map<string, Schema | null>();
    for (const ep of list) if (!this.eps.has(ep.id)) stored.set(ep.id, ((await this.db.get('meta', `schema:${ep.id}`)) as Schema | undefined) ?? null);
    for (const ep of list) {
      const r = (await this.db.get('meta', retentionKey(ep.id))) as Partial<Retention> | undefined;
      if (r) this.epRetention.set(ep.id, r);
      else this.epRetention.delete(ep.id);
    }
    // Built after the awaits, from the state as it is now: a schema or rows that arrived meanwhile are kept.
    const next = new Map<string, EpState>();
    for (const ep of list) {
      const cur = this.eps.get(ep.id);
      if (cur) {
        cur.ep = ep;
        next.set(ep.id, cur);
        continue;
      }
      const schema = stored.get(ep.id) ?? null;
      next.set(ep.id, {
        ep,
        status: ep.readOnly ? { kind: 'stale', lastT: 0 } : { kind: 'connecting', attempt: 0 },
        schema,
        keys: schema ? schema.series.map((x) => x.key) : [],
        last: null,
        tail: [],
        extras: null,
        rev: 0,
      });
    }
    this.eps = next;
    this.order = list.map((e) => e.id);
    this.emit();
  }

  #becomeLeader() {
    this.leader = true;
    for (const id of this.order) this.#connect(id);
    // Whatever the previous leader (or an interrupted import) stored but did not fold yet.
    for (const id of this.order) {
      const s = this.eps.get(id)!;
      void this.history.foldStored(id, s.schema?.interval_ms ?? 1000, !!s.ep.readOnly);
    }
    // Closed windows are written within 2 s; segments of open windows every 10 s (each costs a put
    // per series on the main thread, and rows not yet written are replayed by the agent after a crash).
    let tick = 0;
    this.#flushTimer = setInterval(() => void this.flush(++tick % SEGMENT_TICKS === 0), 2000);
    // Connection-state rules ("offline for 2 min") need a clock, not data.
    setInterval(() => {
      const now = Date.now();
      for (const [id, s] of this.eps)
        if (!s.ep.readOnly) this.#onAlerts(this.alerts.status(id, now, ['offline', 'error', 'unauthorized', 'stale'].includes(s.status.kind)));
    }, 1000);
    addEventListener('pagehide', () => void this.flush());
    this.emit();
  }

  #connect(id: string) {
    const s = this.eps.get(id);
    // A Prometheus endpoint has no stream: its view polls it (web/ui/prom-tiles.tsx).
    if (!s || s.ep.readOnly || s.ep.kind === 'prometheus' || this.#conns.has(id)) return;
    this.#writers.set(id, new ChunkWriter(id, s.schema?.interval_ms ?? 1000));
    const conn = new LiveConnection(
      { url: s.ep.url, token: s.ep.token, resumeFrom: () => this.history.resume(id) },
      {
        status: (status) => this.#send({ type: 'status', id, status }),
        schema: (schema) => {
          void this.db.put('meta', schema, `schema:${id}`);
          this.#writers.get(id)?.setInterval(schema.interval_ms);
          void this.#backfillEvents(id);
          this.#send({ type: 'schema', id, schema });
          // An endpoint still named after its address takes the agent's hostname (a rename by the user wins).
          const cur = this.eps.get(id)?.ep;
          if (cur && cur.name === new URL(cur.url).host && schema.hostname) void this.updateEndpoint(id, { name: schema.hostname });
        },
        rows: (keys, rows) => {
          const w = this.#writers.get(id)!;
          for (const r of rows) w.append(r[0] as number, keys, r);
          // Alerts look at the newest row of each batch: a live batch is one row, and a backfill or
          // gap replay must not fire an hour of stale alerts. (No clock comparison: agents' clocks may be skewed.)
          const r = rows[rows.length - 1];
          if (r) {
            const idx = new Map(keys.map((k, i) => [k, i + 1]));
            this.#onAlerts(
              this.alerts.sample(id, r[0] as number, keys, (k) => {
                const i = idx.get(k);
                const v = i === undefined ? null : r[i];
                return typeof v === 'number' ? v : null;
              }),
            );
          }
          this.#send({ type: 'rows', id, keys, rows: rows.slice(-TAIL) });
        },
        snapshot: (extras) => this.#send({ type: 'extras', id, extras: extras as SnapshotExtras }),
        event: (e) => {
          const ev = e as StoredEvent & { op?: string };
          if (!ev || typeof ev.id !== 'string' || typeof ev.t !== 'number' || typeof ev.label !== 'string') return;
          const stored = storedEvent(id, ev);
          if (ev.op === 'delete') void this.db.delete('events', [id, ev.id]);
          else void this.db.put('events', stored).then(() => keepEventBudget(this.db, id));
          this.#send({ type: 'event', id, event: stored });
        },
      },
    );
    this.#conns.set(id, conn);
    conn.start();
  }

  /** Events made while this browser was away (marks from a shell, agent events): fetched on every (re)connect. */
  async #backfillEvents(id: string) {
    const s = this.eps.get(id);
    if (!s) return;
    try {
      const r = await agentFetch(s.ep, '/v1/events');
      if (!r.ok) return;
      const { events } = (await r.json()) as { events: StoredEvent[] };
      if (!Array.isArray(events)) return;
      const tx = this.db.transaction('events', 'readwrite');
      const keep = events.filter((e) => e && typeof e.id === 'string' && typeof e.t === 'number' && typeof e.label === 'string').slice(-EVENT_BUDGET);
      await Promise.all([...keep.map((e) => tx.store.put(storedEvent(id, e))), tx.done]);
      await keepEventBudget(this.db, id);
      this.#send({ type: 'stored', id });
    } catch {
      /* the stream will report the connection problem */
    }
  }

  #send(m: Msg) {
    this.#apply(m, true);
    this.#chan?.postMessage(m);
  }

  #onAlerts(ts: Transition[]) {
    if (!ts.length) return;
    for (const t of ts) {
      if (t.kind === 'fire') {
        this.alertLog.unshift({ ...t.alert });
        const name = this.eps.get(t.alert.ep)?.ep.name ?? t.alert.ep;
        if (typeof Notification !== 'undefined' && Notification.permission === 'granted') {
          try {
            new Notification(`gpulse: ${t.alert.label}`, {
              body: `${name} ${t.alert.instance}${t.alert.value != null ? ` = ${t.alert.value.toFixed(1)}` : ''}`,
              tag: t.alert.id,
            });
          } catch {
            /* some platforms only allow SW notifications */
          }
        }
      } else {
        const a = this.alertLog.find((x) => x.id === t.alert.id);
        if (a) a.end = t.alert.end;
      }
    }
    this.alertLog.length = Math.min(this.alertLog.length, 500);
    void this.db.put('meta', this.alertLog, 'alertlog');
    this.#send({ type: 'alerts', log: this.alertLog });
  }

  /** Reconnect now (from any tab: the leader holds the connection). */
  reconnect(id: string) {
    this.#send({ type: 'kick', id });
  }

  /**
   * Chrome's local-network permission can only be asked from a page, on a user gesture: this is
   * called from the button's click, with a request that declares the target address space.
   */
  async requestLocalNetwork(id: string): Promise<string> {
    const s = this.eps.get(id);
    if (!s) return 'unknown endpoint';
    const host = new URL(s.ep.url).hostname;
    const space = host === 'localhost' || /^127\./.test(host) || host === '[::1]' ? 'loopback' : 'local';
    try {
      await fetch(`${s.ep.url}/healthz`, { targetAddressSpace: space, cache: 'no-store' } as RequestInit);
      this.reconnect(id);
      return 'allowed';
    } catch (e) {
      return `still blocked: ${(e as Error).message}. Allow "local network access" for this site in the browser's site settings.`;
    }
  }

  async saveRule(r: AlertRule) {
    await this.db.put('alerts', r);
    await this.#reloadRules();
    this.#chan?.postMessage({ type: 'rules' } satisfies Msg);
  }
  async deleteRule(id: string) {
    await this.db.delete('alerts', id);
    await this.#reloadRules();
    this.#chan?.postMessage({ type: 'rules' } satisfies Msg);
  }
  async #reloadRules() {
    this.#onAlerts(this.alerts.setRules(await this.db.getAll('alerts'), Date.now()));
    this.emit();
  }

  #apply(m: Msg, local: boolean) {
    if (m.type === 'endpoints') {
      void this.#loadEndpoints();
      return;
    }
    if (m.type === 'rules') {
      void this.#reloadRules();
      return;
    }
    if (m.type === 'kick') {
      this.#conns.get(m.id)?.kick();
      return;
    }
    if (m.type === 'alerts') {
      if (!local) this.alertLog = m.log;
      this.emit();
      return;
    }
    const s = this.eps.get(m.id);
    if (!s) return;
    switch (m.type) {
      case 'status':
        s.status = m.status;
        break;
      case 'schema':
        s.schema = m.schema;
        s.keys = m.schema.series.map((x) => x.key);
        break;
      case 'extras':
        s.extras = m.extras;
        break;
      case 'stored':
        s.rev++;
        break;
      case 'event':
        s.rev++;
        noteXid(s, m.event);
        break;
      case 'rows': {
        if (m.keys.join() !== s.keys.join()) s.keys = m.keys;
        // A new leader's replay repeats rows this tab already shows.
        const lastShown = (s.tail[s.tail.length - 1]?.[0] as number | undefined) ?? -Infinity;
        for (const r of m.rows) if ((r[0] as number) > lastShown) s.tail.push(r);
        if (s.tail.length > TAIL) s.tail.splice(0, s.tail.length - TAIL);
        s.last = s.tail[s.tail.length - 1] ?? s.last;
        if (!m.history) s.lastSeen = Date.now();
        break;
      }
    }
    this.emit(m.type === 'rows' && !!m.history);
  }

  /** Batched writes: one transaction per endpoint every 2 s (web/lib/history.ts). */
  async flush(segments = true) {
    await Promise.all([...this.#writers].map(([id, w]) => this.history.flush(id, w, segments)));
  }

  retentionFor(id: string): Retention {
    return { ...this.retention, ...this.epRetention.get(id) };
  }

  async applyRetention(now = Date.now()) {
    let n = 0;
    for (const id of this.order) n += await this.history.serial(id, () => applyRetention(this.db, id, this.retentionFor(id), now));
    return n;
  }

  async setRetention(r: Retention) {
    this.retention = r;
    await this.db.put('meta', r, 'retention');
    await this.applyRetention();
    this.emit();
  }

  /** Per-endpoint retention (null: back to the default for every tier). */
  async setEndpointRetention(id: string, r: Partial<Retention> | null) {
    if (r && Object.keys(r).length) {
      await this.db.put('meta', r, retentionKey(id));
      this.epRetention.set(id, r);
    } else {
      await this.db.delete('meta', retentionKey(id));
      this.epRetention.delete(id);
    }
    await this.applyRetention();
    this.#chan?.postMessage({ type: 'endpoints' } satisfies Msg);
    this.emit();
  }

  // ---- endpoint management (any tab; the leader reconnects) ----
  async addEndpoint(url: string, token: string, name?: string, readOnly = false): Promise<Endpoint> {
    const clean = readOnly ? url : normalizeUrl(url);
    const existing = readOnly ? undefined : [...this.eps.values()].find((s) => s.ep.url === clean);
    if (existing) {
      await this.updateEndpoint(existing.ep.id, { token });
      return existing.ep;
    }
    performance.mark('gpulse:add');
    const ep: Endpoint = {
      id: crypto.randomUUID(),
      name: name || new URL(clean).host,
      url: clean,
      token,
      order: this.order.length,
      added: Date.now(),
      readOnly,
    };
    await this.db.put('endpoints', ep);
    await this.#loadEndpoints();
    this.#send({ type: 'endpoints' });
    if (this.leader) this.#connect(ep.id);
    return ep;
  }

  /** A Prometheus-compatible API (Prometheus, VictoriaMetrics, Thanos Query) as a read-only fleet source. */
  async addPrometheus(url: string, token: string, name?: string): Promise<Endpoint> {
    const clean = normalizePromUrl(url);
    const existing = [...this.eps.values()].find((s) => s.ep.kind === 'prometheus' && s.ep.url === clean);
    if (existing) {
      if (token) await this.updateEndpoint(existing.ep.id, { token });
      return existing.ep;
    }
    const ep: Endpoint = {
      id: crypto.randomUUID(),
      name: name || new URL(clean).host,
      url: clean,
      token,
      order: this.order.length,
      added: Date.now(),
      kind: 'prometheus',
    };
    await this.db.put('endpoints', ep);
    await this.#loadEndpoints();
    this.#send({ type: 'endpoints' });
    return ep;
  }

  async updateEndpoint(id: string, patch: Partial<Pick<Endpoint, 'name' | 'token' | 'order' | 'tags'>>) {
    const ep = await this.db.get('endpoints', id);
    if (!ep) return;
    await this.db.put('endpoints', { ...ep, ...patch });
    await this.#loadEndpoints();
    this.#chan?.postMessage({ type: 'endpoints' } satisfies Msg);
    if (patch.token && this.leader) {
      this.#conns.get(id)?.stop();
      this.#conns.delete(id);
      this.#connect(id);
    }
  }

  async move(id: string, delta: number) {
    const i = this.order.indexOf(id),
      j = i + delta;
    if (i < 0 || j < 0 || j >= this.order.length) return;
    const ids = [...this.order];
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    const tx = this.db.transaction('endpoints', 'readwrite');
    await Promise.all([
      ...ids.map(async (eid, k) => {
        const ep = await tx.store.get(eid);
        if (ep) await tx.store.put({ ...ep, order: k });
      }),
      tx.done,
    ]);
    await this.#loadEndpoints();
    this.#chan?.postMessage({ type: 'endpoints' } satisfies Msg);
  }

  async removeEndpoint(id: string) {
    this.#conns.get(id)?.stop();
    this.#conns.delete(id);
    this.#writers.delete(id);
    await this.history.serial(id, () => deleteEndpointData(this.db, id));
    await this.#loadEndpoints();
    this.#chan?.postMessage({ type: 'endpoints' } satisfies Msg);
  }

  /** Stored history of one endpoint (for exports, debugging and tests: views use web/ui/use-series.ts). */
  readHistory(id: string, tier: Tier, keys: string[], from = -Infinity, to = Infinity): Promise<Series> {
    return readSeries(this.db, id, tier, keys, from, to);
  }

  /** Stores imported rows (a JSON export) under a read-only endpoint: the live writer's path, then folded. */
  async importRows(ep: Endpoint, keys: string[], rows: (number | null)[][], schema: Schema | null) {
    const iv = schema?.interval_ms ?? guessInterval(rows);
    if (schema) await this.db.put('meta', schema, `schema:${ep.id}`);
    const w = new ChunkWriter(ep.id, iv);
    for (const r of rows) w.append(r[0] as number, keys, r);
    await this.history.writeAll(ep.id, w);
    await this.#loadEndpoints();
    const s = this.eps.get(ep.id);
    if (s) {
      s.rev++;
      s.last = rows[rows.length - 1] ?? null;
    }
    this.emit();
  }
}

/** An export without its agent's info: the sampling interval is the most common step between rows. */
function guessInterval(rows: (number | null)[][]): number {
  const counts = new Map<number, number>();
  for (let i = 1; i < Math.min(rows.length, 1000); i++) {
    const d = (rows[i]![0] as number) - (rows[i - 1]![0] as number);
    if (d > 0) counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  let best = 1000,
    n = 0;
  for (const [d, c] of counts)
    if (c > n) {
      best = d;
      n = c;
    }
  return best;
}

export function normalizeUrl(url: string): string {
  const u = new URL(url.trim());
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('the agent URL must start with http:// or https://');
  return u.origin;
}

/** A Prometheus API base URL: origin plus any path prefix (a Thanos or proxy route), without a trailing slash. */
export function normalizePromUrl(url: string): string {
  const u = new URL(url.trim());
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('the Prometheus URL must start with http:// or https://');
  return u.origin + u.pathname.replace(/\/+$/, '');
}

/** Before connecting: will an https page be allowed to reach this agent at all? */
export function mixedContentProblem(pageProtocol: string, agentUrl: string): string | null {
  let u: URL;
  try {
    u = new URL(agentUrl);
  } catch {
    return null;
  }
  if (pageProtocol !== 'https:' || u.protocol === 'https:') return null;
  const h = u.hostname;
  if (h === 'localhost' || h.endsWith('.localhost') || /^127\./.test(h) || h === '[::1]') return null;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(h) || h.startsWith('[') || h.endsWith('.local'))
    return 'Chrome will ask for permission to reach your local network; other browsers block http agents from an https page.';
  return `The browser will block http://${h} from this https page (mixed content). Open gpulse from the agent itself, from http://localhost, use the agent's IP address, or serve the agent over https (--tls-cert/--tls-key).`;
}
