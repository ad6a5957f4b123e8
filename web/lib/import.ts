/** Import a gpulse JSON export (ours or `gpulse export --format json`) as a read-only endpoint, viewable offline. */
import { EXPORT_FORMAT } from '../../shared/export.ts';
import type { TabMessage } from '../../shared/tab-messages.ts';
import type { Schema } from '../../shared/wire.ts';
import type { Endpoint } from './db.ts';
import { TAIL } from './endpoint-store.ts';
import type { FleetStore } from './fleet-store.ts';
import type { HistorySync } from './history.ts';
import { validSchema } from './live.ts';
import type { AppState } from './state.ts';
import { ChunkWriter } from './writer.ts';

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
  const ep = await app.addEndpoint(`http://import.invalid/${crypto.randomUUID()}`, '', name, { readOnly: true });
  const schema = validSchema(doc.info) ? doc.info : null;
  await app.importRows(ep, keys, rows, schema as never);
  for (const e of (doc.events ?? []) as Record<string, unknown>[]) {
    if (typeof e?.id === 'string' && typeof e.t === 'number' && typeof e.label === 'string')
      await app.db.put('events', { ep: ep.id, id: e.id, t: e.t, label: e.label, end_t: typeof e.end_t === 'number' ? e.end_t : null, source: 'local' });
  }
  return name;
}

/** An export without its agent's info: the sampling interval is the most common step between rows. */
export function guessInterval(rows: (number | null)[][]): number {
  const counts = new Map<number, number>();
  for (let i = 1; i < Math.min(rows.length, 1000); i++) {
    const d = (rows[i]![0] as number) - (rows[i - 1]![0] as number);
    if (d > 0) counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  let best = 1000,
    n = 0;
  for (const [d, c] of counts)
    if (c > n) {
      best = d;
      n = c;
    }
  return best;
}

/**
 * Imported rows under their read-only endpoint: written through the live writer's path, then
 * folded. Its catalog and newest rows go out as tab messages, so this tab and every other shows its
 * host and GPUs at once (an import used to show no GPUs until a reload: the endpoint was listed
 * before its catalog was stored, and a listed endpoint's catalog was never read again).
 */
export async function storeImport(
  app: { fleet: FleetStore; history: HistorySync; send(m: TabMessage): void },
  ep: Endpoint,
  keys: string[],
  rows: (number | null)[][],
  schema: Schema | null,
) {
  const iv = schema?.interval_ms ?? guessInterval(rows);
  if (schema) {
    await app.fleet.saveSchema(ep.id, schema);
    app.send({ type: 'schema', id: ep.id, schema });
  }
  const w = new ChunkWriter(ep.id, iv);
  for (const r of rows) w.append(r[0] as number, keys, r);
  await app.history.writeAll(ep.id, w);
  // The newest hour as its live window (and the newest row as its values); then views re-read.
  if (rows.length) app.send({ type: 'rows', id: ep.id, keys, rows: rows.slice(-TAIL), history: true });
  app.send({ type: 'stored', id: ep.id });
}
