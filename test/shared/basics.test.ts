import { describe, expect, test } from 'bun:test';
import { buildCatalog, GPU_METRICS } from '../../shared/catalog.ts';
import { bucketize, stepFor } from '../../shared/downsample.ts';
import { formatDuration, parseDuration } from '../../shared/duration.ts';
import { strictJson, wireNum } from '../../shared/json.ts';
import { SseParser } from '../../shared/sse.ts';

describe('parseDuration()', () => {
  test.each([
    ['1s', 1000],
    ['100ms', 100],
    ['0.1s', 100],
    ['5m', 300_000],
    ['5min', 300_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['30', 30_000],
    ['1.5', 1500],
    [' 2H ', 7_200_000],
    ['30min', 1_800_000],
    ['90 sec', 90_000],
    ['12 hours', 43_200_000],
    ['1day', 86_400_000],
    ['2 hrs', 7_200_000],
  ])('parses %p as %p ms', (s, ms) => expect(parseDuration(s)).toBe(ms));
  test.each(['', 'abc', '1x', '-1s', '1e3', 'NaN', 's', '1 s s', 'Infinity', '5constructor', '1 fortnight'])('rejects %p', (s) =>
    expect(parseDuration(s)).toBeNull(),
  );
  test('formats back', () => {
    expect(formatDuration(86_400_000)).toBe('1d');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(250)).toBe('250ms');
  });
});

describe('catalog', () => {
  test('host metrics, one per CPU, then each GPU block in contract order', () => {
    const c = buildCatalog(2, [0, 3]);
    const keys = c.map((s) => s.key);
    for (const k of [
      'cpu.util',
      'cpu0.util',
      'cpu1.util',
      'mem.used',
      'mem.total',
      'swap.used',
      'swap.total',
      'load1',
      'load5',
      'load15',
      'net.rx',
      'net.tx',
      'disk.read',
      'disk.write',
    ])
      expect(keys).toContain(`host.${k}`);
    for (const m of [
      'util',
      'mem_bw.util',
      'mem.used',
      'mem.total',
      'temp',
      'power',
      'power.limit',
      'fan',
      'clock.sm',
      'clock.mem',
      'enc.util',
      'dec.util',
      'pcie.rx',
      'pcie.tx',
      'energy',
    ]) {
      expect(keys).toContain(`gpu0.${m}`);
      expect(keys).toContain(`gpu3.${m}`);
    }
    expect(c.find((s) => s.key === 'gpu3.temp')).toEqual({ key: 'gpu3.temp', label: 'GPU 3 temperature', unit: 'C', scope: 'gpu3', group: 'temperature' });
    expect(c.find((s) => s.key === 'gpu0.energy')!.unit).toBe('J');
    expect(c.find((s) => s.key === 'gpu0.pcie.rx')!.unit).toBe('B/s');
    expect(c.length).toBe(13 + 2 + 2 * GPU_METRICS.length);
  });
});

describe('wire numbers', () => {
  test('NaN and infinities become null; Float32 noise is rounded away', () => {
    expect(wireNum(NaN)).toBeNull();
    expect(wireNum(Infinity)).toBeNull();
    expect(wireNum(Math.fround(12.3))).toBe(12.3);
    expect(wireNum(85899345920)).toBe(85899345920);
    expect(strictJson({ a: NaN, b: [1, -Infinity], c: 10n })).toBe('{"a":null,"b":[1,null],"c":10}');
  });
});

describe('bucketize()', () => {
  test('epoch-aligned average, min and max, NaN skipped, empty bucket stays NaN', () => {
    const t = new Float64Array([1000, 1500, 2000, 2500, 3000, 3500]);
    const v = new Float32Array([1, 3, NaN, NaN, 10, 20]);
    const b = bucketize(t, [v], 0, t.length, 1000, true);
    expect(Array.from(b.t)).toEqual([1000, 2000, 3000]);
    expect(Array.from(b.avg[0]!)).toEqual([2, NaN, 15]);
    expect(Array.from(b.min![0]!)).toEqual([1, NaN, 10]);
    expect(Array.from(b.max![0]!)).toEqual([3, NaN, 20]);
  });
  test('buckets align to multiples of the step whatever the first time', () => {
    const b = bucketize(new Float64Array([1234, 5678, 60_001]), [new Float32Array([1, 2, 3])], 0, 3, 60_000, false);
    expect(Array.from(b.t)).toEqual([0, 60_000]);
    expect(b.min).toBeNull();
  });
  test('stepFor keeps points under the budget in whole intervals', () => {
    expect(stepFor(86_400_000, 2000, 1000)).toBe(44_000);
    expect(stepFor(10_000, 2000, 1000)).toBe(1000);
  });
});

describe('SseParser', () => {
  test('parses events split across chunks, CRLF, comments, multi-line data and ids', () => {
    const p = new SseParser();
    const chunks = ['id: 1\nevent: sample\nda', 'ta: [1,2]\n\n: heartbeat\n\n', 'event: schema\r\ndata: a\r\ndata: b\r\n\r\n', 'data: x\r', '\n\r\n'];
    const msgs = chunks.flatMap((c) => p.push(c));
    expect(msgs).toEqual([
      { event: 'sample', data: '[1,2]', id: '1' },
      { event: 'schema', data: 'a\nb', id: '1' },
      { event: 'message', data: 'x', id: '1' },
    ]);
    expect(p.lastId).toBe('1');
  });
  test('a truncated message is not emitted', () => {
    const p = new SseParser();
    expect(p.push('event: sample\ndata: [1,')).toEqual([]);
  });
});
