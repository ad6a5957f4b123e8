/**
 * Alert rules at work in this tab: the leader feeds them samples and connection states
 * (web/lib/alerts.ts decides), keeps the log in IndexedDB, notifies, and broadcasts the log; every
 * tab keeps the rules (for the alerts view) and the log it is sent.
 */
import type { TabMessage } from '../../shared/tab-messages.ts';
import { AlertEngine, type Alert, type Transition } from './alerts.ts';
import type { AlertRule, DB } from './db.ts';
import type { EpState } from './endpoint-store.ts';

export interface AlertHost {
  db(): DB;
  endpoint(id: string): EpState | undefined;
  endpoints(): Iterable<EpState>;
  send(m: TabMessage): void;
  post(m: TabMessage): void;
  emit(): void;
}

const DOWN = ['offline', 'error', 'unauthorized', 'stale'];

export class AlertRunner {
  engine = new AlertEngine();
  log: Alert[] = [];

  constructor(readonly host: AlertHost) {}

  async load() {
    const db = this.host.db();
    this.log = ((await db.get('meta', 'alertlog')) as Alert[] | undefined) ?? [];
    this.engine.setRules(await db.getAll('alerts'), Date.now());
  }

  /** The leader's clock: connection-state rules ("offline for 2 min") need time, not data. */
  startClock() {
    setInterval(() => {
      const now = Date.now();
      for (const s of this.host.endpoints()) if (!s.ep.readOnly) this.#transitions(this.engine.status(s.ep.id, now, DOWN.includes(s.status.kind)));
    }, 1000);
  }

  /**
   * Alerts look at the newest row of each batch: a live batch is one row, and a backfill or gap
   * replay must not fire an hour of stale alerts. (No clock comparison: agents' clocks may be skewed.)
   */
  sampled(id: string, keys: string[], rows: (number | null)[][]) {
    const r = rows[rows.length - 1];
    if (!r) return;
    const idx = new Map(keys.map((k, i) => [k, i + 1]));
    this.#transitions(
      this.engine.sample(id, r[0] as number, keys, (k) => {
        const i = idx.get(k);
        const v = i === undefined ? null : r[i];
        return typeof v === 'number' ? v : null;
      }),
    );
  }

  async saveRule(r: AlertRule) {
    await this.host.db().put('alerts', r);
    await this.reloadRules();
    this.host.post({ type: 'rules' });
  }

  async deleteRule(id: string) {
    await this.host.db().delete('alerts', id);
    await this.reloadRules();
    this.host.post({ type: 'rules' });
  }

  async reloadRules() {
    this.#transitions(this.engine.setRules(await this.host.db().getAll('alerts'), Date.now()));
    this.host.emit();
  }

  #transitions(ts: Transition[]) {
    if (!ts.length) return;
    for (const t of ts) {
      if (t.kind === 'fire') {
        this.log.unshift({ ...t.alert });
        const name = this.host.endpoint(t.alert.ep)?.ep.name ?? t.alert.ep;
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
        const a = this.log.find((x) => x.id === t.alert.id);
        if (a) a.end = t.alert.end;
      }
    }
    this.log.length = Math.min(this.log.length, 500);
    void this.host.db().put('meta', this.log, 'alertlog');
    this.host.send({ type: 'alerts', log: this.log });
  }
}
