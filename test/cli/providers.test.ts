/** nvidia-smi fallback (fake script on PATH), amdgpu sysfs (fixture tree), Ollama (fake server on loopback). */
import { afterAll, describe, expect, test } from 'bun:test';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { G, GPU_WIDTH } from '../../shared/catalog.ts';
import { dpmCurrent, openAmd } from '../../cli/gpu/amd.ts';
import { FIELDS, openNvidiaSmi, parsePmon, parseSmiRow, smiNumber } from '../../cli/gpu/nvidia-smi.ts';
import { PmonFallback } from '../../cli/gpu/nvml/pmon-fallback.ts';
import { withUtil } from '../../cli/gpu/nvml/provider.ts';
import { emptyExtras } from '../../cli/gpu/provider.ts';
import { parseOllamaPs, startOllama } from '../../cli/sample/ollama.ts';
import { auth, fakeNvml, ROOT, startAgent, tmp } from '../helpers.ts';

const BIN = join(ROOT, 'test/fixtures/bin');
const SYSFS = join(ROOT, 'test/fixtures/sysfs');
const withPath = (env: Record<string, string> = {}) => {
  const saved = { ...process.env };
  process.env.PATH = `${BIN}:${saved.PATH}`;
  Object.assign(process.env, env);
  return () => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  };
};

describe('nvidia-smi fallback', () => {
  test('absent values ([N/A], [Not Supported], N/A, empty) are null, never 0', () => {
    for (const s of ['[N/A]', '[Not Supported]', '[Insufficient Permissions]', 'N/A', '', ' ']) expect(smiNumber(s)).toBeNaN();
    expect(smiNumber(' 42.5 ')).toBe(42.5);
  });
  test('a CSV row maps to base units; throttle mask decoded', () => {
    const out = new Float64Array(GPU_WIDTH).fill(NaN);
    const st = emptyExtras();
    const uuid = parseSmiRow(
      '0, GPU-x, 40, 12, 2048, 24564, 55, 123.45, 450.00, [N/A], 2520, 10501, [Not Supported], 0, P2, 0x0000000000000024',
      [...FIELDS],
      out,
      0,
      st,
    );
    expect(uuid).toBe('GPU-x');
    expect(out[G['mem.used']]).toBe(2048 * 1048576);
    expect(out[G.power]).toBe(123.45);
    expect(out[G.fan]).toBeNaN();
    expect(out[G['enc.util']]).toBeNaN();
    expect(st).toMatchObject({ pstate: 'P2', throttle: ['sw_power_cap', 'sw_thermal'] });
  });
  test('one long-lived process read line by line; compute apps at a slower cadence', async () => {
    const restore = withPath();
    try {
      const p = await openNvidiaSmi({ intervalMs: 100, appsEveryMs: 200 });
      expect(p.devices.map((d) => d.name)).toEqual(['NVIDIA GeForce RTX 4090', 'NVIDIA GeForce RTX 4090']);
      expect(p.devices[1]!.memory_total).toBe(24564 * 1048576);
      await Bun.sleep(500);
      const r = await p.read();
      expect(r.values[G.util]).toBe(40);
      expect(r.values[GPU_WIDTH + G.util]).toBe(41);
      expect(r.values[GPU_WIDTH + G.fan]).toBeNaN();
      expect(r.values[G.fan]).toBe(35);
      expect(r.extras[0]!.processes).toHaveLength(1);
      expect(r.extras[0]!.processes[0]).toMatchObject({ gpu_mem: 1234 * 1048576, sm_util: 37, mem_util: 12 });
      expect(r.extras[1]!.processes[0]).toEqual({ pid: 99999, gpu_mem: null, type: 'compute', sm_util: 0, mem_util: 0 });
      p.close();
    } finally {
      restore();
    }
  });
  test('pmon: columns found by the header (they differ between drivers); - (no sample) is idle, 0 %; garbage is unknown (null); GPU rows with no process skipped', () => {
    const r535 = parsePmon(
      '# gpu         pid   type     sm    mem    enc    dec    jpg    ofa   command\n# Idx           #    C/G      %      %      %      %      %      %   name\n    0      12345     C     45     20      -      -      -      -   python\n    0      12346     C      -      -      -      -      -      -   python\n    0      12348     C      ?     x1      -      -      -      -   python\n    1          -     -      -      -      -      -      -      -   -\n',
    );
    expect([...r535!]).toEqual([
      [
        0,
        [
          { pid: 12345, sm: 45, mem: 20 },
          { pid: 12346, sm: 0, mem: 0 },
          { pid: 12348, sm: null, mem: null },
        ],
      ],
    ]);
    const old = parsePmon(
      '# gpu        pid  type    sm   mem   enc   dec   command\n# Idx          #   C/G     %     %     %     %   name\n    1       777     G     3     1     0     0   Xorg\n',
    );
    expect(old!.get(1)).toEqual([{ pid: 777, sm: 3, mem: 1 }]);
    // Joined with the process list: an unreadable value stays unknown; a process pmon does not list was idle.
    const procs = [12345, 12346, 12348, 12347].map((pid) => ({ pid, gpu_mem: null, type: 'compute' as const }));
    expect(withUtil(procs, r535!.get(0)!).map((p) => [p.sm_util, p.mem_util])).toEqual([
      [45, 20],
      [0, 0],
      [null, null],
      [0, 0],
    ]);
  });
  test('pmon output with no header row (exit 0, nothing known printed) is unknown (null), not every process at 0 %', () => {
    expect(parsePmon('')).toBeNull();
    expect(parsePmon('    0      12345     C     45     20   python\n')).toBeNull();
    expect(parsePmon('Failed to initialize: pmon not supported\n')).toBeNull();
  });
  test('no pmon: processes keep their memory, utilization is unknown (null)', async () => {
    const restore = withPath({ FAKE_SMI_NO_PMON: '1' });
    try {
      const p = await openNvidiaSmi({ intervalMs: 100, appsEveryMs: 200 });
      await Bun.sleep(500);
      expect((await p.read()).extras[1]!.processes[0]).toEqual({ pid: 99999, gpu_mem: null, type: 'compute', sm_util: null, mem_util: null });
      p.close();
    } finally {
      restore();
    }
  });
  test('a dying nvidia-smi is restarted with backoff and samples keep coming', async () => {
    const restore = withPath({ FAKE_SMI_EXIT_AFTER: '2' });
    try {
      const p = await openNvidiaSmi({ intervalMs: 100 });
      await Bun.sleep(1800);
      expect((p as unknown as { restarts: number }).restarts).toBeGreaterThanOrEqual(1);
      expect(p.drainEvents().some((e) => e.kind === 'provider_error')).toBe(true);
      expect((await p.read()).values[G.util]).toBe(40);
      p.close();
    } finally {
      restore();
    }
  });
  test('a hung nvidia-smi: reads fail (null columns) instead of repeating stale values, and a watchdog restarts it', async () => {
    const restore = withPath({ FAKE_SMI_HANG: '1' });
    try {
      const p = await openNvidiaSmi({ intervalMs: 100, hangMs: 400 });
      await Bun.sleep(200);
      await expect(p.read()).rejects.toThrow(/no sample/);
      await Bun.sleep(400);
      await expect(p.read()).rejects.toThrow(/no sample/); // past hangMs: the watchdog kills it
      await Bun.sleep(300);
      expect((p as unknown as { restarts: number }).restarts).toBeGreaterThanOrEqual(1);
      p.close();
    } finally {
      restore();
    }
  });
});

describe('NVML without per-process utilization: nvidia-smi pmon as the fallback', () => {
  type Snap = { gpus: { processes: { pid: number; sm_util: number | null; mem_util: number | null }[] }[] };
  /** An agent on the fake NVML with nvmlDeviceGetProcessUtilization answering NOT_SUPPORTED; the fake nvidia-smi on PATH. */
  async function processesSeen(env: Record<string, string>) {
    const a = await startAgent(['--interval', '200ms', '--gpu', 'nvml'], {
      PATH: `${BIN}:${process.env.PATH}`,
      GPULSE_NVML_LIB: fakeNvml('default'),
      FAKE_NVML_GPUS: '2',
      // pid 4242 on GPU 0 (the fake pmon says 37 % SM, 12 % memory), pid 777 on GPU 1 (pmon: no process there).
      FAKE_NVML_PROCS: '0:4242:1234,1:777:10',
      FAKE_NVML_UNSUPPORTED: 'putil',
      GPULSE_NVML_SLOW_MS: '300',
      ...env,
    });
    try {
      for (let i = 0; i < 100; i++) {
        const snap = (await (await fetch(a.url + '/v1/snapshot', auth(a.token))).json()) as Snap;
        if (snap.gpus[0]?.processes.length && snap.gpus[1]?.processes.length) return snap.gpus.map((g) => g.processes);
        await Bun.sleep(100);
      }
      throw new Error('no processes in the snapshot');
    } finally {
      await a.stop();
    }
  }

  test('NOT_SUPPORTED: utilization comes from `nvidia-smi pmon`; a listed process pmon does not show is idle (0 %)', async () => {
    const [g0, g1] = await processesSeen({});
    expect(g0!.find((p) => p.pid === 4242)).toMatchObject({ sm_util: 37, mem_util: 12 });
    expect(g1!.find((p) => p.pid === 777)).toMatchObject({ sm_util: 0, mem_util: 0 });
  }, 30_000);
  test('PmonFallback: only for the devices that need it; after a failure, no new try until retryMs has passed', async () => {
    let now = 0,
      calls = 0,
      answer: Map<number, { pid: number; sm: number; mem: number }[]> | null = null;
    const f = new PmonFallback(
      async () => (calls++, answer),
      1000,
      () => now,
    );
    const unsupported = (i: number) => i === 1;
    const putil: ({ pid: number; sm: number; mem: number }[] | null)[] = [null, null];
    await f.fill(
      putil,
      () => false,
      (i) => i,
    );
    expect(calls).toBe(0); // nothing unsupported: no nvidia-smi run
    await f.fill(putil, unsupported, (i) => i);
    expect([calls, putil]).toEqual([1, [null, null]]);
    now = 999;
    await f.fill(putil, unsupported, (i) => i);
    expect(calls).toBe(1);
    now = 1000;
    answer = new Map([[7, [{ pid: 5, sm: 50, mem: 5 }]]]);
    await f.fill(putil, unsupported, (i) => (i === 1 ? 7 : 0));
    expect([calls, putil]).toEqual([2, [null, [{ pid: 5, sm: 50, mem: 5 }]]]);
  });
  test('no pmon either: utilization stays unknown (null), memory is still there', async () => {
    const [g0] = await processesSeen({ FAKE_SMI_NO_PMON: '1' });
    expect(g0!.find((p) => p.pid === 4242)).toMatchObject({ sm_util: null, mem_util: null });
  }, 30_000);
});

describe('amdgpu sysfs', () => {
  test('reads the fixture tree: only AMD cards, hwmon units converted, dpm tables parsed', async () => {
    const p = openAmd({ sysfsRoot: SYSFS });
    expect(p.devices).toEqual([{ index: 0, provider: 'amd', name: 'AMD Radeon RX 7900 XTX', uuid: '5b1c5f4a2a3d1e7f', memory_total: 25753026560 }]);
    const r = await p.read();
    const v = (k: keyof typeof G) => r.values[G[k]];
    expect([v('util'), v('mem_bw.util'), v('mem.used'), v('temp'), v('power'), v('power.limit'), v('fan'), v('clock.sm'), v('clock.mem')]).toEqual([
      37, 8, 4294967296, 51, 212, 355, 40, 1800, 1250,
    ]);
    expect(v('enc.util')).toBeNaN();
    expect(dpmCurrent('0: 500Mhz\n1: 1800Mhz *\n')).toBe(1800);
  });
  test('the tree vanishing mid-run is an error for that source, not a crash', async () => {
    const root = tmp();
    cpSync(SYSFS, root, { recursive: true });
    const p = openAmd({ sysfsRoot: root });
    await p.read();
    rmSync(join(root, 'sys'), { recursive: true });
    await expect(p.read()).rejects.toThrow(/gone/);
  });
});

describe('Ollama', () => {
  let delay = 0;
  let up = true;
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      if (!up) return new Response('down', { status: 503 });
      if (delay) await Bun.sleep(delay);
      if (new URL(req.url).pathname !== '/api/ps') return new Response('nope', { status: 404 });
      return Response.json({
        models: [{ name: 'llama3.1:8b', model: 'llama3.1:8b', size: 6654289920, size_vram: 6654289920, expires_at: '2026-11-22T18:00:00Z' }],
      });
    },
  });
  afterAll(() => server.stop(true));
  const url = `http://127.0.0.1:${server.port}`;

  test('running models from /api/ps', async () => {
    const p = startOllama(url, () => {}, 1e9);
    expect(await p.poll()).toEqual([{ name: 'llama3.1:8b', size: 6654289920, vram: 6654289920, expires_at: '2026-11-22T18:00:00Z' }]);
    p.stop();
  });
  test('down or slow: empty list and an error, within the poll timeout', async () => {
    const seen: (string | null)[] = [];
    up = false;
    const p = startOllama(url, (_m, e) => seen.push(e), 1e9);
    expect(await p.poll()).toBeNull();
    up = true;
    delay = 3000;
    const t0 = Date.now();
    expect(await p.poll()).toBeNull();
    expect(Date.now() - t0).toBeLessThan(2500);
    p.stop();
    delay = 0;
    expect(seen.some((e) => /503/.test(e ?? ''))).toBe(true);
  });
  test('a malformed answer is rejected', () => expect(() => parseOllamaPs({ nope: 1 })).toThrow());
  test('the agent shows models under workloads in the snapshot', async () => {
    const a = await startAgent(['--interval', '200ms', '--gpu', 'none', '--ollama', url]);
    try {
      let models: unknown[] = [];
      for (let i = 0; i < 30 && !models.length; i++) {
        await Bun.sleep(100);
        models = (await (await fetch(a.url + '/v1/snapshot', auth(a.token))).json()).workloads.ollama;
      }
      expect(models).toHaveLength(1);
    } finally {
      await a.stop();
    }
  });
});

describe('provider selection in the agent', () => {
  test('--gpu nvidia-smi uses the fallback and says so', async () => {
    const a = await startAgent(['--interval', '200ms', '--gpu', 'nvidia-smi'], { PATH: `${BIN}:${process.env.PATH}` });
    try {
      const info = await (await fetch(a.url + '/v1/info', auth(a.token))).json();
      expect(info.provider).toBe('nvidia-smi');
      expect(info.devices).toHaveLength(2);
    } finally {
      await a.stop();
    }
  });
  test('auto with no NVML and no nvidia-smi falls to AMD sysfs', async () => {
    const a = await startAgent(['--interval', '200ms', '--sysfs-root', SYSFS], { GPULSE_NVML_LIB: '/nonexistent.so', PATH: '/usr/bin:/bin' });
    try {
      await Bun.sleep(500);
      const info = await (await fetch(a.url + '/v1/info', auth(a.token))).json();
      expect(info.provider).toBe('amd');
      expect(info.provider_notes).toHaveLength(2);
      const snap = await (await fetch(a.url + '/v1/snapshot', auth(a.token))).json();
      expect(snap.gpus[0]).toMatchObject({ name: 'AMD Radeon RX 7900 XTX', util: 37, temp_c: 51, power_w: 212 });
      const events = (await (await fetch(a.url + '/v1/events', auth(a.token))).json()).events;
      expect(events.some((e: { kind: string }) => e.kind === 'provider_fallback')).toBe(true);
    } finally {
      await a.stop();
    }
  });
});
