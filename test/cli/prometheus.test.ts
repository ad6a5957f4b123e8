/** /metrics through promtool, a real Prometheus scraping a real agent, and the CLI's mark/export against it. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { auth, BUN, fakeNvml, ROOT, startAgent, tmp, type RunningAgent } from '../helpers.ts';
import { PROMETHEUS, startPrometheus } from '../prometheus.ts';

const PROMTOOL = Bun.which('promtool');
let a: RunningAgent;

beforeAll(async () => {
  a = await startAgent(['--interval', '500ms', '--gpu', 'nvml'], { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '3', FAKE_NVML_UNSUPPORTED: 'fan' });
  await Bun.sleep(1200);
});
afterAll(async () => {
  await a?.stop();
});

/**
 * promtool's linter objects to names the contract requires us to keep: dcgm-exporter's labels
 * (UUID, modelName, Hostname, DCGM_FI_DRIVER_VERSION), node_exporter's node_memory_<meminfo field>
 * names, and dcgm's counters named without a lower-case _total suffix (its energy, PCIe replay,
 * ECC and remapped-row counters). Exactly those findings are allowed; anything else fails.
 */
const INHERITED = [
  /^(DCGM_FI_\w+|gpulse_gpu_lost) label names should be written in 'snake_case' not 'camelCase'$/,
  /^node_memory_\w+ metric names should be written in 'snake_case' not 'camelCase'$/,
  /^DCGM_FI_DEV_(TOTAL_ENERGY_CONSUMPTION|PCIE_REPLAY_COUNTER|ECC_[SD]BE_(VOL|AGG)_TOTAL|(UN)?CORRECTABLE_REMAPPED_ROWS) counter metrics should have "_total" suffix$/,
  /^DCGM_FI_DEV_PCIE_REPLAY_COUNTER metric name should not include type 'counter'$/,
];

describe.skipIf(!PROMTOOL)('promtool check metrics', () => {
  test('the exposition parses, and the only lint findings are the inherited exporter names', async () => {
    const text = await (await fetch(a.url + '/metrics', auth(a.token))).text();
    const r = Bun.spawnSync([PROMTOOL!, 'check', 'metrics'], { stdin: new TextEncoder().encode(text), stdout: 'pipe', stderr: 'pipe' });
    const findings = (r.stdout.toString() + r.stderr.toString()).split('\n').filter(Boolean);
    expect(findings.filter((f) => !INHERITED.some((re) => re.test(f)))).toEqual([]);
    expect(text).toMatch(/^# HELP DCGM_FI_DEV_GPU_UTIL /m);
    // every sample line belongs to a family with HELP and TYPE
    const families = new Set([...text.matchAll(/^# TYPE (\S+) (gauge|counter)$/gm)].map((m) => m[1]));
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) expect(families.has(line.split(/[{ ]/)[0]!)).toBe(true);
  });
  test('--metrics-public exposes /metrics without a token; the API stays guarded', async () => {
    const b = await startAgent(['--interval', '500ms', '--gpu', 'none', '--metrics-public']);
    try {
      expect((await fetch(b.url + '/metrics')).status).toBe(200);
      expect((await fetch(b.url + '/v1/info')).status).toBe(401);
    } finally {
      await b.stop();
    }
  });
});

describe.skipIf(!PROMETHEUS)('a real Prometheus scraping the agent', () => {
  test("DCGM_FI_DEV_GPU_UTIL has one series per fake GPU with the agent's values", async () => {
    const prom = startPrometheus([new URL(a.url).host], { token: a.token });
    try {
      let result: { metric: Record<string, string>; value: [number, string] }[] = [];
      for (let i = 0; i < 60 && result.length < 3; i++) {
        await Bun.sleep(500);
        const r = await fetch(`${prom.url}/api/v1/query?query=DCGM_FI_DEV_GPU_UTIL`).catch(() => null);
        if (r?.ok) result = (await r.json()).data.result;
      }
      expect(result.map((s) => s.metric.gpu).sort()).toEqual(['0', '1', '2']);
      for (const s of result) {
        expect(s.metric).toMatchObject({ job: 'gpulse', modelName: 'NVIDIA H100 80GB HBM3' });
        expect(s.metric.UUID).toMatch(/^GPU-fa4e000\d-/);
        const v = Number(s.value[1]);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(100);
      }
      const fb = await (await fetch(`${prom.url}/api/v1/query?query=DCGM_FI_DEV_FB_TOTAL`)).json();
      expect(fb.data.result.map((s: { value: [number, string] }) => s.value[1])).toEqual(['81920', '81920', '81920']);
      const fan = await (await fetch(`${prom.url}/api/v1/query?query=DCGM_FI_DEV_FAN_SPEED`)).json();
      expect(fan.data.result).toEqual([]); // unsupported: absent, not 0
    } finally {
      await prom.stop();
    }
  }, 60_000);
});

describe('gpulse mark / export against a running agent', () => {
  const cli = (args: string[]) =>
    Bun.spawnSync([BUN, join(ROOT, 'cli/main.ts'), ...args, '--url', a.url], {
      env: { PATH: process.env.PATH!, HOME: tmp(), GPULSE_TOKEN: a.token },
      stdout: 'pipe',
      stderr: 'pipe',
    });
  test('mark adds an annotation; --end closes it into a range', async () => {
    const m = cli(['mark', 'run', '42']);
    expect(m.exitCode).toBe(0);
    expect(JSON.parse(m.stdout.toString())).toMatchObject({ label: 'run 42', source: 'user' });
    await Bun.sleep(20);
    const e = cli(['mark', 'run 42', '--end']);
    expect(e.exitCode).toBe(0);
    const ev = JSON.parse(e.stdout.toString());
    expect(ev.end_t).toBeGreaterThan(ev.t);
    expect(cli(['mark', 'never opened', '--end']).exitCode).toBe(1);
    expect(cli(['mark']).exitCode).toBe(2);
  });
  test('export --format csv: ISO time, epoch, one column per series', () => {
    const r = cli(['export', '--since', '10s', '--format', 'csv']);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.toString().trim().split('\n');
    const head = lines[0]!.split(',');
    expect(head.slice(0, 3)).toEqual(['time', 't_ms', 'host.cpu.util']);
    expect(head).toContain('gpu2.mem.total');
    expect(lines.length).toBeGreaterThan(2);
    const row = lines[1]!.split(',');
    expect(new Date(row[0]!).getTime()).toBe(Number(row[1]));
    expect(row[head.indexOf('gpu0.mem.total')]).toBe('85899345920');
    expect(row[head.indexOf('gpu0.fan')]).toBe('');
  });
  test('export --format json carries history, info and events; bad values exit 2', () => {
    const doc = JSON.parse(cli(['export', '--format', 'json']).stdout.toString());
    expect(doc.format).toBe('gpulse-export');
    expect(doc.history.t.length).toBeGreaterThan(1);
    expect(doc.info.devices).toHaveLength(3);
    expect(doc.events.some((e: { label: string }) => e.label === 'run 42')).toBe(true);
    expect(cli(['export', '--format', 'xml']).exitCode).toBe(2);
    expect(cli(['export', '--since', 'yesterday-ish']).exitCode).toBe(2);
  });
});
