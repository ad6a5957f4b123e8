/** The export formats, shared by `gpulse export`, the PWA's export buttons and its import. */
import type { History } from './wire.ts';

export const EXPORT_FORMAT = 'gpulse-export';

/** JSON export: the agent's history format plus its info and events. */
export interface ExportDoc {
  format: typeof EXPORT_FORMAT;
  version: 1;
  info: unknown;
  history: History;
  events: unknown[];
}

export const exportDoc = (info: unknown, history: History, events: unknown[]): ExportDoc => ({ format: EXPORT_FORMAT, version: 1, info, history, events });

/** CSV export: ISO time, epoch ms, then one column per series; a null is an empty cell. */
export function historyCsv(h: History): string {
  const keys = Object.keys(h.series);
  const esc = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  let out = ['time', 't_ms', ...keys].map(esc).join(',') + '\n';
  h.t.forEach((t, i) => {
    out += `${new Date(t).toISOString()},${t},${keys.map((k) => h.series[k]![i] ?? '').join(',')}\n`;
  });
  return out;
}
