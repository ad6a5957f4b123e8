/** Export a stored range as CSV (one column per series, ISO and epoch time) or as the agent's JSON history format. */
import { joinChunks, tierFor } from './chunks.ts';
import { readChunks } from './db.ts';
import type { AppState, EpState } from './state.ts';

async function rangeData(app: AppState, s: EpState, from: number, to: number) {
  const tier = tierFor(to - from, s.schema?.interval_ms ?? 1000);
  const keys = s.keys;
  const ser = joinChunks(await readChunks(app.db, s.ep.id, tier, from, to), keys, from, to);
  return { keys, ser };
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
  const { keys, ser } = await rangeData(app, s, from, to);
  let out = ['time', 't_ms', ...keys].join(',') + '\n';
  for (let i = 0; i < ser.t.length; i++) out += `${new Date(ser.t[i]!).toISOString()},${ser.t[i]},${keys.map((k) => { const v = ser.cols.get(k)![i]!; return Number.isFinite(v) ? +v.toPrecision(7) : ''; }).join(',')}\n`;
  download(`gpulse-${s.ep.name}-${stamp(from)}.csv`, 'text/csv', out);
}

export async function exportJson(app: AppState, s: EpState, from: number, to: number) {
  const { keys, ser } = await rangeData(app, s, from, to);
  const series: Record<string, (number | null)[]> = {};
  for (const k of keys) series[k] = Array.from(ser.cols.get(k)!, (v) => (Number.isFinite(v) ? +v.toPrecision(7) : null));
  const events = await app.db.getAllFromIndex('events', 'byTime', IDBKeyRange.bound([s.ep.id, from], [s.ep.id, to]));
  const doc = { format: 'gpulse-export', version: 1, info: { ...(s.schema ?? {}), hostname: s.schema?.hostname ?? s.ep.name }, history: { t: Array.from(ser.t), series }, events: events.map(({ ep: _ep, ...e }) => e) };
  download(`gpulse-${s.ep.name}-${stamp(from)}.json`, 'application/json', JSON.stringify(doc));
}
