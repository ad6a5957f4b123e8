/**
 * The host view's charts, one per group and scope as the endpoint's catalog says (lib/chart-plan.ts):
 * utilization, memory, temperature, power vs limit, clocks, fan, PCIe, encoder/decoder, network,
 * disk I/O and space, load, processes, workloads and your metrics, each with its unit. A GPU selector narrows
 * them to one GPU; folded groups (per-core, energy, uptime) are read only once opened.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { AlignedData } from 'uplot';
import type { ChartGroup, SeriesDef } from '../../shared/catalog.ts';
import { alignedKeys } from '../lib/aligned.ts';
import { byGroup, FOLDED_GROUPS, GROUP_TITLES, gpusIn, marksFor, planCharts, type ChartSpec, type GpuFilter } from '../lib/chart-plan.ts';
import type { AppState, EpState } from '../lib/state.ts';
import { catalogFromKeys, storedKeys } from '../lib/stored-catalog.ts';
import { Chart, type Mark } from './chart.tsx';
import { DiskSpace } from './disk-space.tsx';
import { PALETTE } from './user-series.tsx';
import { useRangeSeries, type RangeView } from './use-series.ts';

export interface HostChartsProps {
  app: AppState;
  s: EpState;
  view: RangeView;
  span: number;
  xr: [number, number];
  gap: number;
  sync: string;
  marks: Mark[];
  onZoom: (a: number, b: number) => void;
  onReset: () => void;
}

const EMPTY: SeriesDef[] = [];

/** The endpoint's catalog; without one in memory (an import, a schema not yet received), what its stored keys say. */
function useCatalog(app: AppState, s: EpState): SeriesDef[] {
  const [stored, setStored] = useState<SeriesDef[]>(EMPTY);
  const have = !!s.schema;
  useEffect(() => {
    if (have) return;
    let cancelled = false;
    void storedKeys(app.db, s.ep.id).then((keys) => {
      if (!cancelled) setStored(catalogFromKeys(keys));
    });
    return () => {
      cancelled = true;
    };
  }, [s.ep.id, have, s.rev]);
  return s.schema?.series ?? stored;
}

export function HostCharts(p: HostChartsProps) {
  const defs = useCatalog(p.app, p.s);
  const [gpu, setGpu] = useState<GpuFilter>('all');
  const [opened, setOpened] = useState<ReadonlySet<ChartGroup>>(new Set());
  const sig = defs.map((d) => d.key).join();
  const gpus = useMemo(() => gpusIn(defs), [sig]);
  const plan = useMemo(() => planCharts(defs, gpu), [sig, gpu]);
  const shown = (c: ChartSpec) => !FOLDED_GROUPS.has(c.group) || opened.has(c.group);
  const keys = useMemo(() => plan.filter(shown).flatMap((c) => c.series.map((x) => x.key)), [plan, opened]);
  const series = useRangeSeries(p.app, p.s, keys, p.view, p.span);
  // Chart data is rebuilt when the series is (a tick or a read), not on every render of the view.
  const data = useMemo(() => {
    const m = new Map<string, { data: AlignedData; extremes: { min: AlignedData; max: AlignedData } | null }>();
    if (series)
      for (const c of plan)
        if (shown(c)) {
          const keys = c.series.map((x) => x.key);
          // Rollup tiers carry each bucket's extremes: aligned the same way (same axis, same gaps).
          const extremes =
            series.min && series.max
              ? { min: alignedKeys({ t: series.t, cols: series.min }, keys, p.gap), max: alignedKeys({ t: series.t, cols: series.max }, keys, p.gap) }
              : null;
          m.set(c.id, { data: alignedKeys(series, keys, p.gap), extremes });
        }
    return m;
  }, [series, p.gap, plan]);

  if (!plan.length) return null;
  const chart = (c: ChartSpec) => {
    const d = data.get(c.id);
    return (
      d && (
        <Chart
          key={c.id}
          title={c.title}
          unit={c.unit}
          group={c.group}
          scope={c.scope}
          full={c.group === 'custom'}
          syncKey={p.sync}
          xRange={p.xr}
          yMax={c.yMax}
          marks={marksFor(p.marks, c.scope)}
          onZoom={p.onZoom}
          onReset={p.onReset}
          series={c.series.map((x, i) => ({ label: x.label, color: PALETTE[i % PALETTE.length]! }))}
          data={d.data}
          extremes={d.extremes}
        />
      )
    );
  };
  const toggle = (g: ChartGroup, open: boolean) => {
    const next = new Set(opened);
    if (open) next.add(g);
    else next.delete(g);
    setOpened(next);
  };
  return (
    <section class="chart-groups">
      {gpus.length > 1 && (
        <nav class="gpu-select ranges" aria-label="GPU">
          <span class="muted small">GPU</span>
          {(['all', ...gpus] as GpuFilter[]).map((g) => (
            <button class={g === gpu ? 'on' : ''} data-gpu-select={g} onClick={() => setGpu(g)}>
              {g === 'all' ? 'all' : `GPU ${g}`}
            </button>
          ))}
        </nav>
      )}
      {byGroup(plan).map(([g, charts]) =>
        FOLDED_GROUPS.has(g) ? (
          <details data-group-section={g} open={opened.has(g)} onToggle={(e) => toggle(g, (e.currentTarget as HTMLDetailsElement).open)}>
            <summary>{GROUP_TITLES[g]}</summary>
            {opened.has(g) && <div class="charts">{charts.map(chart)}</div>}
          </details>
        ) : (
          <div data-group-section={g} class={g === 'custom' ? 'user-series' : undefined}>
            <h3>{GROUP_TITLES[g]}</h3>
            <div class="charts">
              {charts.map(chart)}
              {g === 'disk' && <DiskSpace s={p.s} refresh={p.view.from === undefined ? Math.floor(Date.now() / 30_000) : 0} />}
            </div>
          </div>
        ),
      )}
    </section>
  );
}
