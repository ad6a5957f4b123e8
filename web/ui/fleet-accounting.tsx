/** Fleet overview: GPU hours by user across every agent, from each one's /v1/accounting. */
import { useEffect, useState } from 'preact/hooks';
import { validateAccounting } from '../../shared/validate.ts';
import type { Accounting } from '../../shared/wire.ts';
import { agentFetch } from '../lib/agent-api.ts';
import type { AppState } from '../lib/state.ts';

const RANGES: [string, number][] = [
  ['24h', 86_400_000],
  ['7d', 7 * 86_400_000],
  ['30d', 30 * 86_400_000],
];

export interface FleetRow {
  user: string;
  gpuH: number;
  utilH: number;
  memGibH: number;
  kwh: number;
  hosts: Record<string, number>;
}

/** Merges per-agent accounting (by user) into one row per user, most GPU hours first. */
export function mergeByUser(docs: readonly { host: string; doc: Accounting }[]): FleetRow[] {
  const m = new Map<string, FleetRow>();
  for (const { host, doc } of docs) {
    for (const g of doc.groups) {
      const user = g.group ?? '(unknown)';
      const r = m.get(user) ?? { user, gpuH: 0, utilH: 0, memGibH: 0, kwh: 0, hosts: {} };
      r.gpuH += g.total.gpu_seconds / 3600;
      r.utilH += g.total.util_gpu_seconds / 3600;
      r.memGibH += g.total.mem_gib_hours;
      r.kwh += g.total.energy_j / 3.6e6;
      r.hosts[host] = (r.hosts[host] ?? 0) + g.total.gpu_seconds / 3600;
      m.set(user, r);
    }
  }
  return [...m.values()].sort((a, b) => b.gpuH - a.gpuH);
}

export function FleetAccounting({ app }: { app: AppState }) {
  const [range, setRange] = useState('7d');
  const [rows, setRows] = useState<FleetRow[] | null>(null);
  const [errors, setErrors] = useState<string[]>([]);
  const eps = app.order.map((id) => app.eps.get(id)!).filter((s) => s && !s.ep.readOnly && s.schema && s.schema.provider !== 'none');
  const epKey = eps.map((s) => s.ep.id).join();
  useEffect(() => {
    if (!eps.length) return;
    let cancelled = false;
    const since = Date.now() - RANGES.find(([k]) => k === range)![1];
    void Promise.all(
      eps.map(async (s) => {
        try {
          const r = await agentFetch(s.ep, `/v1/accounting?by=user&since=${since}`);
          if (!r.ok) throw new Error(r.status === 404 ? 'agent too old for accounting' : `HTTP ${r.status}`);
          // One agent's bad answer leaves out its row only, with the reason: the others still add up.
          const doc = validateAccounting(await r.json().catch(() => undefined));
          if (!doc.ok) throw new Error(`accounting answer not understood: ${doc.reason}`);
          return { host: s.ep.name, doc: doc.value };
        } catch (e) {
          return { host: s.ep.name, error: (e as Error).message };
        }
      }),
    ).then((res) => {
      if (cancelled) return;
      setRows(mergeByUser(res.filter((x): x is { host: string; doc: Accounting } => 'doc' in x)));
      setErrors(res.filter((x): x is { host: string; error: string } => 'error' in x).map((x) => `${x.host}: ${x.error}`));
    });
    return () => {
      cancelled = true;
    };
  }, [range, epKey]);
  if (!eps.length) return null;
  return (
    <section class="card fleet-accounting" data-fleet-accounting>
      <h3>
        GPU hours by user{' '}
        <span class="ranges">
          {RANGES.map(([k]) => (
            <button class={k === range ? 'on' : ''} onClick={() => setRange(k)}>
              {k}
            </button>
          ))}
        </span>
      </h3>
      {rows === null ? (
        <p class="muted">asking the agents…</p>
      ) : rows.length === 0 ? (
        <p class="muted">no GPU processes in this range</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>user</th>
              <th>GPU-h</th>
              <th>busy GPU-h</th>
              <th>memory GiB·h</th>
              <th>energy kWh</th>
              <th>hosts</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr data-user={r.user}>
                <td>{r.user}</td>
                <td class="num">{r.gpuH.toFixed(2)}</td>
                <td class="num">{r.utilH.toFixed(2)}</td>
                <td class="num">{r.memGibH.toFixed(1)}</td>
                <td class="num">{r.kwh.toFixed(2)}</td>
                <td class="muted small">
                  {Object.entries(r.hosts)
                    .sort((a, b) => b[1] - a[1])
                    .map(([h, x]) => `${h} ${x.toFixed(1)}`)
                    .join(' · ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {errors.map((e) => (
        <p class="warn small">{e}</p>
      ))}
    </section>
  );
}
