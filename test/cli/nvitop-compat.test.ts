/** nvitop monitor-web compatibility: its flags, /metrics.json and /history.json in its exact shapes, behind the token. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { bytes2human, formatRetention } from '../../cli/http/nvitop/format.ts';
import { parseCompatHistoryQuery } from '../../cli/http/nvitop/history.ts';
import { ApiError } from '../../cli/http/errors.ts';
import { auth, fakeNvml, startAgent, type RunningAgent } from '../helpers.ts';

describe("nvitop's formats", () => {
  test.each([
    [0, 1, '0B'],
    [1023, 1, '1023B'],
    [1024, 1, '1KiB'],
    [5.5 * 2 ** 20, 1, '5.50MiB'],
    [512.34 * 2 ** 20, 1, '512.3MiB'],
    [1536 * 2 ** 20, 1, '1536MiB'],
    [80 * 2 ** 30, 1, '80.00GiB'],
    [0.9 * 2 ** 30, 2 ** 30, '0.90GiB'],
    [4096 * 2 ** 20, 2 ** 20, '4096MiB'],
    [200 * 2 ** 30, 1, '200.0GiB'],
    [3 * 2 ** 40, 1, '3.00TiB'],
    [NaN, 1, 'N/A'],
  ])('bytes2human(%p, min %p) = %p', (b, min, want) => expect(bytes2human(b, min)).toBe(want));
  test.each([
    [86400, '1d'],
    [1209600, '14d'],
    [43200, '12h'],
    [1800, '30m'],
    [45, '45s'],
    [90.5, '90.5s'],
    [0.25, '0.25s'],
  ])('format_duration(%p) = %p', (s, want) => expect(formatRetention(s)).toBe(want));
});

describe('/history.json parameters', () => {
  test('absent or empty is no filter; numbers as Python reads them', () => {
    expect(parseCompatHistoryQuery({})).toEqual({ bucketSeconds: null, limit: null, maxSamples: null, since: null });
    expect(parseCompatHistoryQuery({ limit: '', since: '1779270000', bucket_seconds: '2.5', max_samples: ' 10 ' })).toEqual({
      bucketSeconds: 2.5,
      limit: null,
      maxSamples: 10,
      since: 1779270000,
    });
    expect(parseCompatHistoryQuery({ since: '1.7e9' }).since).toBe(1.7e9);
  });
  test.each([
    ['limit', 'abc'],
    ['limit', '0'],
    ['limit', '1.5'],
    ['max_samples', '-3'],
    ['bucket_seconds', '0'],
    ['bucket_seconds', 'x'],
    ['since', 'nan'],
    ['since', 'inf'],
    ['since', 'Infinity'],
    ['since', '1e999'],
  ])('%p=%p is a 400 naming it', (name, value) => {
    try {
      parseCompatHistoryQuery({ [name]: value });
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).status).toBe(400);
      expect((e as ApiError).param).toBe(name);
      expect((e as ApiError).message).toStartWith(`${name}: expected`);
    }
  });
});

describe("against a running agent started with monitor-web's flags", () => {
  let a: RunningAgent;
  beforeAll(async () => {
    // -H, --bind-address, bare-seconds interval and a "30min" retention, as a monitor-web unit file would say.
    a = await startAgent(['-H', 'seed-host', '--bind-address', '127.0.0.1', '--interval', '0.25', '--retention', '30min', '--gpu', 'nvml'], {
      GPULSE_NVML_LIB: fakeNvml('default'),
      FAKE_NVML_GPUS: '2',
    });
    await Bun.sleep(2000);
  });
  afterAll(async () => {
    await a?.stop();
  });
  const get = (p: string) => fetch(a.url + p, auth(a.token));

  test('both endpoints need the token', async () => {
    expect((await fetch(a.url + '/metrics.json')).status).toBe(401);
    expect((await fetch(a.url + '/history.json')).status).toBe(401);
  });

  test("/metrics.json: monitor-web's fields, buffer, devices, collector keys and their human forms", async () => {
    const m = await (await get('/metrics.json')).json();
    expect(Object.keys(m)).toEqual([
      'interval',
      'hostname',
      'server_time',
      'sample_time',
      'stale_seconds',
      'status',
      'collector_error',
      'buffer',
      'devices',
      'metrics',
      'metrics_human',
    ]);
    expect(m).toMatchObject({ interval: 0.25, hostname: 'seed-host', status: 'ready', collector_error: null });
    expect(m.server_time).toBeGreaterThanOrEqual(m.sample_time);
    expect(m.stale_seconds).toBeCloseTo(m.server_time - m.sample_time, 2);
    expect(m.stale_seconds).toBeLessThan(1);
    expect(m.buffer).toMatchObject({ max_count: 7200, retention_seconds: 1800, retention_human: '30m' });
    expect(Object.keys(m.buffer)).toEqual(['count', 'max_count', 'retention_seconds', 'retention_human', 'oldest_epoch', 'newest_epoch']);
    expect(m.buffer.count).toBeGreaterThan(3);
    expect(m.buffer.newest_epoch).toBe(m.sample_time);
    expect(m.devices[1]).toEqual({
      index: 1,
      name: 'NVIDIA H100 80GB HBM3',
      memory_total_mib: 81920,
      memory_total_human: '80.00GiB',
      uuid: 'GPU-fa4e0001-0000-4000-8000-000000abc001',
    });
    const k = (s: string) => m.metrics[`monitor/${s}`];
    expect(k('gpu:1/memory_total (MiB)/last')).toBe(81920);
    expect(k('gpu:1/power_usage (W)/mean')).toBeGreaterThan(250);
    expect(k('gpu:0/gpu_utilization (%)/min')).toBe(k('gpu:0/gpu_utilization (%)/max'));
    expect(k('host/cpu_percent (%)/last')).toBeGreaterThanOrEqual(0);
    expect(k('host/memory_percent (%)/mean')).toBeGreaterThan(0);
    expect(k('host/load_average (%) (1 min)/last')).toBeGreaterThanOrEqual(0);
    expect(k('timestamp')).toBe(m.sample_time);
    expect(k('duration (s)')).toBeGreaterThan(0);
    expect(m.metrics_human['monitor/gpu:1/memory_total (MiB)/last']).toBe('80.00GiB');
    expect(m.metrics_human['monitor/host/memory_used (GiB)/mean']).toMatch(/^\d+\.\d\dGiB$/);
    expect(Object.keys(m.metrics_human).every((key) => / \((MiB|GiB)\)/.test(key))).toBe(true);
  });

  test('/history.json: limit, since (strictly newer, epoch seconds), max_samples slices, bucket_seconds buckets', async () => {
    const all = await (await get('/history.json')).json();
    expect(Object.keys(all)).toEqual(['buffer', 'samples']);
    expect(all.samples.length).toBeGreaterThan(4);
    for (const s of all.samples) expect(Object.keys(s)).toEqual(['epoch', 'metrics']);
    const epochs = all.samples.map((s: { epoch: number }) => s.epoch);
    expect(epochs).toEqual([...epochs].sort((x, y) => x - y));

    const last3 = (await (await get('/history.json?limit=3')).json()).samples;
    // The newest three: rows keep arriving every 250 ms, so they are at least as new as the earlier answer's last three.
    expect(last3).toHaveLength(3);
    expect(last3[0].epoch).toBeGreaterThanOrEqual(epochs.at(-3));
    expect(last3[2].epoch - last3[0].epoch).toBeGreaterThanOrEqual(0.5); // two intervals or more (a late tick leaves a gap)
    const since = (await (await get(`/history.json?since=${epochs[1]}`)).json()).samples;
    expect(since[0].epoch).toBe(epochs[2]);

    const two = (await (await get(`/history.json?max_samples=2&since=${epochs[0] - 0.001}`)).json()).samples;
    expect(two).toHaveLength(2);
    // Equal-count slices average their rows: the first slice's epoch is inside the data, not a bucket edge.
    expect(two[0].epoch).toBeGreaterThan(epochs[0]);
    expect(two[0].metrics['monitor/gpu:0/memory_total (MiB)/mean']).toBe(81920);

    const b = (await (await get('/history.json?max_samples=2&bucket_seconds=0.25')).json()).samples;
    expect(b.length).toBeLessThanOrEqual(2);
    // Time buckets start on multiples of their (grown) width.
    expect((b[0].epoch * 1000) % 250).toBe(0);

    // Extreme widths stay numbers: one bucket starting at the epoch, or millisecond buckets grown to fit.
    for (const w of ['1e308', '1e-300']) {
      const x = (await (await get(`/history.json?max_samples=1&bucket_seconds=${w}`)).json()).samples;
      expect(x).toHaveLength(1);
      expect(Number.isFinite(x[0].epoch)).toBe(true);
    }

    const bad = await get('/history.json?max_samples=0');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'max_samples: expected a positive integer, got "0"', param: 'max_samples' });
  });
});
