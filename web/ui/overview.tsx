/** Fleet overview: one tile per endpoint, problems first, readable at 50 endpoints and on a phone. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { fmtBytes, fmtNum } from '../../shared/format.ts';
import type { AppState, EpState } from '../lib/state.ts';
import { pct, recent, val } from '../lib/values.ts';
import { Bar, COLORS, StatusBadge, shortName } from './bits.tsx';
import { FleetAccounting } from './fleet-accounting.tsx';
import { PromTiles } from './prom-tiles.tsx';

const SEVERITY: Record<string, number> = { unauthorized: 0, error: 1, offline: 2, stale: 3, connecting: 4, live: 5 };

function Spark({ values, color }: { values: number[]; color: string }) {
  if (values.length < 2) return <svg class="spark" />;
  const w = 120,
    h = 24;
  const pts = values
    .map((v, i) => `${((i / (values.length - 1)) * w).toFixed(1)},${Number.isFinite(v) ? (h - (Math.min(100, v) / 100) * h).toFixed(1) : h}`)
    .join(' ');
  return (
    <svg class="spark" viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="none">
      <polyline points={pts} fill="none" stroke={color} stroke-width="1.5" />
    </svg>
  );
}

function Tile({ s }: { s: EpState }) {
  const gpus = s.schema?.devices ?? [];
  const cpu = val(s, 'host.cpu.util');
  const mem = pct(val(s, 'host.mem.used'), val(s, 'host.mem.total'));
  return (
    <a class={`tile st-${s.status.kind}`} href={`#/e/${s.ep.id}`} data-endpoint={s.ep.name}>
      <header>
        <strong>{s.ep.name}</strong>
        <StatusBadge status={s.status} lastSeen={s.lastSeen} />
      </header>
      {s.schema && (
        <div class="muted small">
          {s.schema.hostname} · {s.schema.provider === 'none' ? 'no GPU' : `${gpus.length} GPU`}
        </div>
      )}
      <Bar label="CPU" value={cpu} color={COLORS.cpu} text={fmtNum(cpu, '%')} />
      <Bar label="MEM" value={mem} color={COLORS.ram} text={fmtNum(mem, '%')} />
      {gpus.map((d) => {
        const p = `gpu${d.index}.`;
        const util = val(s, p + 'util');
        const used = val(s, p + 'mem.used'),
          total = val(s, p + 'mem.total');
        const extras = s.extras?.gpus.find((g) => g.index === d.index);
        return (
          <div class="gpu-row" data-gpu={d.index}>
            <span class="gpu-name" title={d.name}>
              {d.index} · {shortName(d.name)}
              {extras?.lost && <b class="warn"> LOST</b>}
            </span>
            <Bar label="util" value={util} color={COLORS.util} text={fmtNum(util, '%')} />
            <Bar label="mem" value={used} max={total} color={COLORS.mem} text={`${fmtBytes(used, 0)} / ${fmtBytes(total, 0)}`} />
            <span class="num small">
              {fmtNum(val(s, p + 'temp'), '°C')} · {fmtNum(val(s, p + 'power'), 'W')}
            </span>
          </div>
        );
      })}
      <Spark values={recent(s, gpus.length ? `gpu${gpus[0]!.index}.util` : 'host.cpu.util', 120)} color={COLORS.util} />
    </a>
  );
}

/**
 * A tile's vnode is reused while its inputs are the same objects: Preact skips diffing an identical
 * vnode, so a sample from one endpoint re-renders one tile, not fifty.
 */
const tiles = new Map<string, { key: unknown[]; node: JSX.Element }>();
function cachedTile(s: EpState) {
  const key = [s.last, s.status, s.schema, s.extras, s.ep];
  const hit = tiles.get(s.ep.id);
  if (hit && hit.key.every((k, i) => k === key[i])) return hit.node;
  const node = <Tile key={s.ep.id} s={s} />;
  tiles.set(s.ep.id, { key, node });
  return node;
}

export function Overview({ app }: { app: AppState }) {
  const [filter, setFilter] = useState(() => sessionStorage.getItem('gpulse.filter') ?? '');
  const [sort, setSort] = useState(() => sessionStorage.getItem('gpulse.sort') ?? 'problems');
  const list = app.order.map((id) => app.eps.get(id)!).filter((s) => s && s.ep.name.toLowerCase().includes(filter.toLowerCase()));
  if (sort === 'name') list.sort((a, b) => a.ep.name.localeCompare(b.ep.name));
  else if (sort === 'problems') list.sort((a, b) => SEVERITY[a.status.kind]! - SEVERITY[b.status.kind]!);
  else if (sort === 'busiest')
    list.sort((a, b) => (val(b, 'gpu0.util') ?? val(b, 'host.cpu.util') ?? 0) - (val(a, 'gpu0.util') ?? val(a, 'host.cpu.util') ?? 0));
  if (!app.order.length) return <Welcome />;
  return (
    <section>
      <div class="toolbar">
        <input
          id="filter"
          type="search"
          placeholder="Filter (/)"
          value={filter}
          onInput={(e) => {
            const v = (e.target as HTMLInputElement).value;
            setFilter(v);
            sessionStorage.setItem('gpulse.filter', v);
          }}
        />
        <select
          value={sort}
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value;
            setSort(v);
            sessionStorage.setItem('gpulse.sort', v);
          }}
        >
          <option value="problems">problems first</option>
          <option value="name">name</option>
          <option value="busiest">busiest</option>
          <option value="custom">your order</option>
        </select>
      </div>
      <div class="tiles">{list.map((s) => (s.ep.kind === 'prometheus' ? <PromTiles key={s.ep.id} s={s} app={app} /> : cachedTile(s)))}</div>
      <FleetAccounting app={app} />
    </section>
  );
}

function Welcome() {
  return (
    <section class="welcome">
      <h2>Watch your GPU boxes live, with history that stays in this browser.</h2>
      <p>
        On the GPU machine, run <code>gpulse</code> (it serves this app too), then open the pairing link it gives you:
      </p>
      <pre>
        <code>gpulse pair --url http://THIS-HOST:9740</code>
      </pre>
      <p>
        Or <a href="#/add">add an agent by URL and token</a>.
      </p>
    </section>
  );
}
