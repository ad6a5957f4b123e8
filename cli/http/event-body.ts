/**
 * Event bodies, validated before anything is stored: a 400 naming the first bad field.
 *
 * POST creates (label required). PUT and PATCH on an existing event change only the fields the
 * body names, so an edit of the label keeps the range and colour it had; an explicit `null`
 * clears `end_t` or `color`. (PUT used to replace the whole event and so cleared them.)
 * A `t` more than a day ahead is refused: clocks disagree by seconds, not days, and a far-future
 * annotation would sit at the newest end of the store forever.
 */
import { badParam } from './errors.ts';
import { EVENT_COLOR_RE } from '../../shared/wire.ts';

export interface NewEvent {
  label: string;
  t: number;
  end_t: number | null;
  color: string | null;
}
/** Only the fields present are changed; null clears. */
export interface EventPatch {
  label?: string;
  t?: number;
  end_t?: number | null;
  color?: string | null;
}

export const MAX_FUTURE_MS = 86_400_000;
const FIELDS = ['label', 't', 'end_t', 'color'] as const;

function object(text: string): Record<string, unknown> {
  let b: unknown;
  try {
    b = JSON.parse(text);
  } catch {
    throw badParam('body', 'must be JSON');
  }
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw badParam('body', 'must be a JSON object');
  return b as Record<string, unknown>;
}

function label(v: unknown): string {
  if (typeof v !== 'string' || !v.trim()) throw badParam('label', 'must be a non-empty string');
  if (v.length > 500) throw badParam('label', 'longer than 500 characters');
  return v.trim();
}
function time(field: 't' | 'end_t', v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw badParam(field, 'must be a millisecond timestamp');
  return v;
}
function start(v: unknown, now: number): number {
  const t = time('t', v);
  if (t > now + MAX_FUTURE_MS) throw badParam('t', `more than a day in the future (${new Date(t).toISOString()})`);
  return t;
}
function color(v: unknown): string {
  if (typeof v !== 'string' || !EVENT_COLOR_RE.test(v)) throw badParam('color', 'must be a #rgb or #rrggbb colour');
  return v;
}

export function parseNewEvent(text: string, now = Date.now()): NewEvent {
  const o = object(text);
  const t = o.t === undefined ? now : start(o.t, now);
  const end = o.end_t == null ? null : time('end_t', o.end_t);
  if (end !== null && end < t) throw badParam('end_t', 'must not be before t');
  return { label: label(o.label), t, end_t: end, color: o.color == null ? null : color(o.color) };
}

/** The fields to change. The end_t ≥ t check needs the stored event, so the store makes it. */
export function parseEventPatch(text: string, now = Date.now()): EventPatch {
  const o = object(text);
  const p: EventPatch = {};
  if (o.label !== undefined) p.label = label(o.label);
  if (o.t !== undefined) p.t = start(o.t, now);
  if (o.end_t !== undefined) p.end_t = o.end_t === null ? null : time('end_t', o.end_t);
  if (o.color !== undefined) p.color = o.color === null ? null : color(o.color);
  if (!FIELDS.some((f) => f in p)) throw badParam('body', `names no field to change (${FIELDS.join(', ')})`);
  return p;
}
