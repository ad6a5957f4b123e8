/**
 * The PWA's stores on fake-indexeddb: one endpoint's live window, the fleet's endpoint list and
 * last-known values across a re-created store (a reload with the agent down), and an import that
 * shows its GPUs at once, in its own tab and in another.
 */
import 'fake-indexeddb/auto';
import { describe, expect, test } from 'bun:test';
import { fmtAgo } from '../../shared/format.ts';
import type { Schema, SnapshotExtras } from '../../shared/wire.ts';
import { openDb } from '../../web/lib/db.ts';
import { EndpointStore, TAIL } from '../../web/lib/endpoint-store.ts';
import { FleetStore } from '../../web/lib/fleet-store.ts';
import { importFile } from '../../web/lib/import.ts';
import { lastKnownKey } from '../../web/lib/last-known.ts';
import { AppState } from '../../web/lib/state.ts';
import { val } from '../../web/lib/values.ts';
import { FakeLocks } from './fake-locks.ts';
import { until } from '../helpers.ts';

let n = 0;
const freshName = () => `fleet-${n++}-${Math.random()}`;

const series = (keys: string[]) => keys.map((key) => ({ key, label: key, unit: '', scope: key.split('.')[0]! }));
function schemaOf(keys: string[], gpus = 0): Schema {
  return {
    version: '0.1.0',
    hostname: 'box',
    interval_ms: 1000,
    retention_s: 3600,
    capacity: 3600,
    provider: gpus ? 'nvml' : 'none',
    driver_version: null,
    cuda_version: null,
    host: { cpu_model: null, cores: 2, threads: 4, os: null },
    devices: Array.from({ length: gpus }, (_, i) => ({ index: i, name: `NVIDIA H100 #${i}`, uuid: `GPU-${i}`, memory_total: 80e9, provider: 'nvml' as const })),
    series: series(keys),
  } as Schema;
}
const KEYS = ['host.cpu.util', 'host.mem.used', 'gpu0.util'];
const extras: SnapshotExtras = {
  gpus: [{ index: 0, pstate: 'P0', throttle: ['sw_power_cap'], processes: [], lost: false, mig: null }],
  workloads: { ollama: [] },
};

describe('EndpointStore', () => {
  const ep = { id: 'e', name: 'e', url: 'http://e', token: '', order: 0, added: 0 };

  test('rows fill the live window; a replay of rows already shown is skipped; the window is bounded', () => {
    const s = new EndpointStore(ep, schemaOf(KEYS));
    s.addRows(KEYS, [
      [1000, 1, 2, 3],
      [2000, 4, 5, 6],
    ]);
    s.addRows(KEYS, [
      [1000, 9, 9, 9],
      [2000, 9, 9, 9],
      [3000, 7, 8, 9],
    ]);
    expect(s.tail.map((r) => r[0])).toEqual([1000, 2000, 3000]);
    expect(val(s, 'gpu0.util')).toBe(9);
    s.addRows(
      KEYS,
      Array.from({ length: TAIL + 10 }, (_, i) => [4000 + i * 1000, i, 0, 0]),
    );
    expect(s.tail.length).toBe(TAIL);
    expect(s.tail[0]![0]).toBe(4000 + 10 * 1000);
  });

  test('a catalog with other keys drops the row it can no longer read; the same catalog keeps it', () => {
    const s = new EndpointStore(ep, schemaOf(KEYS));
    s.addRows(KEYS, [[1000, 1, 2, 3]]);
    s.setSchema(schemaOf(KEYS));
    expect(val(s, 'host.cpu.util')).toBe(1);
    s.setSchema(schemaOf(['host.cpu.util', 'gpu0.util']));
    expect(s.last).toBeNull();
    expect(val(s, 'host.cpu.util')).toBeNull();
  });

  test('lastSeen follows live samples; an offline status keeps the values', () => {
    const s = new EndpointStore(ep, schemaOf(KEYS));
    expect(s.lastSeen).toBeNull();
    s.addRows(KEYS, [[1000, 1, 2, 3]]);
    s.setStatus({ kind: 'live', lastT: 5000 });
    s.setStatus({ kind: 'offline', retryAt: 9000, attempt: 0, message: 'agent unreachable' });
    expect(s.lastSeen).toBe(5000);
    expect(val(s, 'host.mem.used')).toBe(2);
  });
});

test('fmtAgo: "last seen" in coarse units, never negative (a skewed clock), a dash when never seen', () => {
  const now = 1_700_000_000_000;
  expect([0, 59_400, 60_000, 3_599_000, 7_200_000, 3 * 86_400_000, -5000].map((d) => fmtAgo(now - d, now))).toEqual([
    '0 s ago',
    '59 s ago',
    '1 min ago',
    '59 min ago',
    '2 h ago',
    '3 d ago',
    '0 s ago',
  ]);
  expect(fmtAgo(null, now)).toBe('—');
});

describe('FleetStore', () => {
  async function fleetWithOne(name: string) {
    const db = await openDb(name);
    const f = new FleetStore(() => db);
    await f.reload();
    const ep = await f.add({ name: 'box', url: 'http://box:9740', token: 't' });
    await f.saveSchema(ep.id, schemaOf(KEYS, 1));
    return { db, f, ep };
  }

  test('last-known values, extras and lastSeen survive a re-created store (a reload with the agent down)', async () => {
    const name = freshName();
    const { db, f, ep } = await fleetWithOne(name);
    const s = f.get(ep.id)!;
    s.setSchema(schemaOf(KEYS, 1));
    s.addRows(KEYS, [
      [1000, 10, 2e9, 50],
      [2000, 12, 2e9, 55],
    ]);
    s.setExtras(extras);
    s.setStatus({ kind: 'live', lastT: 1_700_000_000_000 });
    f.lastKnown.note(ep.id);
    await f.lastKnown.flush();
    db.close();

    const db2 = await openDb(name);
    const again = new FleetStore(() => db2);
    await again.reload();
    const s2 = again.get(ep.id)!;
    expect(s2.status.kind).toBe('connecting');
    expect(s2.schema?.devices.length).toBe(1);
    expect(val(s2, 'host.cpu.util')).toBe(12);
    expect(val(s2, 'gpu0.util')).toBe(55);
    expect(s2.extras).toEqual(extras);
    expect(s2.lastSeen).toBe(1_700_000_000_000);
    expect(s2.tail).toEqual([]); // sparklines and live charts start from history, not from one kept row
  });

  test('nothing is written until noted and flushed, one record per endpoint; removing the endpoint removes it', async () => {
    const { db, f, ep } = await fleetWithOne(freshName());
    const other = await f.add({ name: 'b', url: 'http://b:9740', token: 't' });
    for (const id of [ep.id, other.id]) {
      f.get(id)!.addRows(KEYS, [[1000, 1, 2, 3]]);
      f.get(id)!.setStatus({ kind: 'live', lastT: 1000 });
    }
    await f.lastKnown.flush();
    expect(await db.get('meta', lastKnownKey(ep.id))).toBeUndefined();
    f.lastKnown.note(ep.id);
    f.lastKnown.note(ep.id);
    f.lastKnown.note(other.id);
    await f.lastKnown.flush();
    expect(await db.get('meta', lastKnownKey(ep.id))).toMatchObject({ keys: KEYS, last: [1000, 1, 2, 3], seen: 1000 });
    expect(await db.get('meta', lastKnownKey(other.id))).toMatchObject({ seen: 1000 });
    await f.remove(ep.id);
    expect(await db.get('meta', lastKnownKey(ep.id))).toBeUndefined();
    expect(f.order).toEqual([other.id]);
  });

  test('a damaged record, or one whose keys the stored catalog no longer has, is not shown', async () => {
    const name = freshName();
    const { db, f, ep } = await fleetWithOne(name);
    const other = await f.add({ name: 'b', url: 'http://b:9740', token: 't' });
    await f.saveSchema(other.id, schemaOf(KEYS));
    await db.put('meta', { keys: KEYS, last: [1000, 1], extras: null, seen: 5 }, lastKnownKey(ep.id));
    await db.put('meta', { keys: ['x.y'], last: [1000, 1], extras: null, seen: 5 }, lastKnownKey(other.id));
    const again = new FleetStore(() => db);
    await again.reload();
    expect(again.get(ep.id)!.last).toBeNull();
    expect(again.get(other.id)!.last).toBeNull();
    expect(again.get(ep.id)!.lastSeen).toBeNull();
  });

  test('order, rename and move are stored and re-read', async () => {
    const { db, f, ep } = await fleetWithOne(freshName());
    const b = await f.add({ name: 'b', url: 'http://b:9740', token: 't' });
    expect(await f.move(ep.id, 1)).toBe(true);
    expect(await f.move(ep.id, 1)).toBe(false);
    expect(await f.update(b.id, { name: 'renamed' })).toBe(true);
    const again = new FleetStore(() => db);
    await again.reload();
    expect(again.order).toEqual([b.id, ep.id]);
    expect(again.get(b.id)!.ep.name).toBe('renamed');
  });
});

describe('import', () => {
  test('an imported export shows its host and GPUs at once, in this tab and in another one', async () => {
    Object.defineProperty(navigator, 'locks', { value: new FakeLocks(), configurable: true });
    const name = freshName();
    const a = new AppState();
    await a.init(name);
    await until(() => a.role === 'leader', 'the first tab to lead');
    const b = new AppState();
    await b.init(name);
    await until(() => b.role === 'follower', 'the second tab to follow');

    const keys = ['host.cpu.util', 'gpu0.util', 'gpu1.util'];
    const t = Array.from({ length: 120 }, (_, i) => 1_700_000_000_000 + i * 1000);
    const doc = {
      format: 'gpulse-export',
      version: 1,
      info: schemaOf(keys, 2),
      history: { t, series: { 'host.cpu.util': t.map((_, i) => i % 100), 'gpu0.util': t.map(() => 30), 'gpu1.util': t.map((_, i) => i / 2) } },
      events: [],
    };
    const label = await importFile(a, new File([JSON.stringify(doc)], 'box.json'));
    expect(label).toBe('box (import)');
    const id = a.order[a.order.length - 1]!;
    const s = a.eps.get(id)!;
    // At once, no reload: the catalog (both GPUs) and the newest values.
    expect(s.schema?.devices.map((d) => d.index)).toEqual([0, 1]);
    expect(val(s, 'gpu1.util')).toBe(59.5);
    expect((await a.readHistory(id, 'raw', ['gpu1.util'])).t.length).toBe(120);

    await until(() => (b.eps.get(id)?.schema?.devices.length ?? 0) === 2 && b.eps.get(id)?.last != null, 'the other tab to show the import');
    expect(val(b.eps.get(id)!, 'gpu0.util')).toBe(30);
  });
});

describe('adding an agent', () => {
  test("the pairing check's /v1/info is primed for a new endpoint only, with its URL and token; not for one that already existed, nor when the add fails", async () => {
    Object.defineProperty(navigator, 'locks', { value: new FakeLocks(), configurable: true });
    const a = new AppState();
    await a.init(freshName());
    const primed: unknown[][] = [];
    a.history.primeInfo = (...args) => void primed.push(args);
    const info = { hostname: 'box' };
    // A port nothing listens on: the leader's connection attempts fail and back off; the add does not wait for them.
    const ep = await a.addEndpoint('http://127.0.0.1:9/', 'tok', 'box', { info });
    expect(primed).toEqual([[ep.url, 'tok', info]]);
    expect(await a.addEndpoint('http://127.0.0.1:9/', 'tok2', 'box', { info })).toMatchObject({ id: ep.id, url: ep.url });
    expect(primed.length).toBe(1);
    // The endpoint cannot be stored (a full disk): nothing is primed.
    a.fleet.add = async () => {
      throw new Error('disk full');
    };
    await expect(a.addEndpoint('http://127.0.0.1:10/', 'tok', 'other', { info })).rejects.toThrow('disk full');
    expect(primed.length).toBe(1);
    await a.removeEndpoint(ep.id);
  });
});
