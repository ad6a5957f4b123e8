import 'fake-indexeddb/auto';
import { describe, expect, test } from 'bun:test';
import { openDB } from 'idb';
import { backoffMs } from '../../web/lib/backoff.ts';
import { ChunkWriter, joinChunks, tierFor, WINDOW } from '../../web/lib/chunks.ts';
import { lastTime, openDb, prune, readChunks } from '../../web/lib/db.ts';

let n = 0;
const freshDb = () => openDb(`test-${n++}-${Math.random()}`);

describe('backoffMs()', () => {
  test('doubles per attempt within ±30 % jitter, capped', () => {
    expect(backoffMs(0, 1000, 30_000, () => 0.5)).toBe(1000);
    expect(backoffMs(3, 1000, 30_000, () => 0.5)).toBe(8000);
    expect(backoffMs(20, 1000, 30_000, () => 0.5)).toBe(30_000);
    expect(backoffMs(2, 1000, 30_000, () => 0)).toBe(2800);
    expect(backoffMs(2, 1000, 30_000, () => 0.9999)).toBeLessThanOrEqual(5200);
  });
});

describe('ChunkWriter', () => {
  const keys = ['a', 'b'];
  test('rows land in 10-minute windows, one record per window, read back in order', async () => {
    const db = await freshDb();
    const w = new ChunkWriter('ep');
    const t0 = 1_800_000_000_000; // a window boundary (multiple of 600 000)
    for (let i = 0; i < 1300; i++) w.append(t0 + i * 1000, keys, [i, i % 2 ? null : 2 * i]);
    expect(await w.flush(db)).toBeGreaterThan(0);
    const raw = await readChunks(db, 'ep', 'raw', t0, t0 + 1300 * 1000);
    expect(raw.map((c) => c.t.length)).toEqual([600, 600, 100]);
    expect(raw[0]!.t0).toBe(t0);
    const s = joinChunks(raw, ['b', 'a', 'missing'], t0, t0 + 1300 * 1000);
    expect(s.t.length).toBe(1300);
    expect(s.cols.get('a')![1299]).toBe(1299);
    expect(s.cols.get('b')![1]).toBeNaN();
    expect(s.cols.get('missing')![0]).toBeNaN();
    expect(await lastTime(db, 'ep')).toBe(t0 + 1299 * 1000);
  });
  test('1-minute rollups hold avg, min and max of each closed window', async () => {
    const db = await freshDb();
    const w = new ChunkWriter('ep');
    const t0 = 1_800_000_000_000;
    for (let i = 0; i < 601; i++) w.append(t0 + i * 1000, keys, [i, 5]); // the 601st row closes the first window
    await w.flush(db);
    const m = await readChunks(db, 'ep', '1m', t0, t0 + 600_000);
    const s = joinChunks(m, ['a', 'b'], t0, t0 + 600_000);
    expect(s.t.length).toBe(10);
    expect(s.t[1]! - s.t[0]!).toBe(60_000);
    expect(s.cols.get('a')![0]).toBe(29.5);
    expect(s.min!.get('a')![0]).toBe(0);
    expect(s.max!.get('a')![9]).toBe(599);
    const h = joinChunks(await readChunks(db, 'ep', '1h', t0 - 3600e3, t0 + 3600e3), ['a'], t0 - 3600e3, t0 + 3600e3);
    expect(h.t.length).toBe(1);
    expect(h.cols.get('a')![0]).toBe(299.5);
  });
  test('a rollup bucket filled from two windows is the sample-weighted average', async () => {
    const db = await freshDb();
    const w = new ChunkWriter('ep');
    const t0 = 1_800_000_000_000;
    for (let i = 0; i < 1201; i++) w.append(t0 + i * 1000, ['a'], [i < 600 ? 0 : 10]);
    await w.flush(db);
    const h = joinChunks(await readChunks(db, 'ep', '1h', t0 - 3600e3, t0 + 3600e3), ['a'], t0 - 3600e3, t0 + 3600e3);
    expect(h.cols.get('a')![0]).toBe(5);
  });
  test('a changed catalog starts a new chunk; rows going back in time are ignored', async () => {
    const db = await freshDb();
    const w = new ChunkWriter('ep');
    const t0 = 1_800_000_000_000;
    w.append(t0, ['a'], [1]);
    w.append(t0 + 1000, ['a'], [2]);
    w.append(t0 + 500, ['a'], [99]);
    w.append(t0 + 2000, ['a', 'b'], [3, 4]);
    await w.flush(db);
    const raw = await readChunks(db, 'ep', 'raw', t0, t0 + 3000);
    expect(raw.map((c) => c.keys.join())).toEqual(['a', 'a,b']);
    expect(Array.from(raw[0]!.v[0]!)).toEqual([1, 2]);
    const s = joinChunks(raw, ['a', 'b'], t0, t0 + 3000);
    expect(Array.from(s.cols.get('a')!)).toEqual([1, 2, 3]);
  });
});

describe('retention', () => {
  test('prune deletes only chunks that end before the cut, per endpoint and tier', async () => {
    const db = await freshDb();
    for (const ep of ['x', 'y']) {
      const w = new ChunkWriter(ep);
      for (let i = 0; i < 3 * 600; i++) w.append(1_800_000_000_000 + i * 1000, ['a'], [i]);
      await w.flush(db);
    }
    const cut = 1_800_000_000_000 + WINDOW.raw + 1;
    expect(await prune(db, 'x', 'raw', cut)).toBe(1);
    expect((await readChunks(db, 'x', 'raw', 0, Infinity)).length).toBe(2);
    expect((await readChunks(db, 'y', 'raw', 0, Infinity)).length).toBe(3);
  });
  test('tierFor keeps a range to a few thousand points', () => {
    expect(tierFor(3600e3, 1000)).toBe('raw');
    expect(tierFor(7 * 86400e3, 1000)).toBe('1m');
    expect(tierFor(30 * 86400e3, 1000)).toBe('1h');
  });
});

describe('schema upgrade', () => {
  test('a v1 database with history upgrades to v2 without losing anything', async () => {
    const name = `upgrade-${Math.random()}`;
    const v1 = await openDB(name, 1, { upgrade(db) {
      db.createObjectStore('endpoints', { keyPath: 'id' });
      const chunks = db.createObjectStore('chunks', { keyPath: ['ep', 'tier', 't0'] });
      chunks.createIndex('byEnd', ['ep', 'tier', 't1']);
      db.createObjectStore('meta');
    } });
    await v1.put('endpoints', { id: 'e1', name: 'box', url: 'http://box:9740', token: 't', order: 0, added: 1 });
    await v1.put('chunks', { ep: 'e1', tier: 'raw', t0: 1000, t1: 2000, keys: ['a'], t: new Float64Array([1000, 2000]), v: [new Float32Array([1, 2])] });
    v1.close();
    const db = await openDb(name);
    expect(db.version).toBe(2);
    expect((await db.get('endpoints', 'e1'))!.name).toBe('box');
    const c = await readChunks(db, 'e1', 'raw', 0, 5000);
    expect(Array.from(c[0]!.v[0]!)).toEqual([1, 2]);
    expect(db.objectStoreNames.contains('events')).toBe(true);
    expect(db.objectStoreNames.contains('alerts')).toBe(true);
  });
});

describe('segments of the open window', () => {
  test('each flush writes only new rows; closing the window consolidates to one record without loss', async () => {
    const db = await freshDb();
    const w = new ChunkWriter('ep');
    const t0 = 1_800_000_000_000;
    for (let i = 0; i < 100; i++) w.append(t0 + i * 1000, ['a'], [i]);
    await w.flush(db);
    for (let i = 100; i < 250; i++) w.append(t0 + i * 1000, ['a'], [i]);
    await w.flush(db);
    let raw = await readChunks(db, 'ep', 'raw', t0, t0 + 600_000);
    expect(raw.map((c) => c.t.length)).toEqual([100, 150]);
    expect(joinChunks(raw, ['a'], t0, Infinity).t.length).toBe(250);
    for (let i = 250; i < 601; i++) w.append(t0 + i * 1000, ['a'], [i]);
    await w.flush(db);
    raw = await readChunks(db, 'ep', 'raw', t0, t0 + 700_000);
    expect(raw.map((c) => c.t.length)).toEqual([600, 1]);
    expect(Array.from(joinChunks(raw, ['a'], t0, Infinity).cols.get('a')!)).toEqual(Array.from({ length: 601 }, (_, i) => i));
  });
  test('a second writer (after a reload) in the same window never deletes the first one\'s rows', async () => {
    const db = await freshDb();
    const t0 = 1_800_000_000_000;
    const w1 = new ChunkWriter('ep');
    for (let i = 0; i < 50; i++) w1.append(t0 + i * 1000, ['a'], [i]);
    await w1.flush(db);
    const w2 = new ChunkWriter('ep'); // the page reloaded; resumes after the last stored row
    for (let i = 50; i < 601; i++) w2.append(t0 + i * 1000, ['a'], [i]);
    await w2.flush(db);
    const s = joinChunks(await readChunks(db, 'ep', 'raw', t0, Infinity), ['a'], t0, Infinity);
    expect(s.t.length).toBe(601);
    expect(s.cols.get('a')![0]).toBe(0);
  });
});
