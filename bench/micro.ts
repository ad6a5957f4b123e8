/**
 * In-process costs: NVML tick for 8 GPUs (fake library, real dlopen), /proc host sample, store
 * append (memory only and on disk: WAL write per tick, window seals amortized) and the seal of one
 * raw window, frame serialization and size (vs a nvitop-style JSON snapshot), and /v1/history's
 * streamed document over a store holding 24 h, each next to the same document built from the rows
 * held in RAM as Float64Arrays (what the old 24 h ring answered from), timed in alternation.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { GPU_WIDTH, buildCatalog } from '../shared/catalog.ts';
import { bucketize } from '../shared/downsample.ts';
import { wireNum } from '../shared/json.ts';
import { Nvml } from '../cli/gpu/nvml/binding.ts';
import { encodeSample } from '../cli/http/hub.ts';
import { historyBytes, parseHistoryQuery, planHistory } from '../cli/http/history.ts';
import { ProcHost } from '../cli/sample/host.ts';
import { rowBatches } from '../cli/store/read.ts';
import { Store } from '../cli/store/store.ts';
import { fillSynthetic } from '../cli/store/synthetic.ts';
import { fakeNvml, tmp } from '../test/helpers.ts';
import { pctl, ratios, summary, timeit } from './stats.ts';

const GPUS = 8;
// The fake reads FAKE_NVML_GPUS with getenv() at init; a runtime process.env change does not reach C, so re-exec.
if (process.env.FAKE_NVML_GPUS !== String(GPUS)) {
  const r = Bun.spawnSync([process.execPath, import.meta.path], {
    env: { ...process.env, FAKE_NVML_GPUS: String(GPUS) },
    stdout: 'inherit',
    stderr: 'inherit',
  });
  process.exit(r.exitCode ?? 1);
}
const out: Record<string, unknown> = {};
const DAY = 86_400_000;
const RETENTION = { raw: 14 * DAY, '1m': 90 * DAY, '1h': 730 * DAY };
const dirs: string[] = [];
const openStore = (persist: boolean) => {
  const dir = persist ? tmp('gpulse-micro-') : null;
  if (dir) dirs.push(dir);
  return Store.open({ dir: dir && join(dir, 'state'), intervalMs: 1000, retentionMs: RETENTION, maxDiskBytes: 1 << 30 });
};

// NVML: the per-tick read (fast worker's work) for 8 GPUs, and the slow round (PCIe without the real 20 ms sleep, processes, ECC).
const nv = new Nvml(fakeNvml('default'));
const vals = new Float64Array(GPUS * GPU_WIDTH);
const state = nv.devices.map(() => ({ pstate: null as string | null, throttle: [] as string[], lost: false, mig: null as boolean | null }));
out.nvml_devices = nv.devices.length;
out.nvml_fast_tick_us = summary(timeit(() => nv.readFast(vals, state), 2000));
out.nvml_slow_round_us = summary(
  timeit(() => {
    for (let i = 0; i < GPUS; i++) {
      nv.readPcie(i);
      nv.readProcesses(i);
      nv.readEcc(i);
    }
  }, 500),
);
nv.close();

// Host: /proc readers per tick.
const host = new ProcHost();
const hv = new Float64Array(64 + host.cpus);
let t = Date.now();
out.host_cpus = host.cpus;
out.proc_host_tick_us = summary(timeit(() => host.sample((t += 1000), hv, 0), 2000));

// Store append (the agent's per-tick write) and frame encoding for host + 8 GPUs.
const keys = buildCatalog(host.cpus, [...Array(GPUS).keys()]).map((s) => s.key);
const row = new Float64Array(keys.length).map((_, i) => (i % 3 ? 42.37 + i : 85899345920 / (i + 1)));
out.series = keys.length;
{
  // 9,000 rows a run = 10 raw windows of 15 min, so each run pays 10 seals (135 chunks encoded and, on disk, one group written).
  const start = Math.floor((Date.now() - 3 * DAY) / DAY) * DAY;
  for (const persist of [false, true]) {
    const s = openStore(persist);
    s.setKeys(keys);
    let tt = start;
    out[persist ? 'store_append_disk_us' : 'store_append_memory_us'] = summary(
      timeit(() => {
        s.append((tt += 1000), row);
      }, 9000),
    );
    // Tick by tick over 2 windows: most ticks only copy the row in (and write the WAL); the seal tick pays the window.
    const each: number[] = [];
    for (let i = 0; i < 1800; i++) {
      const t0 = Bun.nanoseconds();
      s.append((tt += 1000), row);
      each.push((Bun.nanoseconds() - t0) / 1000);
    }
    out[persist ? 'store_append_disk_each_us' : 'store_append_memory_each_us'] = {
      p50: +pctl(each, 50).toFixed(2),
      p99: +pctl(each, 99).toFixed(2),
      max: +Math.max(...each).toFixed(0),
      n: each.length,
    };
    s.close();
  }
  // One seal alone: a full 15-minute window (900 rows × 135 series) encoded.
  const s = openStore(false);
  s.setKeys(keys);
  const noisy = new Float64Array(keys.length);
  for (let i = 0; i < 899; i++) {
    for (let c = 0; c < keys.length; c++) noisy[c] = Math.round(row[c]! * (1 + 0.01 * Math.sin(i + c)));
    s.append(start + i * 1000, noisy);
  }
  out.raw_window_seal_ms = summary(
    timeit(() => {
      s.raw.encode();
    }, 3).map((us) => us / 1000),
  );
  s.close();
}
const tt = Date.now();
out.frame_encode_us = summary(timeit(() => encodeSample(tt, row), 20000));
const frame = encodeSample(tt, row);
out.frame_bytes = frame.byteLength;
out.frame_bytes_per_value = +(frame.byteLength / keys.length).toFixed(2);
// The same data as a nvitop-web-style JSON snapshot (named fields per GPU, host dict).
const nvitop = {
  timestamp: new Date(tt).toISOString(),
  host: {
    cpu_percent: 12.3,
    cpu_percents: Array.from({ length: host.cpus }, () => 12.3),
    memory_percent: 40.1,
    memory_used: 10_000_000_000,
    memory_total: 25_000_000_000,
    swap_percent: 0,
    swap_used: 0,
    swap_total: 0,
    load_average: [0.5, 0.4, 0.3],
    network_rx_rate: 1234.5,
    network_tx_rate: 2345.6,
    disk_read_rate: 0,
    disk_write_rate: 589824,
  },
  devices: Array.from({ length: GPUS }, (_, i) => ({
    index: i,
    name: 'NVIDIA H100 80GB HBM3',
    uuid: `GPU-fa4e000${i}-0000-4000-8000-000000abc00${i}`,
    gpu_utilization: 37,
    memory_utilization: 12,
    memory_used: 21474836480,
    memory_total: 85899345920,
    memory_percent: 25.0,
    temperature: 45,
    power_usage: 251000,
    power_limit: 700000,
    fan_speed: 30,
    sm_clock: 1980,
    memory_clock: 2619,
    encoder_utilization: 0,
    decoder_utilization: 5,
    pcie_rx_throughput: 2000,
    pcie_tx_throughput: 1000,
    total_energy_consumption: 1000250000,
  })),
};
out.nvitop_style_snapshot_bytes = JSON.stringify(nvitop).length;
out.frame_vs_nvitop_ratio = +(frame.byteLength / (out.nvitop_style_snapshot_bytes as number)).toFixed(3);

// /v1/history over a store holding 24 h at 1 s (synthetic, written through append like real ticks).
const store = openStore(true);
let t0 = performance.now();
fillSynthetic(store, keys, 1000, DAY);
out.fill_24h_s = +((performance.now() - t0) / 1000).toFixed(2);
out.store_24h = { rows: store.rawRows, disk_bytes: store.diskBytes, disk_bytes_per_raw_value: +(store.diskBytes / (store.rawRows * keys.length)).toFixed(3) };

// The reference: every row in RAM (86,400 × 135 Float64 = 89 MiB), read once from the store.
const n = store.rawRows;
const memT = new Float64Array(n);
const memCols = keys.map(() => new Float64Array(n));
{
  let o = 0;
  for (const b of rowBatches(store, keys, -Infinity, Infinity)) {
    memT.set(b.t, o);
    b.cols.forEach((c, j) => memCols[j]!.set(c, o));
    o += b.t.length;
  }
}
const numText = (v: number) => {
  const w = wireNum(v);
  return w === null ? 'null' : String(w);
};
/** The same JSON document from in-memory columns, in ~64 KiB pieces (like the ring-era route, minus HTTP). */
function* memText(from: number, to: number, step: number | null): Generator<string> {
  let a = 0;
  while (a < n && memT[a]! < from) a++;
  let b = n;
  while (b > a && memT[b - 1]! > to) b--;
  let tt: ArrayLike<number> = memT.subarray(a, b),
    cols: ArrayLike<number>[] = memCols.map((c) => c.subarray(a, b));
  if (step !== null) {
    const bk = bucketize(memT, memCols, a, b, step, false);
    tt = bk.t;
    cols = bk.avg;
  }
  let s = '{"t":[';
  for (let i = 0; i < tt.length; i++) {
    s += (i ? ',' : '') + tt[i];
    if (s.length > 65536) {
      yield s;
      s = '';
    }
  }
  s += '],"series":{';
  keys.forEach((k, j) => {
    s += `${j ? ',' : ''}${JSON.stringify(k)}:[`;
    const c = cols[j]!;
    for (let i = 0; i < c.length; i++) s += (i ? ',' : '') + numText(c[i]!);
    s += ']';
  });
  yield s + `}${step !== null ? `,"step":${step}` : ''},"tier":"raw"}`;
}
const enc = new TextEncoder();
/** Bytes of a document's pieces; the reference's strings are encoded as a response body would be. */
const drain = (it: Generator<Uint8Array | string>) => {
  let bytes = 0;
  for (const p of it) bytes += typeof p === 'string' ? enc.encode(p).byteLength : p.byteLength;
  return bytes;
};

const newest = store.lastT!;
const known = (k: string) => store.keys.includes(k);
const QUERIES: [string, Record<string, string>, number][] = [
  ['full_raw_all_series', {}, 3],
  ['max_points_2000', { max_points: '2000' }, 3],
  ['step_60s_24h', { since: String(newest - DAY), step: '60000' }, 5],
  ['step_60s_1h', { since: String(newest - 3_600_000), step: '60000' }, 5],
  ['last_5min_raw', { since: String(newest - 300_000) }, 10],
];
const hist: Record<string, unknown> = {};
for (const [name, q, reps] of QUERIES) {
  const plan = planHistory(store, parseHistoryQuery(q, known), 1000);
  const storeMs: number[] = [],
    memMs: number[] = [];
  let bytes = 0,
    memBytes = 0;
  drain(historyBytes(store, plan, false)); // warm-up
  for (let r = 0; r < reps; r++) {
    t0 = performance.now();
    bytes = drain(historyBytes(store, plan, false));
    storeMs.push(performance.now() - t0);
    t0 = performance.now();
    memBytes = drain(memText(plan.from, plan.to, plan.step));
    memMs.push(performance.now() - t0);
  }
  hist[name] = {
    tier: plan.tier,
    step: plan.step,
    store_ms: summary(storeMs, 2),
    in_memory_ms: summary(memMs, 2),
    store_vs_in_memory: ratios(storeMs, memMs, 2),
    bytes,
    in_memory_bytes: memBytes,
  };
}
out.history_24h = hist;
store.close();
for (const d of dirs) rmSync(d, { recursive: true, force: true });

console.log(JSON.stringify(out, null, 1));
