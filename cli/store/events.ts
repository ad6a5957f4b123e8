/**
 * Events and annotations: a time-ordered list; agent-made ones are read-only.
 *
 * Agent events and user annotations have separate budgets, so a burst of agent events (processes
 * churning on a GPU) cannot evict annotations and a flood of annotations cannot evict agent events.
 * Within a budget the oldest (by t) goes first; if that would be the event being added, it is not
 * added and `add` returns null, so the API never answers 201 for an event it does not keep.
 */
import { EVENT_COLOR_RE, type AgentEvent, type EventSource } from '../../shared/wire.ts';

/** A change to a user event: only the fields present are changed; null clears end_t or color. */
export type EventInput = { label?: string; t?: number; end_t?: number | null; color?: string | null };

export interface EventBudgets {
  agent: number;
  user: number;
}

export class EventStore {
  #list: AgentEvent[] = [];
  #count: Record<EventSource, number> = { agent: 0, user: 0 };
  #seq = 0;
  readonly budgets: EventBudgets;
  onChange: ((e: AgentEvent, op: 'add' | 'update' | 'delete') => void) | null = null;

  constructor(budgets: Partial<EventBudgets> = {}) {
    this.budgets = { agent: budgets.agent ?? 10_000, user: budgets.user ?? 10_000 };
  }

  get size() {
    return this.#list.length;
  }
  count(source: EventSource) {
    return this.#count[source];
  }
  all(): readonly AgentEvent[] {
    return this.#list;
  }

  since(t: number): AgentEvent[] {
    return this.#list.filter((e) => e.t > t || (e.end_t ?? -Infinity) > t);
  }
  get(id: string) {
    return this.#list.find((e) => e.id === id);
  }

  /**
   * Restores persisted events (keeps ids); used at startup. Each source keeps its newest within
   * budget. Anything not marked user is the agent's (read-only), as the API treats it; a colour the
   * agent no longer accepts (older agents saved `#rgba`, `#12345`) is cleared, keeping the event.
   */
  load(events: AgentEvent[]) {
    const norm = events.map((e): AgentEvent => ({
      ...e,
      source: e.source === 'user' ? 'user' : 'agent',
      ...(e.color != null && !(typeof e.color === 'string' && EVENT_COLOR_RE.test(e.color)) && { color: null }),
    }));
    const keep = (s: EventSource) =>
      norm
        .filter((e) => e.source === s)
        .sort((a, b) => a.t - b.t)
        .slice(-this.budgets[s]);
    const agent = keep('agent'),
      user = keep('user');
    this.#list = [...agent, ...user].sort((a, b) => a.t - b.t);
    this.#count = { agent: agent.length, user: user.length };
    for (const e of this.#list) {
      const n = Number(e.id.split('-')[1]);
      if (n >= this.#seq) this.#seq = n + 1;
    }
  }

  /** Adds an event; null when its budget is full of newer events (it would be the one evicted). */
  add(e: Omit<AgentEvent, 'id'>): AgentEvent | null {
    const source: EventSource = e.source === 'user' ? 'user' : 'agent';
    if (this.#count[source] >= this.budgets[source]) {
      const oldest = this.#list.findIndex((x) => x.source === source);
      if (oldest >= 0 && this.#list[oldest]!.t > e.t) return null;
      if (oldest >= 0) {
        this.#list.splice(oldest, 1);
        this.#count[source]--;
      }
    }
    const ev: AgentEvent = { ...e, id: `${source === 'agent' ? 'a' : 'u'}-${this.#seq++}` };
    // Keep time order: most events arrive in order, so scan from the end.
    let i = this.#list.length;
    while (i > 0 && this.#list[i - 1]!.t > ev.t) i--;
    this.#list.splice(i, 0, ev);
    this.#count[source]++;
    this.onChange?.(ev, 'add');
    return ev;
  }

  update(id: string, patch: EventInput): AgentEvent | 'not_found' | 'read_only' | 'end_before_start' {
    const ev = this.get(id);
    if (!ev) return 'not_found';
    if (ev.source !== 'user') return 'read_only';
    const next = {
      label: patch.label ?? ev.label,
      t: patch.t ?? ev.t,
      end_t: patch.end_t === undefined ? (ev.end_t ?? null) : patch.end_t,
      color: patch.color === undefined ? (ev.color ?? null) : patch.color,
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
    this.#count.user--;
    this.onChange?.(ev, 'delete');
    return ev;
  }
}
