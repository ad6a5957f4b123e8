/**
 * Who uses the GPUs: who is on each GPU now (from the snapshot's process lists), and GPU memory and
 * utilization by user over the shown range as stacked charts (from the agent's accounting timeline,
 * which knows the owners of processes that have ended).
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { fmtUnit } from '../../shared/format.ts';
import { followWidth, seriesColor, themedAxes, useScheme } from './chart.tsx';
import { validateAccountingTimeline } from '../../shared/validate.ts';
import type { AccountingTimeline, GpuProcess } from '../../shared/wire.ts';
import { agentFetch } from '../lib/agent-api.ts';
import type { EpState } from '../lib/state.ts';
import { useAnswer } from './bits.tsx';

interface UserOnGpu {
  user: string;
  procs: number;
  mem: number;
  sm: number | null;
  what: string[];
}

/** A GPU's processes folded by user: count, memory, SM % (null when the agent cannot tell), what they run. */
export function usersOn(procs: readonly GpuProcess[]): UserOnGpu[] {
  const m = new Map<string, UserOnGpu>();
  for (const p of procs) {
    const u = p.user ?? '?';
    const e = m.get(u) ?? { user: u, procs: 0, mem: 0, sm: null, what: [] };
    e.procs++;
    e.mem += p.gpu_mem ?? 0;
    if (typeof p.sm_util === 'number') e.sm = (e.sm ?? 0) + p.sm_util;
    const what = p.job
      ? `job ${p.job}`
      : p.pod
        ? `pod ${p.namespace ? p.namespace + '/' : ''}${p.pod}`
        : (p.command ?? '')
            .split(' ')
            .slice(0, 2)
            .map((w) => w.slice(w.lastIndexOf('/') + 1))
            .join(' ');
    if (what && !e.what.includes(what)) e.what.push(what);
    m.set(u, e);
  }
  return [...m.values()].sort((a, b) => b.mem - a.mem);
}

export function WhoIsOnGpus({ s }: { s: EpState }) {
  const gpus = s.extras?.gpus ?? [];
  if (!gpus.some((g) => g.processes.length)) return null;
  return (
    <div class="card who">
      <h3>Who is on the GPUs</h3>
      <table>
        <thead>
          <tr>
            <th>GPU</th>
            <th>user</th>
            <th>processes</th>
            <th>memory</th>
            <th>SM</th>
            <th>running</th>
          </tr>
        </thead>
        <tbody>
          {gpus.flatMap((g) =>
            usersOn(g.processes).map((u, i) => (
              <tr data-gpu={g.index} data-user={u.user}>
                <td class="num">{i === 0 ? g.index : ''}</td>
                <td>{u.user}</td>
                <td class="num">{u.procs}</td>
                <td class="num">{fmtUnit(u.mem, 'B')}</td>
                <td class="num">{fmtUnit(u.sm, '%', { digits: 0 })}</td>
                <td class="muted small">{u.what.slice(0, 3).join(', ')}</td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </div>
  );
}

/** The two stacked by-user charts: what the agent's timeline holds for each metric, and how it is shown. */
const BY_USER = {
  mem: { chart: 'memory-by-user', caption: 'GPU memory by user', unit: 'B', scale: 1, yMin: 1 },
  // The agent counts SM use in GPUs (a process at 50 % is 0.5): shown as %, 100 % = one GPU busy.
  sm: { chart: 'utilization-by-user', caption: 'GPU utilization by user (100 % = one GPU busy)', unit: '%', scale: 100, yMin: 100 },
} as const;
type ByUserMetric = keyof typeof BY_USER;

/** GPU memory and utilization by user over [from, to], each stacked, side by side. Needs the agent online. */
export function GpuUseByUser(p: { s: EpState; from: number; to: number; refresh: number }) {
  if (p.s.ep.readOnly) return null;
  return (
    <div class="charts by-user">
      <ByUser {...p} metric="mem" />
      <ByUser {...p} metric="sm" />
    </div>
  );
}

function ByUser({ s, from, to, refresh, metric }: { s: EpState; from: number; to: number; refresh: number; metric: ByUserMetric }) {
  const { value: doc, err } = useAnswer(
    () =>
      agentFetch(s.ep, `/v1/accounting/timeline?by=user&metric=${metric}&since=${Math.floor(from)}&until=${Math.ceil(to)}&max_points=300`).then(async (r) => {
        if (!r.ok) throw new Error(r.status === 404 ? 'this agent is too old for accounting' : `HTTP ${r.status}`);
        const d = validateAccountingTimeline(await r.json().catch(() => undefined));
        if (!d.ok) throw new Error(`accounting answer not understood: ${d.reason}`);
        return d.value;
      }),
    [s.ep.id, metric, Math.floor(from / 60_000), Math.floor(to / 60_000), refresh],
  );
  if (!doc?.groups.length && !err) return null;
  const m = BY_USER[metric];
  return (
    <figure class="chart stacked" data-chart={m.chart}>
      <figcaption>
        {m.caption}
        {err && <span class="warn small"> · {err}</span>}
      </figcaption>
      {doc && doc.groups.length > 0 && <Stacked doc={doc} metric={metric} from={from} to={to} />}
    </figure>
  );
}

/** uPlot draws each group's cumulative total, top first, so each band shows one user's share. */
function Stacked({ doc, metric, from, to }: { doc: AccountingTimeline; metric: ByUserMetric; from: number; to: number }) {
  const el = useRef<HTMLDivElement>(null);
  // The range moves every render while live: read it through a ref, rebuild only for new data.
  const range = useRef<[number, number]>([from, to]);
  range.current = [from, to];
  const scheme = useScheme();
  useEffect(() => {
    const host = el.current!;
    const { unit, scale, yMin } = BY_USER[metric];
    const names = doc.groups.map((g) => g.group ?? '(unknown)');
    const shown = doc.groups.map((g) => g.values.map((v) => v * scale));
    const cum: number[][] = [];
    shown.forEach((vs, i) => cum.push(vs.map((v, j) => v + (i ? cum[i - 1]![j]! : 0))));
    const order = cum.map((_, i) => cum.length - 1 - i); // top of the stack drawn first, the rest over it
    const p = new uPlot(
      {
        width: host.clientWidth || 600,
        height: 200,
        ms: 1,
        scales: { x: { time: true, range: () => range.current }, y: { range: (_u, _a, max) => [0, Math.max(yMin, max)] } },
        // As the host charts' axes, with a fixed-width y axis.
        axes: themedAxes(unit, 70),
        legend: { live: true },
        series: [
          {},
          ...order.map((i) => ({
            label: names[i]!,
            stroke: seriesColor(i),
            fill: seriesColor(i) + 'cc',
            width: 1,
            points: { show: false },
            // A bucket holds from its start to the next: steps, not slopes.
            paths: uPlot.paths.stepped!({ align: 1 }),
            // The legend shows the user's own share, not the running total.
            value: (_u: uPlot, _v: number | null, _s: number, idx: number | null) =>
              idx == null ? '—' : fmtUnit(shown[i]![idx] ?? null, unit, unit === '%' ? { digits: 0 } : undefined),
          })),
        ],
      },
      [[...doc.t, doc.t.at(-1)! + doc.step_ms], ...order.map((i) => [...cum[i]!, cum[i]!.at(-1)!])],
      host,
    ); // the last bucket drawn to its end
    const unfollow = followWidth(host, p, 200);
    return () => {
      unfollow();
      p.destroy();
    };
  }, [doc, scheme]);
  return <div ref={el} />;
}
