/** Agent events from what the providers report: processes starting/ending, throttling, lost GPUs, XIDs. */
import { describe, expect, test } from 'bun:test';
import { GPU_WIDTH } from '../../shared/catalog.ts';
import { Agent } from '../../cli/agent.ts';
import { emptyExtras, type GpuExtras, type GpuProvider, type ProviderEvent } from '../../cli/gpu/provider.ts';
import { join } from 'node:path';
import { auth, ROOT, startAgent } from '../helpers.ts';

function scriptedProvider() {
  const extras: GpuExtras[] = [emptyExtras()];
  const pending: ProviderEvent[] = [];
  const p: GpuProvider = {
    kind: 'nvml',
    driverVersion: null,
    cudaVersion: null,
    devices: [{ index: 0, name: 'Scripted GPU', uuid: 'GPU-scripted', memory_total: 1, provider: 'nvml' }],
    read: async () => ({ values: new Float64Array(GPU_WIDTH).fill(1), extras: extras.map((x) => ({ ...x })) }),
    drainEvents: () => pending.splice(0),
    close() {},
  };
  return { p, extras, pending };
}
const host = { cpus: 1, sample() {}, disks: () => [], freqMhz: () => null, close() {} };

describe('agent events', () => {
  test('a process starting and ending on a GPU, with its pid and command', async () => {
    const { p, extras } = scriptedProvider();
    const agent = new Agent({ hostname: 'h', intervalMs: 100, retentionMs: 10_000, host, gpu: p });
    let t = 1_800_000_000_000;
    await agent.sampler.tick((t += 100));
    extras[0]!.processes = [{ pid: process.pid, gpu_mem: 1, type: 'compute' }];
    await agent.sampler.tick((t += 100));
    extras[0]!.processes = [];
    await agent.sampler.tick((t += 100));
    const ev = agent.events.all();
    expect(ev.map((e) => e.kind)).toEqual(['process_start', 'process_end']);
    expect(ev[0]!.label).toContain(`pid ${process.pid}`);
    expect(ev[0]!.label).toContain('bun');
    expect(ev[0]).toMatchObject({ source: 'agent', scope: 'gpu0' });
    agent.stop();
  });
  test('throttling started and ended, with the decoded reason', async () => {
    const { p, extras } = scriptedProvider();
    const agent = new Agent({ hostname: 'h', intervalMs: 100, retentionMs: 10_000, host, gpu: p });
    let t = 1_800_000_000_000;
    await agent.sampler.tick((t += 100));
    extras[0]!.throttle = ['hw_thermal'];
    await agent.sampler.tick((t += 100));
    await agent.sampler.tick((t += 100));
    extras[0]!.throttle = [];
    await agent.sampler.tick((t += 100));
    expect(agent.events.all().map((e) => `${e.kind}: ${e.label}`)).toEqual([
      'throttle_start: GPU 0 throttling: hw_thermal',
      'throttle_end: GPU 0 throttling ended: hw_thermal',
    ]);
    agent.stop();
  });
  test('provider events (lost GPU, XID) become agent events and go out on the stream', async () => {
    const { p, pending } = scriptedProvider();
    const agent = new Agent({ hostname: 'h', intervalMs: 100, retentionMs: 10_000, host, gpu: p });
    const reader = agent.openStream(null).getReader();
    pending.push({ kind: 'gpu_lost', index: 0, uuid: 'GPU-scripted' }, { kind: 'xid', index: 0, uuid: 'GPU-scripted', xid: 79 });
    await agent.sampler.tick(1_800_000_000_000);
    expect(agent.events.all().map((e) => e.label)).toEqual(['GPU 0 lost (GPU-scripted)', 'GPU 0 XID 79']);
    let text = '';
    for (let i = 0; i < 6 && !text.includes('XID 79'); i++) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('event: event\ndata: {"t":');
    expect(text).toContain('"kind":"xid"');
    await reader.cancel();
    agent.stop();
  });
  test('agent events cannot be edited or deleted through the API', async () => {
    // No NVML, no nvidia-smi, AMD fixture: the fallback itself is an agent event.
    const a = await startAgent(['--interval', '200ms', '--sysfs-root', join(ROOT, 'test/fixtures/sysfs')], {
      GPULSE_NVML_LIB: '/nonexistent.so',
      PATH: '/usr/bin:/bin',
    });
    try {
      const { events } = await (await fetch(a.url + '/v1/events', auth(a.token))).json();
      const ev = events.find((e: { kind: string }) => e.kind === 'provider_fallback');
      expect(ev).toMatchObject({ source: 'agent' });
      const put = await fetch(`${a.url}/v1/events/${ev.id}`, { method: 'PUT', body: JSON.stringify({ label: 'x' }), ...auth(a.token) });
      expect(put.status).toBe(403);
      expect((await fetch(`${a.url}/v1/events/${ev.id}`, { method: 'DELETE', ...auth(a.token) })).status).toBe(403);
      const after = (await (await fetch(a.url + '/v1/events', auth(a.token))).json()).events.find((e: { id: string }) => e.id === ev.id);
      expect(after.label).toBe(ev.label);
    } finally {
      await a.stop();
    }
  });
});

describe('long-lived streams', () => {
  test("a stream quiet for longer than Bun's 10 s idle timeout is not cut", async () => {
    const a = await startAgent(['--interval', '12s', '--gpu', 'none']);
    try {
      const res = await fetch(a.url + '/v1/stream', auth(a.token));
      const r = res.body!.getReader();
      const t0 = Date.now();
      let bytes = 0;
      let ended = false;
      // Read for 13 s: past the default idle timeout, with at most one sample in between.
      while (Date.now() - t0 < 13_000) {
        const x = await Promise.race([r.read(), Bun.sleep(13_500 - (Date.now() - t0)).then(() => null)]);
        if (!x) break;
        if (x.done) {
          ended = true;
          break;
        }
        bytes += x.value.byteLength;
      }
      expect(ended).toBe(false);
      expect(bytes).toBeGreaterThan(0);
      await r.cancel();
    } finally {
      await a.stop();
    }
  }, 20_000);
});
