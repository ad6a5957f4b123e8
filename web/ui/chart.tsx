/** uPlot wrapper: size change → setSize, options change → rebuild, data change → setData (by identity). */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import uPlot, { type AlignedData, type Options } from 'uplot';
import { fmtTicks, fmtUnit, unitName } from '../../shared/format.ts';
import { drawMarks, placeLabels, type Mark } from './chart-marks.ts';
import { Legend } from './chart-legend.tsx';

export type { Mark } from './chart-marks.ts';

const PALETTE = ['#3b82f6', '#f97316', '#22c55e', '#a855f7', '#ef4444', '#14b8a6', '#eab308', '#ec4899', '#64748b', '#84cc16'];
/** The colour of a plot's i-th series (every chart, the stacked by-user ones too, cycles the same palette). */
export const seriesColor = (i: number): string => PALETTE[i % PALETTE.length]!;

export interface ChartSeries {
  label: string;
  color: string;
}

interface Props {
  title: string;
  /** The catalog unit of every series on the chart (shared/catalog.ts `Unit`); ticks, legend and cursor use it. */
  unit: string;
  series: ChartSeries[];
  data: AlignedData;
  /** Rollup tiers: each bucket's minimum and maximum, aligned like `data`, for the legend's min and max. */
  extremes?: { min: AlignedData; max: AlignedData } | null;
  syncKey: string;
  height?: number;
  marks?: Mark[];
  yMax?: number;
  xRange: [number, number];
  onZoom?: (min: number, max: number) => void;
  onReset?: () => void;
  /** User metrics: print up to 7 significant figures (they are never rounded on the wire). */
  full?: boolean;
  /** For tests and styling: the chart's group and scope (chart-plan.ts). */
  group?: string;
  scope?: string;
}

/** Binary tick steps for bytes (1, 2, 4 … 512 of B, KiB, MiB …), so ticks read 16 GiB, not 14.9 GiB. */
const BYTE_INCRS = Array.from({ length: 6 * 10 }, (_, i) => 2 ** (i % 10) * 1024 ** Math.floor(i / 10));
/** The y axis is as wide as its longest tick label ("190.7 MiB/s" needs more room than "50 %"). */
const axisSize = (_u: uPlot, values: string[] | null) => 20 + 7.5 * Math.max(4, ...(values ?? []).map((v) => v.length));

const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';

/**
 * A plot's x and y axes: colours from the theme, x labels far enough apart not to run into each other,
 * y ticks in `unit` (binary steps for bytes). Every plot's axes read alike (the stacked by-user charts use them too).
 */
export function themedAxes(unit: string, ySize: uPlot.Axis['size'] = axisSize): uPlot.Axis[] {
  const axis = { stroke: css('--muted'), grid: { stroke: css('--grid'), width: 1 }, ticks: { stroke: css('--grid'), width: 1 } };
  return [
    { ...axis, space: 80 },
    { ...axis, size: ySize, values: (_u, v) => fmtTicks(v, unit), ...(unit === 'B' || unit === 'B/s' ? { incrs: BYTE_INCRS } : {}) },
  ];
}

/**
 * Keeps a plot as wide as its host; returns the disconnect. The observer also fires once on
 * observe(): the plot is redrawn only when the width really changed.
 */
export function followWidth(host: HTMLElement, p: uPlot, height: number): () => void {
  const ro = new ResizeObserver(() => {
    const w = host.clientWidth;
    if (w && w !== p.width) p.setSize({ width: w, height });
  });
  ro.observe(host);
  return () => ro.disconnect();
}

/** Colours come from CSS variables, so a theme switch must rebuild the plot. */
export function useScheme(): string {
  const q = typeof matchMedia !== 'undefined' ? matchMedia('(prefers-color-scheme: dark)') : null;
  const [dark, setDark] = useState(!!q?.matches);
  useEffect(() => {
    if (!q) return;
    const on = () => setDark(q.matches);
    q.addEventListener('change', on);
    return () => q.removeEventListener('change', on);
  }, []);
  return dark ? 'dark' : 'light';
}

export function Chart({
  title,
  unit,
  series,
  data,
  extremes,
  syncKey,
  height = 160,
  marks = [],
  yMax,
  xRange,
  onZoom,
  onReset,
  full = false,
  group,
  scope,
}: Props) {
  const scheme = useScheme();
  const fig = useRef<HTMLElement>(null);
  // What the chart shows: the newest data while it is on screen; off screen it keeps what it has, so a
  // live tick or a range switch redraws only the charts one can see (a host has some 80).
  const onScreen = useOnScreen(fig);
  const shown = useRef({ data, extremes, xRange });
  if (onScreen) shown.current = { data, extremes, xRange };
  ({ data, extremes, xRange } = shown.current);
  const range = useRef(xRange);
  range.current = xRange;
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const layer = useRef<HTMLDivElement | null>(null);
  const marksRef = useRef(marks);
  marksRef.current = marks;
  // The plot is built once per configuration: callbacks it calls are read at call time, so a zoom
  // after a range change writes the range shown now, not the one the plot was built with.
  const calls = useRef({ onZoom, onReset });
  calls.current = { onZoom, onReset };
  const cursorRefs = useRef<(HTMLElement | null)[]>([]);
  const seriesKey = series.map((s) => s.label + s.color).join('|');
  const cfgKey = seriesKey + syncKey + yMax + unit + scheme;

  useEffect(() => {
    const host = el.current!;
    const markColor = css('--mark');
    const opts: Options = {
      width: host.clientWidth || 600,
      height,
      ms: 1,
      cursor: { sync: { key: syncKey, setSeries: true }, drag: { x: true, y: false } },
      // Our own legend (chart-legend.tsx) is always shown; uPlot's would show values only under the cursor.
      legend: { show: false },
      // The x scale is the chosen range, not the data's extent: an hour of 3 minutes of data looks like it.
      scales: { x: { time: true, range: () => range.current }, y: yMax ? { range: [0, yMax] } : { auto: true } },
      axes: themedAxes(unit),
      // Points are drawn only where uPlot finds the data sparse (a series that began a minute ago on a 3 h chart).
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5 }))],
      hooks: {
        draw: [
          (u) => {
            drawMarks(u, marksRef.current, markColor);
            if (layer.current) placeLabels(u, layer.current, marksRef.current, markColor);
          },
        ],
        setCursor: [
          (u) => {
            const i = u.cursor.idx;
            cursorRefs.current.forEach((cell, j) => {
              if (cell) cell.textContent = i == null ? '' : fmtUnit(u.data[j + 1]?.[i] ?? null, unit, { full });
            });
          },
        ],
        setSelect: [
          (u) => {
            const onZoom = calls.current.onZoom;
            if (u.select.width > 2 && onZoom) {
              onZoom(u.posToVal(u.select.left, 'x'), u.posToVal(u.select.left + u.select.width, 'x'));
              u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
            }
          },
        ],
      },
    };
    const p = new uPlot(opts, data, host);
    plot.current = p;
    const lay = document.createElement('div');
    lay.className = 'mark-layer';
    p.over.appendChild(lay);
    layer.current = lay;
    placeLabels(p, lay, marksRef.current, markColor);
    const dbl = () => calls.current.onReset?.();
    host.addEventListener('dblclick', dbl);
    const unfollow = followWidth(host, p, height);
    return () => {
      unfollow();
      host.removeEventListener('dblclick', dbl);
      p.destroy();
      plot.current = null;
      layer.current = null;
    };
  }, [cfgKey, height]);

  useEffect(() => {
    const p = plot.current;
    if (!p) return;
    p.setData(data, false);
    p.setScale('x', { min: xRange[0], max: xRange[1] });
  }, [data, xRange[0], xRange[1]]);

  // New or edited marks redraw without new data (an annotation added while zoomed into the past).
  useEffect(() => {
    plot.current?.redraw(false, false);
  }, [marks.map((m) => `${m.t}-${m.end}-${m.label}-${m.color}`).join()]);

  type Cols = (number | null | undefined)[][];
  // Stable while the data is: the legend recomputes its stats only for new data.
  const cols = useMemo(
    () => ({ ys: data.slice(1) as Cols, lo: extremes?.min.slice(1) as Cols | undefined, hi: extremes?.max.slice(1) as Cols | undefined }),
    [data, extremes],
  );
  // The same vnode while the shown data and range are: Preact skips diffing it, so a tick re-renders
  // the legends of the charts on screen only (an off-screen chart keeps what it shows, above).
  const legend = useMemo(
    () => (
      <Legend
        labels={series.map((s) => s.label)}
        colors={series.map((s) => s.color)}
        unit={unit}
        full={full}
        xs={data[0]}
        ys={cols.ys}
        lo={cols.lo}
        hi={cols.hi}
        from={xRange[0]}
        to={xRange[1]}
        cursorRefs={cursorRefs}
      />
    ),
    [seriesKey, unit, full, data, cols, xRange[0], xRange[1]],
  );
  const name = unitName(unit);
  return (
    <figure ref={fig} class="chart" data-group={group} data-scope={scope} data-unit={unit}>
      <figcaption>
        {title}
        {name && <small class="unit muted"> ({name})</small>}
      </figcaption>
      <div ref={el} />
      {legend}
    </figure>
  );
}

/** Whether an element is on screen or within 300 px of it (true until the observer has answered, and without one). */
function useOnScreen(ref: { current: Element | null }): boolean {
  const [on, setOn] = useState(true);
  useEffect(() => {
    if (typeof IntersectionObserver === 'undefined' || !ref.current) return;
    const io = new IntersectionObserver((es) => setOn(es[es.length - 1]!.isIntersecting), { rootMargin: '300px 0px' });
    io.observe(ref.current);
    return () => io.disconnect();
  }, []);
  return on;
}
