/**
 * The host view's charts, one per group and scope as the endpoint's catalog says (lib/chart-plan.ts):
 * utilization, memory, temperature, power vs limit, clocks, fan, PCIe, encoder/decoder, network,
 * disk I/O and space, load, processes, workloads and your metrics, each with its unit. A GPU selector narrows
 * them to one GPU; folded groups (per-core, energy, uptime) are read only once opened.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ChartGroup, SeriesDef } from '../../shared/catalog.ts';
import { alignedKeys } from '../lib/aligned.ts';
import { byGroup, FOLDED_GROUPS, GROUP_TITLES, gpusIn, marksFor, planCharts, type ChartSpec, type GpuFilter } from '../lib/chart-plan.ts';
import type { AppState, EpState } from '../lib/state.ts';
import { catalogFromKeys, storedKeys } from '../lib/stored-catalog.ts';
import { Chart, seriesColor, type Mark } from './chart.tsx';
import { DiskSpace } from './disk-space.tsx';
import { useRangeSeries, type RangeView } from './use-series.ts';
import type { Series } from '../lib/series.ts';

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
const NO_KEYS: string[] = [];

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
  // The first screen's charts read only their own series too, so they draw before the rest is decoded
  // (an 8-GPU host has some 300 series; 24 h of them took 250 ms to read and decode).
  const firstKeys = useMemo(
    () =>
      // In the order they are drawn (by group), as `chart` below counts them.
      byGroup(plan)
        .flatMap(([, charts]) => charts)
        .filter(shown)
        .slice(0, FIRST_CHARTS)
        .flatMap((c) => c.series.map((x) => x.key)),
    [plan, opened],
  );
  const [firstRead, setFirstRead] = useState(false);
  const first = useRangeSeries(p.app, p.s, firstRead ? NO_KEYS : firstKeys, p.view, p.span);
  // Read (and decoded) after the first charts' own series are drawn, which would otherwise wait
  // behind it: one frame later (a pairing's hour in memory is some 500k values to lay out).
  const [firstDrawn, setFirstDrawn] = useState(false);
  useEffect(() => {
    if (!first || firstDrawn) return;
    const f = requestAnimationFrame(() => setFirstDrawn(true));
    return () => cancelAnimationFrame(f);
  }, [first !== null]);
  const all = useRangeSeries(p.app, p.s, firstDrawn || firstRead ? keys : NO_KEYS, p.view, p.span);
  useEffect(() => {
    if (all) setFirstRead(true);
  }, [all !== null]);
  const series = all ?? first;
  const budget = useChartBudget(plan.length, series !== null);
  useFirstChartsMark(series, Math.min(budget, plan.filter(shown).length), p.view.range);

  if (!plan.length) return null;
  // Charts in page order: the first ones at once, the rest a few per frame (useChartBudget).
  let n = 0;
  const chart = (c: ChartSpec) => {
    const i = n++;
    const src = all ?? (i < FIRST_CHARTS ? first : null);
    return src && i < budget ? <ChartOf key={c.id} c={c} series={src} p={p} /> : null;
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

/**
 * One chart's data, rebuilt when the series is (a tick or a read), not on every render of the view,
 * and only for charts that are mounted.
 */
function ChartOf({ c, series, p }: { c: ChartSpec; series: Series; p: HostChartsProps }) {
  const d = useMemo(() => {
    const keys = c.series.map((x) => x.key);
    // Rollup tiers carry each bucket's extremes: aligned the same way (same axis, same gaps).
    const extremes =
      series.min && series.max
        ? { min: alignedKeys({ t: series.t, cols: series.min }, keys, p.gap), max: alignedKeys({ t: series.t, cols: series.max }, keys, p.gap) }
        : null;
    return { data: alignedKeys(series, keys, p.gap), extremes };
  }, [series, p.gap, c]);
  return (
    <Chart
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
      series={c.series.map((x, i) => ({ label: x.label, color: seriesColor(i) }))}
      data={d.data}
      extremes={d.extremes}
    />
  );
}

/** Charts drawn in the first frame: a row of them, about what a screen shows below the GPU cards. */
const FIRST_CHARTS = 3;
/** Charts added per later frame. */
const CHARTS_PER_FRAME = 3;

/**
 * How many charts may be mounted: FIRST_CHARTS once there is data, then CHARTS_PER_FRAME more each
 * frame. An 8-GPU host has some 80 charts; drawing them all before the first paint took over a
 * second, so the top of the page waits for none below it, and the page stays responsive meanwhile.
 */
function useChartBudget(total: number, ready: boolean): number {
  const [budget, setBudget] = useState(FIRST_CHARTS);
  useEffect(() => {
    if (!ready || budget >= total) return;
    const f = requestAnimationFrame(() => setBudget((b) => b + CHARTS_PER_FRAME));
    return () => cancelAnimationFrame(f);
  }, [ready, budget, total]);
  return budget;
}

/**
 * For benchmarks: `gpulse:charts:<range>:<charts>` once the first charts of a range hold stored
 * history and have been painted (the frame after their uPlots drew).
 */
function useFirstChartsMark(series: Series | null, charts: number, range: string) {
  const done = useRef('');
  useEffect(() => {
    if (!series || !series.t.length || !charts || done.current === range) return;
    done.current = range;
    requestAnimationFrame(() => performance.mark(`gpulse:charts:${range}:${charts}`));
  }, [series, charts, range]);
}
