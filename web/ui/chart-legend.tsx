/** A chart's legend, always shown: per series last / min / max / avg over the visible range, and the value under the cursor. */
import { useMemo } from 'preact/hooks';
import { fmtUnit } from '../../shared/format.ts';
import { legendStats } from '../lib/legend-stats.ts';

export interface LegendProps {
  labels: string[];
  colors: string[];
  unit: string;
  full: boolean;
  xs: ArrayLike<number>;
  ys: ArrayLike<number | null | undefined>[];
  /** Per-bucket minimum and maximum columns (rollup tiers), aligned with `ys`. */
  lo?: ArrayLike<number | null | undefined>[];
  hi?: ArrayLike<number | null | undefined>[];
  from: number;
  to: number;
  /** Cells the chart writes the cursor's values into (no re-render per mouse move). */
  cursorRefs: { current: (HTMLElement | null)[] };
}

export function Legend({ labels, colors, unit, full, xs, ys, lo, hi, from, to, cursorRefs }: LegendProps) {
  const f = (v: number | null) => fmtUnit(v, unit, { full });
  // Recomputed only for new data or a new range (a chart off screen passes the same arrays again).
  const stats = useMemo(() => labels.map((_l, i) => legendStats(xs, ys[i] ?? [], from, to, lo?.[i], hi?.[i])), [labels.length, xs, ys, lo, hi, from, to]);
  return (
    <table class="legend">
      <thead>
        <tr>
          <th />
          <th class="cur-h" />
          <th>last</th>
          <th>min</th>
          <th>max</th>
          <th>avg</th>
        </tr>
      </thead>
      <tbody>
        {labels.map((label, i) => {
          const st = stats[i]!;
          return (
            <tr data-series={label}>
              <td class="name" title={label}>
                <i style={{ background: colors[i] }} />
                {label}
              </td>
              <td
                class="num cur"
                ref={(el) => {
                  cursorRefs.current[i] = el;
                }}
              />
              <td class="num" data-stat="last">
                {f(st.last)}
              </td>
              <td class="num" data-stat="min">
                {f(st.min)}
              </td>
              <td class="num" data-stat="max">
                {f(st.max)}
              </td>
              <td class="num" data-stat="avg">
                {f(st.avg)}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
