/** The alerts page: firing, silenced and resolved alerts (one row per rule and subject), and the rules. */
import { useState } from 'preact/hooks';
import { fmtUnit } from '../../shared/format.ts';
import { isSilenced, type ShownAlert } from '../lib/alert-lifecycle.ts';
import { describeRule, type Rule } from '../lib/alert-rules.ts';
import { unitOf } from '../lib/alert-metrics.ts';
import type { AppState } from '../lib/state.ts';
import { RuleForm, useMetricGroups } from './alert-form.tsx';
import { fmtUntil, SilenceControl } from './silence.tsx';

type Row = { a: ShownAlert; rule: Rule | undefined; silenced: boolean };

export function AlertsView({ app }: { app: AppState }) {
  const [perm, setPerm] = useState(typeof Notification !== 'undefined' ? Notification.permission : 'unsupported');
  const [editing, setEditing] = useState<Rule | null>(null);
  const [formN, setFormN] = useState(0);
  const now = Date.now();
  const name = (id: string) => (id === '*' ? 'all endpoints' : (app.eps.get(id)?.ep.name ?? id));
  const rules = app.alerts.rules;
  const byId = new Map(rules.map((r) => [r.id, r]));
  const rows: Row[] = app.alerts.list.map((a) => ({ a, rule: byId.get(a.rule), silenced: isSilenced(a, byId.get(a.rule), now) }));
  const firing = rows.filter((r) => r.a.state === 'firing' && !r.silenced).length;
  const groups = useMetricGroups(app);
  const value = (r: Row) => {
    if (r.a.detail) return r.a.detail;
    const unit = r.rule?.kind === 'threshold' ? unitOf(r.rule.metric.replace(/^gpu\*\./, 'gpu0.'), groups) || unitOf(r.rule.metric, groups) : '';
    return r.a.value == null ? '' : fmtUnit(r.a.value, unit);
  };
  const save = (r: Rule, patch: Partial<Rule>) => void app.alerts.saveRule({ ...r, ...patch } as Rule);
  return (
    <section class="alerts">
      <div class="card">
        <h2>Alerts {firing > 0 && <span class="badge st-error">{firing} firing</span>}</h2>
        <table class="alert-list">
          <thead>
            <tr>
              <th>alert</th>
              <th>endpoint</th>
              <th>on</th>
              <th>value</th>
              <th>since</th>
              <th>until</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const st = r.a.state === 'firing' ? (r.silenced ? 'silenced' : 'firing') : 'resolved';
              return (
                <tr class={st} data-alert={st} data-alert-id={r.a.id}>
                  <td>
                    {st === 'firing' ? <b class="warn">FIRING</b> : st === 'silenced' ? <b class="muted">SILENCED</b> : <span class="ok">resolved</span>}{' '}
                    {r.a.label}
                  </td>
                  <td>{name(r.a.ep)}</td>
                  <td>{r.a.instance}</td>
                  <td>{value(r)}</td>
                  <td>{new Date(r.a.start).toLocaleString()}</td>
                  <td>{r.a.state === 'firing' ? '—' : r.a.end ? new Date(r.a.end).toLocaleString() : ''}</td>
                  <td>
                    {r.a.state === 'firing' &&
                      (r.rule?.silencedUntil && r.rule.silencedUntil > now ? (
                        <span class="muted">rule silenced until {fmtUntil(r.rule.silencedUntil)}</span>
                      ) : (
                        <SilenceControl until={r.a.silencedUntil} onSilence={(u) => app.alerts.silenceAlert(r.a.id, u)} />
                      ))}
                  </td>
                </tr>
              );
            })}
            {!rows.length && (
              <tr>
                <td colSpan={7} class="muted">
                  No alerts yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
        <p class="small">
          System notifications:{' '}
          {perm === 'granted' ? (
            'on'
          ) : perm === 'denied' ? (
            'blocked in the browser settings'
          ) : perm === 'unsupported' ? (
            'not supported here'
          ) : (
            <button onClick={() => void Notification.requestPermission().then(setPerm)}>Enable notifications</button>
          )}
          <span class="muted"> · alerts are evaluated in this browser while gpulse is open in a tab</span>
        </p>
      </div>
      <div class="card">
        <h2>Rules</h2>
        <table class="rule-list">
          <tbody>
            {rules.map((r) => (
              <tr data-rule={r.label} class={r.enabled ? '' : 'muted'}>
                <td>{r.label}</td>
                <td class="muted">{describeRule(r)}</td>
                <td>{name(r.ep)}</td>
                <td>{r.enabled ? <SilenceControl until={r.silencedUntil} onSilence={(u) => save(r, { silencedUntil: u })} /> : 'disabled'}</td>
                <td>
                  <button onClick={() => setEditing(r)}>Edit</button>{' '}
                  <button onClick={() => save(r, { enabled: !r.enabled })}>{r.enabled ? 'Disable' : 'Enable'}</button>{' '}
                  <button class="danger" onClick={() => void app.alerts.deleteRule(r.id)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
            {!rules.length && (
              <tr>
                <td class="muted">No rules.</td>
              </tr>
            )}
          </tbody>
        </table>
        {editing && <h3>Edit “{editing.label}”</h3>}
        <RuleForm
          app={app}
          groups={groups}
          editing={editing}
          onDone={() => {
            setEditing(null);
            setFormN(formN + 1);
          }}
          key={`${editing?.id ?? 'new'}-${formN}`}
        />
      </div>
    </section>
  );
}
