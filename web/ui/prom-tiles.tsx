/**
 * A Prometheus endpoint in the overview: a tile for the source (its state, or why it cannot be
 * read) and one per host it knows, polled with instant queries every 5 s by the leader tab; a host's
 * name links to its history charts (prom-host.tsx). Read-only: nothing is written to IndexedDB.
 */
import { fmtBytes, fmtNum, fmtUnit } from '../../shared/format.ts';
import { PROM_POLL_MS } from '../lib/prom-poller.ts';
import type { AppState, EpState } from '../lib/state.ts';
import { Bar, COLORS, shortName } from './bits.tsx';
import { promHostHash } from '../lib/prom-route.ts';

export function PromTiles({ s, app }: { s: EpState; app: AppState }) {
  // Polled by the leader tab, which sends every answer to all tabs (web/lib/prom-poller.ts).
  const hosts = s.prom?.hosts ?? null;
  const err = s.prom?.error ?? '';
  const at = s.prom?.at ?? 0;
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
                {fmtUnit(g.temp, 'C')} · {fmtUnit(g.power, 'W')}
              </span>
            </div>
          ))}
        </div>
      ))}
    </>
  );
}
