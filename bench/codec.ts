/**
 * Chunk codec micro-benchmark: bytes per value and encode/decode throughput for realistic GPU-box
 * series, 900 samples at 1 s (one 15-minute chunk), and the weighted mix of a whole 8-GPU box
 * (15 metrics per GPU, 13 host metrics, 32 per-core series). Run: npx bun bench/codec.ts [--browser]
 *
 * The generators mimic what the agent records (shared/catalog.ts, cli/gpu/nvml, cli/sample): NVML
 * integers (%, °C, MHz), power in mW → W, energy in mJ → J, PCIe in KB/s × 1000 refreshed by the
 * slow worker every 5 s, /proc rates, jiffy-based per-core utilization; every value passes through
 * quantize() as the agent does at ingest. Seeded, so sizes are reproducible run to run.
 * With --browser it also times the whole-box decode inside Chromium (V8), where the PWA decodes.
 */
import { decodeChunk, encodeChunk, quantize, type RawChunk } from '../shared/chunk/index.ts';
import { cpus, loadavg } from 'node:os';
import { summary, timeit } from './stats.ts';

const N = 900;
const T0 = 1_767_225_600_000;
const t = Float64Array.from({ length: N }, (_, i) => T0 + i * 1000);

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const series = (f: (i: number) => number) => Float64Array.from({ length: N }, (_, i) => quantize(f(i)));

type Gen = (r: () => number) => Float64Array;
/** One generator per series class; `busy` ones model a GPU in a training run, `idle` ones a GPU with nothing on it. */
const GEN = {
  constant_mem_total: () => series(() => 85_520_809_984),
  constant_power_limit: () => series(() => 700),
  util_busy: (r) => {
    let dip = 0;
    return series(() => {
      if (dip > 0) {
        dip--;
        return Math.floor(r() * 60);
      }
      if (r() < 0.01) dip = 1 + Math.floor(r() * 4);
      return r() < 0.7 ? 100 : 95 + Math.floor(r() * 5);
    });
  },
  util_idle: (r) => series(() => (r() < 0.02 ? Math.floor(r() * 5) : 0)),
  mem_bw_util_busy: (r) => series(() => clamp(Math.round(45 + gauss(r) * 8), 0, 100)),
  temp_drift: (r) => {
    let c = 62;
    return series(() => (c = clamp(c + (r() < 0.06 ? (r() < 0.5 ? -1 : 1) : 0), 55, 80)));
  },
  power_busy_w: (r) => series((i) => Math.round((560 + 80 * Math.sin(i / 40) + gauss(r) * 25) * 1000) / 1000),
  power_idle_w: (r) => series(() => Math.round((69 + gauss(r) * 0.4) * 1000) / 1000),
  clock_sm_discrete: (r) => {
    const lv = [1980, 1980, 1965, 1950, 1905, 1830, 1755];
    let c = 1980;
    return series(() => (r() < 0.05 ? (c = lv[Math.floor(r() * lv.length)]!) : c));
  },
  clock_mem_constant: () => series(() => 2619),
  enc_util_zero: () => series(() => 0),
  fan_unsupported: () => new Float64Array(N).fill(NaN), // SXM boards: NVML_ERROR_NOT_SUPPORTED → null
  mem_used_mib_steps: (r) => {
    let mib = 71_234;
    return series(() => {
      if (r() < 0.03) mib += Math.floor(r() * 512) - 200;
      return mib * 1_048_576;
    });
  },
  energy_counter_j: (r) => {
    let mj = 3.6e11;
    return series((i) => (mj += Math.round((560 + 80 * Math.sin(i / 40) + gauss(r) * 25) * 1000)) / 1000);
  },
  pcie_rx_held_5s: (r) => {
    let v = 0;
    return series((i) => (i % 5 === 0 ? (v = Math.round(Math.exp(9 + gauss(r) * 0.8)) * 1000) : v));
  },
  pcie_rx_every_tick: (r) => series(() => Math.round(Math.exp(9 + gauss(r) * 0.8)) * 1000),
  net_rx_bps: (r) => series(() => (Math.round(Math.exp(16 + gauss(r))) * 1000) / (1000 + Math.floor(r() * 9) - 4)),
  disk_write_bursty: (r) => series(() => (r() < 0.1 ? 4096 * Math.floor(1 + r() * 5000) : 0)),
  host_mem_used_kib: (r) => {
    let kb = 180_000_000;
    return series(() => (kb += Math.floor(gauss(r) * 2000)) * 1024);
  },
  load_avg_5s: (r) => {
    let l = 24;
    let v = 24;
    return series((i) => {
      if (i % 5 === 0) {
        l = clamp(l + gauss(r), 0, 64);
        v = Math.round(l * 100) / 100;
      }
      return v;
    });
  },
  uptime_s: (r) => {
    let s = 1_234_567.89;
    return series(() => (s += 1 + (r() - 0.5) * 0.02));
  },
  cpu_core_busy_pct: (r) =>
    series(() => {
      const total = 99 + Math.floor(r() * 3);
      return (100 * Math.min(total, 95 + Math.floor(r() * 7))) / total;
    }),
  cpu_core_idle_pct: (r) =>
    series(() => {
      const total = 99 + Math.floor(r() * 3);
      return (100 * (r() < 0.6 ? 0 : Math.floor(r() * 4))) / total;
    }),
  cpu_total_pct: (r) => series(() => 25 + gauss(r) * 2),
  loss_full_precision: (r) => {
    let l = 2.5;
    return Float64Array.from({ length: N }, () => (l *= 1 - 1e-3 * r()));
  }, // not quantized: a custom float series
} satisfies Record<string, Gen>;
type Cls = keyof typeof GEN;

const out: Record<string, unknown> = {
  runtime: `bun ${Bun.version}`,
  cpu: cpus()[0]?.model ?? '?',
  cores: cpus().length,
  loadavg_at_start: loadavg().map((x) => +x.toFixed(2)),
};
const TAGS = ['nan', 'const', 'dec', 'xor'];

/** The value stream's encoding in a regular raw frame, with the integer stream's parameters for dec (FORMAT.md layout). */
function kindOf(bytes: Uint8Array, key: string): string {
  const k = new TextEncoder().encode(key).length;
  let o = 7 + 1 + 1 + k;
  for (let f = 0; f < 3; f++) while (bytes[o++]! & 0x80); // n, t0, interval
  const tag = bytes[o++]!;
  let s = TAGS[tag & 7]! + (tag & 8 ? '+gaps' : '');
  if ((tag & 7) !== 2 || tag & 8) return s;
  const varint = () => {
    let x = 0,
      mul = 1,
      b: number;
    do {
      b = bytes[o++]!;
      x += (b & 127) * mul;
      mul *= 128;
    } while (b & 128);
    return x;
  };
  const e = bytes[o++]!,
    h = bytes[o++]!,
    order = h & 3,
    width = h >>> 2;
  if (order >= 1) varint();
  if (order === 2) varint();
  if (order !== 2) varint();
  return `${s} e=${e} order=${order} width=${width} gcd=${varint()}`;
}

// Warm every path first (JIT tiers), so the first class measured is not charged for compilation.
const all = (Object.values(GEN) as Gen[]).map((gen, i) => encodeChunk({ tier: 'raw', key: `warm${i}`, t, v: gen(rng(1)) }));
for (let k = 0; k < 300; k++)
  for (const f of all) {
    const d = decodeChunk(f);
    if (d.ok) encodeChunk(d.value);
  }

// Per class: size, chosen encoding, throughput (min and median of 7 runs: the min is the least disturbed by other load).
const perClass: Record<string, unknown> = {};
for (const [name, gen] of Object.entries(GEN) as [Cls, Gen][]) {
  const v = gen(rng(1));
  const c: RawChunk = { tier: 'raw', key: `gpu0.${name}`, t, v };
  const bytes = encodeChunk(c);
  const enc = summary(timeit(() => encodeChunk(c), 300, 7));
  const dec = summary(timeit(() => decodeChunk(bytes), 1000, 7));
  perClass[name] = {
    bytes: bytes.length,
    bytes_per_value: +(bytes.length / N).toFixed(3),
    encoding: kindOf(bytes, c.key),
    encode_us: { min: enc.min, median: enc.median },
    decode_us: { min: dec.min, median: dec.median },
    encode_Mvalues_s: +(N / enc.median).toFixed(1),
    decode_Mvalues_s: +(N / dec.median).toFixed(1),
  };
}
out.samples_per_chunk = N;
out.per_class = perClass;

// The weighted mix of an 8-GPU box (165 series). Each GPU and core gets its own seed.
function box(busyGpus: number): { key: string; v: Float64Array }[] {
  const rows: { key: string; v: Float64Array }[] = [];
  let seed = 100;
  const add = (key: string, cls: Cls) => rows.push({ key, v: GEN[cls](rng(seed++)) });
  for (let g = 0; g < 8; g++) {
    const busy = g < busyGpus;
    add(`gpu${g}.util`, busy ? 'util_busy' : 'util_idle');
    add(`gpu${g}.mem_bw.util`, busy ? 'mem_bw_util_busy' : 'util_idle');
    add(`gpu${g}.mem.used`, busy ? 'mem_used_mib_steps' : 'enc_util_zero');
    add(`gpu${g}.mem.total`, 'constant_mem_total');
    add(`gpu${g}.temp`, 'temp_drift');
    add(`gpu${g}.power`, busy ? 'power_busy_w' : 'power_idle_w');
    add(`gpu${g}.power.limit`, 'constant_power_limit');
    add(`gpu${g}.fan`, 'fan_unsupported');
    add(`gpu${g}.clock.sm`, busy ? 'clock_sm_discrete' : 'clock_mem_constant');
    add(`gpu${g}.clock.mem`, 'clock_mem_constant');
    add(`gpu${g}.enc.util`, 'enc_util_zero');
    add(`gpu${g}.dec.util`, 'enc_util_zero');
    add(`gpu${g}.pcie.rx`, busy ? 'pcie_rx_held_5s' : 'enc_util_zero');
    add(`gpu${g}.pcie.tx`, busy ? 'pcie_rx_held_5s' : 'enc_util_zero');
    add(`gpu${g}.energy`, 'energy_counter_j');
  }
  const host: [string, Cls][] = [
    ['cpu.util', 'cpu_total_pct'],
    ['mem.used', 'host_mem_used_kib'],
    ['mem.total', 'constant_mem_total'],
    ['swap.used', 'enc_util_zero'],
    ['swap.total', 'constant_mem_total'],
    ['load1', 'load_avg_5s'],
    ['load5', 'load_avg_5s'],
    ['load15', 'load_avg_5s'],
    ['net.rx', 'net_rx_bps'],
    ['net.tx', 'net_rx_bps'],
    ['disk.read', 'disk_write_bursty'],
    ['disk.write', 'disk_write_bursty'],
    ['uptime', 'uptime_s'],
  ];
  for (const [k, cls] of host) add(`host.${k}`, cls);
  for (let i = 0; i < 32; i++) add(`host.cpu${i}.util`, i < 8 ? 'cpu_core_busy_pct' : 'cpu_core_idle_pct');
  return rows;
}

for (const [label, busy] of [
  ['mix_8gpu_all_training', 8],
  ['mix_8gpu_6_training_2_idle', 6],
] as const) {
  const rows = box(busy);
  const chunks = rows.map((r): RawChunk => ({ tier: 'raw', key: r.key, t, v: r.v }));
  const frames = chunks.map(encodeChunk);
  const bytes = frames.reduce((s, f) => s + f.length, 0);
  const values = rows.length * N;
  const gpuBytes = frames.filter((_, i) => rows[i]!.key.startsWith('gpu')).reduce((s, f) => s + f.length, 0);
  const encAll = summary(
    timeit(
      () => {
        for (const c of chunks) encodeChunk(c);
      },
      5,
      7,
    ),
  );
  const decAll = summary(
    timeit(
      () => {
        for (const f of frames) decodeChunk(f);
      },
      20,
      7,
    ),
  );
  out[label] = {
    series: rows.length,
    values,
    bytes,
    bytes_per_value: +(bytes / values).toFixed(3),
    gpu_bytes_per_value: +(gpuBytes / (8 * 15 * N)).toFixed(3),
    host_bytes_per_value: +((bytes - gpuBytes) / ((13 + 32) * N)).toFixed(3),
    vs_float64: +(bytes / (values * 8)).toFixed(4),
    encode_box_ms: +(encAll.median / 1000).toFixed(3),
    decode_box_ms: +(decAll.median / 1000).toFixed(3),
    decode_us_per_chunk: +(decAll.median / rows.length).toFixed(1),
    encode_Mvalues_s: +(values / encAll.median).toFixed(1),
    decode_Mvalues_s: +(values / decAll.median).toFixed(1),
  };
}

// Timestamps: regular costs nothing per sample; jitter (±3 ms) goes to the irregular stream.
{
  const r = rng(5);
  const v = GEN.temp_drift(r);
  const jt = Float64Array.from({ length: N }, (_, i) => T0 + i * 1000 + Math.floor(r() * 7) - 3);
  const reg = encodeChunk({ tier: 'raw', key: 'gpu0.temp', t, v }).length;
  const jit = encodeChunk({ tier: 'raw', key: 'gpu0.temp', t: jt, v }).length;
  out.timestamps = { regular_bytes: reg, jitter_3ms_bytes: jit, jitter_extra_bytes_per_sample: +((jit - reg) / N).toFixed(3) };
}

// Rollups: a day of 1-minute buckets of GPU power, with a hole; avg as computed (full precision) vs quantized.
{
  const r = rng(6);
  const n = 1440;
  const tt: number[] = [];
  for (let i = 0; i < n; i++) if (i < 600 || i >= 660) tt.push(T0 + i * 60_000); // an hour the agent was down
  const m = tt.length;
  const min = new Float64Array(m),
    max = new Float64Array(m),
    avgRaw = new Float64Array(m),
    count = new Float64Array(m).fill(60);
  for (let i = 0; i < m; i++) {
    let s = 0,
      lo = Infinity,
      hi = -Infinity;
    for (let k = 0; k < 60; k++) {
      const p = quantize(560 + gauss(r) * 25);
      s += p;
      lo = Math.min(lo, p);
      hi = Math.max(hi, p);
    }
    min[i] = lo;
    max[i] = hi;
    avgRaw[i] = s / 60;
  }
  const tf = Float64Array.from(tt);
  const full = encodeChunk({ tier: '1m', key: 'gpu0.power', t: tf, avg: avgRaw, min, max, count }).length;
  const q = encodeChunk({ tier: '1m', key: 'gpu0.power', t: tf, avg: avgRaw.map(quantize), min, max, count }).length;
  out.rollup_1m_day = {
    buckets: m,
    bytes_avg_full_precision: full,
    bytes_avg_quantized: q,
    bytes_per_bucket_full: +(full / m).toFixed(2),
    bytes_per_bucket_quantized: +(q / m).toFixed(2),
  };
}

// --browser: the same decode of the whole box inside Chromium (V8), where the PWA runs it.
if (process.argv.includes('--browser')) {
  const { launchBrowser } = await import('../test/browser.ts');
  const { tmp } = await import('../test/helpers.ts');
  const built = await Bun.build({ entrypoints: [new URL('../shared/chunk/index.ts', import.meta.url).pathname], target: 'browser', format: 'esm' });
  const ctx = await launchBrowser(tmp('gpulse-codec-bench-'));
  try {
    const page = await ctx.newPage();
    const frames = box(8).map((r) => Array.from(encodeChunk({ tier: 'raw', key: r.key, t, v: r.v })));
    out.chromium_decode = await page.evaluate(
      async ({ src, fs }) => {
        const codec = (await import(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })))) as typeof import('../shared/chunk/index.ts');
        const bufs = fs.map((f) => new Uint8Array(f));
        const run = () => {
          for (const b of bufs) if (!codec.decodeChunk(b).ok) throw new Error('decode failed');
        };
        for (let i = 0; i < 200; i++) run();
        const reps: number[] = [];
        for (let r = 0; r < 7; r++) {
          const t0 = performance.now();
          for (let i = 0; i < 20; i++) run();
          reps.push(((performance.now() - t0) / 20) * 1000);
        }
        reps.sort((a, b) => a - b);
        return {
          series: bufs.length,
          box_us: { min: +reps[0]!.toFixed(1), median: +reps[3]!.toFixed(1) },
          us_per_chunk_median: +(reps[3]! / bufs.length).toFixed(1),
          note: 'performance.now() is coarsened in browsers; 20 box decodes per sample',
        };
      },
      { src: await built.outputs[0]!.text(), fs: frames },
    );
  } finally {
    await ctx.close();
  }
}

console.log(JSON.stringify(out, null, 2));
