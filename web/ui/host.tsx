/** Host view: badges, one card per GPU with its processes, and range charts with synchronized cursors. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { AlignedData } from 'uplot';
import { fmtBytes, fmtNum, fmtRate, fmtUptime } from '../../shared/format.ts';
import type { StoredEvent } from '../lib/db.ts';
import type { Series } from '../lib/series.ts';
import type { AppState, EpState } from '../lib/state.ts';
import { val } from '../lib/values.ts';
import { agentFetch } from '../lib/agent-api.ts';
import { exportCsv, exportJson } from '../lib/export.ts';
import { Bar, COLORS, StatusBadge, shortName } from './bits.tsx';
import { Chart, type ChartSeries } from './chart.tsx';
import { MemoryByUser, WhoIsOnGpus } from './gpu-people.tsx';
import { UserSeriesSection } from './user-series.tsx';
import { useRangeSeries, type RangeView } from './use-series.ts';

export const RANGES: [string, number][] = [
  ['1m', 60e3],
  ['5m', 300e3],
  ['15m', 900e3],
  ['30m', 1800e3],
  ['1h', 3600e3],
  ['3h', 10800e3],
  ['6h', 21600e3],
  ['12h', 43200e3],
  ['24h', 86400e3],
  ['7d', 604800e3],
  ['30d', 2592000e3],
];

export type View = RangeView;

/** Gaps stay gaps: NaN → null, and a break longer than 3 intervals gets an explicit null point. */
function aligned(series: Series, make: ((g: (k: string) => number) => number)[], gapMs: number): AlignedData {
  const xs: number[] = [];
  const ys: (number | null)[][] = make.map(() => []);
  const t = series.t;
  let i = 0;
  const none = new Float64Array(0);
  const cols = new Map<string, Float64Array>();
  const g = (k: string) => {
    let c = cols.get(k);
    if (!c) cols.set(k, (c = series.cols.get(k) ?? none));
    return c[i] ?? NaN;
  };
  for (; i < t.length; i++) {
    if (i > 0 && t[i]! - t[i - 1]! > gapMs) {
      xs.push(t[i - 1]! + 1);
      ys.forEach((y) => y.push(null));
    }
    xs.push(t[i]!);
    for (let j = 0; j < make.length; j++) {
      const v = make[j]!(g);
      ys[j]!.push(Number.isFinite(v) ? v : null);
    }
  }
  return [xs, ...ys] as AlignedData;
}

const pctFmt = (v: number) => `${v.toFixed(0)}%`;

export function HostView({ app, id, view, setView }: { app: AppState; id: string; view: View; setView: (v: View) => void }) {
  const s = app.eps.get(id);
  const [events, setEvents] = useState<StoredEvent[]>([]);
  const span = RANGES.find(([k]) => k === view.range)?.[1] ?? 3600e3;
  const live = view.from === undefined;
  const gpus = s?.schema?.devices ?? [];
  const keys = useMemo(
    () => [
      'host.cpu.util',
      'host.mem.used',
      'host.mem.total',
      ...gpus.flatMap((d) => ['util', 'mem_bw.util', 'mem.used', 'mem.total', 'power', 'power.limit', 'temp'].map((m) => `gpu${d.index}.${m}`)),
    ],
    [gpus.map((d) => d.index).join()],
  );

  const series = useRangeSeries(app, s, keys, view, span);
  // Events change rarely (rev): read with the range, not every tick.
  useEffect(() => {
    if (!s) return;
    const to = view.to ?? Date.now();
    const from = view.from ?? to - span;
    let cancelled = false;
    void app.db.getAllFromIndex('events', 'byTime', IDBKeyRange.bound([id, from - 86400e3], [id, Infinity])).then((e) => {
      if (!cancelled) setEvents(e.filter((x) => (x.end_t ?? x.t) >= from && x.t <= (view.to ?? Infinity)));
    });
    return () => {
      cancelled = true;
    };
  }, [id, view.range, view.from, view.to, s?.rev]);

  const interval = s?.schema?.interval_ms ?? 1000;
  const gap = Math.max(3 * interval, span > 86400e3 ? 3 * 3600e3 : span > 3 * 3600e3 ? 180e3 : 3 * interval);
  // Chart data is rebuilt when the series is (a tick or a read), not on every render of the view.
  const data = useMemo(
    () =>
      series && {
        host: aligned(series, [(g) => g('host.cpu.util'), (g) => (g('host.mem.used') / g('host.mem.total')) * 100], gap),
        gpus: gpus.map((d) => {
          const p = `gpu${d.index}.`;
          return aligned(
            series,
            [
              (g) => g(p + 'util'),
              (g) => g(p + 'mem_bw.util'),
              (g) => (g(p + 'mem.used') / g(p + 'mem.total')) * 100,
              (g) => (g(p + 'power') / g(p + 'power.limit')) * 100,
            ],
            gap,
          );
        }),
      },
    [series, gap, keys],
  );

  if (!s)
    return (
      <p>
        Unknown endpoint. <a href="#/">Back to the overview</a>
      </p>
    );
  const from0 = view.from ?? Date.now() - span;
  const alertMarks = app.alertLog
    .filter((a) => a.ep === id && (a.end ?? Infinity) >= from0)
    .map((a) => ({ t: a.start, end: a.end ?? Date.now(), label: `⚠ ${a.label} (${a.instance})`, color: '#dc2626' }));
  const marks = [...events.map((e) => ({ t: e.t, end: e.end_t, label: e.label, color: e.color })), ...alertMarks];
  const zoom = (a: number, b: number) => setView({ range: view.range, from: Math.round(a), to: Math.round(b) });
  const reset = () => setView({ range: view.range });
  const sync = `host-${id}`;
  const xr: [number, number] = [view.from ?? Date.now() - span, view.to ?? Date.now()];
  const x = s.extras;

  return (
    <section class="host">
      <header class="host-head">
        <h2>{s.ep.name}</h2>
        <StatusBadge status={s.status} lastSeen={s.lastSeen} />
        {s.status.kind === 'unauthorized' && (
          <a class="btn" href={`#/settings?fix=${id}`}>
            Fix token
          </a>
        )}
        {(s.status.kind === 'offline' || s.status.kind === 'error') && <button onClick={() => app.reconnect(id)}>Reconnect now</button>}
        {(s.status.kind === 'offline' || s.status.kind === 'error') && /local network/.test(s.status.message) && <LnaButton app={app} id={id} />}
        <span class="muted small">
          {s.schema
            ? `${s.schema.hostname} · gpulse ${s.schema.version} · ${s.schema.provider}${s.schema.driver_version ? ` · driver ${s.schema.driver_version}` : ''}${s.schema.cuda_version ? ` · CUDA ${s.schema.cuda_version}` : ''}`
            : 'waiting for the agent…'}
        </span>
        <span class="spacer" />
        <button onClick={() => exportCsv(app, s, view.from ?? Date.now() - span, view.to ?? Date.now())}>Export CSV</button>
        <button onClick={() => exportJson(app, s, view.from ?? Date.now() - span, view.to ?? Date.now())}>Export JSON</button>
      </header>
      <nav class="ranges">
        {RANGES.map(([k]) => (
          <button class={k === view.range && live ? 'on' : ''} onClick={() => setView({ range: k })}>
            {k}
          </button>
        ))}
        {!live && (
          <button class="on" onClick={reset}>
            zoomed · back to live
          </button>
        )}
      </nav>
      <HostStrip s={s} />
      <div class="gpus">
        {gpus.map((d) => (
          <GpuCard s={s} index={d.index} name={d.name} uuid={d.uuid} extras={x?.gpus.find((g) => g.index === d.index)} />
        ))}
      </div>
      <WhoIsOnGpus s={s} />
      {!!x?.workloads.ollama.length && (
        <div class="card">
          <h3>Ollama models</h3>
          <table>
            <thead>
              <tr>
                <th>model</th>
                <th>VRAM</th>
                <th>size</th>
                <th>expires</th>
              </tr>
            </thead>
            <tbody>
              {x.workloads.ollama.map((m) => (
                <tr>
                  <td>{m.name}</td>
                  <td class="num">{fmtBytes(m.vram)}</td>
                  <td class="num">{fmtBytes(m.size)}</td>
                  <td>{m.expires_at ? new Date(m.expires_at).toLocaleTimeString() : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data && (
        <div class="charts">
          <Chart
            title="Host"
            syncKey={sync}
            xRange={xr}
            yMax={100}
            marks={marks}
            onZoom={zoom}
            onReset={reset}
            series={
              [
                { label: 'CPU %', color: COLORS.cpu, unit: '%', fmt: pctFmt },
                { label: 'Memory %', color: COLORS.ram, unit: '%', fmt: pctFmt },
              ] as ChartSeries[]
            }
            data={data.host}
          />
          {gpus.map((d, i) => {
            return (
              <Chart
                title={`GPU ${d.index} · ${shortName(d.name)}`}
                syncKey={sync}
                xRange={xr}
                yMax={100}
                marks={marks}
                onZoom={zoom}
                onReset={reset}
                series={[
                  { label: 'util %', color: COLORS.util, unit: '%', fmt: pctFmt },
                  { label: 'mem bw %', color: COLORS.membw, unit: '%', fmt: pctFmt },
                  { label: 'memory %', color: COLORS.mem, unit: '%', fmt: pctFmt },
                  { label: 'power % of limit', color: COLORS.power, unit: '%', fmt: pctFmt },
                ]}
                data={data.gpus[i]!}
              />
            );
          })}
        </div>
      )}
      <UserSeriesSection app={app} s={s} view={view} span={span} xr={xr} gap={gap} sync={sync} marks={marks} onZoom={zoom} onReset={reset} aligned={aligned} />
      {/* Asked of the agent again every 30 s while live (renders come with every sample). */}
      {gpus.length > 0 && <MemoryByUser s={s} from={xr[0]} to={xr[1]} refresh={live ? Math.floor(Date.now() / 30_000) : 0} />}
      <Annotate s={s} />
      <EventList s={s} events={events} />
    </section>
  );
}

function HostStrip({ s }: { s: EpState }) {
  const cores = (s.schema?.series ?? []).filter((x) => /^host\.cpu\d+\.util$/.test(x.key));
  const memUsed = val(s, 'host.mem.used'),
    memTotal = val(s, 'host.mem.total');
  const swapUsed = val(s, 'host.swap.used'),
    swapTotal = val(s, 'host.swap.total');
  return (
    <div class="strip card">
      <span class="kv">
        <b>CPU</b> <span class="num">{fmtNum(val(s, 'host.cpu.util'), '%')}</span>
      </span>
      <span class="heat" title="per-core utilization">
        {cores.map((c) => {
          const v = val(s, c.key) ?? 0;
          return <i style={{ opacity: 0.15 + (v / 100) * 0.85 }} title={`${c.label}: ${v.toFixed(0)} %`} />;
        })}
      </span>
      <span class="kv">
        <b>Memory</b>{' '}
        <span class="num">
          {fmtBytes(memUsed)} / {fmtBytes(memTotal)}
        </span>
      </span>
      <span class="kv">
        <b>Swap</b>{' '}
        <span class="num">
          {fmtBytes(swapUsed)} / {fmtBytes(swapTotal)}
        </span>
      </span>
      <span class="kv">
        <b>Load</b> <span class="num">{[1, 5, 15].map((n) => fmtNum(val(s, `host.load${n}`), '', 2)).join(' ')}</span>
      </span>
      <span class="kv">
        <b>Up</b> <span class="num">{fmtUptime(val(s, 'host.uptime'))}</span>
      </span>
      <span class="kv">
        <b>Net</b>{' '}
        <span class="num">
          ↓{fmtRate(val(s, 'host.net.rx'))} ↑{fmtRate(val(s, 'host.net.tx'))}
        </span>
      </span>
      <span class="kv">
        <b>Disk</b>{' '}
        <span class="num">
          r {fmtRate(val(s, 'host.disk.read'))} w {fmtRate(val(s, 'host.disk.write'))}
        </span>
      </span>
      {s.schema?.host.cpu_model && (
        <span class="muted small">
          {s.schema.host.cpu_model} · {s.schema.host.threads} threads
        </span>
      )}
    </div>
  );
}

function GpuCard({
  s,
  index,
  name,
  uuid,
  extras,
}: {
  s: EpState;
  index: number;
  name: string;
  uuid: string;
  extras?: NonNullable<EpState['extras']>['gpus'][number];
}) {
  const p = `gpu${index}.`;
  const v = (k: string) => val(s, p + k);
  const [sortBy, setSortBy] = useState<'gpu_mem' | 'pid'>('gpu_mem');
  const procs = [...(extras?.processes ?? [])].sort((a, b) => (sortBy === 'pid' ? a.pid - b.pid : (b.gpu_mem ?? 0) - (a.gpu_mem ?? 0)));
  const badges = [
    ...(extras?.throttle ?? []).map((t) => `throttle: ${t}`),
    ...(extras?.lost ? ['GPU LOST'] : []),
    ...(extras?.mig ? ['MIG'] : []),
    ...(extras?.ecc_volatile?.uncorrected ? [`ECC ${extras.ecc_volatile.uncorrected} uncorrected`] : []),
  ];
  return (
    <div class="card gpu" data-gpu={index}>
      <h3>
        <span class="num">{index}</span> {name}{' '}
        <small class="muted" title={uuid} onClick={() => navigator.clipboard?.writeText(uuid)}>
          {uuid.slice(0, 12)}…
        </small>{' '}
        {extras?.pstate && <span class="pill">{extras.pstate}</span>}
      </h3>
      {badges.length > 0 && (
        <div class="badges">
          {badges.map((b) => (
            <span class="badge st-error">{b}</span>
          ))}
        </div>
      )}
      <Bar label="util" value={v('util')} color={COLORS.util} text={fmtNum(v('util'), '%')} />
      <Bar label="mem bw" value={v('mem_bw.util')} color={COLORS.membw} text={fmtNum(v('mem_bw.util'), '%')} />
      <Bar label="memory" value={v('mem.used')} max={v('mem.total')} color={COLORS.mem} text={`${fmtBytes(v('mem.used'))} / ${fmtBytes(v('mem.total'))}`} />
      <Bar
        label="power"
        value={v('power')}
        max={v('power.limit')}
        color={COLORS.power}
        text={`${fmtNum(v('power'), 'W')} / ${fmtNum(v('power.limit'), 'W')}`}
      />
      <Bar label="temp" value={v('temp')} max={100} color={COLORS.temp} text={fmtNum(v('temp'), '°C')} />
      <Bar label="fan" value={v('fan')} color={COLORS.fan} text={fmtNum(v('fan'), '%')} />
      <div class="small num muted">
        SM {fmtNum(v('clock.sm'), 'MHz')} · mem {fmtNum(v('clock.mem'), 'MHz')} · enc {fmtNum(v('enc.util'), '%')} · dec {fmtNum(v('dec.util'), '%')} · PCIe ↓
        {fmtRate(v('pcie.rx'))} ↑{fmtRate(v('pcie.tx'))}
      </div>
      <table class="procs">
        <thead>
          <tr>
            <th>user</th>
            <th onClick={() => setSortBy('pid')}>pid</th>
            <th>command</th>
            <th>container</th>
            <th onClick={() => setSortBy('gpu_mem')}>memory</th>
          </tr>
        </thead>
        <tbody>
          {procs.length ? (
            procs.map((pr) => (
              <tr>
                <td>{pr.user ?? '?'}</td>
                <td class="num">{pr.pid}</td>
                <td class="cmd" title={pr.command ?? ''}>
                  {pr.command ?? '?'}
                </td>
                <td>{pr.container ?? ''}</td>
                <td class="num">{fmtBytes(pr.gpu_mem)}</td>
              </tr>
            ))
          ) : (
            <tr>
              <td colSpan={5} class="muted">
                no processes
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

function LnaButton({ app, id }: { app: AppState; id: string }) {
  const [msg, setMsg] = useState('');
  return (
    <>
      {<button onClick={() => void app.requestLocalNetwork(id).then(setMsg)}>Allow local network access</button>} <span class="small warn">{msg}</span>
    </>
  );
}

/** Events and annotations in the shown range; the user's own can be edited or deleted (on the agent, so every viewer sees it). */
function EventList({ s, events }: { s: EpState; events: StoredEvent[] }) {
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
              <tr data-event={e.label}>
                <td class="num">
                  {new Date(e.t).toLocaleString()}
                  {e.end_t ? ` → ${new Date(e.end_t).toLocaleTimeString()}` : ''}
                </td>
                <td>{e.label}</td>
                <td class="muted">{e.source === 'agent' ? (e.kind ?? 'agent') : 'annotation'}</td>
                <td>
                  {e.source === 'user' && !s.ep.readOnly && (
                    <>
                      <button
                        onClick={() => {
                          const l = prompt('Annotation label', e.label);
                          if (l && l.trim()) void call('PUT', e.id, { label: l.trim() });
                        }}
                      >
                        Edit
                      </button>
                      <button onClick={() => void call('PUT', e.id, { label: e.label, end_t: Date.now() })} disabled={!!e.end_t}>
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
function Annotate({ s }: { s: EpState }) {
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
