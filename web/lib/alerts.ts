/**
 * The alert engine, run by the leader tab only (so endpoints off screen count too, and a second
 * tab never evaluates twice). It holds the rules and one record per (rule, endpoint, subject),
 * loaded from IndexedDB when the tab becomes leader, so a new leader continues the previous
 * one's alerts. Every call returns a `Change`: the records to store or drop and the transitions
 * to notify; the caller persists them (web/lib/alert-store.ts) before notifying.
 */
import { formatDuration } from '../../shared/duration.ts';
import { isHitKind, ruleApplies, type Rule } from './alert-rules.ts';
import { alertKey, isSilenced, step, type Alert, type Note, type Observation } from './alert-lifecycle.ts';
import { sampleConds, xidOf, type Sample, type XidEvent } from './alert-eval.ts';

export { instances } from './alert-eval.ts';
export type { Alert };

export interface Change {
  put: Alert[];
  del: string[];
  /** Transitions to notify: silenced alerts are left out. */
  notes: Note[];
}
export const emptyChange = (): Change => ({ put: [], del: [], notes: [] });
export const isEmpty = (c: Change) => !c.put.length && !c.del.length && !c.notes.length;

export class AlertEngine {
  rules: Rule[] = [];
  #alerts = new Map<string, Alert>();
  /** Per endpoint: the last uncorrected ECC count seen per GPU. */
  #ecc = new Map<string, Map<string, number>>();
  /** Per endpoint: when (this browser's clock) its last sample arrived. */
  #seen = new Map<string, number>();
  #since = 0;

  /** Takes over stored records (leader start or handover); silence is timed from `now`. */
  load(records: readonly Alert[], rules: readonly Rule[], now: number) {
    this.#alerts = new Map(records.map((a) => [a.id, a]));
    this.rules = [...rules];
    this.#since = now;
    this.#seen.clear();
  }

  get all(): Alert[] {
    return [...this.#alerts.values()];
  }

  /** New rule list (an edit keeps the id, so its open alert carries on); alerts of removed or disabled rules resolve. */
  setRules(rules: readonly Rule[], now: number): Change {
    this.rules = [...rules];
    return this.#orphans(emptyChange(), now, null);
  }

  /** Silences one alert until `until` (null lifts it). */
  silenceAlert(id: string, until: number | null): Change {
    const a = this.#alerts.get(id);
    const ch = emptyChange();
    if (a) this.#put(ch, { ...a, silencedUntil: until });
    return ch;
  }

  /** One sample of endpoint `ep`, arriving at `now`: threshold and sample-driven health rules. */
  sample(ep: string, s: Sample, now: number): Change {
    this.#seen.set(ep, now);
    const ch = emptyChange();
    let ecc = this.#ecc.get(ep);
    if (!ecc) this.#ecc.set(ep, (ecc = new Map()));
    for (const r of this.rules) {
      if (!ruleApplies(r, ep)) continue;
      const conds = sampleConds(r, s, ecc);
      if (conds) this.#evaluate(ch, r, ep, new Map(conds.map((c) => [c.subject, c])), now);
    }
    for (const g of s.gpus ?? []) if (g.ecc_volatile?.uncorrected != null) ecc.set(`gpu${g.index}`, g.ecc_volatile.uncorrected);
    return ch;
  }

  /** An agent event: a new XID (newer than the rule, and than the last one handled) opens or extends an XID alert. */
  event(ep: string, e: XidEvent, now: number): Change {
    const ch = emptyChange();
    const x = xidOf(e);
    if (!x) return ch;
    for (const r of this.rules) {
      if (r.kind !== 'xid' || !ruleApplies(r, ep)) continue;
      const prev = this.#alerts.get(alertKey(r.id, ep, x.subject));
      if (e.t <= (prev?.mark ?? r.created)) continue;
      this.#transition(ch, r, ep, x.subject, { holds: false, value: null, detail: x.detail, hit: { mark: e.t } }, now);
    }
    return ch;
  }

  /**
   * The clock (once a second): host-silent rules for the live endpoints `eps`, XID/ECC alerts
   * whose hold ran out, and alerts whose rule, endpoint or subject is gone.
   */
  tick(eps: readonly string[], now: number): Change {
    const ch = emptyChange();
    for (const r of this.rules) {
      if (r.kind !== 'silent') continue;
      for (const ep of eps) {
        if (!ruleApplies(r, ep)) continue;
        const last = this.#seen.get(ep) ?? this.#since;
        const quiet = now - last;
        this.#transition(ch, r, ep, 'host', { holds: quiet >= r.forS * 1000, value: null, detail: `no sample for ≥ ${formatDuration(r.forS * 1000)}` }, now);
      }
    }
    const byId = new Map(this.rules.map((r) => [r.id, r]));
    for (const a of this.#alerts.values()) {
      const r = byId.get(a.rule);
      if (r && isHitKind(r.kind) && a.state === 'firing' && ruleApplies(r, a.ep))
        this.#transition(ch, r, a.ep, a.instance, { holds: false, value: null, detail: null }, now);
    }
    return this.#orphans(ch, now, new Set(eps));
  }

  /** Subjects a rule evaluated on `ep` this time; its other open alerts there lost their condition. */
  #evaluate(ch: Change, r: Rule, ep: string, conds: Map<string, Observation>, now: number) {
    for (const [subject, obs] of conds) this.#transition(ch, r, ep, subject, obs, now);
    for (const a of [...this.#alerts.values()])
      if (a.rule === r.id && a.ep === ep && a.state !== 'resolved' && !conds.has(a.instance))
        this.#transition(ch, r, ep, a.instance, { holds: false, value: null, detail: null }, now);
  }

  /** Open alerts whose rule was deleted or disabled, or no longer covers their endpoint, or whose endpoint is gone. */
  #orphans(ch: Change, now: number, eps: Set<string> | null): Change {
    const byId = new Map(this.rules.map((r) => [r.id, r]));
    for (const a of [...this.#alerts.values()]) {
      if (a.state === 'resolved') continue;
      const r = byId.get(a.rule);
      if (r && ruleApplies(r, a.ep) && (!eps || eps.has(a.ep))) continue;
      if (a.state === 'pending') {
        if (a.start === null) this.#del(ch, a.id);
        else this.#put(ch, { ...a, state: 'resolved' });
      } else {
        const done: Alert = { ...a, state: 'resolved', end: now };
        this.#put(ch, done);
        if (!isSilenced(a, r, now)) ch.notes.push({ kind: 'resolve', alert: done });
      }
    }
    return ch;
  }

  #transition(ch: Change, r: Rule, ep: string, subject: string, obs: Observation, now: number) {
    const prev = this.#alerts.get(alertKey(r.id, ep, subject));
    const s = step(prev, r, ep, subject, obs, now);
    if (s.next) this.#alerts.set(s.next.id, s.next);
    if (!s.changed) return;
    if (s.next) this.#put(ch, s.next);
    else this.#del(ch, alertKey(r.id, ep, subject));
    if (s.note && s.next && !isSilenced(s.next, r, now)) ch.notes.push({ kind: s.note, alert: s.next });
  }

  #put(ch: Change, a: Alert) {
    this.#alerts.set(a.id, a);
    const i = ch.put.findIndex((x) => x.id === a.id);
    if (i >= 0) ch.put[i] = a;
    else ch.put.push(a);
  }
  #del(ch: Change, id: string) {
    this.#alerts.delete(id);
    ch.del.push(id);
    ch.put = ch.put.filter((x) => x.id !== id);
  }
}
