/**
 * What your own metrics and GPU process tracking cost the agent: CPU (% of one core) and RSS of a
 * baseline agent and of one that also takes 100 user series (a *.prom file rewritten every second,
 * or 100 series pushed every second) and tracks 20 GPU processes (real processes the fake NVML
 * library reports, with per-process utilization), all running side by side in the same window so
 * they share the machine's noise. 2 fake GPUs, 1 s interval, history on disk, one stream client each.
 * Goal: ≤ +0.05 % of a core and ≤ +4 MB. The process figures move by ~0.02 % between runs on a
 * shared VM, so the same work is also timed in-process, tick after tick (CPU of all threads per
 * tick, hot caches: a floor, not what a tick a second costs), with a full raw window's heads.
 * usage: bun bench/user-metrics.ts [--seconds 120] [--reps 3] [--ticks 3000]
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from '../cli/agent.ts';
import { emptyExtras, type GpuProvider } from '../cli/gpu/provider.ts';
import { Store } from '../cli/store/store.ts';
import { auth, startAgent, tmp, type RunningAgent } from '../test/helpers.ts';
import { arg, cpuOver, gpuEnv, rssMiB, summary } from './stats.ts';

const SECONDS = Number(arg('seconds', '120')),
  REPS = Number(arg('reps', '3')),
  TICKS = Number(arg('ticks', '3000'));

function stream(a: RunningAgent): AbortController {
  const ac = new AbortController();
  void fetch(`${a.url}/v1/stream`, { ...auth(a.token), signal: ac.signal })
    .then(async (r) => {
      for await (const _ of r.body!) {
        /* drain */
      }
    })
    .catch(() => {});
  return ac;
}

const USER_SERIES = 100,
  PROCESSES = 20;
const sleepers = Array.from({ length: PROCESSES }, () => Bun.spawn(['sleep', '36000'], { stdout: 'ignore', stderr: 'ignore' }));
const procFile = join(tmp(), 'procs');
// 20 processes over 2 GPUs, each with memory and utilization the fake reports.
writeFileSync(procFile, sleepers.map((p, i) => `${i % 2}:${p.pid}:${256 * (i + 1)}:c:${(i * 7) % 100}:${(i * 3) % 100}`).join('\n') + '\n');
const GPU_ENV = gpuEnv(2);

/** One textfile of 100 series (10 metrics × 10 label values), rewritten with write-and-rename. */
const textfile = (dir: string, step: number) => {
  let s = '# HELP bench_loss A training loss\n# TYPE bench_loss gauge\n';
  for (let i = 0; i < USER_SERIES; i++) s += `bench_m${i % 10}{shard="${Math.floor(i / 10)}"} ${(Math.sin(step + i) * 0.0123457).toPrecision(9)}\n`;
  writeFileSync(join(dir, '.bench.prom.tmp'), s);
  renameSync(join(dir, '.bench.prom.tmp'), join(dir, 'bench.prom'));
};
const pushBody = (step: number) => {
  let s = '';
  for (let i = 0; i < USER_SERIES; i++) s += `pushed_m${i % 10}{shard="${Math.floor(i / 10)}"} ${Math.cos(step + i) * 1e-3}\n`;
  return s;
};

const cost: Record<string, number[]> = { base_cpu: [], textfile_cpu: [], push_cpu: [], base_rss: [], textfile_rss: [], push_rss: [] };
for (let rep = 0; rep < REPS; rep++) {
  const tfDir = join(tmp(), 'tf');
  mkdirSync(tfDir);
  textfile(tfDir, 0);
  const base = await startAgent(['--interval', '1s', '--gpu', 'nvml'], GPU_ENV);
  const withTf = await startAgent(['--interval', '1s', '--gpu', 'nvml', '--textfile-dir', tfDir], { ...GPU_ENV, FAKE_NVML_PROCS_FILE: procFile });
  const withPush = await startAgent(['--interval', '1s', '--gpu', 'nvml'], { ...GPU_ENV, FAKE_NVML_PROCS_FILE: procFile });
  const streams = [base, withTf, withPush].map(stream);
  let step = 0;
  const feed = setInterval(() => {
    step++;
    textfile(tfDir, step);
    void fetch(`${withPush.url}/v1/push`, { method: 'POST', ...auth(withPush.token), body: pushBody(step) })
      .then((r) => r.text())
      .catch(() => {});
  }, 1000);
  await Bun.sleep(15_000); // warm-up: the slow worker's process rounds, the first windows
  const info = (await (await fetch(`${withTf.url}/v1/info`, auth(withTf.token))).json()) as {
    user_metrics: { series: number };
    processes: { tracked: number };
  };
  if (info.user_metrics.series !== USER_SERIES || info.processes.tracked !== PROCESSES)
    throw new Error(`load not in place: ${JSON.stringify([info.user_metrics.series, info.processes.tracked])}`);
  const pids = [base, withTf, withPush].map((a) => a.proc.pid);
  const cpu = await cpuOver(pids, SECONDS);
  const rss = pids.map(rssMiB);
  cost.base_cpu!.push(cpu[0]!);
  cost.textfile_cpu!.push(cpu[1]!);
  cost.push_cpu!.push(cpu[2]!);
  cost.base_rss!.push(rss[0]!);
  cost.textfile_rss!.push(rss[1]!);
  cost.push_rss!.push(rss[2]!);
  clearInterval(feed);
  for (const s of streams) s.abort();
  await Promise.all([base.stop(), withTf.stop(), withPush.stop()]);
  process.stderr.write(`rep ${rep + 1}/${REPS}: cpu % ${cpu.map((x) => x.toFixed(3)).join(' / ')}, rss MiB ${rss.map((x) => x.toFixed(1)).join(' / ')}\n`);
}
/**
 * In-process: the same agent code with a stand-in GPU provider (2 GPUs; with load, the 20
 * processes above, their lists replaced every 5 ticks as the NVML slow round does every 5 s) and
 * the textfile rewritten before every tick. CPU per tick of all threads, the writer's share excluded.
 */
async function perTick(load: boolean): Promise<{ us: number; heads_mib: number }> {
  const host = {
    cpus: 2,
    sample(_t: number, v: Float64Array) {
      for (let i = 0; i < 15; i++) v[i] = (i * 7.3) % 100;
    },
    disks: () => [],
    freqMhz: () => null,
    close() {},
  };
  const extras = [emptyExtras(), emptyExtras()];
  const gpu: GpuProvider = {
    kind: 'nvml',
    devices: [0, 1].map((i) => ({ index: i, name: 'G', uuid: `GPU-${i}`, memory_total: 8e10, provider: 'nvml' as const })),
    driverVersion: null,
    cudaVersion: null,
    read: async () => ({ values: new Float64Array(30).fill(42.5), extras }),
    drainEvents: () => [],
    close() {},
  };
  const procs = () =>
    extras.forEach((x, g) => {
      x.processes = sleepers
        .filter((_, i) => i % 2 === g)
        .map((p, i) => ({ pid: p.pid, gpu_mem: 256e6 * (i + 1), type: 'compute' as const, sm_util: (i * 7) % 100, mem_util: (i * 3) % 100 }));
    });
  const dir = tmp(),
    tf = join(dir, 'tf');
  mkdirSync(tf);
  if (load) {
    procs();
    textfile(tf, 0);
  }
  const store = Store.open({ dir: join(dir, 'state'), intervalMs: 1000, retentionMs: { raw: 1e12, '1m': 1e12, '1h': 1e12 }, maxDiskBytes: 1e12 });
  const a = new Agent({ hostname: 'h', intervalMs: 1000, retentionMs: 1e12, host, gpu, store, user: load ? { textfileDir: tf } : {} });
  const r = a.openStream(null).getReader();
  void (async () => {
    for (;;) if ((await r.read()).done) break;
  })();
  // Start on a window edge and fill most of a 15-minute raw window first: the heads at their size.
  let t = Math.ceil(Date.now() / 900_000) * 900_000 + 900_000;
  for (let i = 0; i < 800; i++) {
    if (load) textfile(tf, i);
    await a.sampler.tick((t += 1000));
  }
  let writer = 0;
  const c0 = process.cpuUsage();
  for (let i = 0; i < TICKS; i++) {
    if (load) {
      const w0 = process.cpuUsage();
      textfile(tf, i);
      if (i % 5 === 0) procs();
      const w = process.cpuUsage(w0);
      writer += w.user + w.system;
    }
    await a.sampler.tick((t += 1000));
  }
  const c = process.cpuUsage(c0);
  const heads = (a.store.raw.bytes + a.store.m1.bytes + a.store.h1.bytes) / 1048576;
  a.stop();
  return { us: (c.user + c.system - writer) / TICKS, heads_mib: heads };
}
const inproc: Record<string, number[]> = { base_us: [], load_us: [] };
let heads = { base: 0, load: 0 };
for (let rep = 0; rep < 3; rep++) {
  const b = await perTick(false),
    l = await perTick(true);
  inproc.base_us!.push(b.us);
  inproc.load_us!.push(l.us);
  heads = { base: b.heads_mib, load: l.heads_mib };
}
for (const p of sleepers) p.kill();

const med = (k: string) => summary(cost[k]!).median;
const out = {
  machine: { cpus: navigator.hardwareConcurrency, model: /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] },
  seconds: SECONDS,
  reps: REPS,
  user_series: USER_SERIES,
  gpu_processes: PROCESSES,
  cpu_pct: {
    baseline: summary(cost.base_cpu!, 3),
    textfile_100_plus_20_procs: summary(cost.textfile_cpu!, 3),
    push_100_plus_20_procs: summary(cost.push_cpu!, 3),
  },
  rss_mib: {
    baseline: summary(cost.base_rss!, 1),
    textfile_100_plus_20_procs: summary(cost.textfile_rss!, 1),
    push_100_plus_20_procs: summary(cost.push_rss!, 1),
  },
  added: {
    textfile_cpu_pct: +(med('textfile_cpu') - med('base_cpu')).toFixed(3),
    push_cpu_pct: +(med('push_cpu') - med('base_cpu')).toFixed(3),
    textfile_rss_mib: +(med('textfile_rss') - med('base_rss')).toFixed(1),
    push_rss_mib: +(med('push_rss') - med('base_rss')).toFixed(1),
  },
  in_process: {
    us_per_tick: { baseline: summary(inproc.base_us!, 1), textfile_100_plus_20_procs: summary(inproc.load_us!, 1) },
    added_cpu_pct_at_1s: +((summary(inproc.load_us!).median - summary(inproc.base_us!).median) / 1e4).toFixed(4),
    open_window_heads_mib: { baseline: +heads.base.toFixed(2), loaded: +heads.load.toFixed(2) },
  },
  goal: { cpu_pct: 0.05, rss_mb: 4 },
};
console.log(JSON.stringify(out, null, 1));
