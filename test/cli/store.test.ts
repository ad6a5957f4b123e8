import { describe, expect, test } from 'bun:test';
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { decodeChunk, splitChunks, type Tier } from '../../shared/chunk/index.ts';
import { historyJson, parseHistoryQuery, planHistory } from '../../cli/http/history.ts';
import { chunkFrames, rowBatches } from '../../cli/store/read.ts';
import { Store, StoreLockedError, type StoreOptions } from '../../cli/store/store.ts';
import { tmp } from '../helpers.ts';

const DAY = 86_400_000;
const RET = { raw: 14 * DAY, '1m': 90 * DAY, '1h': 730 * DAY };
/** A fixed "now" well after the rows the tests write. */
const T0 = 1_800_000_000_000; // aligned to the hour and to 10 days? no: tests only rely on 15-min windows
const open = (dir: string | null, o: Partial<StoreOptions> = {}) =>
  Store.open({ dir, intervalMs: 1000, retentionMs: RET, maxDiskBytes: 1 << 30, now: () => T0 + 30 * DAY, ...o });

/** n rows from `from`, one per second; value of key k at row i = f(k, i). */
function write(s: Store, keys: string[], from: number, n: number, f: (k: number, i: number) => number = (k, i) => i + k / 10) {
  s.setKeys(keys);
  const row = new Float64Array(keys.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < keys.length; k++) row[k] = f(k, i);
    s.append(from + i * 1000, row);
  }
}

/** A store's segment files of the given tiers (name relative to its tier dir, size), oldest first. */
const tierFiles = (s: Store, ...tiers: Tier[]) =>
  s
    .files()
    .filter((f) => tiers.includes(f.tier))
    .map((f) => ({ tier: f.tier, name: basename(f.path), bytes: f.bytes }));

function allRows(s: Store, keys: string[]) {
  const t: number[] = [],
    cols: number[][] = keys.map(() => []);
  for (const b of rowBatches(s, keys, -Infinity, Infinity)) {
    t.push(...b.t);
    b.cols.forEach((c, j) => cols[j]!.push(...c));
  }
  return { t, cols };
}

const history = (s: Store, q: Record<string, string>) => {
  const plan = planHistory(
    s,
    parseHistoryQuery(q, (k) => s.keys.includes(k)),
    1000,
  );
  return JSON.parse(historyJson(s, plan, q.agg === 'minmax'));
};

describe('store: windows, tiers, restart', () => {
  test('rows survive a restart without close() (kill -9): sealed windows from segments, the open one from the log', () => {
    const dir = tmp();
    const s = open(dir);
    write(s, ['a', 'b'], T0, 2000); // 2000 s: two sealed 15-min windows and an open one
    expect(s.refs.raw.length).toBe(2);
    const back = open(dir);
    const r = allRows(back, ['a', 'b']);
    expect(r.t.length).toBe(2000);
    expect(r.t[0]).toBe(T0);
    expect(r.t[1999]).toBe(T0 + 1999 * 1000);
    expect(r.cols[0]![1234]).toBe(1234);
    expect(r.cols[1]![1234]).toBe(1234.1);
    expect(back.warnings).toEqual([]);
  });

  test('a series added later reads null before it existed; a dropped one null after', () => {
    const s = open(null);
    write(s, ['a'], T0, 10);
    write(s, ['a', 'b'], T0 + 10_000, 10);
    const r = allRows(s, ['a', 'b']);
    expect(r.t.length).toBe(20);
    expect(Number.isNaN(r.cols[1]![5]!)).toBe(true);
    expect(r.cols[1]![15]).toBe(5.1);
  });

  test('times must increase: an older or equal row is refused and changes nothing', () => {
    const s = open(null);
    write(s, ['a'], T0, 5);
    expect(s.append(T0 + 4000, [99])).toBe(false);
    expect(s.append(T0 + 1000, [99])).toBe(false);
    expect(allRows(s, ['a']).cols[0]).toEqual([0, 1, 2, 3, 4]);
  });

  test('1-minute and 1-hour tiers hold avg, min, max and count; a one-second spike survives every tier', () => {
    const s = open(null);
    // 3 hours of a flat 10 with one spike to 95 and one dip to 1.
    write(s, ['x'], T0, 3 * 3600, (_k, i) => (i === 4000 ? 95 : i === 7000 ? 1 : 10));
    const m = history(s, { step: '60000', agg: 'minmax' });
    expect(m.tier).toBe('1m');
    expect(m.t.length).toBe(180);
    expect(Math.max(...m.max.x)).toBe(95);
    expect(Math.min(...m.min.x)).toBe(1);
    const h = history(s, { step: '3600000', agg: 'minmax' });
    expect(h.tier).toBe('1h');
    expect(h.t).toEqual([T0, T0 + 3_600_000, T0 + 7_200_000]);
    expect(h.max.x).toEqual([10, 95, 10]);
    expect(h.min.x).toEqual([10, 1, 10]);
    expect(h.series.x[0]).toBe(10);
    expect(h.series.x[1]).toBeCloseTo((3598 * 10 + 95 + 1) / 3600, 2);
  });

  test('rollup heads are rebuilt on restart from the tier below (no gap in 1m after kill -9)', () => {
    const dir = tmp();
    const s = open(dir);
    write(s, ['x'], T0, 7 * 3600, (_k, i) => i % 100);
    const before = history(s, { step: '60000', agg: 'minmax' });
    const back = open(dir);
    const after = history(back, { step: '60000', agg: 'minmax' });
    expect(after).toEqual(before);
    expect(after.t.length).toBe(7 * 60);
  });
});

describe('history queries', () => {
  const s = open(null);
  write(s, ['a', 'b'], 10_000, 60, (k, i) => (k ? i * 2 : i));
  const q = (o: Record<string, string>) => history(s, o);

  test('since/until are inclusive; limit takes the most recent N', () => {
    expect(q({ since: '20000', until: '22000' }).t).toEqual([20000, 21000, 22000]);
    expect(q({ limit: '2' }).t).toEqual([68000, 69000]);
    expect(q({ limit: '2', keys: 'b' }).series).toEqual({ b: [116, 118] });
  });
  test('step averages epoch-aligned buckets; minmax adds min and max', () => {
    const h = q({ step: '10000', agg: 'minmax', keys: 'a' });
    expect(h.t).toEqual([10000, 20000, 30000, 40000, 50000, 60000]);
    expect(h.series.a[0]).toBe(4.5);
    expect(h.min.a[0]).toBe(0);
    expect(h.max.a[0]).toBe(9);
    expect(Object.keys(h.series)).toEqual(['a']);
  });
  test('max_points never gives more points; step with limit keeps the newest buckets', () => {
    for (const n of [1, 2, 7, 59, 60, 61]) {
      const h = q({ max_points: String(n) });
      expect(h.t.length).toBeLessThanOrEqual(n);
      expect(h.series.a.length).toBe(h.t.length);
    }
    expect(q({ step: '10000', limit: '2', keys: 'a' }).t).toEqual([60000, 50000].reverse());
  });
  test.each([
    [{ since: 'abc' }, 'since'],
    [{ until: 'NaN' }, 'until'],
    [{ step: '0' }, 'step'],
    [{ step: '-5' }, 'step'],
    [{ limit: '1.5' }, 'limit'],
    [{ max_points: '0' }, 'max_points'],
    [{ since: '5', until: '4' }, 'since'],
    [{ agg: 'median' }, 'agg'],
    [{ keys: 'nope' }, 'keys'],
    [{ keys: '' }, 'keys'],
    [{ step: 'Infinity' }, 'step'],
  ])('%p is a 400 naming %p', (params, name) => {
    expect(() => parseHistoryQuery(params as Record<string, string>, (k) => s.keys.includes(k))).toThrow(expect.objectContaining({ status: 400, param: name }));
  });
  test('unknown params are ignored', () => expect(q({ foo: 'bar', limit: '1' }).t).toEqual([69000]));
  test('since is inclusive at real epoch-millisecond times (no float epsilon tricks)', () => {
    const r = Store.open({ dir: null, intervalMs: 250, retentionMs: RET, maxDiskBytes: 1 << 30 });
    const t0 = 1_795_371_281_250;
    r.setKeys(['a']);
    for (let i = 0; i < 5; i++) r.append(t0 + i * 250, [i]);
    const plan = planHistory(
      r,
      parseHistoryQuery({ since: String(t0 + 250), until: String(t0 + 750) }, () => true),
      250,
    );
    expect(JSON.parse(historyJson(r, plan, false)).t).toEqual([t0 + 250, t0 + 500, t0 + 750]);
  });
});

describe('chunks as stored', () => {
  test('frames of sealed windows and the open one decode to the rows; keys filter; about a byte a value or less', () => {
    const s = open(null);
    const keys = ['host.cpu.util', 'gpu0.temp', 'gpu0.mem.total'];
    write(s, keys, T0, 2000, (k, i) => (k === 0 ? Math.round(50 + 40 * Math.sin(i / 50)) : k === 1 ? 40 + Math.floor(i / 300) : 85899345920));
    const frames = [...chunkFrames(s, 'raw', null, -Infinity, Infinity)];
    expect(frames.length).toBe(3 * 3);
    const bytes = frames.reduce((n, f) => n + f.length, 0);
    expect(bytes / (2000 * 3)).toBeLessThan(1.5);
    const buf = new Uint8Array(bytes);
    let o = 0;
    for (const f of frames) {
      buf.set(f, o);
      o += f.length;
    }
    let temp = 0;
    for (const h of splitChunks(buf)) {
      expect('header' in h).toBe(true);
      if (!('header' in h) || h.header.key !== 'gpu0.temp') continue;
      const c = decodeChunk(buf, h.offset);
      if (!c.ok || c.value.tier !== 'raw') throw new Error('bad chunk');
      for (let i = 0; i < c.value.t.length; i++) expect(c.value.v[i]).toBe(40 + Math.floor((c.value.t[i]! - T0) / 300_000));
      temp += c.value.t.length;
    }
    expect(temp).toBe(2000);
    expect([...chunkFrames(s, 'raw', ['gpu0.temp'], T0 + 1_000_000, T0 + 1_100_000)].length).toBe(1);
  });
});

describe('store faults', () => {
  test('a torn log tail is cut; every whole row before it is kept', () => {
    const dir = tmp();
    write(open(dir), ['a'], T0, 100);
    appendFileSync(join(dir, 'wal'), Buffer.from([40, 0, 0, 0, 2, 1, 2, 3]));
    const back = open(dir);
    expect(allRows(back, ['a']).t.length).toBe(100);
    expect(back.warnings.join(' ')).toMatch(/torn/);
    expect(statSync(join(dir, 'wal')).size).toBeGreaterThan(0);
  });

  test("a batched log (the import's) holds whole rows only: unclosed (a kill) it keeps all but the unwritten batch", () => {
    const dir = tmp();
    write(open(dir, { walBatchBytes: 1024 }), ['a', 'b'], T0, 100); // no window sealed
    const keysRecord = 4 + 1 + JSON.stringify(['a', 'b']).length + 4,
      row = 4 + 1 + 8 + 2 * 8 + 4;
    const size = statSync(join(dir, 'wal')).size;
    expect(size).toBeLessThan(keysRecord + 100 * row);
    expect((size - keysRecord) % row).toBe(0);
    const back = open(dir);
    const r = allRows(back, ['a', 'b']);
    expect(r.t.length).toBe((size - keysRecord) / row);
    expect(r.t.length).toBeGreaterThanOrEqual(100 - Math.ceil(1024 / row));
    expect(r.cols[1]![r.t.length - 1]).toBe(r.t.length - 1 + 0.1);
    expect(back.warnings).toEqual([]);
  });

  test('rows the agent logged survive an import that opened the store and was killed before its first batch was written', () => {
    const dir = tmp();
    const agent = open(dir);
    write(agent, ['a', 'b'], T0, 100); // no window sealed: the rows are only in the log
    agent.close();
    open(dir, { walBatchBytes: 64 << 10 }); // gpulse import opens the store (the log is rewritten) ... and is killed: no close
    const r = allRows(open(dir), ['a', 'b']);
    expect(r.t.length).toBe(100);
    expect(r.cols[1]![99]).toBe(99.1);
  });

  test('a batched log, closed, is byte for byte the unbatched one (a window sealed, a key added, records larger than the batch)', () => {
    const logOf = (walBatchBytes: number) => {
      const dir = tmp();
      const s = open(dir, { walBatchBytes });
      write(s, ['a', 'b'], T0, 950);
      write(s, ['a', 'b', 'c'], T0 + 950_000, 40);
      s.close();
      return readFileSync(join(dir, 'wal'));
    };
    const plain = logOf(0);
    expect(plain.length).toBeGreaterThan(40 * (4 + 1 + 8 + 3 * 8 + 4));
    expect(logOf(1024).equals(plain)).toBe(true);
    expect(logOf(20).equals(plain)).toBe(true);
  });

  test('a corrupted chunk loses only that chunk: listed in warnings, every other series and window loads', () => {
    const dir = tmp();
    write(open(dir), ['a', 'b'], T0, 2000);
    const s = open(dir);
    const ref = s.refs.raw[0]!;
    const [off, len] = s.dir(ref)!.chunks.get('b')!;
    s.close();
    const data = readFileSync(ref.file!);
    data[ref.offset + off + Math.floor(len / 2)]! ^= 0x5a;
    writeFileSync(ref.file!, data);
    const back = open(dir);
    const r = allRows(back, ['a', 'b']);
    expect(r.t.length).toBe(2000);
    expect(r.cols[0]![10]).toBe(10);
    expect(Number.isNaN(r.cols[1]![10]!)).toBe(true); // b in window 1: lost
    expect(r.cols[1]![1000]).toBe(1000.1); // b in window 2: fine
    expect(back.warnings.join(' ')).toMatch(/corrupt chunk "b"/);
  });

  test('a group torn by a crash mid-write is cut off; the log still has its rows', () => {
    const dir = tmp();
    const s = open(dir);
    write(s, ['a'], T0, 950); // one sealed window + 50 rows
    const seg = s.refs.raw[0]!.file!;
    const size = statSync(seg).size;
    s.close();
    // Pretend the crash hit while the group was written and before the log was cut: a partial group
    // at the tail, and the log holding that window's rows again.
    const whole = readFileSync(seg);
    appendFileSync(seg, whole.subarray(0, Math.floor(size / 2)));
    const back = open(dir);
    expect(statSync(seg).size).toBe(size);
    expect(back.warnings.join(' ')).toMatch(/torn or unreadable tail/);
    expect(allRows(back, ['a']).t.length).toBe(950);
  });

  test('future-dated rows and groups found at start are set aside and never block new rows', () => {
    const dir = tmp();
    const future = open(dir, { now: () => T0 + 365 * DAY });
    write(future, ['a'], T0 + 364 * DAY, 1000);
    const s = open(dir, { now: () => T0 + 10_000 });
    expect(s.warnings.join(' ')).toMatch(/future-dated/);
    s.setKeys(['a']);
    expect(s.append(T0, [1])).toBe(true);
    expect(allRows(s, ['a']).t).toEqual([T0]);
  });

  test('segment files and the log are never opened through a symlink', () => {
    const dir = tmp();
    write(open(dir), ['a'], T0, 1000);
    const victim = join(tmp(), 'victim');
    writeFileSync(victim, 'precious');
    mkdirSync(join(dir, 'raw'), { recursive: true });
    const seg = Math.ceil(T0 / 21_600_000) * 21_600_000 + 21_600_000; // the next 6-hour segment
    symlinkSync(victim, join(dir, 'raw', `${seg}.seg`));
    const s = open(dir);
    expect(s.warnings.join(' ')).toMatch(/symlink/);
    write(s, ['a'], seg, 1000);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(s.state.kind).not.toBe('ok'); // the write hit the link and was refused (ELOOP)
    const d2 = tmp();
    symlinkSync(victim, join(d2, 'wal'));
    const w = open(d2);
    expect(w.state.kind).not.toBe('ok');
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });

  test('a data dir that cannot be created or is a symlink starts memory-only with a warning', () => {
    const file = join(tmp(), 'file');
    writeFileSync(file, 'x');
    const s = open(join(file, 'state'));
    expect(s.state.kind).toBe('memory_only');
    expect(s.warnings[0]).toMatch(/memory only/);
    write(s, ['a'], T0, 3);
    expect(allRows(s, ['a']).t.length).toBe(3);
    const real = tmp();
    const link = join(tmp(), 'link');
    symlinkSync(real, link);
    expect(open(link).state.kind).toBe('memory_only');
  });

  test('the data dir is made 0700 (and tightened)', () => {
    const dir = join(tmp(), 'state');
    open(dir).close();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  test("a live process holding the dir is refused; a dead owner's lock is taken over", () => {
    const dir = tmp();
    const sleeper = Bun.spawn(['sleep', '30']);
    try {
      writeFileSync(join(dir, 'LOCK'), String(sleeper.pid));
      expect(() => open(dir)).toThrow(StoreLockedError);
    } finally {
      sleeper.kill();
    }
    writeFileSync(join(dir, 'LOCK'), '999999999');
    expect(open(dir).state.kind).toBe('ok');
  });

  test('retention drops whole old files; --max-disk drops the oldest raw first', () => {
    const dir = tmp();
    let now = T0 + 25 * 3_600_000;
    const s = open(dir, { now: () => now, retentionMs: { raw: 12 * 3_600_000, '1m': 90 * DAY, '1h': 730 * DAY } });
    write(s, ['a'], T0, 25 * 3600, (_k, i) => i % 7);
    expect(readdirSync(join(dir, 'raw')).length).toBeLessThanOrEqual(3);
    // Whole 6-hour files go: at most one file's worth older than the retention is still held.
    expect(s.span('raw').oldest).toBeGreaterThanOrEqual(T0 + 6 * 3_600_000);
    expect(s.span('1m').oldest).toBe(T0);
    const before = s.diskBytes;
    const rawOldest = s.span('raw').oldest!;
    const higher = tierFiles(s, '1m', '1h');
    s.close();
    now += 1000;
    // A cap that raw alone can meet: everything but raw's newest file fits under it.
    const rawNewest = tierFiles(s, 'raw').at(-1)!.bytes;
    const cap = before - tierFiles(s, 'raw').reduce((n, f) => n + f.bytes, 0) + rawNewest + 4096;
    expect(cap).toBeLessThan(before);
    const small = open(dir, { now: () => now, maxDiskBytes: cap });
    expect(small.diskBytes).toBeLessThanOrEqual(cap);
    expect(small.span('raw').oldest!).toBeGreaterThan(rawOldest);
    expect(tierFiles(small, '1m', '1h')).toEqual(higher); // rollups untouched while raw can give
    expect(small.span('1m').oldest).toBe(T0);
    expect(existsSync(join(dir, '1m'))).toBe(true);
  });

  test('--max-disk counts only what retention left: a cap just above that drops nothing more', () => {
    const dir = tmp();
    let now = T0 + 25 * 3_600_000;
    const s = open(dir, { now: () => now });
    write(s, ['a', 'b'], T0, 25 * 3600, (k, i) => (k ? Math.sin(i) * 100 : i % 7));
    s.close();
    now += 1000;
    const ret = { raw: 12 * 3_600_000, '1m': 90 * DAY, '1h': 730 * DAY };
    const a = tmp();
    const b = tmp();
    cpSync(dir, a, { recursive: true });
    cpSync(dir, b, { recursive: true });
    const retained = open(a, { now: () => now, retentionMs: ret });
    const kept = retained.diskBytes;
    const keptFiles = tierFiles(retained, 'raw', '1m', '1h');
    retained.close();
    expect(keptFiles.filter((f) => f.tier === 'raw').length).toBeGreaterThan(1);
    const capped = open(b, { now: () => now, retentionMs: ret, maxDiskBytes: kept + 4096 });
    expect(capped.diskBytes).toBe(kept);
    expect(tierFiles(capped, 'raw', '1m', '1h').map((f) => f.bytes)).toEqual(keptFiles.map((f) => f.bytes));
  });
});

describe('collector status events', () => {
  test('stalled and recovered become agent events', async () => {
    const { Agent } = await import('../../cli/agent.ts');
    const { noGpu } = await import('../../cli/gpu/provider.ts');
    const host = { cpus: 1, sample() {}, disks: () => [], freqMhz: () => null, close() {} };
    const agent = new Agent({ hostname: 'h', intervalMs: 100, retentionMs: 10_000, host, gpu: noGpu });
    await agent.sampler.tick(Date.now());
    agent.start();
    agent.sampler.stop(); // no more ticks: the clock makes it stalled after max(3 intervals, 5 s)
    const realNow = Date.now;
    Date.now = () => realNow() + 6000;
    try {
      await Bun.sleep(1100);
      expect(agent.events.all().map((e) => e.kind)).toContain('collector_stalled');
      await agent.sampler.tick(Date.now());
      await Bun.sleep(1100);
      expect(agent.events.all().map((e) => e.kind)).toContain('collector_recovered');
    } finally {
      Date.now = realNow;
      agent.stop();
    }
  });
});

describe('memory-only bound', () => {
  test('windows that cannot go to disk are capped: the oldest raw goes first, rollups and the newest stay', () => {
    const s = open(null, { memoryCapBytes: 64 * 1024 });
    write(s, ['a', 'b', 'c'], T0, 6 * 3600, (k, i) => Math.sin(i * (k + 1)) * 1000);
    const held = s.refs.raw.reduce((n, r) => n + r.size, 0) + s.refs['1m'].reduce((n, r) => n + r.size, 0);
    expect(held).toBeLessThanOrEqual(64 * 1024);
    expect(s.lostGroups).toBeGreaterThan(0);
    expect(s.span('1m').oldest).toBe(T0);
    expect(s.warnings.join(' ')).toMatch(/oldest raw windows are being dropped/);
    expect(allRows(s, ['a']).t.at(-1)).toBe(T0 + (6 * 3600 - 1) * 1000);
  });
});

describe('max_points over long ranges', () => {
  test('a day at max_points=2000 is answered from the 1-minute tier (1440 points), not raw', () => {
    const s = open(null);
    write(s, ['x'], T0, 86_400, (_k, i) => i % 50);
    const h = history(s, { max_points: '2000' });
    expect(h.tier).toBe('1m');
    expect(h.step).toBe(60_000);
    expect(h.t.length).toBeLessThanOrEqual(2000);
    expect(h.t.length).toBeGreaterThanOrEqual(1000);
  });
});

describe('max_points is always a cap', () => {
  // Five minutes of 1 s rows starting mid-minute, 20 minutes into an hour: a young store.
  const young = () => {
    const s = open(null);
    write(s, ['x'], T0 + 20 * 60_000 + 30_000, 300, (_k, i) => i);
    return s;
  };

  test('with step too: the coarser of step and the step max_points needs', () => {
    const s = young();
    const h = history(s, { keys: 'x', step: '1000', max_points: '5' });
    expect(h.t.length).toBe(5);
    expect(h.series.x.length).toBe(5);
    expect(h.step).toBe(60_000);
    // A step already coarser than max_points needs is kept as given.
    const coarse = history(s, { keys: 'x', step: '120000', max_points: '5' });
    expect(coarse.step).toBe(120_000);
    expect(coarse.t.length).toBe(3);
    // max_points that the step already fits changes nothing but the cap.
    expect(history(s, { keys: 'x', step: '60000', max_points: '100' }).t.length).toBe(6);
  });

  test('the span is measured from the oldest data, not from the start of the open hour bucket', () => {
    const s = young();
    const h = history(s, { keys: 'x', max_points: '5' });
    expect(h.step).toBe(60_000);
    expect(h.t.length).toBe(5);
    expect(h.t.at(-1)).toBe(T0 + 25 * 60_000);
  });
});
