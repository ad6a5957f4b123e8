/** Alert rules (per endpoint or all) and the list of firing and resolved alerts. */
import { useState } from 'preact/hooks';
import { formatDuration, parseDuration } from '../../shared/duration.ts';
import { validateRule } from '../lib/alerts.ts';
import type { AppState } from '../lib/state.ts';

const METRICS: [string, string, string][] = [
  ['gpu*.temp', 'GPU temperature', '°C'],
  ['gpu*.util', 'GPU utilization', '%'],
  ['gpu*.mem.pct', 'GPU memory used', '%'],
  ['gpu*.power', 'GPU power', 'W'],
  ['host.cpu.util', 'Host CPU', '%'],
  ['host.mem.pct', 'Host memory used', '%'],
  ['status.offline', 'Endpoint offline / unreachable', ''],
];

export function AlertsView({ app }: { app: AppState }) {
  const [err, setErr] = useState('');
  const [perm, setPerm] = useState(typeof Notification !== 'undefined' ? Notification.permission : 'unsupported');
  const name = (id: string) => (id === '*' ? 'all endpoints' : (app.eps.get(id)?.ep.name ?? id));
  const firing = app.alertLog.filter((a) => a.end === null);
  const resolved = app.alertLog.filter((a) => a.end !== null).slice(0, 100);
  const add = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const forMs = parseDuration(String(f.get('for') || '0'));
    const rule = {
      id: crypto.randomUUID(),
      ep: String(f.get('ep')),
      metric: String(f.get('metric')),
      op: String(f.get('op')) as '>' | '<',
      threshold: Number(f.get('threshold')),
      forS: forMs === null ? NaN : forMs / 1000,
      label: String(f.get('label') || '').trim(),
    };
    if (rule.metric === 'status.offline') Object.assign(rule, { op: '>', threshold: 0 });
    if (!rule.label)
      rule.label =
        rule.metric === 'status.offline'
          ? `offline for ${formatDuration(rule.forS * 1000)}`
          : `${METRICS.find((m) => m[0] === rule.metric)?.[1] ?? rule.metric} ${rule.op} ${rule.threshold} for ${formatDuration(rule.forS * 1000)}`;
    const problem = validateRule(rule);
    if (problem) {
      setErr(problem);
      return;
    }
    setErr('');
    await app.saveRule(rule);
    (e.target as HTMLFormElement).reset();
  };
  return (
    <section class="alerts">
      <div class="card">
        <h2>Alerts {firing.length > 0 && <span class="badge st-error">{firing.length} firing</span>}</h2>
        <table class="alert-list">
          <thead>
            <tr>
              <th>alert</th>
              <th>endpoint</th>
              <th>on</th>
              <th>since</th>
              <th>until</th>
            </tr>
          </thead>
          <tbody>
            {firing.map((a) => (
              <tr class="firing" data-alert="firing">
                <td>
                  <b class="warn">FIRING</b> {a.label}
                </td>
                <td>{name(a.ep)}</td>
                <td>{a.instance}</td>
                <td>{new Date(a.start).toLocaleString()}</td>
                <td>—</td>
              </tr>
            ))}
            {resolved.map((a) => (
              <tr data-alert="resolved">
                <td>resolved · {a.label}</td>
                <td>{name(a.ep)}</td>
                <td>{a.instance}</td>
                <td>{new Date(a.start).toLocaleString()}</td>
                <td>{new Date(a.end!).toLocaleString()}</td>
              </tr>
            ))}
            {!app.alertLog.length && (
              <tr>
                <td colSpan={5} class="muted">
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
        <table>
          <tbody>
            {app.alerts.rules.map((r) => (
              <tr data-rule={r.label}>
                <td>{r.label}</td>
                <td>{name(r.ep)}</td>
                <td>
                  <button class="danger" onClick={() => void app.deleteRule(r.id)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
            {!app.alerts.rules.length && (
              <tr>
                <td class="muted">No rules.</td>
              </tr>
            )}
          </tbody>
        </table>
        <form class="form inline" onSubmit={add}>
          <label>
            Endpoint{' '}
            <select name="ep">
              <option value="*">all endpoints</option>
              {app.order.map((id) => (
                <option value={id}>{app.eps.get(id)!.ep.name}</option>
              ))}
            </select>
          </label>
          <label>
            Metric{' '}
            <select name="metric">
              {METRICS.map(([k, l, u]) => (
                <option value={k}>
                  {l}
                  {u ? ` (${u})` : ''}
                </option>
              ))}
            </select>
          </label>
          <label>
            Is{' '}
            <select name="op">
              <option value=">">&gt;</option>
              <option value="<">&lt;</option>
            </select>
          </label>
          <label>
            Threshold <input name="threshold" type="number" step="any" defaultValue="85" size={6} />
          </label>
          <label>
            For <input name="for" defaultValue="60s" size={6} />
          </label>
          <label>
            Label <input name="label" placeholder="GPU hot" />
          </label>
          <button>Add rule</button>
        </form>
        {err && <p class="warn">{err}</p>}
      </div>
    </section>
  );
}
