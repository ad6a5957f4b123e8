/**
 * In-process costs: NVML tick for 8 GPUs (fake library, real dlopen), /proc host sample, ring push,
 * frame serialization and size (vs a nvitop-style JSON snapshot), /v1/history over a full 24 h ring.
 */
import { GPU_WIDTH, buildCatalog } from '../shared/catalog.ts';
import { Nvml } from '../cli/gpu/nvml/binding.ts';
import { encodeSample } from '../cli/http/hub.ts';
import { parseHistoryQuery, queryHistory } from '../cli/http/history.ts';
import { ProcHost } from '../cli/sample/host.ts';
import { Ring } from '../cli/store/ring.ts';
import { fillSynthetic } from '../cli/store/synthetic.ts';
import { fakeNvml } from '../test/helpers.ts';
import { summary, timeit } from './stats.ts';

const GPUS = 8;
// The fake reads FAKE_NVML_GPUS with getenv() at init; a runtime process.env change does not reach C, so re-exec.
if (process.env.FAKE_NVML_GPUS !== String(GPUS)) {
  const r = Bun.spawnSync([process.execPath, import.meta.path], { env: { ...process.env, FAKE_NVML_GPUS: String(GPUS) }, stdout: 'inherit', stderr: 'inherit' });
  process.exit(r.exitCode ?? 1);
}
const out: Record<string, unknown> = {};

// NVML: the per-tick read (fast worker's work) for 8 GPUs, and the slow round (PCIe without the real 20 ms sleep, processes, ECC).
const nv = new Nvml(fakeNvml('default'));
const vals = new Float64Array(GPUS * GPU_WIDTH);
const state = nv.devices.map(() => ({ pstate: null as string | null, throttle: [] as string[], lost: false, mig: null as boolean | null }));
out.nvml_devices = nv.devices.length;
out.nvml_fast_tick_us = summary(timeit(() => nv.readFast(vals, state), 2000));
out.nvml_slow_round_us = summary(timeit(() => { for (let i = 0; i < GPUS; i++) { nv.readPcie(i); nv.readProcesses(i); nv.readEcc(i); } }, 500));
nv.close();

// Host: /proc readers per tick.
const host = new ProcHost();
const hv = new Float64Array(64 + host.cpus);
let t = Date.now();
out.host_cpus = host.cpus;
out.proc_host_tick_us = summary(timeit(() => host.sample((t += 1000), hv, 0), 2000));

// Ring push and frame encoding for host + 8 GPUs.
const keys = buildCatalog(host.cpus, [...Array(GPUS).keys()]).map((s) => s.key);
const ring = new Ring(86_400, keys);
const row = new Float64Array(keys.length).map((_, i) => (i % 3 ? 42.37 + i : 85899345920 / (i + 1)));
let tt = 1_800_000_000_000;
out.series = keys.length;
out.ring_push_us = summary(timeit(() => ring.push((tt += 1000), row), 20000));
out.frame_encode_us = summary(timeit(() => encodeSample(tt, row), 20000));
const frame = encodeSample(tt, row);
out.frame_bytes = frame.byteLength;
out.frame_bytes_per_value = +(frame.byteLength / keys.length).toFixed(2);
// The same data as a nvitop-web-style JSON snapshot (named fields per GPU, host dict).
const nvitop = {
  timestamp: new Date(tt).toISOString(), host: { cpu_percent: 12.3, cpu_percents: Array.from({ length: host.cpus }, () => 12.3), memory_percent: 40.1, memory_used: 10_000_000_000, memory_total: 25_000_000_000, swap_percent: 0, swap_used: 0, swap_total: 0, load_average: [0.5, 0.4, 0.3], network_rx_rate: 1234.5, network_tx_rate: 2345.6, disk_read_rate: 0, disk_write_rate: 589824 },
  devices: Array.from({ length: GPUS }, (_, i) => ({ index: i, name: 'NVIDIA H100 80GB HBM3', uuid: `GPU-fa4e000${i}-0000-4000-8000-000000abc00${i}`, gpu_utilization: 37, memory_utilization: 12, memory_used: 21474836480, memory_total: 85899345920, memory_percent: 25.0, temperature: 45, power_usage: 251000, power_limit: 700000, fan_speed: 30, sm_clock: 1980, memory_clock: 2619, encoder_utilization: 0, decoder_utilization: 5, pcie_rx_throughput: 2000, pcie_tx_throughput: 1000, total_energy_consumption: 1000250000 })),
};
out.nvitop_style_snapshot_bytes = JSON.stringify(nvitop).length;
out.frame_vs_nvitop_ratio = +(frame.byteLength / (out.nvitop_style_snapshot_bytes as number)).toFixed(3);

// /v1/history over a full 24 h buffer at 1 s.
const full = new Ring(86_400, keys);
fillSynthetic(full, 1000);
const newest = full.newest!;
const q = (o: Record<string, string>) => () => JSON.stringify(queryHistory(full, parseHistoryQuery(o, (k) => full.column(k) >= 0), 1000));
out.full_ring_mib = +(full.bytes / 1048576).toFixed(1);
out.history_full_max_points_2000_ms = summary(timeit(q({ max_points: '2000' }), 3, 5).map((us) => us / 1000));
out.history_last_5min_ms = summary(timeit(q({ since: String(newest - 300_000) }), 20, 5).map((us) => us / 1000));
out.history_1h_step_60s_ms = summary(timeit(q({ since: String(newest - 3_600_000), step: '60000' }), 20, 5).map((us) => us / 1000));
out.history_full_max_points_2000_bytes = q({ max_points: '2000' })().length;

console.log(JSON.stringify(out, null, 1));
