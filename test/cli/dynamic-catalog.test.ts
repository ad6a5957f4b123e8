/**
 * The live catalog in-process (ticks driven by hand, no timers): series join and leave while the
 * agent runs, `schema` goes out before the first sample that uses it, user series stay unrounded
 * in frames, history (raw and rollups), chunks and /metrics, and the cap holds.
 */
import { describe, expect, test } from 'bun:test';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from '../../cli/agent.ts';
import { EphemeralSeries } from '../../cli/catalog/ephemeral.ts';
import { emptyExtras, noGpu, type GpuProvider } from '../../cli/gpu/provider.ts';
import { createApp } from '../../cli/http/app.ts';
import { RollupHead } from '../../cli/store/heads.ts';
import { Store } from '../../cli/store/store.ts';
import { UserRegistry } from '../../cli/user/registry.ts';
import { decodeChunk, splitChunks } from '../../shared/chunk/index.ts';
import type { WorkloadSeries } from '../../shared/catalog.ts';
import { SseParser } from '../../shared/sse.ts';
import { tmp } from '../helpers.ts';

const host = {
  cpus: 1,
  sample(_t: number, v: Float64Array) {
    v.fill(1, 0, 14);
  },
  disks: () => [],
  freqMhz: () => null,
  close() {},
};
const T0 = Math.floor(Date.now() / 1000) * 1000 - 600_000;

function agent(user: Partial<ConstructorParameters<typeof Agent>[0]['user']> = {}, store?: Store) {
  const a = new Agent({ hostname: 'h', intervalMs: 1000, retentionMs: 86_400_000, host, gpu: noGpu, user, store });
  const app = createApp(a, { token: null, allowOrigins: [] });
  return {
    a,
    app,
    get: async (p: string) => {
      const r = await app.request(p);
      return { status: r.status, body: (await r.json()) as never };
    },
  };
}

/** Frames written to a live stream so far. */
async function frames(stream: ReadableStream<Uint8Array>, n: number) {
  const reader = stream.getReader();
  const p = new SseParser();
  const out: { event: string; data: unknown }[] = [];
  while (out.length < n) {
    const r = await Promise.race([reader.read(), Bun.sleep(500).then(() => null)]);
    if (!r || r.done) break;
    for (const m of p.push(new TextDecoder().decode(r.value))) out.push({ event: m.event, data: JSON.parse(m.data) });
  }
  reader.releaseLock();
  return out;
}

describe('series joining mid-stream', () => {
  test('a push between ticks: the next tick sends schema, then a sample whose last column is the unrounded value', async () => {
    const { a } = agent();
    await a.sampler.tick(T0);
    const stream = a.openStream(null);
    const pre = await frames(stream, 2);
    expect(pre.map((f) => f.event)).toEqual(['schema', 'snapshot']);
    const width = (pre[0]!.data as { series: unknown[] }).series.length;
    expect(a.user.push('loss{run="42"} 0.0123457\n', null, Date.now()).kind).toBe('ok');
    await a.sampler.tick(T0 + 1000);
    const f = await frames(stream, 2);
    expect(f.map((x) => x.event)).toEqual(['schema', 'sample']);
    const schema = f[0]!.data as { series: { key: string; precision?: string; scope: string; metric?: string; labels?: unknown }[] };
    expect(schema.series).toHaveLength(width + 1);
    expect(schema.series.at(-1)).toMatchObject({ key: 'user.loss.run-42', scope: 'user', precision: 'full', metric: 'loss', labels: { run: '42' } });
    const row = f[1]!.data as number[];
    expect(row).toHaveLength(width + 2);
    expect(row.at(-1)).toBe(0.0123457);
    expect(row[1]).toBe(1); // built-in columns unchanged
    await a.sampler.tick(T0 + 2000);
    const g = await frames(stream, 1);
    expect(g.map((x) => x.event)).toEqual(['sample']); // no schema when nothing changed
    await stream.cancel();
    a.stop();
  });

  test('history, rollups, chunks, replay and /metrics keep user values unrounded; built-ins stay at wire precision', async () => {
    const { a, get, app } = agent();
    const v = [0.0123457, 1234.56789, 3e-7];
    for (let i = 0; i < 3; i++) {
      a.user.push(`loss ${v[i]}\n`, null, Date.now());
      host.sample = (_t, row) => {
        row.fill(1.23456, 0, 14);
      };
      await a.sampler.tick(T0 + i * 1000);
    }
    const h = (await get('/v1/history?keys=user.loss,host.cpu.util')).body as { series: Record<string, number[]> };
    expect(h.series['user.loss']).toEqual(v);
    expect(h.series['host.cpu.util']).toEqual([1.23, 1.23, 1.23]);
    const m = (await get('/v1/history?keys=user.loss&step=60000&agg=minmax')).body as {
      series: Record<string, number[]>;
      min: Record<string, number[]>;
      max: Record<string, number[]>;
    };
    expect(m.series['user.loss']![0]).toBeCloseTo((v[0]! + v[1]! + v[2]!) / 3, 12);
    expect(m.series['user.loss']![0]).not.toBe(Math.round(m.series['user.loss']![0]! * 100) / 100);
    expect(m.min['user.loss']).toEqual([3e-7]);
    const bytes = new Uint8Array(await (await app.request('/v1/history/chunks?keys=user.loss')).arrayBuffer());
    const [first] = [...splitChunks(bytes)];
    const c = first && 'header' in first ? decodeChunk(bytes, first.offset) : null;
    expect(c?.ok && c.value.tier === 'raw' ? [...c.value.v] : null).toEqual(v);
    const replay = await frames(a.openStream(T0 - 1), 5);
    const rows = replay.filter((f) => f.event === 'sample').map((f) => (f.data as number[]).at(-1));
    expect(rows).toEqual(v);
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toContain('loss{Hostname="h"} 3e-7');
    a.stop();
  });

  test('a series quiet for retireMs leaves the catalog (a schema change); history still answers for its key', async () => {
    const { a, get } = agent({ retireMs: 2000, pushStaleMs: 1000 });
    a.user.push('gone 5\n', null, Date.now() - 10_000); // pushed long ago: stale already
    await a.sampler.tick(T0);
    expect(a.catalog.keys).toContain('user.gone');
    const h1 = (await get('/v1/history?keys=user.gone')).body as { series: Record<string, (number | null)[]> };
    expect(h1.series['user.gone']).toEqual([null]);
    // quiet from the first tick; retired once 2 s of wall time have passed
    await Bun.sleep(2100);
    await a.sampler.tick(T0 + 1000);
    expect(a.catalog.keys).not.toContain('user.gone');
    const h2 = await get('/v1/history?keys=user.gone');
    expect(h2.status).toBe(200);
    expect((await get('/v1/history?keys=user.never')).status).toBe(400);
    a.stop();
  });

  test('a pushed value is stale (null) after --push-stale, and comes back with the next push', async () => {
    const { a } = agent({ pushStaleMs: 300 });
    a.user.push('x 1\n', null, Date.now());
    await a.sampler.tick(T0);
    expect(a.latest().row.at(-1)).toBe(1);
    await Bun.sleep(350);
    await a.sampler.tick(T0 + 1000);
    expect(a.latest().row.at(-1)).toBeNaN();
    a.user.push('x 2\n', null, Date.now());
    await a.sampler.tick(T0 + 2000);
    expect(a.latest().row.at(-1)).toBe(2);
    a.stop();
  });
});

describe('the cap on user series', () => {
  test('a push past --max-series is refused whole (429 naming the limit) and stores nothing', async () => {
    const { a, app } = agent({ maxSeries: 3 });
    const push = (body: string) => app.request('/v1/push', { method: 'POST', body });
    expect((await push('a 1\nb 2\n')).status).toBe(200);
    const r = await push('c 3\nd 4\n');
    expect(r.status).toBe(429);
    const e = (await r.json()) as { error: string; param: string };
    expect(e.error).toContain('--max-series 3');
    expect(e.param).toBe('max_series');
    expect(a.user.registry.has('user.c')).toBe(false);
    expect((await push('a 5\nc 3\n')).status).toBe(200); // within the cap: fine
    const info = (await (await app.request('/v1/info')).json()) as { user_metrics: { series: number; warnings: string[] } };
    expect(info.user_metrics.series).toBe(3);
    expect(info.user_metrics.warnings.join()).toContain('--max-series 3');
    a.stop();
  });

  test('a textfile past the cap keeps the first series, drops the rest and says so in /v1/info', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'many.prom'), Array.from({ length: 5 }, (_, i) => `m${i} ${i}`).join('\n') + '\n');
    const { a, get } = agent({ maxSeries: 3, textfileDir: dir });
    await a.sampler.tick(T0);
    expect(a.catalog.keys.filter((k) => k.startsWith('user.'))).toEqual(['user.m0', 'user.m1', 'user.m2']);
    const info = (await get('/v1/info')).body as {
      user_metrics: { textfile: { files: { state: string; series: number; dropped: number }[] }; warnings: string[] };
    };
    expect(info.user_metrics.textfile.files[0]).toMatchObject({ state: 'ok', series: 3, dropped: 2 });
    expect(info.user_metrics.warnings[0]).toBe('textfile many.prom: 2 series not taken: --max-series 3 reached');
    a.stop();
  });

  test('quiet series make way for new ones; a refused push does not even evict them', () => {
    const r = new UserRegistry({ maxSeries: 2, retireMs: 3_600_000 });
    const s = (k: string) => ({ metric: k, labels: {}, key: `user.${k}`, value: 1, line: 1 });
    const now = 1_000_000;
    r.apply('push', { kind: 'push' }, [s('a'), s('b')], new Map(), now, { validMs: 10, atomic: true, replace: false });
    expect(r.apply('push', { kind: 'push' }, [s('c'), s('d'), s('e')], new Map(), now + 100, { validMs: 10, atomic: true, replace: false }).ok).toBe(false);
    expect(r.has('user.a') && r.has('user.b')).toBe(true);
    expect(r.apply('push', { kind: 'push' }, [s('c')], new Map(), now + 100, { validMs: 10, atomic: true, replace: false }).ok).toBe(true);
    expect(r.size).toBe(2);
  });
});

describe('textfiles', () => {
  test('new, changed, broken and removed files; a half-written file keeps the previous values', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'sub.prom')); // a directory named like a file is ignored
    const put = (name: string, text: string) => {
      writeFileSync(join(dir, `.${name}.tmp`), text);
      renameSync(join(dir, `.${name}.tmp`), join(dir, name));
    };
    put('a.prom', '# UNIT t_seconds seconds\nt_seconds 1.5\nsize_bytes 7\n');
    put('b.prom', 'ok 1\n');
    const { a, get } = agent({ textfileDir: dir });
    await a.sampler.tick(T0);
    const defs = a.catalog.defs.filter((d) => d.scope === 'user');
    expect(defs.map((d) => [d.key, d.unit])).toEqual([
      ['user.t_seconds', 's'],
      ['user.size_bytes', 'B'],
      ['user.ok', ''],
    ]);
    await Bun.sleep(20);
    put('b.prom', 'ok 1\nbroken{ 2\n');
    writeFileSync(join(dir, 'a.prom'), 't_seconds 9'); // no final newline: a writer caught mid-write
    await a.sampler.tick(T0 + 1000);
    const row = a.latest().row,
      keys = a.catalog.keys;
    expect(row[keys.indexOf('user.t_seconds')]).toBe(1.5);
    expect(row[keys.indexOf('user.ok')]).toBeNaN();
    const files = ((await get('/v1/info')).body as { user_metrics: { textfile: { files: Record<string, unknown>[] } } }).user_metrics.textfile.files;
    expect(files.find((f) => f.file === 'a.prom')).toMatchObject({ state: 'incomplete' });
    expect(files.find((f) => f.file === 'b.prom')).toMatchObject({ state: 'error', line: 2 });
    writeFileSync(join(dir, 'a.prom'), 't_seconds 9\n');
    await a.sampler.tick(T0 + 2000);
    expect(a.latest().row[a.catalog.keys.indexOf('user.t_seconds')]).toBe(9);
    expect(a.latest().row[a.catalog.keys.indexOf('user.size_bytes')]).toBeNaN(); // gone from the file
    a.stop();
  });
});

describe('ephemeral series and the store', () => {
  test('EphemeralSeries: missing = null, retired after retireMs, capped (quiet ones go first)', () => {
    const e = new EphemeralSeries<WorkloadSeries>(1000, 2);
    const d = (k: string): WorkloadSeries => ({ key: k, label: k, unit: '', scope: 'workload', workload: 'ollama', model: k, metric: 'vram' });
    e.sync(0, [
      [d('a'), 1],
      [d('b'), 2],
    ]);
    expect(
      e.sync(0, [
        [d('a'), 1],
        [d('b'), 2],
        [d('c'), 3],
      ]),
    ).toEqual(['c']);
    e.sync(10, [[d('a'), 1]]);
    e.prepare(10);
    expect(e.value('b')).toBeNaN();
    expect(
      e.sync(20, [
        [d('a'), 1],
        [d('c'), 3],
      ]),
    ).toEqual([]); // b was quiet: it made way
    expect(e.defs().map((x) => x.key)).toEqual(['a', 'c']);
    e.sync(30, [[d('c'), 3]]);
    e.prepare(30);
    e.prepare(1100);
    expect(e.defs().map((x) => x.key)).toEqual(['c']);
  });

  test('open windows hold at most a window of slots per series (900 rows at 1 s, 360 and 240 buckets), not the next power of two', () => {
    const s = Store.open({ dir: null, intervalMs: 1000, retentionMs: { raw: 1e12, '1m': 1e12, '1h': 1e12 }, maxDiskBytes: 0 });
    s.setKeys(['a', 'b']);
    const t0 = 1_800_000_000_000 - (1_800_000_000_000 % (10 * 86_400_000));
    for (let i = 0; i < 900; i++) s.append(t0 + i * 1000, [i, i]);
    expect(s.raw.n).toBe(900);
    expect([s.raw.t.length, s.raw.v[0]!.length]).toEqual([900, 900]);
    const m = new RollupHead('1m'),
      h = new RollupHead('1h');
    m.setKeys(['a']);
    h.setKeys(['a']);
    for (let i = 0; i < 360; i++) m.addRow(t0 + i * 60_000, [i], [0]);
    for (let i = 0; i < 240; i++) h.addRow(t0 + i * 3_600_000, [i], [0]);
    expect([m.n, m.t.length, m.sum[0]!.length, m.max[0]!.length]).toEqual([360, 360, 360, 360]);
    expect([h.n, h.t.length, h.count[0]!.length]).toEqual([240, 240, 240]);
    // Rows denser than the interval (an import) pass the cap: growth doubles again, never a row at a time.
    for (let i = 0; i < 1200; i++) s.append(t0 + 900_000 - 1 + (i + 1) / 2000, [i, i]);
    expect(s.raw.n).toBe(2100);
    expect([s.raw.t.length, s.raw.v[1]!.length]).toEqual([3600, 3600]);
  });

  test('a retired series stops costing a column once its window is sealed; its history stays', () => {
    const s = Store.open({ dir: null, intervalMs: 1000, retentionMs: { raw: 86_400_000, '1m': 86_400_000, '1h': 86_400_000 }, maxDiskBytes: 0 });
    const w = 900_000; // the raw window at 1 s
    s.setKeys(['a', 'b']);
    s.append(w, [1, 2]);
    s.setKeys(['a']);
    s.append(w + 1000, [3]);
    expect(s.raw.keys).toEqual(['a', 'b']);
    s.append(2 * w, [4]); // seals the first window
    expect(s.raw.keys).toEqual(['a']);
    const chunk = s.chunk(s.refs.raw[0]!, 'b');
    expect(chunk && chunk.tier === 'raw' ? [...chunk.v] : null).toEqual([2, NaN]);
  });
});

describe('workload and process series', () => {
  test('Ollama models become VRAM and GPU-share series; an unloaded model reads null; /metrics has them', async () => {
    const { a, app } = agent();
    a.sampler.ollama = [{ name: 'llama3.1:8b', size: 10e9, vram: 5e9, expires_at: null }];
    await a.sampler.tick(T0);
    const row = a.latest().row,
      keys = a.catalog.keys;
    expect(row[keys.indexOf('ollama.llama3~2E1~3A8b.vram')]).toBe(5e9);
    expect(row[keys.indexOf('ollama.llama3~2E1~3A8b.gpu_share')]).toBe(50);
    expect(a.catalog.defs.find((d) => d.key === 'ollama.llama3~2E1~3A8b.gpu_share')).toMatchObject({ scope: 'workload', model: 'llama3.1:8b', unit: '%' });
    const m = await (await app.request('/metrics')).text();
    expect(m).toContain('gpulse_ollama_model_vram_bytes{model="llama3.1:8b",Hostname="h"} 5000000000');
    expect(m).toContain('gpulse_ollama_model_gpu_percent{model="llama3.1:8b",Hostname="h"} 50');
    a.sampler.ollama = [];
    await a.sampler.tick(T0 + 1000);
    expect(a.latest().row[a.catalog.keys.indexOf('ollama.llama3~2E1~3A8b.vram')]).toBeNaN();
    a.stop();
  });

  test('GPU processes: three series each, capped at --max-processes (the refused pids in /v1/info)', async () => {
    const extras = [emptyExtras()];
    const gpu: GpuProvider = {
      kind: 'nvml',
      devices: [{ index: 0, name: 'G', uuid: 'GPU-0', memory_total: 1, provider: 'nvml' }],
      driverVersion: null,
      cudaVersion: null,
      read: async () => ({ values: new Float64Array(15).fill(1), extras }),
      drainEvents: () => [],
      close() {},
    };
    const a = new Agent({ hostname: 'h', intervalMs: 1000, retentionMs: 86_400_000, host, gpu, maxProcesses: 2, procRoot: tmp() });
    const app = createApp(a, { token: null, allowOrigins: [] });
    extras[0]!.processes = [1, 2, 3].map((pid) => ({ pid, gpu_mem: pid * 1024, type: 'compute' as const, sm_util: 10 * pid, mem_util: null }));
    await a.sampler.tick(T0);
    const proc = a.catalog.defs.filter((d) => d.scope === 'process');
    expect(proc.map((d) => d.key.replace(/-\d+\./, '-S.'))).toEqual([
      'proc.gpu0.1-S.mem',
      'proc.gpu0.1-S.sm',
      'proc.gpu0.1-S.memutil',
      'proc.gpu0.2-S.mem',
      'proc.gpu0.2-S.sm',
      'proc.gpu0.2-S.memutil',
    ]);
    const info = (await (await app.request('/v1/info')).json()) as { processes: unknown };
    expect(info.processes).toEqual({ tracked: 2, max: 2, refused_pids: [3] });
    const row = a.latest().row,
      keys = a.catalog.keys;
    expect(row[keys.findIndex((k) => k.endsWith('.mem') && k.includes('.2-'))]).toBe(2048);
    expect(row[keys.findIndex((k) => k.endsWith('.memutil') && k.includes('.2-'))]).toBeNaN();
    const m = await (await app.request('/metrics')).text();
    expect(m).toMatch(/^gpulse_process_sm_utilization_percent\{gpu="0",pid="1",Hostname="h"\} 10$/m);
    a.stop();
  });
});
