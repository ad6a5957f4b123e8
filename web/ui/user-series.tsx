/**
 * Your own metrics on the host view: one chart per metric (a line per label set) and their newest
 * values. Series come from the endpoint's schema, so a new file, push or collector shows up as soon
 * as the agent's `schema` event arrives, without a reload.
 */
import { useMemo } from 'preact/hooks';
import type { AlignedData } from 'uplot';
import type { UserSeries } from '../../shared/catalog.ts';
import type { Series } from '../lib/series.ts';
import type { AppState, EpState } from '../lib/state.ts';
import { val } from '../lib/values.ts';
import { Chart, type ChartSeries, type Mark } from './chart.tsx';
import { useRangeSeries, type RangeView } from './use-series.ts';

export const PALETTE = ['#3b82f6', '#f97316', '#22c55e', '#a855f7', '#ef4444', '#14b8a6', '#eab308', '#ec4899', '#64748b', '#84cc16'];

/** A user value as sent: unrounded (the agent keeps full precision), trimmed only for display. */
export const fmtUser = (v: number | null, unit = '') =>
  v == null ? '—' : `${Math.abs(v) >= 1e6 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(4) : +v.toPrecision(7)}${unit ? ' ' + unit : ''}`;

const labelsText = (l: Record<string, string>) =>
  Object.entries(l)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

export interface UserSeriesProps {
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
  aligned: (series: Series, make: ((g: (k: string) => number) => number)[], gapMs: number) => AlignedData;
}

export function UserSeriesSection(p: UserSeriesProps) {
  const defs = (p.s.schema?.series ?? []).filter((d): d is UserSeries => d.scope === 'user');
  const sig = defs.map((d) => d.key).join();
  const byMetric = useMemo(() => {
    const m = new Map<string, UserSeries[]>();
    for (const d of defs) m.set(d.metric, [...(m.get(d.metric) ?? []), d]);
    return [...m];
  }, [sig]);
  const keys = useMemo(() => defs.map((d) => d.key), [sig]);
  // Read like the host charts: stored history once per range, the live tail from memory each tick.
  const series = useRangeSeries(p.app, p.s, keys, p.view, p.span);
  if (!defs.length) return null;
  return (
    <section class="user-series" data-user-series={defs.length}>
      <h3>Your metrics</h3>
      <table class="user-values">
        <thead>
          <tr>
            <th>metric</th>
            <th>labels</th>
            <th>value</th>
            <th>from</th>
          </tr>
        </thead>
        <tbody>
          {defs.map((d) => (
            <tr data-key={d.key} title={d.help ?? ''}>
              <td>{d.metric}</td>
              <td class="muted">{labelsText(d.labels)}</td>
              <td class="num">{fmtUser(val(p.s, d.key), d.unit)}</td>
              <td class="muted small">{d.source.kind === 'textfile' ? d.source.file : d.source.kind === 'exec' ? `exec ${d.source.name}` : 'push'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {series && (
        <div class="charts">
          {byMetric.map(([metric, list]) => (
            <Chart
              title={`${metric}${list[0]!.unit ? ` (${list[0]!.unit})` : ''}`}
              syncKey={p.sync}
              xRange={p.xr}
              marks={p.marks}
              onZoom={p.onZoom}
              onReset={p.onReset}
              series={list.map((d, i): ChartSeries => ({
                label: labelsText(d.labels) || metric,
                color: PALETTE[i % PALETTE.length]!,
                unit: d.unit,
                fmt: (v) => fmtUser(v),
              }))}
              data={p.aligned(
                series,
                list.map((d) => (g) => g(d.key)),
                p.gap,
              )}
            />
          ))}
        </div>
      )}
    </section>
  );
}
