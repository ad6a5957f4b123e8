/**
 * A Prometheus endpoint in the overview: a tile for the source (its state, or why it cannot be
 * read) and one per host it knows, polled with instant queries every 5 s while shown; a host's
 * name links to its history charts (prom-host.tsx). Read-only: nothing is written to IndexedDB.
 */
import { useEffect, useState } from 'preact/hooks';
import { fmtBytes, fmtNum } from '../../shared/format.ts';
import { pollFleet, type PromHost } from '../lib/prom-fleet.ts';
import { PromClient } from '../lib/prometheus.ts';
import type { AppState, EpState } from '../lib/state.ts';
import { Bar, COLORS, shortName } from './bits.tsx';
import { promHostHash } from '../lib/prom-route.ts';

export const PROM_POLL_MS = 5000;

export function PromTiles({ s, app }: { s: EpState; app: AppState }) {
  const [hosts, setHosts] = useState<PromHost[] | null>(null);
  const [err, setErr] = useState('');
  const [at, setAt] = useState(0);
  useEffect(() => {
    const client = new PromClient(s.ep.url, { token: s.ep.token || undefined });
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const h = await pollFleet(client);
        if (!alive) return;
        setHosts(h);
        setErr('');
        setAt(Date.now());
      } catch (e) {
        if (alive) setErr((e as Error).message);
      }
      if (alive) timer = setTimeout(tick, PROM_POLL_MS);
    };
    void tick();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [s.ep.url, s.ep.token]);
  const state = err ? 'error' : hosts ? 'live' : 'connecting';
  return (
    <>
      <div class={`tile st-${state}`} data-prometheus={s.ep.url} data-endpoint={s.ep.name}>
        <header>
          <strong>{s.ep.name}</strong>
          <span class={`badge st-${state}`} data-status={state}>
            Prometheus · {state === 'live' ? `${hosts!.length} hosts` : state}
          </span>
        </header>
        <div class="muted small">
          {s.ep.url} · read-only, polled every {PROM_POLL_MS / 1000} s{at ? ` · ${new Date(at).toLocaleTimeString()}` : ''}
        </div>
        {err && <p class="warn small">{err}</p>}
        <button class="small" onClick={() => confirm(`Remove ${s.ep.name}?`) && void app.removeEndpoint(s.ep.id)}>
          remove
        </button>
      </div>
      {hosts?.map((h) => (
        <div class="tile st-live" key={h.instance} data-prom-host={h.name} data-instance={h.instance}>
          <header>
            <strong>
              <a href={promHostHash(s.ep.id, h.instance)}>{h.name}</a>
            </strong>
            <span class="badge muted small">via {s.ep.name}</span>
          </header>
          <div class="muted small">
            {h.instance} · {h.gpus.length ? `${h.gpus.length} GPU` : 'no GPU'}
          </div>
          <Bar label="CPU" value={h.cpu} color={COLORS.cpu} text={fmtNum(h.cpu, '%')} />
          {h.gpus.map((g) => (
            <div class="gpu-row" data-gpu={g.gpu}>
              <span class="gpu-name" title={g.model}>
                {g.gpu} · {shortName(g.model)}
              </span>
              <Bar label="util" value={g.util} color={COLORS.util} text={fmtNum(g.util, '%')} />
              <Bar
                label="mem"
                value={g.memUsed}
                max={g.memTotal ?? undefined}
                color={COLORS.mem}
                text={`${fmtBytes(g.memUsed, 0)} / ${fmtBytes(g.memTotal, 0)}`}
              />
              <span class="num small">
                {fmtNum(g.temp, '°C')} · {fmtNum(g.power, 'W')}
              </span>
            </div>
          ))}
        </div>
      ))}
    </>
  );
}
