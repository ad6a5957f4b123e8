/**
 * Alert rules evaluated on live data (in the leader tab, so endpoints off screen count too).
 * A rule names a metric: a series key (`host.cpu.util`, `gpu0.temp`), a per-GPU wildcard
 * (`gpu*.temp` — one alert instance per GPU), a derived percentage (`gpu*.mem.pct`,
 * `host.mem.pct`), or `status.offline` (offline/error/unauthorized/stale). It fires once the
 * condition has held for `forS` seconds and resolves when it stops holding.
 */
import type { AlertRule } from './db.ts';

export type { AlertRule };
export interface Alert {
  id: string;
  rule: string;
  ep: string;
  instance: string;
  label: string;
  start: number;
  end: number | null;
  value: number | null;
}
export type Transition = { kind: 'fire' | 'resolve'; alert: Alert };

type Getter = (key: string) => number | null;

/** Instances a rule covers on one endpoint, each with how to read its value. */
export function instances(metric: string, keys: readonly string[]): { instance: string; read: (g: Getter) => number | null }[] {
  const derive = (prefix: string) => (g: Getter) => {
    const u = g(prefix + 'mem.used'),
      t = g(prefix + 'mem.total');
    return u == null || !t ? null : (u / t) * 100;
  };
  if (metric.startsWith('gpu*.')) {
    const m = metric.slice(5);
    const gpus = [...new Set(keys.map((k) => /^gpu(\d+)\./.exec(k)?.[1]).filter((x): x is string => !!x))];
    return gpus.map((n) => ({ instance: `gpu${n}`, read: m === 'mem.pct' ? derive(`gpu${n}.`) : (g: Getter) => g(`gpu${n}.${m}`) }));
  }
  const pct = /^(host|gpu\d+)\.mem\.pct$/.exec(metric);
  if (pct) return [{ instance: pct[1]!, read: derive(`${pct[1]}.`) }];
  return [{ instance: metric.split('.')[0]!, read: (g) => g(metric) }];
}

export class AlertEngine {
  rules: AlertRule[] = [];
  #pending = new Map<string, number>(); // condition true since
  #firing = new Map<string, Alert>();

  get firing(): Alert[] {
    return [...this.#firing.values()];
  }

  /** Feeds one sample of endpoint `ep` at time t. */
  sample(ep: string, t: number, keys: readonly string[], get: Getter): Transition[] {
    const out: Transition[] = [];
    for (const r of this.rules) {
      if ((r.ep !== '*' && r.ep !== ep) || r.metric === 'status.offline') continue;
      for (const inst of instances(r.metric, keys)) {
        const v = inst.read(get);
        this.#step(out, r, ep, inst.instance, t, v !== null && (r.op === '>' ? v > r.threshold : v < r.threshold), v);
      }
    }
    return out;
  }

  /** Feeds an endpoint's connection state (checked on a timer, so "offline for 2 min" fires with no data arriving). */
  status(ep: string, t: number, down: boolean): Transition[] {
    const out: Transition[] = [];
    for (const r of this.rules) if ((r.ep === '*' || r.ep === ep) && r.metric === 'status.offline') this.#step(out, r, ep, 'endpoint', t, down, null);
    return out;
  }

  #step(out: Transition[], r: AlertRule, ep: string, instance: string, t: number, cond: boolean, v: number | null) {
    const key = `${r.id}|${ep}|${instance}`;
    const firing = this.#firing.get(key);
    if (cond) {
      const since = this.#pending.get(key) ?? t;
      this.#pending.set(key, since);
      if (!firing && t - since >= r.forS * 1000) {
        const alert: Alert = {
          id: `${key}|${since}`,
          rule: r.id,
          ep,
          instance,
          label: r.label || `${r.metric} ${r.op} ${r.threshold}`,
          start: since,
          end: null,
          value: v,
        };
        this.#firing.set(key, alert);
        out.push({ kind: 'fire', alert });
      } else if (firing) firing.value = v;
    } else {
      this.#pending.delete(key);
      if (firing) {
        this.#firing.delete(key);
        firing.end = t;
        out.push({ kind: 'resolve', alert: firing });
      }
    }
  }

  /** A removed rule resolves its alerts. */
  setRules(rules: AlertRule[], t: number): Transition[] {
    const ids = new Set(rules.map((r) => r.id));
    const out: Transition[] = [];
    for (const [k, a] of this.#firing)
      if (!ids.has(a.rule)) {
        this.#firing.delete(k);
        a.end = t;
        out.push({ kind: 'resolve', alert: a });
      }
    for (const k of this.#pending.keys()) if (!ids.has(k.split('|')[0]!)) this.#pending.delete(k);
    this.rules = rules;
    return out;
  }
}

export function validateRule(r: Partial<AlertRule>): string | null {
  if (!r.metric || !/^(status\.offline|host\.[\w.]+|gpu(\d+|\*)\.[\w.]+)$/.test(r.metric))
    return 'metric: choose one from the list or type a series key like gpu0.temp';
  if (r.metric !== 'status.offline' && r.op !== '>' && r.op !== '<') return 'comparison: > or <';
  if (r.metric !== 'status.offline' && (typeof r.threshold !== 'number' || !Number.isFinite(r.threshold))) return 'threshold: a number';
  if (typeof r.forS !== 'number' || !Number.isFinite(r.forS) || r.forS < 0 || r.forS > 86400) return 'for: 0 to 86400 seconds';
  return null;
}
