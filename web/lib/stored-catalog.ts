/**
 * A catalog for an endpoint whose agent catalog is not in memory (an import, or a schema not yet
 * received): the series keys it has stored, mapped back to their catalog entries where the key
 * says what it is (host, GPU and user series). Keys that say nothing about their unit are left out.
 */
import { builtinDef, type SeriesDef, type UserSeries } from '../../shared/catalog.ts';
import { parseUserKey } from '../../shared/series-key.ts';
import { CHUNKS, type DB } from './db.ts';

/** Distinct keys of an endpoint's raw tier: one cursor step per key, jumping past its records. */
export async function storedKeys(db: DB, ep: string): Promise<string[]> {
  const out: string[] = [];
  const store = db.transaction(CHUNKS).store;
  let cur = await store.openKeyCursor(IDBKeyRange.bound([ep, 'raw'], [ep, 'raw', []]));
  while (cur) {
    const key = cur.key[2] as string;
    out.push(key);
    // The smallest key after every record of this series: the next series (keys sort as strings, then t0).
    cur = await cur.continue([ep, 'raw', key, Infinity]);
  }
  return out;
}

/** Catalog entries for stored keys: host and GPU from the catalog tables, user series from their folded name. */
export function catalogFromKeys(keys: readonly string[]): SeriesDef[] {
  const out: SeriesDef[] = [];
  for (const key of keys) {
    const b = builtinDef(key);
    if (b) {
      out.push(b);
      continue;
    }
    const u = parseUserKey(key);
    if (u) {
      const labels = Object.entries(u.labels).map(([k, v]) => `${k}=${v}`);
      const def: UserSeries = {
        key,
        label: u.metric + (labels.length ? `{${labels.join(',')}}` : ''),
        unit: '',
        scope: 'user',
        precision: 'full',
        metric: u.metric,
        labels: u.labels,
        help: null,
        type: 'untyped',
        prom_unit: null,
        source: { kind: 'push' },
      };
      out.push(def);
    }
  }
  return out;
}
