/**
 * App state: a thin facade over the stores, with the API the views use. The fleet store holds the
 * endpoints and their state (web/lib/fleet-store.ts, web/lib/endpoint-store.ts); the leader store
 * decides which tab holds the connections and carries the typed tab messages
 * (web/lib/leader-store.ts, shared/tab-messages.ts); the leader's connections and writers are in
 * web/lib/connections.ts, its history jobs in web/lib/history.ts. Every tab applies every message
 * the same way (`#apply`), so followers show what the leader shows.
 */
import type { TabMessage } from '../../shared/tab-messages.ts';
import type { Schema } from '../../shared/wire.ts';
import { AlertHub } from './alert-hub.ts';
import type { ShownAlert } from './alert-lifecycle.ts';
import { Connections } from './connections.ts';
import { openDb, type DB, type Endpoint, type Tier } from './db.ts';
import type { EpState } from './endpoint-store.ts';
import { askLocalNetwork, normalizePromUrl, normalizeUrl } from './endpoint-urls.ts';
import { FleetStore } from './fleet-store.ts';
import { HistorySync } from './history.ts';
import { storeImport } from './import.ts';
import { LeaderStore, type Role } from './leader-store.ts';
import { RenderQueue } from './render-queue.ts';
import { applyRetention, DEFAULT_RETENTION, type Retention } from './retention.ts';
import { readSeries, type Series } from './series.ts';

export type { EpState, SnapshotExtras } from './endpoint-store.ts';
export { mixedContentProblem, normalizePromUrl, normalizeUrl } from './endpoint-urls.ts';
export { DEFAULT_RETENTION, type Retention };

export class AppState {
  db!: DB;
  notice: string | null = null;
  retention: Retention = DEFAULT_RETENTION;
  readonly fleet = new FleetStore(() => this.db);
  #render = new RenderQueue(() => this.fleet.order.length);
  #tabs = new LeaderStore({
    locks: typeof navigator !== 'undefined' ? navigator.locks : undefined,
    onMessage: (m, local) => this.#apply(m, local),
    onLeader: () => this.#becomeLeader(),
    onRole: () => this.emit(),
  });
  /** Backfills, writes, folds and the quota, one endpoint at a time (the leader's job). */
  history: HistorySync = ((app: AppState) =>
    new HistorySync({
      get db() {
        return app.db;
      },
      endpoint: (id) => app.fleet.get(id),
      writer: (id) => app.#conns.writer(id),
      retentionFor: (id) => app.retentionFor(id),
      stored: (id) => app.#tabs.send({ type: 'stored', id }),
      schema: (id, schema) => app.#tabs.send({ type: 'schema', id, schema }),
      rows: (id, keys, rows) => app.#tabs.send({ type: 'rows', id, keys, rows, history: true }),
      get notice() {
        return app.notice;
      },
      set notice(n) {
        app.notice = n;
      },
      emit: () => app.emit(),
    }))(this);
  #conns: Connections = new Connections({
    db: () => this.db,
    fleet: this.fleet,
    history: this.history,
    send: (m) => this.#tabs.send(m),
    // Alerts look at the newest row of each batch: a live batch is one row, and a backfill or gap
    // replay must not fire an hour of stale alerts.
    sampled: (id, keys, rows) => {
      const r = rows[rows.length - 1];
      if (r) this.alerts.sample(id, keys, r, this.fleet.get(id)?.extras?.gpus ?? null);
    },
    event: (id, e) => this.alerts.event(id, e),
    rename: (id, name) => void this.updateEndpoint(id, { name }),
  });
  /** Rules and alerts (web/lib/alert-hub.ts): the leader evaluates, every tab shows. */
  readonly alerts: AlertHub = ((app: AppState) =>
    new AlertHub({
      get db() {
        return app.db;
      },
      get leader() {
        return app.leader;
      },
      post: (m) => app.#tabs.post(m),
      emit: () => app.emit(),
      endpointName: (id) => app.fleet.get(id)?.ep.name ?? id,
    }))(this);

  /** The endpoints by id, and their order (the fleet store's). */
  get eps(): ReadonlyMap<string, EpState> {
    return this.fleet.eps;
  }
  get order(): readonly string[] {
    return this.fleet.order;
  }
  get epRetention(): ReadonlyMap<string, Partial<Retention>> {
    return this.fleet.epRetention;
  }
  /** This tab holds the connections and writes; `role` is 'pending' until the election answers. */
  get leader(): boolean {
    return this.#tabs.leader;
  }
  get role(): Role {
    return this.#tabs.role;
  }

  async init(dbName?: string) {
    this.db = await openDb(dbName, () => {
      this.db.close();
      this.notice = 'gpulse was updated in another tab: reload this one.';
      this.emit();
    });
    // Independent reads, side by side: the first paint waits for all three.
    const [retention] = await Promise.all([this.db.get('meta', 'retention') as Promise<Retention | undefined>, this.fleet.reload(), this.alerts.init()]);
    this.retention = retention ?? DEFAULT_RETENTION;
    this.emit();
    void navigator.storage?.persist?.().catch(() => {});
    this.#tabs.start();
    addEventListener('online', () => this.#conns.kickAll());
  }

  subscribe(fn: () => void) {
    return this.#render.subscribe(fn);
  }
  emit(urgent = false) {
    this.#render.emit(urgent);
  }

  #becomeLeader() {
    this.#conns.lead();
    // Host-silent rules and XID/ECC holds need a clock, not data.
    void this.alerts.lead().then(() => setInterval(() => this.alerts.tick(this.#conns.streaming()), 1000));
  }

  /** Firing and resolved alerts, firing first (charts draw them as bands). */
  get alertLog(): ShownAlert[] {
    return this.alerts.list;
  }

  /** Reconnect now (from any tab: the leader holds the connection). */
  reconnect(id: string) {
    this.#tabs.send({ type: 'kick', id });
  }

  /** Asks for Chrome's local-network permission (on a click), then reconnects. */
  async requestLocalNetwork(id: string): Promise<string> {
    const s = this.fleet.get(id);
    if (!s) return 'unknown endpoint';
    const blocked = await askLocalNetwork(s.ep.url);
    if (!blocked) this.reconnect(id);
    return blocked ?? 'allowed';
  }

  /** One message, from this tab (`local`) or another: every tab's stores change the same way. */
  #apply(m: TabMessage, local: boolean) {
    switch (m.type) {
      case 'endpoints':
        void this.fleet.reload().then(() => this.#endpointsLoaded());
        return;
      case 'kick':
        this.#conns.kick(m.id);
        return;
      case 'alerts':
      case 'rules':
      case 'silence-alert':
        if (!local) this.alerts.onMessage(m);
        return;
    }
    // Per-endpoint news: applied to its store (or held until this tab has re-read the list).
    if (this.fleet.apply(m)) this.emit(m.type === 'rows' && !!m.history);
  }

  /** Batched writes: one transaction per endpoint every 2 s (web/lib/history.ts). */
  flush(segments = true) {
    return this.#conns.flush(segments);
  }

  retentionFor(id: string): Retention {
    return { ...this.retention, ...this.fleet.epRetention.get(id) };
  }

  async applyRetention(now = Date.now()) {
    let n = 0;
    for (const id of this.fleet.order) n += await this.history.serial(id, () => applyRetention(this.db, id, this.retentionFor(id), now));
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
    await this.fleet.setRetention(id, r);
    await this.applyRetention();
    this.#tabs.post({ type: 'endpoints' });
    this.emit();
  }

  // ---- endpoint management (any tab; the leader reconnects) ----
  /**
   * An agent (an existing one with this URL gets the new token instead); `readOnly`: an import,
   * never connected; `info`: its /v1/info, just read with this token (pairing, Add form), used by
   * the first connection of the endpoint added, so the agent is not asked again.
   */
  addEndpoint(url: string, token: string, name?: string, opts: { readOnly?: boolean; info?: unknown } = {}): Promise<Endpoint> {
    performance.mark('gpulse:add');
    const { readOnly, info } = opts;
    return this.#add(readOnly ? url : normalizeUrl(url), token, name, readOnly ? { readOnly } : {}, info);
  }

  /** A Prometheus-compatible API (Prometheus, VictoriaMetrics, Thanos Query) as a read-only fleet source. */
  addPrometheus(url: string, token: string, name?: string): Promise<Endpoint> {
    return this.#add(normalizePromUrl(url), token, name, { kind: 'prometheus' });
  }

  async #add(url: string, token: string, name: string | undefined, how: Pick<Endpoint, 'readOnly' | 'kind'>, info?: unknown): Promise<Endpoint> {
    const same = !how.readOnly && [...this.fleet.eps.values()].find((s) => s.ep.url === url && s.ep.kind === how.kind);
    if (same) {
      if (token) await this.updateEndpoint(same.ep.id, { token });
      return same.ep;
    }
    const ep = await this.fleet.add({ name: name || new URL(url).host, url, token, ...how });
    // Primed only here: a failed add or an existing endpoint leaves nothing that no resume would take.
    if (info !== undefined) this.history.primeInfo(ep.url, ep.token, info);
    this.#endpointsChanged();
    return ep;
  }

  async updateEndpoint(id: string, patch: Partial<Pick<Endpoint, 'name' | 'token' | 'order' | 'tags'>>) {
    if (await this.fleet.update(id, patch)) this.#endpointsChanged();
  }

  async move(id: string, delta: number) {
    if (await this.fleet.move(id, delta)) this.#endpointsChanged();
  }

  async removeEndpoint(id: string) {
    this.#conns.disconnect(id); // before its data goes: no write may follow the delete
    await this.history.serial(id, () => this.fleet.remove(id));
    this.#endpointsChanged();
  }

  /** This tab re-read the list already: tell the others to re-read theirs. */
  #endpointsChanged() {
    this.#endpointsLoaded();
    this.#tabs.post({ type: 'endpoints' });
  }

  /** The list was re-read: the leader's connections follow it. */
  #endpointsLoaded() {
    if (this.leader) this.#conns.sync();
    this.emit();
  }

  /** Stored history of one endpoint (for exports, debugging and tests: views use web/ui/use-series.ts). */
  readHistory(id: string, tier: Tier, keys: string[], from = -Infinity, to = Infinity): Promise<Series> {
    return readSeries(this.db, id, tier, keys, from, to);
  }

  /** Stores imported rows (a JSON export) under a read-only endpoint, shown at once in every tab (web/lib/import.ts). */
  importRows(ep: Endpoint, keys: string[], rows: (number | null)[][], schema: Schema | null) {
    return storeImport({ fleet: this.fleet, history: this.history, send: (m) => this.#tabs.send(m) }, ep, keys, rows, schema);
  }
}
