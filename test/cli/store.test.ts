import { describe, expect, test } from 'bun:test';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHistoryQuery, queryHistory } from '../../cli/http/history.ts';
import { HistoryFile } from '../../cli/store/persist.ts';
import { Ring } from '../../cli/store/ring.ts';
import { tmp } from '../helpers.ts';

const fill = (r: Ring, from: number, n: number, step = 1000) => { for (let i = 0; i < n; i++) r.push(from + i * step, [i, i * 2]); };

describe('Ring', () => {
  test('wraps around keeping the newest `capacity` rows in order', () => {
    const r = new Ring(5, ['a', 'b']);
    fill(r, 1000, 12);
    expect(r.count).toBe(5);
    expect(r.oldest).toBe(8000);
    expect(r.newest).toBe(12000);
    const s = r.slice(0, r.count, [0, 1]);
    expect(Array.from(s.t)).toEqual([8000, 9000, 10000, 11000, 12000]);
    expect(Array.from(s.cols[0]!)).toEqual([7, 8, 9, 10, 11]);
    expect(Array.from(s.cols[1]!)).toEqual([14, 16, 18, 20, 22]);
  });
  test('binary search finds rows after a time across the wrap', () => {
    const r = new Ring(5, ['a']);
    fill(r, 1000, 7);
    expect(r.after(4000)).toBe(2); // rows are 3000..7000
    expect(r.after(0)).toBe(0);
    expect(r.after(7000)).toBe(5);
  });
  test('refuses times that go backwards', () => {
    const r = new Ring(3, ['a']);
    expect(r.push(2000, [1])).toBe(true);
    expect(r.push(2000, [2])).toBe(false);
    expect(r.push(1000, [2])).toBe(false);
    expect(r.count).toBe(1);
  });
  test('column memory is fixed at construction (flat once full)', () => {
    const r = new Ring(100, ['a', 'b']);
    const before = r.bytes;
    fill(r, 0, 1000);
    expect(r.bytes).toBe(before);
    expect(before).toBe(100 * 8 + 2 * 100 * 4);
  });
  test('reshape keeps matching columns and fills new ones with NaN', () => {
    const r = new Ring(4, ['a', 'b']);
    fill(r, 1000, 3);
    const n = r.reshape(['b', 'c'], 2);
    expect(n.count).toBe(2);
    const s = n.slice(0, 2, [0, 1]);
    expect(Array.from(s.cols[0]!)).toEqual([2, 4]);
    expect(Number.isNaN(s.cols[1]![0]!)).toBe(true);
  });
});

describe('history queries', () => {
  const ring = new Ring(100, ['a', 'b']);
  fill(ring, 10_000, 60);
  const known = (k: string) => ring.column(k) >= 0;
  const q = (o: Record<string, string>) => queryHistory(ring, parseHistoryQuery(o, known), 1000);

  test('since/until are inclusive; limit takes the most recent N', () => {
    expect(q({ since: '20000', until: '22000' }).t).toEqual([20000, 21000, 22000]);
    expect(q({ limit: '2' }).t).toEqual([68000, 69000]);
  });
  test('step averages epoch-aligned buckets; minmax adds min and max', () => {
    const h = q({ step: '10000', agg: 'minmax', keys: 'a' });
    expect(h.t).toEqual([10000, 20000, 30000, 40000, 50000, 60000]);
    expect(h.series.a![0]).toBe(4.5);
    expect(h.min!.a![0]).toBe(0);
    expect(h.max!.a![0]).toBe(9);
    expect(Object.keys(h.series)).toEqual(['a']);
  });
  test('max_points picks a step that fits', () => {
    const h = q({ max_points: '7' });
    expect(h.t.length).toBeLessThanOrEqual(7);
    expect(h.step! % 1000).toBe(0);
  });
  test.each([
    [{ since: 'abc' }, 'since'], [{ until: 'NaN' }, 'until'], [{ step: '0' }, 'step'], [{ step: '-5' }, 'step'], [{ limit: '1.5' }, 'limit'],
    [{ max_points: '0' }, 'max_points'], [{ since: '5', until: '4' }, 'since'], [{ agg: 'median' }, 'agg'], [{ keys: 'nope' }, 'keys'], [{ keys: '' }, 'keys'], [{ step: 'Infinity' }, 'step'],
  ])('%p is a 400 naming %p', (params, name) => {
    expect(() => parseHistoryQuery(params as Record<string, string>, known)).toThrow(expect.objectContaining({ status: 400, param: name }));
  });
  test('unknown params are ignored', () => expect(q({ foo: 'bar', limit: '1' }).t).toEqual([69000]));
  test('since is inclusive at real epoch-millisecond times (no float epsilon tricks)', () => {
    const r = new Ring(10, ['a']);
    const t0 = 1_795_371_281_250;
    for (let i = 0; i < 5; i++) r.push(t0 + i * 250, [i]);
    expect(r.atOrAfter(t0)).toBe(0);
    expect(r.after(t0)).toBe(1);
    expect(queryHistory(r, parseHistoryQuery({ since: String(t0 + 250), until: String(t0 + 750) }, () => true), 250).t).toEqual([t0 + 250, t0 + 500, t0 + 750]);
  });
});

/** A fresh history file in a temp dir with rows t = 1000·(i+1), values row(i), written as the agent writes them. */
function written(capacity: number, keys: string[], n: number, row: (i: number) => number[]) {
  const dir = tmp();
  const r = new Ring(capacity, keys);
  const f = new HistoryFile(dir, r.keys, r.capacity);
  f.rewrite(r);
  for (let i = 0; i < n; i++) { r.push(1000 * (i + 1), row(i)); f.append(1000 * (i + 1), row(i), r); }
  return dir;
}

describe('HistoryFile', () => {
  test('restores rows across a restart, mapping columns by key', () => {
    const dir = written(10, ['a', 'b'], 5, (i) => [i, -i]);
    // no close(): a kill -9 leaves what was written
    const back = HistoryFile.load(dir, ['b', 'a', 'c'], 10, () => {});
    expect(back.ring!.count).toBe(5);
    const s = back.ring!.slice(0, 5, [0, 1, 2]);
    expect(Array.from(s.cols[1]!)).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(s.cols[0]!)).toEqual([-0, -1, -2, -3, -4]);
    expect(Number.isNaN(s.cols[2]![0]!)).toBe(true);
  });
  test('a torn tail and a corrupt record are skipped with a warning, not a crash', () => {
    const dir = written(10, ['a'], 4, (i) => [i]);
    const data = readFileSync(join(dir, 'history.bin'));
    data[8 + 16] = data[8 + 16]! ^ 0xff; // flip a value byte in record 1 (16-byte records)
    writeFileSync(join(dir, 'history.bin'), data);
    appendFileSync(join(dir, 'history.bin'), Buffer.from([1, 2, 3]));
    const warnings: string[] = [];
    const back = HistoryFile.load(dir, ['a'], 10, (m) => warnings.push(m));
    expect(back.ring!.count).toBe(3);
    expect(back.skipped).toBe(1);
    expect(warnings.join(' ')).toMatch(/torn/);
    expect(warnings.join(' ')).toMatch(/corrupt/);
  });
  test('an unreadable header sets the files aside and starts empty', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'history.json'), '{not json');
    writeFileSync(join(dir, 'history.bin'), 'xx');
    const back = HistoryFile.load(dir, ['a'], 10, () => {});
    expect(back.ring).toBeNull();
    expect(readdirSync(dir).some((n) => n.startsWith('history.json.corrupt-'))).toBe(true);
  });
  test('compacts when the file reaches twice the capacity', () => {
    const dir = written(4, ['a'], 9, (i) => [i]);
    expect(readFileSync(join(dir, 'history.bin')).length).toBeLessThanOrEqual(8 * 16);
    expect(HistoryFile.load(dir, ['a'], 4, () => {}).ring!.newest).toBe(9000);
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
    } finally { Date.now = realNow; agent.stop(); }
  });
});
