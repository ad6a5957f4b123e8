/** Export a stored range as CSV or JSON (formats in shared/export.ts, the same as `gpulse export`). */
import { exportDoc, historyCsv } from '../../shared/export.ts';
import type { History } from '../../shared/wire.ts';
import { readSeries, tierFor, withTail } from './series.ts';
import type { AppState, EpState } from './state.ts';

/** The range as the agent's columnar history: stored chunks of the range's tier, plus live rows not stored yet. */
async function rangeHistory(app: AppState, s: EpState, from: number, to: number): Promise<History> {
  const tier = tierFor(to - from, s.schema?.interval_ms ?? 1000);
  const ser = withTail(await readSeries(app.db, s.ep.id, tier, s.keys, from, to), s.tail, s.keys, s.keys, tier, from, to);
  const series: History['series'] = {};
  for (const k of s.keys) series[k] = Array.from(ser.cols.get(k)!, (v) => (Number.isFinite(v) ? v : null));
  return { t: Array.from(ser.t), series };
}

function download(name: string, type: string, body: string) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([body], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

const stamp = (t: number) => new Date(t).toISOString().replace(/[:.]/g, '-');

export async function exportCsv(app: AppState, s: EpState, from: number, to: number) {
  download(`gpulse-${s.ep.name}-${stamp(from)}.csv`, 'text/csv', historyCsv(await rangeHistory(app, s, from, to)));
}

export async function exportJson(app: AppState, s: EpState, from: number, to: number) {
  const history = await rangeHistory(app, s, from, to);
  const events = await app.db.getAllFromIndex('events', 'byTime', IDBKeyRange.bound([s.ep.id, from], [s.ep.id, to]));
  const info = { ...(s.schema ?? {}), hostname: s.schema?.hostname ?? s.ep.name };
  download(
    `gpulse-${s.ep.name}-${stamp(from)}.json`,
    'application/json',
    JSON.stringify(
      exportDoc(
        info,
        history,
        events.map(({ ep: _ep, ...e }) => e),
      ),
    ),
  );
}
