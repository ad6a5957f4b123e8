/**
 * One alert per (rule, endpoint, subject), Alertmanager style: pending → firing → resolved. The
 * record is stored under its key, so a reload, a second tab or a new leader tab finds the same
 * alert and carries on from its state instead of opening another. `step` is the whole state
 * machine: it returns the next record and whether a notification-worthy transition happened.
 */
import type { Alert, AlertState } from '../../shared/alerts.ts';
import { isHitKind, type Rule } from './alert-rules.ts';

export type { Alert, AlertState };

/** A firing or resolved alert as the page and the charts list it (pending ones are not alerts yet). */
export type ShownAlert = Alert & { start: number };

export const alertKey = (rule: string, ep: string, subject: string) => `${rule}|${ep}|${subject}`;

export interface Observation {
  holds: boolean;
  value: number | null;
  detail: string | null;
  /** XID/ECC only: an error seen now, with its mark. */
  hit?: { mark: number } | null;
}

export type Note = { kind: 'fire' | 'resolve'; alert: Alert };
export interface Step {
  /** null: no record (a pending alert whose condition went away before it ever fired). */
  next: Alert | null;
  note: Note['kind'] | null;
  changed: boolean;
}

/** Advances one alert by one observation at time `now`. */
export function step(prev: Alert | undefined, rule: Rule, ep: string, subject: string, obs: Observation, now: number): Step {
  const id = alertKey(rule.id, ep, subject);
  let lastHit = prev?.lastHit ?? null;
  let mark = prev?.mark ?? null;
  let holds = obs.holds;
  if (isHitKind(rule.kind)) {
    if (obs.hit) {
      lastHit = now;
      mark = obs.hit.mark;
    }
    holds = lastHit !== null && now - lastHit < rule.forS * 1000;
  }
  const live = { label: rule.label, value: obs.value ?? prev?.value ?? null, detail: obs.detail ?? prev?.detail ?? null, lastHit, mark };
  const open = prev && prev.state !== 'resolved' ? prev : undefined;
  if (holds) {
    if (open?.state === 'firing') {
      const next = { ...open, ...live };
      return { next, note: null, changed: next.lastHit !== open.lastHit || next.label !== open.label || next.detail !== open.detail };
    }
    const since = open?.since ?? now;
    // Silence and XID/ECC have their duration inside the condition: no pending stage.
    const due = isHitKind(rule.kind) || rule.kind === 'silent' || now - since >= rule.forS * 1000;
    const base: Alert = prev
      ? { ...prev, ...live }
      : { id, rule: rule.id, ep, instance: subject, state: 'pending', since, start: null, end: null, silencedUntil: null, ...live };
    if (due) return { next: { ...base, state: 'firing', since, start: now, end: null }, note: 'fire', changed: true };
    return { next: { ...base, state: 'pending', since }, note: null, changed: !open };
  }
  if (!prev) return { next: null, note: null, changed: false };
  if (prev.state === 'firing') return { next: { ...prev, ...live, state: 'resolved', end: now }, note: 'resolve', changed: true };
  if (prev.state === 'pending')
    // Back to how the last episode ended, or gone if this key never fired.
    return prev.start === null ? { next: null, note: null, changed: true } : { next: { ...prev, ...live, state: 'resolved' }, note: null, changed: true };
  if (lastHit !== prev.lastHit || mark !== prev.mark) return { next: { ...prev, lastHit, mark }, note: null, changed: true };
  return { next: prev, note: null, changed: false };
}

/** Silenced: by its rule or by itself, until a time. Silenced alerts are listed but neither notify nor count in the nav. */
export function isSilenced(a: Alert, rule: Rule | undefined, now: number): boolean {
  return (a.silencedUntil ?? 0) > now || (rule?.silencedUntil ?? 0) > now;
}

/** The alerts the page lists: firing first (newest first), then resolved (newest end first). */
export function shown(all: Iterable<Alert>): ShownAlert[] {
  // A key pending again after it resolved still shows its last episode, as resolved.
  const list = [...all].filter((a): a is ShownAlert => a.start !== null).map((a) => (a.state === 'pending' ? { ...a, state: 'resolved' as const } : a));
  const firing = list.filter((a) => a.state === 'firing').sort((a, b) => b.start - a.start);
  const resolved = list.filter((a) => a.state !== 'firing').sort((a, b) => (b.end ?? 0) - (a.end ?? 0));
  return [...firing, ...resolved];
}

/** Firing and not silenced: what the navigation counts. */
export function countFiring(all: Iterable<Alert>, rules: readonly Rule[], now: number): number {
  const byId = new Map(rules.map((r) => [r.id, r]));
  let n = 0;
  for (const a of all) if (a.state === 'firing' && !isSilenced(a, byId.get(a.rule), now)) n++;
  return n;
}

/** Silence choices offered on the page: a period from now, or until a given time. */
export const SILENCE_PERIODS: [string, number][] = [
  ['15 m', 15 * 60_000],
  ['1 h', 3_600_000],
  ['4 h', 4 * 3_600_000],
  ['24 h', 86_400_000],
];
