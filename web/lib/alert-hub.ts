/**
 * Alerts in the app: every tab keeps the rules and the alert records to show; only the leader
 * evaluates (AlertEngine), persists each change before notifying, and broadcasts the records.
 * A tab that becomes leader reloads both from IndexedDB and carries on from there. AppState
 * wires this in with a few calls (web/lib/state.ts).
 */
import type { AlertMsg } from '../../shared/alerts.ts';
import type { DB } from './db.ts';
import { countFiring, shown, type Alert, type ShownAlert } from './alert-lifecycle.ts';
import type { Rule } from './alert-rules.ts';
import type { GpuHealth, XidEvent } from './alert-eval.ts';
import { AlertEngine, isEmpty, type Change } from './alerts.ts';
import { KEEP_RESOLVED_MS, loadAlerts, loadRules, notify, saveChange } from './alert-store.ts';

export interface AlertHost {
  readonly db: DB;
  readonly leader: boolean;
  /** To the other tabs. */
  post(m: AlertMsg): void;
  emit(): void;
  endpointName(id: string): string;
}

export class AlertHub {
  #engine = new AlertEngine();
  #records: Alert[] = [];
  #rules: Rule[] = [];
  /** Leader and loaded: samples before that are not evaluated (the stored state is not read yet). */
  #ready = false;
  /** Changes are stored one after another, in the order they happened. */
  #writes: Promise<void> = Promise.resolve();

  readonly host: AlertHost;
  constructor(host: AlertHost) {
    this.host = host;
  }

  get rules(): readonly Rule[] {
    return this.#rules;
  }
  /** Firing and resolved alerts, firing first. */
  get list(): ShownAlert[] {
    return shown(this.#ready ? this.#engine.all : this.#records);
  }
  /** Firing, not silenced: the nav's count. */
  firingCount(now = Date.now()): number {
    return countFiring(this.#ready ? this.#engine.all : this.#records, this.#rules, now);
  }

  async init() {
    this.#rules = await loadRules(this.host.db);
    this.#records = await loadAlerts(this.host.db);
  }

  /** This tab just became the leader: continue from what is stored. */
  async lead() {
    await this.init();
    this.#engine.load(this.#records, this.#rules, Date.now());
    this.#ready = true;
    // Rules removed or disabled while no tab was leading resolve now.
    this.#apply(this.#engine.setRules(this.#rules, Date.now()));
  }

  sample(ep: string, keys: readonly string[], row: readonly (number | null)[], gpus: readonly GpuHealth[] | null) {
    if (!this.#ready) return;
    const idx = indexOf(keys);
    const get = (k: string) => {
      const v = row[idx.get(k) ?? -1];
      return typeof v === 'number' ? v : null;
    };
    this.#apply(this.#engine.sample(ep, { keys, get, gpus }, Date.now()));
  }

  event(ep: string, e: XidEvent) {
    const now = Date.now();
    // Events replayed on every connect reach back further than resolved alerts are kept: one older
    // than that would find no record saying it was handled, and fire (and notify) again.
    if (!this.#ready || now - e.t > KEEP_RESOLVED_MS) return;
    this.#apply(this.#engine.event(ep, e, now));
  }

  /** Once a second from the leader: `eps` are the endpoints that stream samples. */
  tick(eps: readonly string[]) {
    if (this.#ready) this.#apply(this.#engine.tick(eps, Date.now()));
  }

  async saveRule(r: Rule) {
    await this.host.db.put('alerts', r);
    await this.#rulesChanged();
  }
  async deleteRule(id: string) {
    await this.host.db.delete('alerts', id);
    await this.#rulesChanged();
  }
  /** Silences one alert (from any tab: the leader owns the records). */
  silenceAlert(id: string, until: number | null) {
    if (this.host.leader) this.onMessage({ type: 'silence-alert', id, until });
    else this.host.post({ type: 'silence-alert', id, until });
  }

  onMessage(m: AlertMsg) {
    switch (m.type) {
      case 'alerts':
        if (!this.#ready) this.#records = m.records;
        break;
      case 'rules':
        void this.#reloadRules();
        return;
      case 'silence-alert':
        if (this.#ready) this.#apply(this.#engine.silenceAlert(m.id, m.until));
        break;
    }
    this.host.emit();
  }

  async #rulesChanged() {
    await this.#reloadRules();
    this.host.post({ type: 'rules' });
  }
  async #reloadRules() {
    this.#rules = await loadRules(this.host.db);
    if (this.#ready) this.#apply(this.#engine.setRules(this.#rules, Date.now()));
    this.host.emit();
  }

  #apply(ch: Change) {
    if (isEmpty(ch)) return;
    this.#records = this.#engine.all;
    this.#writes = this.#writes
      .then(() => saveChange(this.host.db, ch))
      .then(
        () => notify(ch.notes, (id) => this.host.endpointName(id)),
        (e) => console.error('gpulse: storing alerts failed', e),
      );
    this.host.post({ type: 'alerts', records: this.#records });
    this.host.emit();
  }
}

/** key → its column in a row ([t, ...values]), built once per key list (a stream sends the same list every frame). */
const indexes = new WeakMap<readonly string[], Map<string, number>>();
function indexOf(keys: readonly string[]): Map<string, number> {
  let m = indexes.get(keys);
  if (!m) indexes.set(keys, (m = new Map(keys.map((k, i) => [k, i + 1]))));
  return m;
}
