/**
 * Alerts and rules in IndexedDB, and the notifications. Each alert is one `meta` record keyed
 * `alert:<rule>|<ep>|<subject>` (no schema upgrade needed), written in one transaction per change
 * before anything is notified: a reload or a new leader reads the same records back, so a
 * transition is notified once and an alert is never listed twice.
 */
import type { DB } from './db.ts';
import type { Alert, Note } from './alert-lifecycle.ts';
import { normalizeRule, type Rule } from './alert-rules.ts';
import type { Change } from './alerts.ts';

const PREFIX = 'alert:';
const range = () => IDBKeyRange.bound(PREFIX, PREFIX + '\uffff');
/** Resolved alerts are kept this long after they end, then pruned. */
export const KEEP_RESOLVED_MS = 7 * 86_400_000;

export async function loadRules(db: DB): Promise<Rule[]> {
  const rules: Rule[] = [];
  for (const s of await db.getAll('alerts')) {
    const r = normalizeRule(s);
    if (r) rules.push(r);
    else console.warn('gpulse: ignoring a stored alert rule that does not validate', s);
  }
  // Oldest first: the table keeps its order as rules are added (ids are random).
  return rules.sort((a, b) => a.created - b.created);
}

export async function loadAlerts(db: DB, now = Date.now()): Promise<Alert[]> {
  const tx = db.transaction('meta', 'readwrite');
  const all = (await tx.store.getAll(range())) as Alert[];
  const keep = all.filter((a) => a.state !== 'resolved' || (a.end ?? now) > now - KEEP_RESOLVED_MS);
  await Promise.all([
    ...all.filter((a) => !keep.includes(a)).map((a) => tx.store.delete(PREFIX + a.id)),
    // The list before alerts had keys: it duplicated on reload and never resolved, so it goes.
    tx.store.delete('alertlog'),
    tx.done,
  ]);
  return keep;
}

export async function saveChange(db: DB, ch: Change) {
  if (!ch.put.length && !ch.del.length) return;
  const tx = db.transaction('meta', 'readwrite');
  await Promise.all([...ch.put.map((a) => tx.store.put(a, PREFIX + a.id)), ...ch.del.map((id) => tx.store.delete(PREFIX + id)), tx.done]);
}

/** One system notification per transition, when the user allowed them; the tag makes a resolve replace its fire. */
export function notify(notes: readonly Note[], endpointName: (id: string) => string) {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  for (const { kind, alert: a } of notes) {
    const what = [a.instance, a.detail ?? (a.value != null ? `= ${+a.value.toFixed(2)}` : '')].filter(Boolean).join(' ');
    try {
      new Notification(kind === 'fire' ? `gpulse: ${a.label}` : `gpulse: resolved · ${a.label}`, {
        body: `${endpointName(a.ep)} ${what}`.trim(),
        tag: a.id,
      });
    } catch {
      /* some platforms only allow service-worker notifications */
    }
  }
}
