/** Alerts through IndexedDB (fake-indexeddb): stored once per key, a new leader continues, only the leader evaluates; the metric picker's groups. */
import 'fake-indexeddb/auto';
import { describe, expect, test } from 'bun:test';
import type { AlertMsg } from '../../shared/alerts.ts';
import { openDb, type DB } from '../../web/lib/db.ts';
import { AlertHub } from '../../web/lib/alert-hub.ts';
import { KEEP_RESOLVED_MS, loadAlerts, loadRules } from '../../web/lib/alert-store.ts';
import { metricGroups } from '../../web/lib/alert-metrics.ts';
import { buildCatalog } from '../../shared/catalog.ts';

let n = 0;
const freshDb = () => openDb(`alerts-${n++}-${Math.random()}`);
const rule = {
  id: 'hot',
  ep: '*',
  kind: 'threshold',
  metric: 'gpu*.temp',
  op: '>',
  threshold: 80,
  forS: 0,
  label: 'hot',
  enabled: true,
  silencedUntil: null,
  created: 0,
};
const keys = ['gpu0.temp'];

/** A tab: a hub on the shared database, with its broadcast messages going to the other tabs. */
function tab(db: DB, bus: AlertHub[], leader = false) {
  const t = {
    leader,
    hub: null as unknown as AlertHub,
  };
  t.hub = new AlertHub({
    db,
    get leader() {
      return t.leader;
    },
    post: (m: AlertMsg) => bus.filter((h) => h !== t.hub).forEach((h) => h.onMessage(m)),
    emit: () => {},
    endpointName: (id) => id,
  });
  bus.push(t.hub);
  return t;
}
const settle = () => new Promise((r) => setTimeout(r, 30));
const storedAlerts = async (db: DB) => (await db.getAll('meta', IDBKeyRange.bound('alert:', 'alert:\uffff'))) as { id: string; state: string; start: number }[];

describe('AlertHub', () => {
  test('the leader stores one record per key; a follower shows it; a new leader continues it and resolves it', async () => {
    const db = await freshDb();
    const bus: AlertHub[] = [];
    const a = tab(db, bus, true);
    const b = tab(db, bus);
    await a.hub.init();
    await b.hub.init();
    await a.hub.lead();
    await b.hub.saveRule(rule as never); // a rule saved in the other tab reaches the leader
    await settle();
    b.hub.sample('ep', keys, [0, 90], null); // followers do not evaluate
    expect(b.hub.list).toHaveLength(0);
    a.hub.sample('ep', keys, [0, 90], null);
    a.hub.sample('ep', keys, [1, 91], null);
    await settle();
    expect((await storedAlerts(db)).map((r) => `${r.id} ${r.state}`)).toEqual(['hot|ep|gpu0 firing']);
    expect(b.hub.list.map((x) => x.state)).toEqual(['firing']);
    expect(b.hub.firingCount()).toBe(1);
    // The leader tab closes; the other one leads from what is stored.
    bus.splice(bus.indexOf(a.hub), 1);
    b.leader = true;
    await b.hub.lead();
    b.hub.sample('ep', keys, [2, 92], null);
    await settle();
    expect(await storedAlerts(db)).toHaveLength(1);
    b.hub.sample('ep', keys, [3, 20], null);
    await settle();
    expect((await storedAlerts(db)).map((r) => r.state)).toEqual(['resolved']);
  });

  test('silencing an alert from a follower goes through the leader', async () => {
    const db = await freshDb();
    const bus: AlertHub[] = [];
    const a = tab(db, bus, true);
    const b = tab(db, bus);
    await db.put('alerts', rule as never);
    await a.hub.lead();
    await b.hub.init();
    a.hub.sample('ep', keys, [0, 90], null);
    b.hub.silenceAlert('hot|ep|gpu0', Date.now() + 60_000);
    await settle();
    expect(a.hub.firingCount()).toBe(0);
    expect(b.hub.firingCount()).toBe(0);
    expect(b.hub.list[0]!.silencedUntil).toBeGreaterThan(Date.now());
  });

  test('an XID replayed from before the keep time (its handled record pruned) neither fires nor notifies', async () => {
    const db = await freshDb();
    const a = tab(db, []);
    a.leader = true;
    await db.put('alerts', { id: 'xid', ep: '*', kind: 'xid', forS: 3600, label: 'XID', enabled: true, silencedUntil: null, created: 0 } as never);
    await a.hub.lead();
    a.hub.event('ep', { t: Date.now() - KEEP_RESOLVED_MS - 60_000, kind: 'xid', scope: 'gpu0', label: 'XID 79 on GPU 0' });
    await settle();
    expect(a.hub.list).toHaveLength(0);
    a.hub.event('ep', { t: Date.now() - 1000, kind: 'xid', scope: 'gpu0', label: 'XID 79 on GPU 0' });
    await settle();
    expect(a.hub.firingCount()).toBe(1); // a recent one still fires
  });

  test('loading drops resolved alerts past their keep time and the old duplicated log; bad stored rules are skipped', async () => {
    const db = await freshDb();
    const now = Date.now();
    const rec = (id: string, end: number) => ({
      id,
      rule: 'r',
      ep: 'e',
      instance: 'host',
      label: 'x',
      state: 'resolved',
      since: 0,
      start: 0,
      end,
      value: null,
      detail: null,
      silencedUntil: null,
      lastHit: null,
      mark: null,
    });
    await db.put('meta', rec('old', now - KEEP_RESOLVED_MS - 1), 'alert:old');
    await db.put('meta', rec('new', now - 1000), 'alert:new');
    await db.put('meta', [{ id: 'dup' }, { id: 'dup' }], 'alertlog');
    expect((await loadAlerts(db, now)).map((a) => a.id)).toEqual(['new']);
    expect(await db.get('meta', 'alertlog')).toBeUndefined();
    await db.put('alerts', { id: 'legacy', ep: '*', metric: 'status.offline', op: '>', threshold: 0, forS: 60, label: 'offline' } as never);
    await db.put('alerts', { id: 'broken', ep: '*', kind: 'threshold', metric: 'rm -rf', op: '>', threshold: 1, forS: 0 } as never);
    expect((await loadRules(db)).map((r) => `${r.id}:${r.kind}`)).toEqual(['legacy:silent']);
  });
});

describe('metric picker', () => {
  test('grouped by scope from the schemas: every GPU, host, each GPU, user metrics, with units', () => {
    const series = [
      ...buildCatalog(2, [0, 1]),
      { key: 'user.loss', label: 'loss', unit: '', scope: 'user' },
      { key: 'proc.gpu0.1-2.mem', label: 'p', unit: 'B', scope: 'process' },
    ];
    const g = metricGroups(series);
    expect(g.map((x) => x.label)).toEqual(['Every GPU', 'Host', 'GPU 0', 'GPU 1', 'User metrics']);
    expect(g[0]!.options.find((o) => o.key === 'gpu*.temp')).toMatchObject({ unit: 'C' });
    expect(g[1]!.options.map((o) => o.key)).toContain('host.mem.pct');
    expect(g[1]!.options.some((o) => o.key === 'host.cpu0.util')).toBe(false); // per-core series are not offered
    expect(g[3]!.options.map((o) => o.key)).toContain('gpu1.power');
    expect(g[4]!.options).toEqual([{ key: 'user.loss', label: 'loss', unit: '' }]);
    expect(metricGroups([]).map((x) => x.label)).toEqual(['Every GPU', 'Host']);
  });
});
