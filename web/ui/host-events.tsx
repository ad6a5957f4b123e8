/**
 * Events and annotations of a host view: read from IndexedDB with the range, turned into chart
 * marks (scoped: a GPU's event only on that GPU's charts), listed in words, and the user's own
 * annotations added, edited, ended or deleted on the agent (so every browser sees the change).
 */
import { useEffect, useState } from 'preact/hooks';
import { eventKindWords, explainEvent } from '../../shared/explain.ts';
import { agentFetch } from '../lib/agent-api.ts';
import { editBody } from '../lib/annotation-edit.ts';
import type { StoredEvent } from '../lib/db.ts';
import type { AppState, EpState } from '../lib/state.ts';
import type { Mark } from './chart-marks.ts';

/** Events overlapping [from, to]; read again when the endpoint's events change (rev), not every tick. */
export function useEvents(app: AppState, s: EpState | undefined, id: string, from: number, to: number | undefined): StoredEvent[] {
  const [events, setEvents] = useState<StoredEvent[]>([]);
  useEffect(() => {
    if (!s) return;
    let cancelled = false;
    void app.db.getAllFromIndex('events', 'byTime', IDBKeyRange.bound([id, from - 86400e3], [id, Infinity])).then((e) => {
      if (!cancelled) setEvents(e.filter((x) => (x.end_t ?? x.t) >= from && x.t <= (to ?? Infinity)));
    });
    return () => {
      cancelled = true;
    };
  }, [id, Math.floor(from / 60_000), to, s?.rev]);
  return events;
}

const SCOPE_RE = /^(host|gpu\d+)$/;

/** Chart marks: events in words, and this endpoint's alerts as red bands on the charts of what they concern. */
export function marksOf(app: AppState, id: string, events: StoredEvent[], from: number): Mark[] {
  const alerts = app.alertLog
    .filter((a) => a.ep === id && (a.end ?? Infinity) >= from)
    .map((a) => ({
      t: a.start,
      end: a.end ?? Date.now(),
      label: `⚠ ${a.label} (${a.instance})`,
      color: '#dc2626',
      scope: SCOPE_RE.test(a.instance) ? a.instance : null,
    }));
  return [...events.map((e) => ({ t: e.t, end: e.end_t, label: e.source === 'agent' ? explainEvent(e) : e.label, color: e.color, scope: e.scope })), ...alerts];
}

/** Events and annotations in the shown range; the user's own can be edited or deleted. */
export function EventList({ s, events }: { s: EpState; events: StoredEvent[] }) {
  if (!events.length) return null;
  const call = (method: 'PUT' | 'DELETE', id: string, body?: unknown) => agentFetch(s.ep, `/v1/events/${encodeURIComponent(id)}`, { method, body });
  return (
    <div class="card events">
      <h3>Events in this range</h3>
      <table>
        <tbody>
          {[...events]
            .reverse()
            .slice(0, 200)
            .map((e) => (
              <tr data-event={e.label} data-kind={e.kind ?? e.source}>
                <td class="num">
                  {new Date(e.t).toLocaleString()}
                  {e.end_t ? ` → ${new Date(e.end_t).toLocaleTimeString()}` : ''}
                </td>
                <td class="muted">{eventKindWords(e.kind, e.source)}</td>
                <td>
                  {e.color && <i class="swatch" style={{ background: e.color }} />}
                  {e.source === 'agent' ? explainEvent(e) : e.label}
                </td>
                <td>
                  {e.source === 'user' && !s.ep.readOnly && (
                    <>
                      <button
                        onClick={() => {
                          const l = prompt('Annotation label', e.label);
                          if (l && l.trim()) void call('PUT', e.id, editBody(e, { label: l.trim() }));
                        }}
                      >
                        Edit
                      </button>
                      <button onClick={() => void call('PUT', e.id, editBody(e, { end_t: Date.now() }))} disabled={!!e.end_t}>
                        End now
                      </button>
                      <button
                        class="danger"
                        onClick={() => {
                          if (confirm(`Delete "${e.label}"?`)) void call('DELETE', e.id);
                        }}
                      >
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
}

/** Annotations: posted to the agent (so every browser and Prometheus user sees them). */
export function Annotate({ s }: { s: EpState }) {
  const [label, setLabel] = useState('');
  const [msg, setMsg] = useState('');
  if (s.ep.readOnly) return null;
  const add = async (e: Event) => {
    e.preventDefault();
    if (!label.trim()) return;
    try {
      const r = await agentFetch(s.ep, '/v1/events', { method: 'POST', body: { label } });
      if (!r.ok) throw new Error(((await r.json().catch(() => ({}))) as { error?: string }).error ?? `HTTP ${r.status}`);
      setLabel('');
      setMsg('annotation added');
    } catch (err) {
      setMsg(`could not add: ${(err as Error).message}`);
    }
  };
  return (
    <form class="annotate" onSubmit={add}>
      <input placeholder="Annotate now, e.g. run 42 start" value={label} onInput={(e) => setLabel((e.target as HTMLInputElement).value)} />
      <button>Add annotation</button> <span class="muted small">{msg}</span>
    </form>
  );
}
