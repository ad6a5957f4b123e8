/**
 * The otto reader's fast path (cli/import/otto.ts hints: a string equal to the previous
 * timestamp, or to the host and label of the record in the same place of the previous tick, is
 * read in one compare) against its full path (predict: false) on the same bytes, in process, through
 * the real Sink into a memory store: same rows, keys, counts and messages. A few cases also check
 * the stored result itself.
 */
import { describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StreamReader } from '../../cli/import/bytes.ts';
import { importJson } from '../../cli/import/document.ts';
import { Sink } from '../../cli/import/sink.ts';
import { rowBatches } from '../../cli/store/read.ts';
import { Store } from '../../cli/store/store.ts';
import { tmp } from '../helpers.ts';

const DAY = 86_400_000;
const RET = { raw: 36500 * DAY, '1m': 36500 * DAY, '1h': 36500 * DAY };
const T0 = Date.UTC(2025, 5, 1, 12);

/** Imports `text` as an otto file with or without the hints; everything the import produced. */
async function run(text: string, predict: boolean, host: string | null = null) {
  const path = join(tmp(), 'otto.json');
  writeFileSync(path, text);
  const store = Store.open({ dir: null, intervalMs: 1000, retentionMs: RET, maxDiskBytes: 1 << 30 });
  const warnings: string[] = [];
  const sink = new Sink(store, { skipBad: true, now: T0 + DAY, retentionMs: RET, warn: (m) => warnings.push(m) });
  const stats = sink.beginFile('otto.json');
  const r = new StreamReader(path);
  let error: string | null = null;
  try {
    await importJson(r, sink, 'otto.json', path, { host, predict });
  } catch (e) {
    error = (e as Error).message;
  } finally {
    r.close();
  }
  const keys = [...store.keys];
  const t: number[] = [];
  const cols: number[][] = keys.map(() => []);
  for (const b of rowBatches(store, keys, -Infinity, Infinity)) {
    t.push(...b.t);
    b.cols.forEach((c, j) => cols[j]!.push(...c));
  }
  return { keys, t, cols, error, warnings, stats: { ...stats, ms: 0 } };
}

/** Both paths on the same bytes: equal in everything; returns the result. */
async function bothPaths(text: string, host: string | null = null) {
  const fast = await run(text, true, host);
  const full = await run(text, false, host);
  expect(fast).toEqual(full);
  return fast;
}

/** Values the plain-number fast path must leave to the full path, or read exactly as it does. */
const ODD_NUMBERS = [
  '-0',
  '1e5',
  '2.5E-3',
  '-1.25e+2',
  '12345678901234567',
  '0.1000000000000000055',
  '1.',
  '.5',
  '+3',
  '-Infinity',
  'Infinity',
  '1e',
  '7x',
  '00012',
  '-',
];

const rec = (ts: string, host: string | null, label: string, value: string) =>
  `{"timestamp": ${ts}, ${host === null ? '' : `"host": ${host}, `}"label": ${label}, "value": ${value}}`;
const doc = (records: string[]) => `{"metrics": [${records.join(', ')}], "events": []}`;
const iso = (ms: number) => JSON.stringify(new Date(ms).toISOString().replace('Z', '+00:00'));

describe('otto fast path', () => {
  test('a timestamp of the same length but another time is a new row, not the cached one', async () => {
    // 12:00:01 and 12:00:11 differ in one byte; 12:00:10 and 12:00:01 in two: all the same length.
    const times = [T0 + 1000, T0 + 11_000, T0 + 12_000, T0 + 21_000];
    const r = await bothPaths(
      doc(times.flatMap((t, i) => [rec(iso(t), '"gpubox"', '"CPU %"', String(i)), rec(iso(t), '"gpubox"', '"Mem %"', String(10 + i))])),
    );
    expect(r.t).toEqual(times);
    expect(r.keys).toEqual(['host.cpu.util', 'gpubox/Mem %']);
    expect(r.cols).toEqual([
      [0, 1, 2, 3],
      [10, 11, 12, 13],
    ]);
  });

  test('labels with escapes, and labels that are a prefix or an extension of the one hinted', async () => {
    const labels = ['"CPU %"', '"GPU \\u0030 %"', '"a\\"b"', '"x\\\\"', '"CPU"', '"CPU %x"', '"GPU 0 %"'];
    const ticks = [0, 1, 2].map((k) => labels.map((l, j) => rec(iso(T0 + k * 1000), '"gpubox"', l, String(k * 10 + j))));
    // The third tick in another order: every hint misses.
    ticks[2]!.reverse();
    const text = doc(ticks.flat());
    const r = await bothPaths(text);
    // "GPU \u0030 %" is "GPU 0 %", and "CPU" is host.cpu.util as "CPU %" is: in each tick the
    // second of each pair is a second value for the key.
    expect(r.keys).toEqual(['host.cpu.util', 'gpu0.util', 'gpubox/a"b', 'gpubox/x\\', 'gpubox/CPU %x']);
    expect(r.stats.bad).toBe(6);
    expect(r.warnings[0]).toContain(`metrics[4] (line 1, byte ${text.indexOf(ticks[0]![4]!)}): a second value for "host.cpu.util" at the same time`);
    expect(r.warnings[1]).toContain(`metrics[6] (line 1, byte ${text.indexOf(ticks[0]![6]!)}): a second value for "gpu0.util" at the same time`);
    expect(r.t).toEqual([T0, T0 + 1000, T0 + 2000]);
    expect(r.cols[2]).toEqual([2, 12, 22]);
    expect(r.cols[3]).toEqual([3, 13, 23]);
  });

  test('a host change mid-file, records without a host, and a host that is the hinted one spelled with an escape', async () => {
    const tick = (k: number, host: string | null) => ['"CPU %"', '"Mem %"'].map((l, j) => rec(iso(T0 + k * 1000), host, l, String(k * 10 + j)));
    const r = await bothPaths(
      doc([...tick(0, '"gpubox"'), ...tick(1, '"gpubox"'), ...tick(2, '"router1"'), ...tick(3, null), ...tick(4, '"gp\\u0075box"'), ...tick(5, '"gpubox"')]),
    );
    expect(r.keys).toEqual(['host.cpu.util', 'gpubox/Mem %', 'router1/CPU %', 'router1/Mem %', 'Mem %']);
    expect(r.t).toEqual([0, 1, 2, 3, 4, 5].map((k) => T0 + k * 1000));
    expect(r.cols[0]).toEqual([0, 10, NaN, 30, 40, 50]);
    expect(r.cols[1]).toEqual([1, 11, NaN, NaN, 41, 51]);
    expect(r.cols[2]).toEqual([NaN, NaN, 20, NaN, NaN, NaN]);
  });

  test('--host: the mapped host is the one named, whichever host the hints follow', async () => {
    const tick = (k: number) => ['"gpubox"', '"router1"'].map((h, j) => rec(iso(T0 + k * 1000), h, '"CPU %"', String(k * 10 + j)));
    const r = await bothPaths(doc([0, 1, 2].flatMap(tick)), 'router1');
    expect(r.keys).toEqual(['gpubox/CPU %', 'host.cpu.util']);
    expect(r.cols).toEqual([
      [0, 10, 20],
      [1, 11, 21],
    ]);
  });

  test('2 MB of mixed records across many buffer fills: members reordered, odd keys, blank space, bad records, epoch times', async () => {
    let x = 12345;
    const rnd = (n: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    const labels = ['"CPU %"', '"Mem %"', '"GPU 0 %"', '"GPU 0 Temp C"', '"Load 1m"', '"a\\"b"', '"x\\\\"', '"GPU \\u0031 %"', '"Disk %"'];
    const hosts = ['"gpubox"', '"gpubox"', '"gpubox"', '"router1"', 'null', '"gp\\u0075box"'];
    const out: string[] = [];
    let order = labels.slice();
    for (let k = 0; out.length < 25_000; k++) {
      const t = T0 + k * 1000 + (rnd(4) === 0 ? 250 : 0);
      const ts = rnd(10) === 0 ? String(t / 1000) : rnd(10) === 0 ? JSON.stringify(new Date(t).toISOString()) : iso(t);
      if (rnd(8) === 0) order = order.slice().sort(() => rnd(3) - 1);
      const host = rnd(6) === 0 ? hosts[rnd(hosts.length)]! : hosts[0]!;
      const n = order.length - rnd(3);
      for (let j = 0; j < n; j++) {
        const v =
          rnd(40) === 0
            ? 'null'
            : rnd(60) === 0
              ? 'NaN'
              : rnd(300) === 0
                ? '"7"'
                : rnd(20) === 0
                  ? ODD_NUMBERS[rnd(ODD_NUMBERS.length)]!
                  : String(rnd(100000) / 100);
        const l = order[j]!;
        const h = rnd(20) === 0 ? hosts[rnd(hosts.length)]! : host;
        const form = rnd(12);
        out.push(
          form === 0
            ? `{"value": ${v}, "label": ${l}, "timestamp": ${ts}, "host": ${h}}`
            : form === 1
              ? `{\n  "timestamp" : ${ts},\n  "host":${h},"label":${l},"value":${v},"timestamps": 1, "hostname": "z", "l\\u0061bel": "q"}`
              : form === 2
                ? rec(ts, null, l, v)
                : rec(ts, h, l, v),
        );
        if (rnd(200) === 0) out.push(rec(ts, h, l, v)); // a second value in the tick
      }
    }
    const text = doc(out);
    expect(text.length).toBeGreaterThan(2 << 20);
    const r = await bothPaths(text);
    expect(r.error).toBeNull();
    expect(r.stats.rows).toBeGreaterThan(1500);
    expect(r.stats.bad).toBeGreaterThan(50);
    expect(r.keys.length).toBeGreaterThan(15);
  });
});
