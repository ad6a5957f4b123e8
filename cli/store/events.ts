/** Events and annotations: a bounded, time-ordered list; agent-made ones are read-only. */
import type { AgentEvent } from '../../shared/wire.ts';

/** A change to a user event: only the fields present are changed; null clears end_t or color. */
export type EventInput = { label?: string; t?: number; end_t?: number | null; color?: string | null };

export class EventStore {
  #list: AgentEvent[] = [];
  #seq = 0;
  onChange: ((e: AgentEvent, op: 'add' | 'update' | 'delete') => void) | null = null;

  constructor(readonly max = 10_000) {}

  get size() { return this.#list.length; }
  all(): readonly AgentEvent[] { return this.#list; }

  since(t: number): AgentEvent[] { return this.#list.filter((e) => e.t > t || (e.end_t ?? -Infinity) > t); }
  get(id: string) { return this.#list.find((e) => e.id === id); }

  /** Restores persisted events (keeps ids); used at startup. */
  load(events: AgentEvent[]) {
    this.#list = events.slice(-this.max).sort((a, b) => a.t - b.t);
    for (const e of this.#list) { const n = Number(e.id.split('-')[1]); if (n >= this.#seq) this.#seq = n + 1; }
  }

  add(e: Omit<AgentEvent, 'id'>): AgentEvent {
    const ev: AgentEvent = { ...e, id: `${e.source === 'agent' ? 'a' : 'u'}-${this.#seq++}` };
    // Keep time order: most events arrive in order, so scan from the end.
    let i = this.#list.length;
    while (i > 0 && this.#list[i - 1]!.t > ev.t) i--;
    this.#list.splice(i, 0, ev);
    if (this.#list.length > this.max) this.#list.shift();
    this.onChange?.(ev, 'add');
    return ev;
  }

  update(id: string, patch: EventInput): AgentEvent | 'not_found' | 'read_only' | 'end_before_start' {
    const ev = this.get(id);
    if (!ev) return 'not_found';
    if (ev.source !== 'user') return 'read_only';
    const next = {
      label: patch.label ?? ev.label, t: patch.t ?? ev.t,
      end_t: patch.end_t === undefined ? ev.end_t ?? null : patch.end_t, color: patch.color === undefined ? ev.color ?? null : patch.color,
    };
    // Checked on the merged event: a new t may pass an end_t the body did not name.
    if (next.end_t !== null && next.end_t < next.t) return 'end_before_start';
    Object.assign(ev, next);
    this.#list.sort((a, b) => a.t - b.t);
    this.onChange?.(ev, 'update');
    return ev;
  }

  remove(id: string): AgentEvent | 'not_found' | 'read_only' {
    const i = this.#list.findIndex((e) => e.id === id);
    if (i < 0) return 'not_found';
    const ev = this.#list[i]!;
    if (ev.source !== 'user') return 'read_only';
    this.#list.splice(i, 1);
    this.onChange?.(ev, 'delete');
    return ev;
  }
}
