/**
 * Fleet overview: a dense table, one row per host and one cell per GPU (web/ui/fleet-table.tsx),
 * sorted problems first by GPU health and reachability (web/lib/health.ts), filtered by name,
 * hostname or tag. 30+ hosts fit a 1400×900 window; Prometheus sources keep their tiles below.
 */
import { useState } from 'preact/hooks';
import { fleetRow } from '../lib/fleet.ts';
import { matchesFilter, sortHosts, SORT_MODES, type SortMode } from '../lib/health.ts';
import type { AppState } from '../lib/state.ts';
import { FleetAccounting } from './fleet-accounting.tsx';
import { cachedRow, FleetHeader, pruneRows } from './fleet-table.tsx';
import { PromTiles } from './prom-tiles.tsx';

const SORT_LABEL: Record<SortMode, string> = { problems: 'problems first', name: 'name', load: 'load', custom: 'your order' };
const storedSort = (): SortMode => {
  const v = sessionStorage.getItem('gpulse.sort') as SortMode | null;
  return v && SORT_MODES.includes(v) ? v : 'problems';
};

export function Overview({ app }: { app: AppState }) {
  const [filter, setFilter] = useState(() => sessionStorage.getItem('gpulse.filter') ?? '');
  const [sort, setSort] = useState<SortMode>(storedSort);
  if (!app.order.length) return <Welcome />;
  const now = Date.now();
  const all = app.order.map((id) => app.eps.get(id)!).filter(Boolean);
  const proms = all.filter((s) => s.ep.kind === 'prometheus' && matchesFilter(filter, s.ep.name, null, s.ep.tags ?? []));
  const agents = all.filter((s) => s.ep.kind !== 'prometheus').map((s) => cachedRow(s, now, fleetRow));
  pruneRows(new Set(all.map((s) => s.ep.id)));
  const shown = sortHosts(
    agents.map((a) => ({ ...a.row, node: a.node })).filter((r) => matchesFilter(filter, r.name, r.hostname, r.tags)),
    sort,
  );
  const problems = agents.filter((a) => a.row.health.level !== 'ok').length;
  return (
    <section>
      <div class="toolbar">
        <input
          id="filter"
          type="search"
          placeholder="Filter by name or tag (/)"
          value={filter}
          onInput={(e) => {
            const v = (e.target as HTMLInputElement).value;
            setFilter(v);
            sessionStorage.setItem('gpulse.filter', v);
          }}
        />
        <select
          name="sort"
          value={sort}
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value as SortMode;
            setSort(v);
            sessionStorage.setItem('gpulse.sort', v);
          }}
        >
          {SORT_MODES.map((m) => (
            <option value={m}>{SORT_LABEL[m]}</option>
          ))}
        </select>
        <span class="muted small fleet-count">
          {shown.length} of {agents.length} hosts{problems > 0 && <b class="warn"> · {problems} with problems</b>}
        </span>
      </div>
      {agents.length > 0 && (
        <div class="fleet">
          <FleetHeader />
          {shown.map((r) => r.node)}
        </div>
      )}
      {proms.length > 0 && (
        <div class="tiles">
          {proms.map((s) => (
            <PromTiles key={s.ep.id} s={s} app={app} />
          ))}
        </div>
      )}
      <FleetAccounting app={app} />
    </section>
  );
}

function Welcome() {
  return (
    <section class="welcome">
      <h2>Watch your GPU boxes live, with history that stays in this browser.</h2>
      <p>
        On the GPU machine, run <code>gpulse</code> (it serves this app too), then open the pairing link it gives you; with <code>--app</code> it adds the agent
        to this copy of the app, where every other agent paired the same way shows up beside it:
      </p>
      <pre>
        <code>gpulse pair --url http://THIS-HOST:9740 --app {location.origin + location.pathname}</code>
      </pre>
      <p>
        Or <a href="#/add">add an agent by URL and token</a>.
      </p>
    </section>
  );
}
