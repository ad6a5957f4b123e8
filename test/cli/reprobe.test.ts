/**
 * Late driver load: the agent starts with no NVML library, the library appears (the fake .so
 * copied into place), and the GPUs join the live catalog without a restart: a new schema event,
 * then samples with their columns, gpu_added events, provider nvml in /v1/info.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GpuReprobe } from '../../cli/gpu/reprobe.ts';
import { auth, fakeNvml, readSse, startAgent, tmp, type RunningAgent } from '../helpers.ts';

let a: RunningAgent | null = null;
afterAll(async () => {
  await a?.stop();
});

describe('GPU provider re-probe', () => {
  test('backoff: base, doubling, capped', () => {
    const r = new GpuReprobe({ baseMs: 30_000, maxMs: 300_000, select: async () => ({ provider: null as never, notes: [] }), onFound() {} });
    expect([0, 1, 2, 3, 4, 10].map((n) => r.delay(n))).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
  });

  test('the library appears while the agent runs: the GPUs join without a restart', async () => {
    const dir = tmp();
    const lib = join(dir, 'lib', 'libnvidia-ml.so.1');
    a = await startAgent(['--interval', '200ms', '--gpu', 'nvml', '--nvml-lib', lib], { FAKE_NVML_GPUS: '2', GPULSE_GPU_REPROBE_MS: '300' }, { dir });
    const get = async <T>(p: string) => (await (await fetch(a!.url + p, auth(a!.token))).json()) as T;
    const before = await get<{
      provider: string;
      devices: unknown[];
      series: { key: string }[];
      gpu_reprobe: { next: number; attempts: number } | null;
      provider_notes: string[];
    }>('/v1/info');
    expect(before.provider).toBe('none');
    expect(before.devices).toEqual([]);
    expect(before.gpu_reprobe).not.toBeNull();
    expect(before.provider_notes.join()).toContain('cannot load NVML');
    expect(a.stderr()).toContain('looking again every 300ms');

    const stream = await fetch(a.url + '/v1/stream', auth(a.token));
    const reading = readSse(stream, (m) => m.some((x, i) => i > 0 && x.event === 'schema') && m.filter((x) => x.event === 'sample').length > 8, 12_000);
    await Bun.sleep(1000); // a few failed attempts first
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'lib'));
    copyFileSync(fakeNvml('default'), lib + '.part');
    renameSync(lib + '.part', lib); // installed atomically, as a package manager does
    const msgs = await reading;
    const at = msgs.findIndex((m, i) => i > 0 && m.event === 'schema');
    const schema = JSON.parse(msgs[at]!.data) as { provider: string; devices: { index: number }[]; series: { key: string }[] };
    expect(schema.provider).toBe('nvml');
    expect(schema.devices.map((d) => d.index)).toEqual([0, 1]);
    const col = schema.series.findIndex((s) => s.key === 'gpu1.power');
    expect(col).toBeGreaterThan(0);
    const after = msgs
      .slice(at + 1)
      .filter((m) => m.event === 'sample')
      .map((m) => JSON.parse(m.data) as (number | null)[]);
    expect(after.every((r) => r.length === schema.series.length + 1)).toBe(true);
    expect(after.some((r) => typeof r[col + 1] === 'number')).toBe(true);
    const info = await get<{ provider: string; gpu_reprobe: unknown; driver_version: string }>('/v1/info');
    expect(info).toMatchObject({ provider: 'nvml', gpu_reprobe: null, driver_version: '550.54.15-fake' });
    const ev = await get<{ events: { kind?: string; scope?: string }[] }>('/v1/events');
    expect(ev.events.filter((e) => e.kind === 'gpu_added').map((e) => e.scope)).toEqual(['gpu0', 'gpu1']);
    const m = await (await fetch(a.url + '/metrics', auth(a.token))).text();
    expect(m).toMatch(/^DCGM_FI_DEV_POWER_USAGE\{gpu="1",/m);
    expect(a.stderr()).toContain('GPU provider nvml came up: [0] NVIDIA H100 80GB HBM3, [1] NVIDIA H100 80GB HBM3');
  }, 30_000);

  test('a GPU that appears while NVML runs is added (schema, gpu_added); the others keep their columns', async () => {
    const dir = tmp();
    const count = join(dir, 'gpus');
    writeFileSync(count, '1');
    const b = await startAgent(
      ['--interval', '200ms', '--gpu', 'nvml'],
      { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '1', FAKE_NVML_GPUS_FILE: count, GPULSE_NVML_LOST_RETRY_MS: '300' },
      { dir },
    );
    try {
      const stream = await fetch(b.url + '/v1/stream', auth(b.token));
      const reading = readSse(stream, (m) => m.some((x, i) => i > 0 && x.event === 'schema') && m.filter((x) => x.event === 'sample').length > 10, 12_000);
      await Bun.sleep(800);
      writeFileSync(count, '2');
      const msgs = await reading;
      const first = JSON.parse(msgs[0]!.data) as { devices: unknown[]; series: { key: string }[] };
      expect(first.devices).toHaveLength(1);
      const at = msgs.findIndex((m, i) => i > 0 && m.event === 'schema');
      const schema = JSON.parse(msgs[at]!.data) as { devices: { index: number; name: string }[]; series: { key: string }[] };
      expect(schema.devices.map((d) => d.index)).toEqual([0, 1]);
      expect(schema.series.slice(0, first.series.length).map((s) => s.key)).toEqual(first.series.map((s) => s.key));
      const col = schema.series.findIndex((s) => s.key === 'gpu1.temp');
      const after = msgs
        .slice(at + 1)
        .filter((m) => m.event === 'sample')
        .map((m) => JSON.parse(m.data) as (number | null)[]);
      expect(after.some((r) => typeof r[col + 1] === 'number')).toBe(true);
      const ev = (await (await fetch(b.url + '/v1/events', auth(b.token))).json()) as { events: { kind?: string; label: string }[] };
      expect(ev.events.filter((e) => e.kind === 'gpu_added').map((e) => e.label)).toEqual(['GPU 1 added (NVIDIA H100 80GB HBM3, nvml)']);
    } finally {
      await b.stop();
    }
  }, 30_000);
});
