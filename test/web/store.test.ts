/** The PWA's history store on fake-indexeddb: writer, rollup fold + watermark, v2→v3 migration, backfill framing, pruning. */
import 'fake-indexeddb/auto';
import { describe, expect, test } from 'bun:test';
import { openDB } from 'idb';
import { decodeChunk, encodeChunk, quantize } from '../../shared/chunk/index.ts';
import { rawWindowMs } from '../../shared/chunk/windows.ts';
import { backoffMs } from '../../web/lib/backoff.ts';
import { frameRecords, planBackfill, storeRecords } from '../../web/lib/backfill.ts';
import { CHUNKS, lastTime, openDb, type ChunkRecord, type DB } from '../../web/lib/db.ts';
import { encodeRecord } from '../../web/lib/records.ts';
import { applyRetention, bytesByEndpoint, pruneOldest, pruneOrder, pruneTier, quotaTally, withQuotaRelief } from '../../web/lib/retention.ts';
import { bucketRaw, foldKey, foldRollups } from '../../web/lib/rollup.ts';
import { joinRuns, readSeries, tierFor, withTail } from '../../web/lib/series.ts';
import { ChunkWriter } from '../../web/lib/writer.ts';

let n = 0;
const freshDb = () => openDb(`test-${n++}-${Math.random()}`);
const W = rawWindowMs(1000); // 15 min at 1 s
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % (6 * 3_600_000)); // a 6 h (and so raw and 1 h) boundary
const all = (db: DB) => db.getAll(CHUNKS);
const rowsOf = async (db: DB, ep = 'ep', key = 'a', tier: 'raw' | '1m' | '1h' = 'raw') => readSeries(db, ep, tier, [key], 0, Infinity);

function write(w: ChunkWriter, from: number, to: number, keys: string[], f: (i: number, k: number) => number | null) {
  for (let i = from; i < to; i++) w.append(T0 + i * 1000, keys, [T0 + i * 1000, ...keys.map((_, k) => f(i, k))]);
}

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
  test("rows land in the agent's windows, one record per key and window, quantized as the agent does", async () => {
    const db = await freshDb();
    const w = new ChunkWriter('ep', 1000);
    write(w, 0, 1300, ['a', 'b'], (i, k) => (k ? (i % 2 ? null : 2 * i + 0.123456) : i));
    expect((await w.flush(db)).closed).toBe(1);
    const recs = await all(db);
    // window 1 closed: one record per key; window 2 open: one segment per key
    expect(recs.filter((r) => r.t0 === T0).map((r) => [r.key, r.n])).toEqual([
      ['a', 900],
      ['b', 900],
    ]);
    expect(recs.filter((r) => r.t0 === T0 + W).map((r) => r.n)).toEqual([400, 400]);
    const s = await readSeries(db, 'ep', 'raw', ['b', 'a', 'missing'], T0, T0 + 1300 * 1000);
    expect(s.t.length).toBe(1300);
    expect(s.cols.get('a')![1299]).toBe(1299);
    expect(s.cols.get('b')![1]).toBeNaN();
    expect(s.cols.get('b')![2]).toBe(quantize(4.123456));
    expect(s.cols.get('b')![2]).toBe(4.12);
    expect(s.cols.get('missing')![0]).toBeNaN();
    expect(await lastTime(db, 'ep')).toBe(T0 + 1299 * 1000);
  });

  test('a closed window is byte-for-byte the chunk the agent would seal from the same rows', async () => {
    const db = await freshDb();
    const w = new ChunkWriter('ep', 1000);
    const f = (i: number) => 50 + 40 * Math.sin(i / 60) + 0.001;
    write(w, 0, 901, ['a'], (i) => f(i));
    await w.flush(db);
    const rec = (await all(db)).find((r) => r.t0 === T0)!;
    const t = Float64Array.from({ length: 900 }, (_, i) => T0 + i * 1000);
    const want = encodeChunk({ tier: 'raw', key: 'a', t, v: t.map((_, i) => quantize(f(i))) });
    expect(new Uint8Array(rec.bytes)).toEqual(want as Uint8Array<ArrayBuffer>);
  });

  test('each flush writes only new rows; closing the window replaces its segments with one record', async () => {
    const db = await freshDb();
    const w = new ChunkWriter('ep', 1000);
    write(w, 0, 100, ['a'], (i) => i);
    await w.flush(db);
    write(w, 100, 250, ['a'], (i) => i);
    await w.flush(db);
    expect((await all(db)).map((r) => r.n)).toEqual([100, 150]);
    expect((await rowsOf(db)).t.length).toBe(250);
    write(w, 250, 901, ['a'], (i) => i);
    await w.flush(db);
    expect((await all(db)).map((r) => r.n)).toEqual([900, 1]);
    expect(Array.from((await rowsOf(db)).cols.get('a')!)).toEqual(Array.from({ length: 901 }, (_, i) => i));
  });

  test('a second writer (a reload, a new leader) merges with what the first stored in its window, never deletes it', async () => {
    const db = await freshDb();
    const w1 = new ChunkWriter('ep', 1000);
    write(w1, 0, 50, ['a'], (i) => i);
    await w1.flush(db);
    const w2 = new ChunkWriter('ep', 1000); // resumes after the last stored row
    write(w2, 50, 901, ['a'], (i) => i);
    await w2.flush(db);
    const s = await rowsOf(db);
    expect(s.t.length).toBe(901);
    expect(s.cols.get('a')![0]).toBe(0);
    expect((await all(db)).filter((r) => r.t0 < T0 + W).length).toBe(1); // merged into one whole window
  });

  test('rows a backfill stored into the open window survive its close (markForeign)', async () => {
    const db = await freshDb();
    const w = new ChunkWriter('ep', 1000);
    write(w, 0, 10, ['a'], (i) => i); // the writer sees the window from its start …
    await w.flush(db);
    // … loses the stream; a backfill stores the agent's copy of the window so far
    const t = Float64Array.from({ length: 500 }, (_, i) => T0 + i * 1000);
    await storeRecords(db, [encodeRecord('ep', { tier: 'raw', key: 'a', t, v: t.map((_, i) => i) })], { raw: T0 + 9000 });
    w.markForeign(T0 + 499_000);
    write(w, 500, 901, ['a'], (i) => i);
    await w.flush(db);
    expect((await rowsOf(db)).t.length).toBe(901);
  });

  test('a catalog change mid-window keeps every row of both catalogs', async () => {
    const db = await freshDb();
    const w = new ChunkWriter('ep', 1000);
    w.append(T0, ['a'], [T0, 1]);
    w.append(T0 + 1000, ['a'], [T0 + 1000, 2]);
    w.append(T0 + 500, ['a'], [T0 + 500, 99]); // back in time: ignored
    w.append(T0 + 2000, ['a', 'b'], [T0 + 2000, 3, 4]);
    w.append(T0 + W, ['a', 'b'], [T0 + W, 5, 6]);
    await w.flush(db);
    const s = await readSeries(db, 'ep', 'raw', ['a', 'b'], T0, T0 + W);
    expect(Array.from(s.t)).toEqual([T0, T0 + 1000, T0 + 2000, T0 + W]);
    expect(Array.from(s.cols.get('a')!)).toEqual([1, 2, 3, 5]);
    expect(Array.from(s.cols.get('b')!)).toEqual([NaN, NaN, 4, 6]);
  });

  test('a failed flush loses nothing: the same work is written by the next one', async () => {
    const db = await freshDb();
    const w = new ChunkWriter('ep', 1000);
    write(w, 0, 950, ['a'], (i) => i);
    const broken = {
      transaction: () => {
        throw new DOMException('full', 'QuotaExceededError');
      },
    } as unknown as DB;
    await expect(w.flush(broken)).rejects.toThrow();
    expect(w.pending).toBe(950);
    await w.flush(db);
    expect((await rowsOf(db)).t.length).toBe(950);
    expect(w.pending).toBe(0);
  });
});

describe('rollups: fold + watermark', () => {
  const keys = ['a', 'b'];
  test('a closed window folds into 1-minute and 1-hour buckets: avg, min, max, count; null-only buckets are gaps', async () => {
    const db = await freshDb();
    const w = new ChunkWriter('ep', 1000);
    // small values: rollup averages are quantized like raw values (2 decimals under 100)
    write(w, 0, 1801, keys, (i, k) => (k ? (i < 120 ? null : 5) : (i % 60) / 2));
    await w.flush(db);
    const r = await foldRollups(db, 'ep', w.foldHorizon!);
    expect(r.watermark).toBe(T0 + 2 * W);
    expect(await db.get('meta', foldKey('ep'))).toBe(T0 + 2 * W);
    const m = await readSeries(db, 'ep', '1m', keys, T0, T0 + 2 * W);
    expect(m.t.length).toBe(30);
    expect(m.t[1]! - m.t[0]!).toBe(60_000);
    expect(m.cols.get('a')![0]).toBe(14.75);
    expect(m.min!.get('a')![0]).toBe(0);
    expect(m.max!.get('a')![29]).toBe(29.5);
    expect(m.cols.get('b')![0]).toBeNaN(); // every sample null: a gap, not 0
    expect(m.cols.get('b')![2]).toBe(5);
    const h = await readSeries(db, 'ep', '1h', ['a'], T0, T0 + 3600e3);
    expect(Array.from(h.cols.get('a')!)).toEqual([14.75]); // half an hour folded so far
    expect(h.max!.get('a')![0]).toBe(29.5);
    const rec = (await db.getAll(CHUNKS)).find((x) => x.tier === '1m' && x.key === 'b')!;
    const d = decodeChunk(new Uint8Array(rec.bytes));
    if (!d.ok || d.value.tier === 'raw') throw new Error('bad');
    expect(Array.from(d.value.count.subarray(0, 3))).toEqual([0, 0, 60]);
  });

  test('an hour folded across windows is the sample-weighted average; folding twice changes nothing', async () => {
    const db = await freshDb();
    const w = new ChunkWriter('ep', 1000);
    write(w, 0, 3601, ['a'], (i) => (i < 900 ? 0 : 10));
    await w.flush(db);
    await foldRollups(db, 'ep', w.foldHorizon!);
    const h = await readSeries(db, 'ep', '1h', ['a'], T0, T0 + 3600e3);
    expect(h.cols.get('a')![0]).toBe(7.5);
    const before = (await all(db)).filter((r) => r.tier !== 'raw').map((r) => new Uint8Array(r.bytes));
    await db.put('meta', T0, foldKey('ep')); // pretend nothing was folded: fold it all again
    await foldRollups(db, 'ep', w.foldHorizon!);
    expect((await all(db)).filter((r) => r.tier !== 'raw').map((r) => new Uint8Array(r.bytes))).toEqual(before);
  });

  test('leader handover: windows written but not folded (the old leader died) are folded from the watermark, no gap', async () => {
    const db = await freshDb();
    const w1 = new ChunkWriter('ep', 1000);
    write(w1, 0, 1000, ['a'], (i) => i);
    await w1.flush(db);
    await foldRollups(db, 'ep', w1.foldHorizon!); // folds window 1
    write(w1, 1000, 2000, ['a'], (i) => i); // window 2 closes …
    await w1.flush(db); // … is written, and the tab dies before folding it
    const w2 = new ChunkWriter('ep', 1000);
    write(w2, 2000, 3000, ['a'], (i) => i);
    await w2.flush(db);
    await foldRollups(db, 'ep', w2.foldHorizon!);
    const m = await readSeries(db, 'ep', '1m', ['a'], T0, Infinity);
    expect(Array.from(m.t)).toEqual(Array.from({ length: 45 }, (_, i) => T0 + i * 60_000)); // 3 windows × 15 min, no hole
    expect(m.cols.get('a')![44]).toBe(quantize(2669.5)); // 2670: ≥ 1000 → whole numbers, as on the wire
  });

  test('fold walks past empty stretches and across 6-hour rollup windows', async () => {
    const db = await freshDb();
    const w = new ChunkWriter('ep', 1000);
    write(w, 0, 60, ['a'], () => 1);
    write(w, 86_400, 86_460, ['a'], () => 2); // a day later
    write(w, 90_000, 90_001, ['a'], () => 3); // closes that window
    await w.flush(db);
    const r = await foldRollups(db, 'ep', w.foldHorizon!);
    expect(r.groups).toBe(2);
    const m = await readSeries(db, 'ep', '1m', ['a'], 0, Infinity);
    expect(Array.from(m.t)).toEqual([T0, T0 + 86_400_000]);
    expect(Array.from(m.cols.get('a')!)).toEqual([1, 2]);
  });

  test('bucketRaw counts only present samples', () => {
    const b = bucketRaw({ t: Float64Array.from([0, 1000, 60_000]), v: Float64Array.from([1, NaN, 4]) }, 60_000);
    expect(Array.from(b.count!)).toEqual([1, 1]);
    expect(Array.from(b.v)).toEqual([1, 4]);
  });
});

describe('schema upgrade', () => {
  async function v2Database(name: string) {
    const v2 = await openDB(name, 2, {
      upgrade(db) {
        db.createObjectStore('endpoints', { keyPath: 'id' });
        const chunks = db.createObjectStore('chunks', { keyPath: ['ep', 'tier', 't0'] });
        chunks.createIndex('byEnd', ['ep', 'tier', 't1']);
        db.createObjectStore('meta');
        const ev = db.createObjectStore('events', { keyPath: ['ep', 'id'] });
        ev.createIndex('byTime', ['ep', 't']);
        db.createObjectStore('alerts', { keyPath: 'id' });
      },
    });
    await v2.put('endpoints', { id: 'e1', name: 'box', url: 'http://box:9740', token: 't', order: 0, added: 1 });
    await v2.put('meta', { interval_ms: 1000, series: [] }, 'schema:e1');
    // v2 raw: 10-minute columnar chunks of two keys (Float32), then two segments of the open window
    const t0 = T0 - 600_000; // starts 10 min before a 15-min window boundary
    const chunk = (from: number, len: number) => ({
      ep: 'e1',
      tier: 'raw',
      t0: t0 + from * 1000,
      t1: t0 + (from + len - 1) * 1000,
      keys: ['a', 'b'],
      t: Float64Array.from({ length: len }, (_, i) => t0 + (from + i) * 1000),
      v: [Float32Array.from({ length: len }, (_, i) => (from + i) * 0.25), Float32Array.from({ length: len }, (_, i) => ((from + i) % 3 ? 1e9 : NaN))],
    });
    await v2.put('chunks', chunk(0, 600));
    await v2.put('chunks', chunk(600, 600));
    await v2.put('chunks', chunk(1200, 17));
    await v2.put('chunks', chunk(1217, 3));
    await v2.put('chunks', {
      ep: 'e1',
      tier: '1m',
      t0,
      t1: t0 + 9 * 60_000,
      keys: ['a'],
      t: Float64Array.from({ length: 10 }, (_, i) => t0 + i * 60_000),
      v: [new Float32Array(10).fill(7.5)],
      min: [new Float32Array(10).fill(1)],
      max: [new Float32Array(10).fill(9)],
    });
    v2.close();
  }

  test('a v2 database with history upgrades to v3 without losing a sample; the old store is gone', async () => {
    const name = `upgrade-${Math.random()}`;
    await v2Database(name);
    const db = await openDb(name);
    expect(db.version).toBe(3);
    expect(db.objectStoreNames.contains('chunks')).toBe(false);
    expect((await db.get('endpoints', 'e1'))!.name).toBe('box');
    const s = await readSeries(db, 'e1', 'raw', ['a', 'b'], 0, Infinity);
    expect(s.t.length).toBe(1220);
    expect(Array.from(s.cols.get('a')!)).toEqual(Array.from({ length: 1220 }, (_, i) => quantize(i * 0.25)));
    expect(s.cols.get('b')![0]).toBeNaN();
    expect(s.cols.get('b')![1]).toBe(1e9);
    // re-cut at the v3 windows: [t0, T0) and [T0, …)
    const raw = (await db.getAll(CHUNKS)).filter((r) => r.tier === 'raw');
    expect(raw.map((r) => [r.key, r.t0, r.n])).toEqual([
      ['a', T0 - 600_000, 600],
      ['a', T0, 620],
      ['b', T0 - 600_000, 600],
      ['b', T0, 620],
    ]);
    const m = await readSeries(db, 'e1', '1m', ['a'], 0, Infinity);
    expect(m.t.length).toBe(10);
    expect(m.cols.get('a')![0]).toBe(7.5);
    expect(m.max!.get('a')![0]).toBe(9);
    expect(await db.get('meta', foldKey('e1'))).toBe(T0); // refold from the last 6-hour window
  });

  test('a fresh install gets v3 directly', async () => {
    const db = await freshDb();
    expect(db.version).toBe(3);
    expect([...db.objectStoreNames].sort()).toEqual(['alerts', 'chunks3', 'endpoints', 'events', 'meta']);
  });
});

describe('backfill: frames from the agent stored as received', () => {
  const frame = (key: string, t0: number, n: number, f = (i: number) => i) =>
    encodeChunk({ tier: 'raw', key, t: Float64Array.from({ length: n }, (_, i) => t0 + i * 1000), v: Float64Array.from({ length: n }, (_, i) => f(i)) });
  const body = (...fs: Uint8Array[]) => {
    const out = new Uint8Array(fs.reduce((s, f) => s + f.length, 0));
    let o = 0;
    for (const f of fs) {
      out.set(f, o);
      o += f.length;
    }
    return out;
  };

  test('every frame is validated; a frame with a bad checksum is skipped and reported, the rest kept byte for byte', async () => {
    const a = frame('a', T0, 900),
      b = frame('b', T0, 900),
      c = frame('c', T0, 900);
    const buf = body(a, b, c);
    buf[a.length + 20]! ^= 0xff; // corrupt frame b's payload
    const f = frameRecords('ep', buf, 'raw');
    expect(f.bad).toHaveLength(1);
    expect(f.bad[0]).toMatch(/checksum/);
    expect(f.records.map((r) => r.key)).toEqual(['a', 'c']);
    const db = await freshDb();
    await storeRecords(db, f.records, {});
    const stored = await all(db);
    expect(new Uint8Array(stored[0]!.bytes)).toEqual(a as Uint8Array<ArrayBuffer>);
    expect(new Uint8Array(stored[1]!.bytes)).toEqual(c as Uint8Array<ArrayBuffer>);
    expect(stored[0]).toMatchObject({ ep: 'ep', tier: 'raw', key: 'a', t0: T0, t1: T0 + 899_000, n: 900 });
  });

  test('a truncated body keeps the whole frames before the cut', () => {
    const a = frame('a', T0, 10),
      b = frame('b', T0, 10);
    const f = frameRecords('ep', body(a, b).subarray(0, a.length + 5), 'raw');
    expect(f.records.map((r) => r.key)).toEqual(['a']);
    expect(f.bad[0]).toMatch(/truncated/);
  });

  test('a received window replaces the local records it covers (the segments of the window the browser was in)', async () => {
    const db = await freshDb();
    const w = new ChunkWriter('ep', 1000);
    write(w, 0, 100, ['a'], (i) => i);
    await w.flush(db);
    write(w, 100, 130, ['a'], (i) => i);
    await w.flush(db);
    expect((await all(db)).length).toBe(2);
    const f = frameRecords('ep', frame('a', T0, 600), 'raw');
    const r = await storeRecords(db, f.records, { raw: T0 + 129_000 });
    expect(r.replaced).toBe(2);
    const stored = await all(db);
    expect(stored).toHaveLength(1);
    expect(new Uint8Array(stored[0]!.bytes)).toEqual(frame('a', T0, 600) as Uint8Array<ArrayBuffer>);
  });

  test("plan: from local data (or the retention) to the agent's newest, per tier", () => {
    const tiers = [
      { tier: 'raw' as const, step_ms: 1000, retention_s: 86400, oldest: 1000, newest: 5_000_000 },
      { tier: '1m' as const, step_ms: 60000, retention_s: 1, oldest: null, newest: null },
    ];
    expect(planBackfill(tiers, { raw: null, '1m': null, '1h': null }, { raw: 3_000_000, '1m': 1, '1h': 1 })).toEqual([
      { tier: 'raw', since: 2_000_000, until: 5_000_000 },
    ]);
    expect(planBackfill(tiers, { raw: 4_000_000, '1m': null, '1h': null }, { raw: 3_000_000, '1m': 1, '1h': 1 })).toEqual([
      { tier: 'raw', since: 4_000_000, until: 5_000_000 },
    ]);
  });
});

describe('retention and quota, per endpoint', () => {
  async function twoEndpoints() {
    const db = await freshDb();
    for (const ep of ['x', 'y']) {
      const w = new ChunkWriter(ep, 1000);
      write(w, 0, 3 * 3600 + 1, ['a', 'b'], (i) => i);
      await w.flush(db);
      await foldRollups(db, ep, w.foldHorizon!);
    }
    return db;
  }
  const count = async (db: DB, ep: string, tier: string) => (await all(db)).filter((r) => r.ep === ep && r.tier === tier).length;

  test('prune deletes only records that end before the cut, of one endpoint and tier', async () => {
    const db = await twoEndpoints();
    expect(await pruneTier(db, 'x', 'raw', T0 + W + 1)).toBe(2); // the first window's 2 keys end before it
    expect(await count(db, 'x', 'raw')).toBe(2 * 13 - 2);
    expect(await count(db, 'y', 'raw')).toBe(2 * 13);
    expect(await count(db, 'x', '1m')).toBe(2);
  });

  test('retention per tier: raw goes first, rollups stay', async () => {
    const db = await twoEndpoints();
    await applyRetention(db, 'x', { raw: 3600e3, '1m': 365 * 86400e3, '1h': 365 * 86400e3 }, T0 + 3 * 3600e3 + 1000);
    const s = await readSeries(db, 'x', 'raw', ['a'], 0, Infinity);
    expect(s.t[0]).toBeGreaterThanOrEqual(T0 + 2 * 3600e3 - W);
    expect((await readSeries(db, 'x', '1m', ['a'], 0, Infinity)).t.length).toBe(180);
    expect((await readSeries(db, 'y', 'raw', ['a'], 0, Infinity)).t.length).toBe(3 * 3600 + 1);
  });

  /** A write that fails with QuotaExceededError `failures` times, then succeeds; returns what was pruned, as ep:tier. */
  async function fullWrites(db: DB, writer: string, failures: number, now?: () => number) {
    const pruned: string[] = [];
    await withQuotaRelief(
      db,
      writer,
      async () => {
        if (failures-- > 0) throw new DOMException('full', 'QuotaExceededError');
        return 1;
      },
      (p) => pruned.push(`${p.ep}:${p.tier}`),
      now,
    );
    return pruned;
  }

  test('QuotaExceededError after a flood: the endpoint most over its fair share loses its oldest raw; the writer loses nothing', async () => {
    const db = await freshDb();
    // 'flood' holds 3 h of 40 series; 'calm' 1 h of 2 series. 'calm' writes next and hits the quota.
    const keys = Array.from({ length: 40 }, (_, k) => `s${k}`);
    const f = new ChunkWriter('flood', 1000);
    write(f, 0, 3 * 3600 + 1, keys, (i, k) => i * k);
    await f.flush(db);
    const c = new ChunkWriter('calm', 1000);
    write(c, 0, 3600 + 1, ['a', 'b'], (i) => i);
    await c.flush(db);
    const before = await all(db);
    const calm = before.filter((r) => r.ep === 'calm');
    expect(await fullWrites(db, 'calm', 2)).toEqual(['flood:raw', 'flood:raw']);
    const after = await all(db);
    expect(after.filter((r) => r.ep === 'calm')).toEqual(calm);
    // The flooder's oldest two hours went, and nothing newer.
    expect((await rowsOf(db, 'flood', 's1')).t[0]).toBe(T0 + 2 * 3600e3);
    expect(after.filter((r) => r.ep === 'flood').length).toBe(before.filter((r) => r.ep === 'flood').length - 2 * 4 * keys.length);
  });

  test('no endpoint over its share: the writer prunes its own oldest raw, never the other; then the other, now over its share, goes first', async () => {
    const db = await twoEndpoints(); // x and y hold the same bytes
    expect(await fullWrites(db, 'x', 1)).toEqual(['x:raw']);
    expect(await count(db, 'y', 'raw')).toBe(26);
    // Now y is over its share: y goes first, until neither is over.
    expect(await fullWrites(db, 'x', 1)).toEqual(['y:raw']);
    expect(await count(db, 'x', 'raw')).toBe(2 * 13 - 8);
    expect(await count(db, 'y', 'raw')).toBe(2 * 13 - 8);
  });

  test('alone: oldest raw, then oldest 1m; with nothing left to give the error goes to the caller', async () => {
    const db = await freshDb();
    const w = new ChunkWriter('x', 1000);
    write(w, 0, 3 * 3600 + 1, ['a', 'b'], (i) => i);
    await w.flush(db);
    await foldRollups(db, 'x', w.foldHorizon!);
    // x holds 3 hours of raw (3 prunes of its oldest hour): the fourth takes its 1-minute rollups
    expect(await fullWrites(db, 'x', 4)).toEqual(['x:raw', 'x:raw', 'x:raw', 'x:1m']);
    expect(await count(db, 'x', 'raw')).toBe(0);
    await expect(fullWrites(db, 'x', 3)).rejects.toThrow('full');
  });

  test('pruneOrder(): over-share endpoints, most over first, then the writer; empty ones do not count', () => {
    expect(
      pruneOrder(
        new Map([
          ['a', 10],
          ['b', 70],
          ['c', 40],
          ['d', 0],
        ]),
        'a',
      ),
    ).toEqual(['b', 'a']);
    expect(
      pruneOrder(
        new Map([
          ['a', 50],
          ['b', 50],
        ]),
        'b',
      ),
    ).toEqual(['b']);
    expect(
      pruneOrder(
        new Map([
          ['a', 90],
          ['b', 10],
        ]),
        'a',
      ),
    ).toEqual(['a']);
    expect(pruneOrder(new Map(), 'a')).toEqual(['a']);
  });

  test('pruneOrder(): the writer counts in the share even while it holds nothing, so one endpoint holding everything gives way', () => {
    expect(pruneOrder(new Map([['a', 100]]), 'b')).toEqual(['a', 'b']);
    expect(pruneOrder(new Map([['a', 100]]), 'a')).toEqual(['a']);
  });

  test('pruneOrder(): read-only imports are out of the share and of the victims, but the last resort', () => {
    const imp = new Set(['imp', 'imp2']);
    const bytes = new Map([
      ['imp', 1000],
      ['imp2', 2000],
      ['a', 60],
      ['b', 40],
    ]);
    // Live share (60 + 40) / 2 = 50: a is over it; the imports come last, largest first.
    expect(pruneOrder(bytes, 'b', imp)).toEqual(['a', 'b', 'imp2', 'imp']);
    // An import writing (folding its rows) prunes its own before another import, and no live endpoint under its share.
    expect(pruneOrder(new Map([...bytes, ['b', 60]]), 'imp', imp)).toEqual(['imp', 'imp2']);
  });

  test('QuotaExceededError beside a large import: the writer prunes its own, the import only when nothing else can give', async () => {
    const db = await freshDb();
    await db.put('endpoints', { id: 'imp', name: 'imp', url: 'run.csv', token: '', order: 0, readOnly: true, added: 0 });
    const keys = Array.from({ length: 40 }, (_, k) => `s${k}`);
    const f = new ChunkWriter('imp', 1000);
    write(f, 0, 2 * 3600 + 1, keys, (i, k) => i * k);
    await f.flush(db);
    const c = new ChunkWriter('live', 1000);
    write(c, 0, 3600 + 1, ['a'], (i) => i);
    await c.flush(db);
    const imported = (await all(db)).filter((r) => r.ep === 'imp');
    // live holds one hour of raw: its own goes first, then (holding nothing) the import's oldest hour.
    expect(await fullWrites(db, 'live', 1)).toEqual(['live:raw']);
    expect((await all(db)).filter((r) => r.ep === 'imp')).toEqual(imported);
    expect(await fullWrites(db, 'live', 1)).toEqual(['imp:raw']);
  });

  test('the byte tally serves the quota errors of the next few seconds, less what each prune removed; then it is taken again', async () => {
    const db = await twoEndpoints(); // x and y hold the same bytes
    expect(await fullWrites(db, 'x', 1, () => 0)).toEqual(['x:raw']);
    // Adjusted by exactly what went: the same as a fresh count.
    expect(await quotaTally(db, 1)).toEqual(await bytesByEndpoint(db));
    // z floods after the tally: the next errors within 5 s do not read the store again (z is not in the tally)...
    const z = new ChunkWriter('z', 1000);
    write(z, 0, 3 * 3600 + 1, ['a', 'b', 'c', 'd'], (i) => i);
    await z.flush(db);
    expect(await fullWrites(db, 'x', 1, () => 4_999)).toEqual(['y:raw']);
    // ...a later one does, and finds z far over its share.
    expect(await fullWrites(db, 'x', 1, () => 5_000)).toEqual(['z:raw']);
  });

  test('a clock stepped back does not keep an old byte tally alive', async () => {
    const db = await twoEndpoints();
    await quotaTally(db, 3_600_000); // taken, then the clock steps back an hour
    const z = new ChunkWriter('z', 1000);
    write(z, 0, 3 * 3600 + 1, ['a', 'b', 'c', 'd'], (i) => i);
    await z.flush(db);
    expect(await quotaTally(db, 0)).toEqual(await bytesByEndpoint(db));
  });

  test('a write that fails for another reason is not retried', async () => {
    const db = await twoEndpoints();
    await expect(
      withQuotaRelief(
        db,
        'x',
        async () => {
          throw new Error('nope');
        },
        () => {},
      ),
    ).rejects.toThrow('nope');
    expect(await count(db, 'x', 'raw')).toBe(26);
  });
});

describe('reading series', () => {
  test('series with different timestamps join on the union of times', () => {
    const s = joinRuns(
      new Map([
        ['a', { t: Float64Array.from([1, 2, 3]), v: Float64Array.from([1, 2, 3]) }],
        ['b', { t: Float64Array.from([2, 4]), v: Float64Array.from([20, 40]) }],
      ]),
      ['a', 'b', 'c'],
      0,
      10,
      false,
    );
    expect(Array.from(s.t)).toEqual([1, 2, 3, 4]);
    expect(Array.from(s.cols.get('b')!)).toEqual([NaN, 20, NaN, 40]);
    expect(Array.from(s.cols.get('c')!)).toEqual([NaN, NaN, NaN, NaN]);
  });

  test('the live tail is added after what is stored; for a rollup tier as buckets', () => {
    const stored = joinRuns(
      new Map([
        [
          'a',
          {
            t: Float64Array.from([0, 60_000]),
            v: Float64Array.from([1, 2]),
            min: Float64Array.from([1, 2]),
            max: Float64Array.from([1, 2]),
            count: Float64Array.from([60, 60]),
          },
        ],
      ]),
      ['a'],
      0,
      Infinity,
      true,
    );
    const tail = [
      [60_000, 9],
      [120_000, 3],
      [150_000, 5],
      [180_000, 7],
    ];
    const s = withTail(stored, tail, ['a'], ['a'], '1m', 0, Infinity);
    expect(Array.from(s.t)).toEqual([0, 60_000, 120_000, 180_000]);
    expect(Array.from(s.cols.get('a')!)).toEqual([1, 2, 4, 7]);
    expect(Array.from(s.max!.get('a')!)).toEqual([1, 2, 5, 7]);
    const r = withTail(
      joinRuns(new Map([['a', { t: Float64Array.from([1000]), v: Float64Array.from([1]) }]]), ['a'], 0, Infinity, false),
      [
        [1000, 1],
        [2000, 2],
      ],
      ['a'],
      ['a'],
      'raw',
      0,
      Infinity,
    );
    expect(Array.from(r.cols.get('a')!)).toEqual([1, 2]);
  });

  test('withTail: a raw read that saw only the newest part of a backfill being stored gets the older part from the tail', () => {
    // Stored (newest windows first): only 3000–4000 so far; the tail already holds 1000–5000.
    const stored = joinRuns(new Map([['a', { t: Float64Array.from([3000, 4000]), v: Float64Array.from([30, 40]) }]]), ['a'], 0, Infinity, false);
    const tail = [1000, 2000, 3000, 4000, 5000].map((t) => [t, t / 100, t / 10]);
    const s = withTail(stored, tail, ['a', 'b'], ['a', 'b'], 'raw', 1500, Infinity);
    expect(Array.from(s.t)).toEqual([2000, 3000, 4000, 5000]);
    expect(Array.from(s.cols.get('a')!)).toEqual([20, 30, 40, 50]);
    // A key the stored read did not have is a gap there, not shifted data.
    expect(Array.from(s.cols.get('b')!).map((x) => (Number.isNaN(x) ? null : x))).toEqual([200, null, null, 500]);
    // Bounded by `to`, and nothing from the tail when stored covers the range.
    expect(Array.from(withTail(stored, tail, ['a', 'b'], ['a'], 'raw', 3000, 4000).t)).toEqual([3000, 4000]);
  });

  test('tierFor keeps a range to a few thousand points', () => {
    expect(tierFor(3600e3, 1000)).toBe('raw');
    expect(tierFor(7 * 86400e3, 1000)).toBe('1m');
    expect(tierFor(30 * 86400e3, 1000)).toBe('1h');
  });

  test('a record whose bytes are damaged in storage is left out of a read, not thrown', async () => {
    const db = await freshDb();
    const good = encodeRecord('ep', { tier: 'raw', key: 'a', t: Float64Array.from([T0]), v: Float64Array.from([1]) });
    const bad: ChunkRecord = { ...encodeRecord('ep', { tier: 'raw', key: 'a', t: Float64Array.from([T0 + 1000]), v: Float64Array.from([2]) }) };
    new Uint8Array(bad.bytes)[10]! ^= 0xff;
    await db.put(CHUNKS, good);
    await db.put(CHUNKS, bad);
    const warn = console.warn;
    console.warn = () => {};
    try {
      expect(Array.from((await rowsOf(db)).t)).toEqual([T0]);
    } finally {
      console.warn = warn;
    }
  });
});

describe('per-endpoint event budget', () => {
  test('an endpoint that floods events keeps only its newest within its budget; another endpoint keeps all of its own', async () => {
    const { boundedEvent, keepEventBudget } = await import('../../web/lib/event-budget.ts');
    const db = await openDb(`budget-${Math.random()}`);
    const ev = (ep: string, i: number) =>
      boundedEvent({ ep, id: `a-${i}`, t: 1_800_000_000_000 + i, label: i === 0 ? 'x'.repeat(10_000) : `e${i}`, source: 'agent' as const });
    const tx = db.transaction('events', 'readwrite');
    await Promise.all([
      ...Array.from({ length: 300 }, (_, i) => tx.store.put(ev('flood', i))),
      ...Array.from({ length: 20 }, (_, i) => tx.store.put(ev('calm', i))),
      tx.done,
    ]);
    expect((await db.get('events', ['flood', 'a-0']))!.label.length).toBe(500);
    expect(await keepEventBudget(db, 'flood', 100)).toBe(200);
    expect(await keepEventBudget(db, 'calm', 100)).toBe(0);
    const flood = await db.getAllFromIndex('events', 'byTime', IDBKeyRange.bound(['flood', -Infinity], ['flood', Infinity]));
    expect(flood.length).toBe(100);
    expect(flood[0]!.id).toBe('a-200'); // the oldest went
    expect((await db.getAllFromIndex('events', 'byTime', IDBKeyRange.bound(['calm', -Infinity], ['calm', Infinity]))).length).toBe(20);
    db.close();
  });
});
