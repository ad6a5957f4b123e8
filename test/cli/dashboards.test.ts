/**
 * A real Prometheus scrapes a real agent (fake NVML, the machine's own /proc), then runs the core
 * PromQL of the panels of Grafana's "Node Exporter Full" (CPU, memory, network, disk, filesystem,
 * system) and of NVIDIA's dcgm-exporter dashboard, written out below, and checks every answer is
 * there and sane: the families are usable as those dashboards use them, not merely named right.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { nodeExporterListed, parseMounts } from '../../cli/sample/filesystems.ts';
import { NODE_EXPORTER_DISK_EXCLUDE, parseDiskstatsDetail } from '../../cli/sample/proc-detail.ts';
import { fakeNvml, startAgent, type RunningAgent } from '../helpers.ts';
import { PROMETHEUS, startPrometheus, type RunningPrometheus } from '../prometheus.ts';

if (!PROMETHEUS) console.warn('dashboards.test.ts: skipped: no prometheus binary (Debian: apt-get install prometheus; .ci/run does this)');

type Series = { metric: Record<string, string>; value: [number, string] };
let agent: RunningAgent;
let prom: RunningPrometheus | null = null;
let promUrl = '';

async function q(expr: string): Promise<Series[]> {
  const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = await r.json();
  if (body.status !== 'success') throw new Error(`${expr}: ${JSON.stringify(body)}`);
  return body.data.result;
}
const vals = (s: Series[]) => s.map((x) => Number(x.value[1]));
/** The query's answer, which must not be empty. */
async function nonEmpty(expr: string): Promise<Series[]> {
  const r = await q(expr);
  if (!r.length) throw new Error(`empty answer to ${expr}`);
  return r;
}

beforeAll(async () => {
  if (!PROMETHEUS) return;
  agent = await startAgent(['--interval', '500ms', '--gpu', 'nvml', '--metrics-public'], {
    GPULSE_NVML_LIB: fakeNvml('default'),
    FAKE_NVML_GPUS: '2',
    FAKE_NVML_XID: '1:79',
    FAKE_NVML_THROTTLE: '0:0x64',
  });
  prom = startPrometheus([new URL(agent.url).host]);
  promUrl = prom.url;
  // The dashboards take rates over $__rate_interval (at least four scrape intervals); with 1 s
  // scrapes the queries below use [5s]. rate() extrapolates a window only partly covered, so wait
  // until seven scrapes fill it (or the answers would be a fraction of the truth).
  for (let i = 0; i < 120; i++) {
    await Bun.sleep(500);
    const n = await q('count_over_time(node_time_seconds[8s])').then(
      (r) => Number(r[0]?.value[1] ?? 0),
      () => 0,
    );
    if (n >= 7 && (await q('DCGM_FI_DEV_FB_FREE').catch(() => [])).length === 2) break;
  }
}, 90_000);
afterAll(async () => {
  await prom?.stop();
  await agent?.stop();
});

describe.skipIf(!PROMETHEUS)('Node Exporter Full panels, through a real Prometheus', () => {
  test('CPU: busy by mode, busy %, cores', async () => {
    const byMode = await nonEmpty('sum by (mode) (rate(node_cpu_seconds_total[5s]))');
    expect(byMode.map((s) => s.metric.mode).sort()).toEqual(['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user']);
    // Every mode together is one second per CPU per second.
    const total = vals(byMode).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(cpus().length * 0.5); // counters are as of the last tick, up to one interval before the scrape
    expect(total).toBeLessThan(cpus().length * 1.5);
    const busy = vals(await nonEmpty('100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle"}[5s])))'))[0]!;
    expect(busy).toBeGreaterThanOrEqual(0);
    expect(busy).toBeLessThanOrEqual(100);
    expect(vals(await nonEmpty('count(count by (cpu) (node_cpu_seconds_total))'))).toEqual([cpus().length]);
  });

  test('memory: available, RAM used, used %, swap', async () => {
    const [avail] = vals(await nonEmpty('node_memory_MemAvailable_bytes'));
    const [total] = vals(await nonEmpty('node_memory_MemTotal_bytes'));
    expect(avail).toBeGreaterThan(0);
    expect(avail).toBeLessThanOrEqual(total!);
    const [used] = vals(
      await nonEmpty(
        'node_memory_MemTotal_bytes - node_memory_MemFree_bytes - (node_memory_Cached_bytes + node_memory_Buffers_bytes + node_memory_SReclaimable_bytes)',
      ),
    );
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThan(total!);
    const [pct] = vals(await nonEmpty('100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)'));
    expect(pct).toBeGreaterThan(0);
    expect(pct).toBeLessThan(100);
    expect(vals(await nonEmpty('node_memory_SwapTotal_bytes - node_memory_SwapFree_bytes'))[0]).toBeGreaterThanOrEqual(0);
  });

  test('network: receive/transmit bytes and packets per device', async () => {
    const rx = await nonEmpty('rate(node_network_receive_bytes_total[5s])');
    expect(rx.some((s) => s.metric.device === 'lo')).toBe(true);
    for (const v of vals(rx)) expect(v).toBeGreaterThanOrEqual(0);
    // Prometheus' own scrapes cross the loopback interface.
    expect(vals(await nonEmpty('rate(node_network_transmit_bytes_total{device="lo"}[5s])'))[0]).toBeGreaterThan(0);
    expect(vals(await nonEmpty('rate(node_network_receive_packets_total{device="lo"}[5s])'))[0]).toBeGreaterThan(0);
    expect(vals(await nonEmpty('sum(rate(node_network_receive_errs_total[5s]))'))[0]).toBeGreaterThanOrEqual(0);
  });

  test('disk: read/write bytes, IOs, time busy (when the machine has a block device)', async () => {
    const devices = parseDiskstatsDetail(readFileSync('/proc/diskstats', 'latin1')).filter((d) => !NODE_EXPORTER_DISK_EXCLUDE.test(d.name));
    if (!devices.length) {
      console.warn('dashboards.test.ts: this machine lists no block device: disk panels not checked');
      return;
    }
    const rd = await nonEmpty('rate(node_disk_read_bytes_total[5s])');
    expect(rd.map((s) => s.metric.device).sort()).toEqual(devices.map((d) => d.name).sort());
    for (const v of vals(await nonEmpty('rate(node_disk_written_bytes_total[5s])'))) expect(v).toBeGreaterThanOrEqual(0);
    for (const v of vals(await nonEmpty('rate(node_disk_io_time_seconds_total[5s])'))) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1.05);
    }
    expect((await nonEmpty('rate(node_disk_reads_completed_total[5s]) + rate(node_disk_writes_completed_total[5s])')).length).toBe(devices.length);
  });

  test('filesystem: available, used %, inodes, read-only', async () => {
    const mounts = parseMounts(readFileSync('/proc/mounts', 'latin1')).filter((m) => nodeExporterListed(m) && m.fstype !== 'tmpfs');
    if (!mounts.length) {
      console.warn('dashboards.test.ts: no non-tmpfs filesystem here: filesystem panels not checked');
      return;
    }
    const avail = await nonEmpty('node_filesystem_avail_bytes{fstype!="tmpfs"}');
    for (const s of avail) expect(s.metric).toMatchObject({ device: expect.any(String), fstype: expect.any(String), mountpoint: expect.any(String) });
    for (const v of vals(await nonEmpty('100 - (node_filesystem_avail_bytes{fstype!="tmpfs"} * 100 / node_filesystem_size_bytes{fstype!="tmpfs"})'))) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(100);
    }
    // Root's reserve: what non-root can write never exceeds what is free.
    for (const v of vals(await nonEmpty('node_filesystem_free_bytes{fstype!="tmpfs"} - node_filesystem_avail_bytes{fstype!="tmpfs"}')))
      expect(v).toBeGreaterThanOrEqual(0);
    for (const v of vals(await nonEmpty('node_filesystem_files_free{fstype!="tmpfs"} / node_filesystem_files{fstype!="tmpfs"}')))
      expect(v).toBeLessThanOrEqual(1);
    for (const v of vals(await nonEmpty('node_filesystem_readonly + node_filesystem_device_error'))) expect([0, 1, 2]).toContain(v);
  });

  test('system: uptime, load, context switches, interrupts, processes, uname', async () => {
    const [up] = vals(await nonEmpty('node_time_seconds - node_boot_time_seconds'));
    const procUptime = Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]);
    expect(Math.abs(up! - procUptime)).toBeLessThan(60);
    expect(vals(await nonEmpty('node_load1'))[0]).toBeGreaterThanOrEqual(0);
    expect(vals(await nonEmpty('rate(node_context_switches_total[5s])'))[0]).toBeGreaterThan(0);
    expect(vals(await nonEmpty('rate(node_intr_total[5s])'))[0]).toBeGreaterThan(0);
    expect(vals(await nonEmpty('node_procs_running'))[0]).toBeGreaterThanOrEqual(0);
    expect((await nonEmpty('node_uname_info'))[0]!.metric).toMatchObject({ sysname: 'Linux', release: release() });
  });
});

describe.skipIf(!PROMETHEUS)('dcgm-exporter dashboard panels, through a real Prometheus', () => {
  test("utilization, temperature, power and energy per GPU with dcgm-exporter's label set", async () => {
    const util = await nonEmpty('DCGM_FI_DEV_GPU_UTIL');
    expect(util.map((s) => s.metric.gpu).sort()).toEqual(['0', '1']);
    for (const s of util) {
      expect(s.metric).toMatchObject({ device: `nvidia${s.metric.gpu}`, modelName: 'NVIDIA H100 80GB HBM3', DCGM_FI_DRIVER_VERSION: '550.54.15-fake' });
      expect(s.metric.UUID).toMatch(/^GPU-/);
      expect(s.metric.pci_bus_id).toMatch(/^00000000:[0-9A-F]{2}:00\.0$/);
      expect(Number(s.value[1])).toBeGreaterThanOrEqual(0);
      expect(Number(s.value[1])).toBeLessThanOrEqual(100);
    }
    for (const v of vals(await nonEmpty('avg by (Hostname) (DCGM_FI_DEV_GPU_TEMP)'))) expect(v).toBeGreaterThan(30);
    expect(vals(await nonEmpty('sum(DCGM_FI_DEV_POWER_USAGE)'))[0]).toBeGreaterThan(400);
    for (const v of vals(await nonEmpty('rate(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION[5s]) / 1000'))) expect(v).toBeGreaterThan(0);
    expect(vals(await nonEmpty('DCGM_FI_DEV_SM_CLOCK'))).toEqual([1980, 1980]);
    expect(vals(await nonEmpty('DCGM_FI_DEV_MEM_CLOCK'))).toEqual([2619, 2619]);
  });

  test('framebuffer: free, used, reserved in MiB add up to the total', async () => {
    const free = await nonEmpty('DCGM_FI_DEV_FB_FREE');
    expect(free.find((s) => s.metric.gpu === '0')!.value[1]).toBe('60928');
    expect(vals(await nonEmpty('DCGM_FI_DEV_FB_RESERVED'))).toEqual([512, 512]);
    expect(vals(await nonEmpty('DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE + DCGM_FI_DEV_FB_RESERVED'))).toEqual([81920, 81920]);
    for (const v of vals(await nonEmpty('DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) * 100'))) {
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(100);
    }
  });

  test('errors and throttling: last XID, throttle bitmask, PCIe replays, ECC, remapped rows, memory temperature', async () => {
    const xid = await nonEmpty('DCGM_FI_DEV_XID_ERRORS');
    expect(Object.fromEntries(xid.map((s) => [s.metric.gpu, s.value[1]]))).toEqual({ 0: '0', 1: '79' });
    const thr = await nonEmpty('DCGM_FI_DEV_CLOCK_THROTTLE_REASONS != 0');
    expect(thr.map((s) => [s.metric.gpu, s.value[1]])).toEqual([['0', '100']]); // 0x64: sw power cap, sw thermal, hw thermal
    expect(vals(await nonEmpty('increase(DCGM_FI_DEV_PCIE_REPLAY_COUNTER[5s])'))).toEqual([0, 0]);
    expect(vals(await nonEmpty('DCGM_FI_DEV_PCIE_REPLAY_COUNTER')).sort()).toEqual([3, 4]);
    expect(vals(await nonEmpty('DCGM_FI_DEV_ECC_SBE_VOL_TOTAL')).sort()).toEqual([0, 1]);
    expect(vals(await nonEmpty('sum(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL) + sum(DCGM_FI_DEV_ROW_REMAP_FAILURE)'))).toEqual([0]);
    expect(vals(await nonEmpty('DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS')).sort()).toEqual([0, 1]);
    expect(vals(await nonEmpty('max(DCGM_FI_DEV_MEMORY_TEMP)'))).toEqual([51]);
  });
});
