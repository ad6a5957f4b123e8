/**
 * Your own metrics on the host view: their newest values, where each came from. Their charts are
 * the "Your metrics" group of the host charts (host-charts.tsx, one chart per metric). Series come
 * from the endpoint's schema, so a new file, push or collector shows up as soon as the agent's
 * `schema` event arrives, without a reload.
 */
import type { UserSeries } from '../../shared/catalog.ts';
import { fmtUnit } from '../../shared/format.ts';
import type { EpState } from '../lib/state.ts';
import { val } from '../lib/values.ts';

const labelsText = (l: Record<string, string>) =>
  Object.entries(l)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

export function UserSeriesSection({ s }: { s: EpState }) {
  const defs = (s.schema?.series ?? []).filter((d): d is UserSeries => d.scope === 'user');
  if (!defs.length) return null;
  return (
    <section class="user-series" data-user-series={defs.length}>
      <h3>Your metrics: newest values</h3>
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
              <td class="num">{fmtUnit(val(s, d.key), d.unit, { full: true })}</td>
              <td class="muted small">{d.source.kind === 'textfile' ? d.source.file : d.source.kind === 'exec' ? `exec ${d.source.name}` : 'push'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
