/** The host view's pure parts: catalog → chart groups, legend stats, event label layout, the default range. */
import { describe, expect, test } from 'bun:test';
import { buildCatalog, builtinDef, groupOf, type SeriesDef } from '../../shared/catalog.ts';
import { catalogFromKeys } from '../../web/lib/stored-catalog.ts';
import { editBody } from '../../web/lib/annotation-edit.ts';
import { gpusIn, marksFor, planCharts } from '../../web/lib/chart-plan.ts';
import { layoutLabels } from '../../web/lib/label-layout.ts';
import { legendStats } from '../../web/lib/legend-stats.ts';
import { defaultRange } from '../../web/lib/ranges.ts';

const userDef = (metric: string, labels: Record<string, string>, unit: '' | 's' = ''): SeriesDef => ({
  key: `user.${metric}${Object.entries(labels)
    .map(([k, v]) => `.${k}-${v}`)
    .join('')}`,
  label: metric,
  unit,
  scope: 'user',
  precision: 'full',
  metric,
  labels,
  help: null,
  type: 'gauge',
  prom_unit: null,
  source: { kind: 'push' },
});
const procDef = (gpu: number, pid: number, metric: 'mem' | 'sm' | 'memutil'): SeriesDef => ({
  key: `proc.gpu${gpu}.${pid}-100.${metric}`,
  label: `GPU ${gpu} python (alice, pid ${pid}) ${metric}`,
  unit: metric === 'mem' ? 'B' : '%',
  scope: 'process',
  gpu,
  pid,
  metric,
  user: 'alice',
  command: '/usr/bin/python3 train.py --epochs 90',
  container: null,
  pod: null,
  namespace: null,
  job: null,
});

describe('catalog → chart groups', () => {
  const cat: SeriesDef[] = [
    ...buildCatalog(2, [0, 1]),
    userDef('loss', { run: '1' }),
    userDef('loss', { run: '2' }),
    userDef('step_time', {}, 's'),
    procDef(1, 42, 'mem'),
    procDef(1, 42, 'sm'),
  ];

  test('every host and GPU series has a group, carried in the catalog', () => {
    for (const d of buildCatalog(2, [0])) expect(d.group).toBe(groupOf(d));
    expect(groupOf({ key: 'gpu3.temp', scope: 'gpu3' })).toBe('temperature'); // an older agent without the field
    expect(groupOf({ key: 'host.cpu7.util', scope: 'host' })).toBe('cpu_cores');
  });

  test('without a catalog in memory, stored keys map back to the entries the agent would send', () => {
    for (const d of buildCatalog(3, [0, 2])) expect(builtinDef(d.key)).toEqual(d);
    expect(builtinDef('gpu0.nonsense')).toBeNull();
    const defs = catalogFromKeys(['host.cpu.util', 'gpu1.temp', 'user.loss.run-42', 'proc.gpu0.1-2.mem', 'ollama.llama3.vram']);
    expect(defs.map((d) => [d.key, groupOf(d), d.unit])).toEqual([
      ['host.cpu.util', 'utilization', '%'],
      ['gpu1.temp', 'temperature', 'C'],
      ['user.loss.run-42', 'custom', ''],
    ]);
    expect(planCharts(defs).map((c) => c.title)).toEqual(['Host · Utilization', 'GPU 1 · Temperature', 'loss']);
  });

  test('one chart per group and scope, each with one unit; every series charted once', () => {
    const plan = planCharts(cat);
    const titles = plan.map((c) => c.title);
    for (const t of [
      'Host · Utilization',
      'Host · Memory',
      'Host · Network',
      'Host · Disk I/O',
      'Host · Load average',
      'GPU 0 · Temperature',
      'GPU 1 · Power vs limit',
      'GPU 0 · Clocks',
      'GPU 0 · Fan',
      'GPU 0 · PCIe throughput',
      'GPU 0 · Encoder / decoder',
      'loss',
      'step_time',
      'GPU 1 · Processes · memory',
      'GPU 1 · Processes · SM utilization',
    ])
      expect(titles).toContain(t);
    const keys = plan.flatMap((c) => c.series.map((s) => s.key));
    expect(keys.sort()).toEqual(cat.map((d) => d.key).sort());
    for (const c of plan) {
      const units = new Set<string>(c.series.map((s) => cat.find((d) => d.key === s.key)!.unit));
      expect([...units]).toEqual([c.unit]);
    }
    const power = plan.find((c) => c.title === 'GPU 1 · Power vs limit')!;
    expect(power.series.map((s) => s.label)).toEqual(['Power draw', 'Power limit']);
    expect(power.unit).toBe('W');
    expect(plan.find((c) => c.title === 'GPU 0 · Utilization')!.yMax).toBe(100);
    expect(plan.find((c) => c.title === 'GPU 0 · Utilization')!.series.map((s) => s.label)).toEqual(['GPU utilization', 'Memory bandwidth utilization']);
    expect(plan.find((c) => c.title === 'GPU 0 · PCIe throughput')!.series.map((s) => s.label)).toEqual(['PCIe receive', 'PCIe transmit']);
    expect(plan.find((c) => c.title === 'loss')!.series.map((s) => s.label)).toEqual(['run=1', 'run=2']);
    expect(plan.find((c) => c.title === 'GPU 1 · Processes · memory')!.series[0]!.label).toBe('python3 (alice, pid 42)');
  });

  test('groups come in a fixed order: utilization first, your metrics last; host before GPUs', () => {
    const plan = planCharts(cat);
    expect(plan[0]!.title).toBe('Host · Utilization');
    expect(plan[1]!.title).toBe('GPU 0 · Utilization');
    expect(plan[plan.length - 1]!.group).toBe('custom');
  });

  test('the GPU filter keeps host and user charts and one GPU', () => {
    const one = planCharts(cat, 1);
    expect(one.some((c) => c.gpu === 0)).toBe(false);
    expect(one.some((c) => c.gpu === 1 && c.group === 'process')).toBe(true);
    expect(one.some((c) => c.scope === 'host')).toBe(true);
    expect(one.some((c) => c.group === 'custom')).toBe(true);
    expect(gpusIn(cat)).toEqual([0, 1]);
  });

  test('marks: a GPU event only on its GPU, a host event on the host, an unscoped one everywhere', () => {
    const marks = [{ scope: 'gpu1', n: 1 }, { scope: 'host', n: 2 }, { n: 3 }, { scope: null, n: 4 }];
    expect(marksFor(marks, 'gpu1').map((m) => m.n)).toEqual([1, 3, 4]);
    expect(marksFor(marks, 'gpu0').map((m) => m.n)).toEqual([3, 4]);
    expect(marksFor(marks, 'host').map((m) => m.n)).toEqual([2, 3, 4]);
  });
});

describe('legend stats', () => {
  test('last, min, max and mean of the visible points; gaps skipped', () => {
    const xs = [0, 10, 20, 30, 40, 50];
    const ys = [100, 4, null, 8, NaN, 6];
    expect(legendStats(xs, ys, 5, 55)).toEqual({ last: 6, min: 4, max: 8, avg: 6 });
    expect(legendStats(xs, ys, 0, 15)).toEqual({ last: 4, min: 4, max: 100, avg: 52 });
  });
  test("on a rollup tier, min and max come from the buckets' extremes, last and avg from their means", () => {
    const xs = [0, 60, 120];
    expect(legendStats(xs, [10, 20, 30], 0, 200, [5, null, 25], [15, 90, 35])).toEqual({ last: 30, min: 5, max: 90, avg: 20 });
  });
  test('nothing visible → all null', () => {
    expect(legendStats([0, 1], [1, 2], 5, 9)).toEqual({ last: null, min: null, max: null, avg: null });
    expect(legendStats([0, 1], [null, NaN], 0, 9).avg).toBeNull();
  });
});

describe('event label layout', () => {
  const item = (x: number, text = 'label', width = 50) => ({ x, width, text, color: '#000' });
  test('labels that fit stay labels, in x order', () => {
    const out = layoutLabels([item(200, 'b'), item(0, 'a')], 500);
    expect(out).toEqual([
      { kind: 'label', x: 0, text: 'a', color: '#000' },
      { kind: 'label', x: 200, text: 'b', color: '#000' },
    ]);
  });
  test('a crowded run collapses into one marker listing every label; nothing overlaps', () => {
    const items = Array.from({ length: 10 }, (_, i) => item(100 + i * 5, `e${i}`));
    const out = layoutLabels([...items, item(400, 'far')], 500, 6, 30);
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual({ kind: 'cluster', x: 100, texts: items.map((i) => i.text), color: '#000' });
    expect(out[1]!.kind).toBe('label');
  });
  test('no two placed items overlap, whatever the input', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 600;
    for (let round = 0; round < 50; round++) {
      const items = Array.from({ length: 12 }, (_, i) => item(rnd(), `e${i}`, 20 + (i % 4) * 30));
      const out = layoutLabels(items, 600, 6, 30);
      const spans = out.map((p) => [p.x, p.x + (p.kind === 'label' ? items.find((i) => i.text === p.text)!.width : 30)] as const);
      for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
      expect(out.reduce((n, p) => n + (p.kind === 'label' ? 1 : p.texts.length), 0)).toBe(items.filter((i) => i.x <= 600).length);
    }
  });
});

describe('default range', () => {
  test('fits what is held, up to 24 h', () => {
    expect(defaultRange(3 * 3600e3 + 120e3)).toBe('3h');
    expect(defaultRange(40 * 60e3)).toBe('1h');
    expect(defaultRange(7 * 86400e3)).toBe('24h');
    expect(defaultRange(90e3)).toBe('5m');
    expect(defaultRange(null)).toBe('1h');
  });
});

describe('editing an annotation', () => {
  const band = { t: 1000, label: 'run 42', end_t: 5000, color: '#0a0' };
  test('a new label keeps the start, the end and the colour', () => {
    expect(editBody(band, { label: 'run 43' })).toEqual({ label: 'run 43', t: 1000, end_t: 5000, color: '#0a0' });
  });
  test('"end now" sets the end and keeps the colour; a point stays a point', () => {
    expect(editBody({ t: 1000, label: 'x', color: '#f00' }, { end_t: 9000 })).toEqual({ label: 'x', t: 1000, end_t: 9000, color: '#f00' });
    expect(editBody({ t: 1000, label: 'x' }, { label: 'y' })).toEqual({ label: 'y', t: 1000, end_t: null, color: null });
  });
});
