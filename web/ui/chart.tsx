/** uPlot wrapper: size change → setSize, options change → rebuild, data change → setData (by identity). */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot, { type AlignedData, type Options } from 'uplot';

export interface ChartSeries {
  label: string;
  color: string;
  unit: string;
  fmt?: (v: number) => string;
}
export interface Mark {
  t: number;
  end?: number | null;
  label: string;
  color?: string | null;
}

interface Props {
  title: string;
  series: ChartSeries[];
  data: AlignedData;
  syncKey: string;
  height?: number;
  marks?: Mark[];
  yMax?: number;
  xRange: [number, number];
  onZoom?: (min: number, max: number) => void;
  onReset?: () => void;
}

const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';

/** Colours come from CSS variables, so a theme switch must rebuild the plot. */
function useScheme(): string {
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

export function Chart({ title, series, data, syncKey, height = 180, marks = [], yMax, xRange, onZoom, onReset }: Props) {
  const scheme = useScheme();
  const range = useRef(xRange);
  range.current = xRange;
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const marksRef = useRef(marks);
  marksRef.current = marks;
  const cfgKey = series.map((s) => s.label + s.color).join('|') + syncKey + yMax + scheme;

  useEffect(() => {
    const host = el.current!;
    const axis = { stroke: css('--muted'), grid: { stroke: css('--grid'), width: 1 }, ticks: { stroke: css('--grid'), width: 1 } };
    const opts: Options = {
      width: host.clientWidth || 600,
      height,
      ms: 1,
      cursor: { sync: { key: syncKey, setSeries: true }, drag: { x: true, y: false } },
      legend: { live: true },
      // The x scale is the chosen range, not the data's extent: an hour of 3 minutes of data looks like it.
      scales: { x: { time: true, range: () => range.current }, y: yMax ? { range: [0, yMax] } : { auto: true } },
      axes: [{ ...axis }, { ...axis, size: 60, values: (_u, v) => v.map((x) => (series[0]?.fmt ? series[0].fmt(x) : `${x}`)) }],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v == null ? '—' : s.fmt ? s.fmt(v) : `${v.toFixed(1)} ${s.unit}`),
        })),
      ],
      hooks: {
        draw: [(u) => drawMarks(u, marksRef.current)],
        setSelect: [
          (u) => {
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
    const dbl = () => onReset?.();
    host.addEventListener('dblclick', dbl);
    const ro = new ResizeObserver(() => p.setSize({ width: host.clientWidth, height }));
    ro.observe(host);
    return () => {
      ro.disconnect();
      host.removeEventListener('dblclick', dbl);
      p.destroy();
      plot.current = null;
    };
  }, [cfgKey, height]);

  useEffect(() => {
    const p = plot.current;
    if (!p) return;
    p.setData(data, false);
    p.setScale('x', { min: xRange[0], max: xRange[1] });
  }, [data, xRange[0], xRange[1]]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={el} />
    </figure>
  );
}

/** Annotations: a line (point) or a band (range) with its label, drawn under the cursor layer. */
function drawMarks(u: uPlot, marks: Mark[]) {
  const ctx = u.ctx;
  const { top, height } = u.bbox;
  ctx.save();
  ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
  for (const m of marks) {
    const x0 = Math.round(u.valToPos(m.t, 'x', true));
    if (!Number.isFinite(x0)) continue;
    const color = m.color || css('--mark');
    if (m.end && m.end > m.t) {
      const x1 = Math.round(u.valToPos(m.end, 'x', true));
      ctx.fillStyle = color + '22';
      ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
    }
    ctx.strokeStyle = color;
    ctx.lineWidth = devicePixelRatio;
    ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
    ctx.beginPath();
    ctx.moveTo(x0, top);
    ctx.lineTo(x0, top + height);
    ctx.stroke();
    ctx.fillStyle = color;
    ctx.fillText(m.label.slice(0, 40), x0 + 4 * devicePixelRatio, top + 12 * devicePixelRatio);
  }
  ctx.restore();
}
