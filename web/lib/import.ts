/** Import a gpulse JSON export (ours or `gpulse export --format json`) as a read-only endpoint, viewable offline. */
import { EXPORT_FORMAT } from '../../shared/export.ts';
import type { AppState } from './state.ts';
import { validSchema } from './live.ts';

export async function importFile(app: AppState, file: File): Promise<string> {
  if (file.size > 512 * 1048576) throw new Error('file larger than 512 MiB');
  let doc: { format?: string; info?: Record<string, unknown>; history?: { t?: unknown; series?: Record<string, unknown> }; events?: unknown[] };
  try {
    doc = JSON.parse(await file.text());
  } catch {
    throw new Error('not JSON');
  }
  if (doc?.format !== EXPORT_FORMAT || !doc.history || !Array.isArray(doc.history.t) || typeof doc.history.series !== 'object')
    throw new Error('not a gpulse export');
  const t = doc.history.t as unknown[];
  const keys = Object.keys(doc.history.series!);
  const cols = keys.map((k) => doc.history!.series![k]);
  if (!t.every((x) => typeof x === 'number' && Number.isFinite(x)) || !cols.every((c) => Array.isArray(c) && c.length === t.length))
    throw new Error('history columns are malformed');
  const rows = t.map((ti, i) => [
    ti as number,
    ...cols.map((c) => {
      const v = (c as unknown[])[i];
      return typeof v === 'number' && Number.isFinite(v) ? v : null;
    }),
  ]);
  const name = `${String(doc.info?.hostname ?? file.name)} (import)`;
  const ep = await app.addEndpoint(`http://import.invalid/${crypto.randomUUID()}`, '', name, true);
  const schema = validSchema(doc.info) ? doc.info : null;
  await app.importRows(ep, keys, rows, schema as never);
  for (const e of (doc.events ?? []) as Record<string, unknown>[]) {
    if (typeof e?.id === 'string' && typeof e.t === 'number' && typeof e.label === 'string')
      await app.db.put('events', { ep: ep.id, id: e.id, t: e.t, label: e.label, end_t: typeof e.end_t === 'number' ? e.end_t : null, source: 'local' });
  }
  return name;
}
