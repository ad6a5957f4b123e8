/** Host view: badges, one card per GPU with its processes, range charts with synchronized cursors, events. */
import { useEffect, useState } from 'preact/hooks';
import { fmtUnit } from '../../shared/format.ts';
import type { AppState } from '../lib/state.ts';
import { gapFor } from '../lib/aligned.ts';
import { exportCsv, exportJson } from '../lib/export.ts';
import { defaultRange, oldestHeld, RANGES } from '../lib/ranges.ts';
import { StatusBadge } from './bits.tsx';
import { GpuCard } from './gpu-card.tsx';
import { GpuUseByUser, WhoIsOnGpus } from './gpu-people.tsx';
import { HostCharts } from './host-charts.tsx';
import { Annotate, EventList, marksOf, useEvents } from './host-events.tsx';
import { HostStrip } from './host-strip.tsx';
import { UserSeriesSection } from './user-series.tsx';
import type { RangeView } from './use-series.ts';

export { RANGES } from '../lib/ranges.ts';
export type View = RangeView;

/**
 * The range a view without `range=` opens at: what the endpoint holds, up to 24 h (lib/ranges.ts).
 * null until IndexedDB has answered, so the charts read once, at the right range. Asked again when
 * stored history changes other than by live rows (rev): a view opened while pairing widens once
 * the backfill has landed.
 */
function useDefaultRange(app: AppState, id: string, explicit: string, rev: number | undefined): string | null {
  const [auto, setAuto] = useState<{ id: string; range: string } | null>(null);
  useEffect(() => {
    if (explicit) return;
    let cancelled = false;
    void oldestHeld(app.db, id).then((t) => {
      if (!cancelled) setAuto({ id, range: defaultRange(t === null ? null : Date.now() - t) });
    });
    return () => {
      cancelled = true;
    };
  }, [id, explicit, rev]);
  return explicit || (auto?.id === id ? auto.range : null);
}

export function HostView({ app, id, view, setView }: { app: AppState; id: string; view: View; setView: (v: View) => void }) {
  const s = app.eps.get(id);
  const range = useDefaultRange(app, id, view.range, s?.rev);
  const span = RANGES.find(([k]) => k === range)?.[1] ?? 3600e3;
  const live = view.from === undefined;
  const gpus = s?.schema?.devices ?? [];
  const rv: View = { ...view, range: range ?? '' };
  const from0 = view.from ?? Date.now() - span;
  const events = useEvents(app, s, id, from0, view.to);
  const gap = gapFor(s?.schema?.interval_ms ?? 1000, span);

  if (!s)
    return (
      <p>
        Unknown endpoint. <a href="#/">Back to the overview</a>
      </p>
    );
  const marks = marksOf(app, id, events, from0);
  const zoom = (a: number, b: number) => setView({ range: rv.range, from: Math.round(a), to: Math.round(b) });
  const reset = () => setView({ range: rv.range });
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
          <button class={k === range && live ? 'on' : ''} onClick={() => setView({ range: k })}>
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
                  <td class="num">{fmtUnit(m.vram, 'B')}</td>
                  <td class="num">{fmtUnit(m.size, 'B')}</td>
                  <td>{m.expires_at ? new Date(m.expires_at).toLocaleTimeString() : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {range && <HostCharts key={id} app={app} s={s} view={rv} span={span} xr={xr} gap={gap} sync={sync} marks={marks} onZoom={zoom} onReset={reset} />}
      <UserSeriesSection s={s} />
      {/* Asked of the agent again every 30 s while live (renders come with every sample). */}
      {gpus.length > 0 && <GpuUseByUser s={s} from={xr[0]} to={xr[1]} refresh={live ? Math.floor(Date.now() / 30_000) : 0} />}
      <Annotate s={s} />
      <EventList s={s} events={events} />
    </section>
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
