/** The real agent as a subprocess on a free loopback port, with the fake NVML library. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { decodeChunk, splitChunks } from '../../shared/chunk/index.ts';
import { auth, fakeNvml, readSse, startAgent, type RunningAgent } from '../helpers.ts';

let a: RunningAgent;
const NVML = () => ({ GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '2', FAKE_NVML_UNSUPPORTED: 'fan', FAKE_NVML_PROCS: `0:${process.pid}:512` });

beforeAll(async () => {
  a = await startAgent(['--interval', '200ms', '--gpu', 'nvml'], NVML());
});
afterAll(async () => {
  await a?.stop();
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(a.url + path, auth(a.token, headers));
async function waitSamples(n: number) {
  for (let i = 0; i < 100; i++) {
    const info = await (await get('/v1/info')).json();
    if (info.buffer.count >= n) return info;
    await Bun.sleep(100);
  }
  throw new Error('no samples');
}

describe('agent HTTP API', () => {
  test('banner names devices, provider, capacity and never prints the token', () => {
    const err = a.stderr();
    expect(err).toContain('[0] NVIDIA H100 80GB HBM3  GPU-fa4e0000');
    expect(err).toContain('nvml');
    expect(err).toMatch(/sampling every 200ms × 45 series; history tiers raw 14d, 1-minute 90d, 1-hour 730d, at most 1 GiB on disk/);
    expect(err).not.toContain(a.token);
    expect(err).toContain('gpulse pair');
  });
  test('healthz is open and reports ready', async () => {
    await waitSamples(2);
    expect(await (await fetch(a.url + '/healthz')).json()).toEqual({ status: 'ready' });
  });
  test('401 with WWW-Authenticate without or with a wrong token; the body never echoes it', async () => {
    for (const h of [{}, { authorization: 'Bearer wrong-token-xxxxxxxxxxxx' }, { authorization: `Basic ${a.token}` }] as Record<string, string>[]) {
      const r = await fetch(a.url + '/v1/info', { headers: h });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const body = await r.text();
      expect(JSON.parse(body).error).toBeString();
      expect(body).not.toContain(a.token);
    }
    for (const p of ['/v1/snapshot', '/v1/history', '/v1/stream', '/v1/events', '/metrics']) expect((await fetch(a.url + p)).status).toBe(401);
  });
  test('info: catalog, devices with provider, buffer and driver versions', async () => {
    const info = await waitSamples(2);
    expect(info.provider).toBe('nvml');
    expect(info.interval_ms).toBe(200);
    expect(info.capacity).toBe(6_048_000); // 14 days of raw at 200 ms
    expect(info.tiers.map((t: { tier: string; step_ms: number }) => [t.tier, t.step_ms])).toEqual([
      ['raw', 200],
      ['1m', 60_000],
      ['1h', 3_600_000],
    ]);
    expect(info.storage.state).toBe('ok');
    expect(info.driver_version).toBe('550.54.15-fake');
    expect(info.devices).toHaveLength(2);
    expect(info.devices[0]).toMatchObject({ index: 0, name: 'NVIDIA H100 80GB HBM3', memory_total: 85899345920, provider: 'nvml' });
    expect(info.series.find((s: { key: string }) => s.key === 'gpu1.power')).toEqual({
      key: 'gpu1.power',
      label: 'GPU 1 power draw',
      unit: 'W',
      group: 'power',
      scope: 'gpu1',
    });
  });
  test('snapshot: every GPU metric, nulls where unsupported, processes enriched from /proc', async () => {
    await Bun.sleep(5600); // the slow worker's first process round
    const s = await (await get('/v1/snapshot')).json();
    expect(s.gpus).toHaveLength(2);
    const g = s.gpus[0];
    for (const k of [
      'util',
      'mem_bw_util',
      'mem_used',
      'mem_total',
      'temp_c',
      'power_w',
      'power_limit_w',
      'clock_sm_mhz',
      'clock_mem_mhz',
      'enc_util',
      'dec_util',
      'pcie_rx_bps',
      'pcie_tx_bps',
    ])
      expect(typeof g[k]).toBe('number');
    expect(g.fan_pct).toBeNull();
    expect(g.pstate).toBe('P0');
    const me = g.processes.find((p: { pid: number }) => p.pid === process.pid);
    expect(me).toMatchObject({ gpu_mem: 512 * 1048576 });
    expect(me.command).toContain('bun');
    expect(typeof me.user).toBe('string');
    expect(s.host.cpu.threads).toBeGreaterThan(0);
    expect(s.host.memory.total).toBeGreaterThan(0);
    expect(s.host.load).toHaveLength(3);
  }, 15_000);
  test('stream: schema first, then samples at the interval, values in catalog order', async () => {
    const res = await get('/v1/stream');
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const msgs = await readSse(res, (m) => m.filter((x) => x.event === 'sample').length >= 4);
    expect(msgs[0]!.event).toBe('schema');
    const schema = JSON.parse(msgs[0]!.data);
    const samples = msgs.filter((m) => m.event === 'sample').map((m) => JSON.parse(m.data) as (number | null)[]);
    expect(samples[0]!.length).toBe(1 + schema.series.length);
    const ts = samples.map((s) => s[0] as number);
    for (let i = 1; i < ts.length; i++) expect(ts[i]! - ts[i - 1]!).toBe(200);
    for (const t of ts) expect(t % 200).toBe(0); // aligned ticks
    const fanIdx = schema.series.findIndex((s: { key: string }) => s.key === 'gpu0.fan');
    expect(samples.at(-1)![fanIdx + 1]).toBeNull();
    const memIdx = schema.series.findIndex((s: { key: string }) => s.key === 'gpu1.mem.total');
    expect(samples.at(-1)![memIdx + 1]).toBe(85899345920);
    expect(msgs.filter((m) => m.event === 'sample').every((m) => m.id === String(JSON.parse(m.data)[0]))).toBe(true);
  });
  test('resume with Last-Event-ID or ?since: no gap, no duplicate', async () => {
    const first = await readSse(await get('/v1/stream'), (m) => m.filter((x) => x.event === 'sample').length >= 2);
    const lastId = first.filter((m) => m.event === 'sample').at(-1)!.id!;
    await Bun.sleep(700); // disconnected for a few ticks
    for (const res of [await get('/v1/stream', { 'last-event-id': lastId }), await get(`/v1/stream?since=${lastId}`)]) {
      const again = await readSse(res, (m) => m.filter((x) => x.event === 'sample').length >= 5);
      const ts = again.filter((m) => m.event === 'sample').map((m) => JSON.parse(m.data)[0] as number);
      expect(ts[0]).toBe(Number(lastId) + 200);
      for (let i = 1; i < ts.length; i++) expect(ts[i]! - ts[i - 1]!).toBe(200);
    }
  });
  test('history: columnar, keys filter, step with minmax, bad params are 400 naming them', async () => {
    const h = await (await get('/v1/history?keys=gpu0.util,host.cpu.util&limit=3')).json();
    expect(h.t).toHaveLength(3);
    expect(Object.keys(h.series)).toEqual(['gpu0.util', 'host.cpu.util']);
    const b = await (await get('/v1/history?step=1000&agg=minmax&keys=gpu0.util')).json();
    expect(b.step).toBe(1000);
    expect(b.min['gpu0.util'].length).toBe(b.t.length);
    for (const [q, param] of [
      ['since=x', 'since'],
      ['step=0', 'step'],
      ['limit=-1', 'limit'],
      ['since=10&until=5', 'since'],
      ['keys=gpu9.util', 'keys'],
      ['max_points=NaN', 'max_points'],
    ]) {
      const r = await get(`/v1/history?${q}`);
      expect(r.status).toBe(400);
      expect((await r.json()).param).toBe(param);
    }
  });
  test('history/chunks: the stored chunks as binary frames that decode to what /v1/history says', async () => {
    await waitSamples(5);
    const h = await (await get('/v1/history?keys=gpu1.temp,gpu0.mem.used')).json();
    const until = h.t.at(-1);
    const r = await get(`/v1/history/chunks?tier=raw&keys=gpu1.temp,gpu0.mem.used&until=${until}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/vnd.gpulse.chunks');
    expect(r.headers.get('x-gpulse-interval-ms')).toBe('200');
    const buf = new Uint8Array(await r.arrayBuffer());
    const got: Record<string, Map<number, number | null>> = { 'gpu1.temp': new Map(), 'gpu0.mem.used': new Map() };
    for (const f of splitChunks(buf)) {
      if (!('header' in f)) throw new Error(f.error.message);
      const c = decodeChunk(buf, f.offset);
      if (!c.ok || c.value.tier !== 'raw') throw new Error('undecodable');
      const v = c.value;
      v.t.forEach((t, i) => got[v.key]!.set(t, Number.isNaN(v.v[i]!) ? null : v.v[i]!));
    }
    h.t.forEach((t: number, i: number) => {
      expect(got['gpu1.temp']!.get(t)).toBe(h.series['gpu1.temp'][i]);
      expect(got['gpu0.mem.used']!.get(t)).toBe(h.series['gpu0.mem.used'][i]);
    });
    for (const [q, param] of [
      ['tier=5m', 'tier'],
      ['keys=nope', 'keys'],
      ['since=x', 'since'],
    ]) {
      const bad = await get(`/v1/history/chunks?${q}`);
      expect(bad.status).toBe(400);
      expect((await bad.json()).param).toBe(param);
    }
    expect((await fetch(a.url + '/v1/history/chunks')).status).toBe(401);
    const m = await get('/v1/history?step=60000&agg=minmax');
    expect(m.headers.get('x-gpulse-tier')).toBe('1m');
    expect((await m.json()).tier).toBe('1m');
  });
  test('JSON is strict: no NaN or Infinity anywhere', async () => {
    for (const p of ['/v1/info', '/v1/snapshot', '/v1/history?limit=5', '/v1/events']) {
      const text = await (await get(p)).text();
      expect(text).not.toMatch(/NaN|Infinity/);
      expect(() => JSON.parse(text)).not.toThrow();
    }
  });
  test('CORS preflight answers without auth, lists Authorization, and the private-network header', async () => {
    const r = await fetch(a.url + '/v1/stream', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://pwa.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization,last-event-id',
        'access-control-request-private-network': 'true',
      },
    });
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('access-control-allow-headers')).toContain('Authorization');
    expect(r.headers.get('access-control-allow-private-network')).toBe('true');
    expect(r.headers.get('access-control-allow-credentials')).toBeNull();
  });
  test('events: annotate, edit, delete; bad bodies are 400 and change nothing; agent events are read-only', async () => {
    const before = (await (await get('/v1/events')).json()).events.length;
    for (const [body, param] of [
      ['not json', 'body'],
      ['{"label":""}', 'label'],
      ['{"label":"x","t":"soon"}', 't'],
      ['{"label":"x","color":"red;"}', 'color'],
      ['[1]', 'body'],
    ]) {
      const r = await fetch(a.url + '/v1/events', { method: 'POST', body, ...auth(a.token, { 'content-type': 'application/json' }) });
      expect(r.status).toBe(400);
      expect((await r.json()).param).toBe(param);
    }
    expect((await (await get('/v1/events')).json()).events.length).toBe(before);
    const ev = await (
      await fetch(a.url + '/v1/events', { method: 'POST', body: JSON.stringify({ label: 'run 42 start', color: '#ff8800' }), ...auth(a.token) })
    ).json();
    expect(ev).toMatchObject({ label: 'run 42 start', source: 'user', color: '#ff8800' });
    const upd = await (
      await fetch(a.url + `/v1/events/${ev.id}`, { method: 'PUT', body: JSON.stringify({ label: 'run 42', end_t: ev.t + 1000 }), ...auth(a.token) })
    ).json();
    expect(upd).toMatchObject({ id: ev.id, label: 'run 42', end_t: ev.t + 1000 });
    expect((await fetch(a.url + `/v1/events/${ev.id}`, { method: 'DELETE', ...auth(a.token) })).status).toBe(200);
    expect((await fetch(a.url + `/v1/events/${ev.id}`, { method: 'DELETE', ...auth(a.token) })).status).toBe(404);
  });
  test('/metrics: dcgm-exporter names and labels per GPU, node_exporter names for the host', async () => {
    const text = await (await get('/metrics')).text();
    expect(text).toContain('# TYPE DCGM_FI_DEV_GPU_UTIL gauge');
    const util = text.split('\n').filter((l) => l.startsWith('DCGM_FI_DEV_GPU_UTIL{'));
    expect(util).toHaveLength(2);
    expect(util[1]).toMatch(
      /^DCGM_FI_DEV_GPU_UTIL\{gpu="1",UUID="GPU-fa4e0001-0000-4000-8000-000000abc001",pci_bus_id="00000000:18:00.0",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="[^"]+",DCGM_FI_DRIVER_VERSION="550.54.15-fake"\} \d+$/,
    );
    expect(text).not.toContain('DCGM_FI_DEV_FAN_SPEED{'); // unsupported: omitted, not 0
    expect(text).toMatch(/^node_load1\{Hostname="[^"]+"\} [\d.]+$/m);
    expect(text).toMatch(/^DCGM_FI_DEV_FB_TOTAL\{.*\} 81920$/m);
  });
});

describe('faults', () => {
  test('a hung NVML call: ticks keep coming with null GPU values, HTTP keeps answering', async () => {
    const b = await startAgent(['--interval', '200ms', '--gpu', 'nvml'], {
      GPULSE_NVML_LIB: fakeNvml('default'),
      FAKE_NVML_GPUS: '1',
      FAKE_NVML_HANG_AFTER: '3',
    });
    try {
      const msgs = await readSse(await fetch(b.url + '/v1/stream', auth(b.token)), (m) => m.filter((x) => x.event === 'sample').length >= 8);
      const schema = JSON.parse(msgs[0]!.data);
      const util = 1 + schema.series.findIndex((s: { key: string }) => s.key === 'gpu0.util');
      const cpu = 1 + schema.series.findIndex((s: { key: string }) => s.key === 'host.mem.used');
      const samples = msgs.filter((m) => m.event === 'sample').map((m) => JSON.parse(m.data));
      expect(samples.length).toBeGreaterThanOrEqual(8);
      expect(samples.at(-1)[util]).toBeNull();
      expect(samples.at(-1)[cpu]).toBeGreaterThan(0);
      const info = await (await fetch(b.url + '/v1/info', auth(b.token))).json();
      expect(info.collector_error).toMatch(/gpu:/);
      expect(info.status).toBe('ready');
    } finally {
      await b.stop();
    }
  });
  test('a GPU lost mid-run: an agent event, the device stays with nulls, the other keeps flowing', async () => {
    const b = await startAgent(['--interval', '200ms', '--gpu', 'nvml'], { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '2', FAKE_NVML_LOST: '0:3' });
    try {
      const msgs = await readSse(
        await fetch(b.url + '/v1/stream', auth(b.token)),
        (m) => m.some((x) => x.event === 'event' && x.data.includes('gpu_lost')) && m.filter((x) => x.event === 'sample').length >= 6,
      );
      const ev = JSON.parse(msgs.find((m) => m.event === 'event' && m.data.includes('gpu_lost'))!.data);
      expect(ev).toMatchObject({ kind: 'gpu_lost', source: 'agent', scope: 'gpu0' });
      const schema = JSON.parse(msgs[0]!.data);
      const last = JSON.parse(msgs.filter((m) => m.event === 'sample').at(-1)!.data);
      expect(last[1 + schema.series.findIndex((s: { key: string }) => s.key === 'gpu0.util')]).toBeNull();
      expect(last[1 + schema.series.findIndex((s: { key: string }) => s.key === 'gpu1.util')]).toBeNumber();
      const info = await (await fetch(b.url + '/v1/info', auth(b.token))).json();
      expect(info.devices[0].lost).toBe(true);
      expect(info.devices).toHaveLength(2);
    } finally {
      await b.stop();
    }
  });
  test('no NVML library: falls back (here to host-only) and says why', async () => {
    const b = await startAgent(['--interval', '200ms'], { GPULSE_NVML_LIB: '/nonexistent/libnvidia-ml.so.1', PATH: '/usr/bin:/bin' }, {});
    try {
      const info = await (await fetch(b.url + '/v1/info', auth(b.token))).json();
      expect(info.provider).toBe('none');
      expect(info.provider_notes.join(' ')).toMatch(/nvml: cannot load NVML/);
      expect(info.provider_notes.join(' ')).toMatch(/nvidia-smi: nvidia-smi not found/);
      expect(b.stderr()).toContain('no GPU provider was found');
    } finally {
      await b.stop();
    }
  });
});

describe('recovery', () => {
  test('a lost GPU that answers again (after a reset) comes back with a gpu_recovered event', async () => {
    const b = await startAgent(['--interval', '200ms', '--gpu', 'nvml'], {
      GPULSE_NVML_LIB: fakeNvml('default'),
      FAKE_NVML_GPUS: '2',
      FAKE_NVML_LOST: '0:3',
      FAKE_NVML_RECOVER_AFTER: '2',
      GPULSE_NVML_LOST_RETRY_MS: '300',
    });
    try {
      const msgs = await readSse(
        await fetch(b.url + '/v1/stream', auth(b.token)),
        (m) => m.some((x) => x.event === 'event' && x.data.includes('gpu_recovered')) && m.filter((x) => x.event === 'sample').length >= 3,
        15_000,
      );
      const kinds = msgs.filter((m) => m.event === 'event').map((m) => JSON.parse(m.data).kind);
      expect(kinds.indexOf('gpu_lost')).toBeGreaterThanOrEqual(0);
      expect(kinds.indexOf('gpu_recovered')).toBeGreaterThan(kinds.indexOf('gpu_lost'));
      await Bun.sleep(600);
      const info = await (await fetch(b.url + '/v1/info', auth(b.token))).json();
      expect(info.devices[0].lost).toBe(false);
      const snap = await (await fetch(b.url + '/v1/snapshot', auth(b.token))).json();
      expect(snap.gpus[0].util).toBeNumber();
    } finally {
      await b.stop();
    }
  }, 30_000);
});
