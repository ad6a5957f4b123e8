/**
 * The agent as a process: CPU (% of one core) and RSS at 1 s and 0.1 s with 8 fake GPUs and a
 * stream client, side by side with Prometheus' node_exporter scraped once a second in the same
 * window; RSS with a full 24 h buffer and how it grows with retention and GPU count; tick→client
 * latency with 1 and 200 clients and CPU per extra client; startup and binary size.
 * usage: bun bench/agent.ts [--seconds 60] [--reps 3] [--bin dist/gpulse]
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { auth, fakeNvml, ROOT, startAgent, tmp, type RunningAgent } from '../test/helpers.ts';
import { pctl, summary } from './stats.ts';

const arg = (n: string, d: string) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? process.argv[i + 1]! : d; };
const SECONDS = Number(arg('seconds', '60')), REPS = Number(arg('reps', '3'));
const BIN = join(ROOT, arg('bin', 'dist/gpulse'));
const bin = existsSync(BIN) ? [BIN] : undefined;
const HZ = 100;

export const cpuTicks = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' '); return Number(f[11]) + Number(f[12]); };
export const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? NaN) / 1024;
const gpuEnv = (n: number) => ({ GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: String(n) });
const agent = (args: string[], env: Record<string, string>) => startAgent(['--no-persist', ...args], env, { dir: tmp(), ...(bin ? { bin } : {}) });

function readStream(a: RunningAgent, onFrame?: (t: number) => void): AbortController {
  const ac = new AbortController();
  void (async () => {
    try {
      const res = await fetch(`${a.url}/v1/stream`, { ...auth(a.token), signal: ac.signal });
      const r = res.body!.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const x = await r.read();
        if (x.done) break;
        if (!onFrame) continue;
        const now = Date.now();
        buf += dec.decode(x.value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) { const m = /^id: (\d+)$/m.exec(buf.slice(0, i)); if (m) onFrame(now - Number(m[1])); buf = buf.slice(i + 2); }
      }
    } catch { /* aborted */ }
  })();
  return ac;
}

/** CPU% of one core over `seconds` for each pid, measured over the same window. */
async function cpuOver(pids: number[], seconds: number): Promise<number[]> {
  const c0 = pids.map(cpuTicks), t0 = performance.now();
  await Bun.sleep(seconds * 1000);
  const dt = (performance.now() - t0) / 1000;
  return pids.map((p, i) => ((cpuTicks(p) - c0[i]!) / HZ / dt) * 100);
}

const out: Record<string, unknown> = { machine: { cpus: navigator.hardwareConcurrency, model: /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1], mem_gib: +(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1048576).toFixed(1) }, bin: bin ? 'dist/gpulse' : 'bun cli/main.ts', seconds: SECONDS, reps: REPS };

// 1) Cost at 1 s and 0.1 s with 8 GPUs and one client, next to node_exporter scraped every second.
const NODE_EXPORTER = ['/usr/bin/prometheus-node-exporter', '/usr/bin/node_exporter'].find(existsSync);
const cost: Record<string, number[]> = { agent_1s_cpu: [], agent_100ms_cpu: [], node_exporter_1s_cpu: [], agent_1s_rss: [], agent_100ms_rss: [], node_exporter_rss: [] };
for (let rep = 0; rep < REPS; rep++) {
  const a1 = await agent(['--interval', '1s', '--gpu', 'nvml'], gpuEnv(8));
  const a2 = await agent(['--interval', '100ms', '--gpu', 'nvml'], gpuEnv(8));
  const s1 = readStream(a1), s2 = readStream(a2);
  let ne: ReturnType<typeof Bun.spawn> | null = null;
  let scrape: ReturnType<typeof setInterval> | null = null;
  if (NODE_EXPORTER) {
    const port = 21000 + Math.floor(Math.random() * 9000);
    ne = Bun.spawn([NODE_EXPORTER, `--web.listen-address=127.0.0.1:${port}`], { stdout: 'ignore', stderr: 'ignore' });
    scrape = setInterval(() => void fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => {}), 1000);
  }
  await Bun.sleep(10_000); // warm-up
  const pids = [a1.proc.pid, a2.proc.pid, ...(ne ? [ne.pid] : [])];
  const [c1, c2, cn] = await cpuOver(pids, SECONDS);
  cost.agent_1s_cpu!.push(c1!); cost.agent_100ms_cpu!.push(c2!);
  cost.agent_1s_rss!.push(rssMiB(a1.proc.pid)); cost.agent_100ms_rss!.push(rssMiB(a2.proc.pid));
  if (ne) { cost.node_exporter_1s_cpu!.push(cn!); cost.node_exporter_rss!.push(rssMiB(ne.pid)); ne.kill(); }
  if (scrape) clearInterval(scrape);
  s1.abort(); s2.abort();
  await a1.stop(); await a2.stop();
}
out.cost = Object.fromEntries(Object.entries(cost).filter(([, v]) => v.length).map(([k, v]) => [k, summary(v, 2)]));
if (cost.node_exporter_1s_cpu!.length) out.ratio_agent_1s_to_node_exporter_cpu = +(summary(cost.agent_1s_cpu!).median / summary(cost.node_exporter_1s_cpu!).median).toFixed(2);

// 2) RSS with a full buffer (synthetic fill), by retention and GPU count.
const rss: Record<string, number> = {};
for (const [ret, gpus] of [['1h', 8], ['6h', 8], ['24h', 0], ['24h', 8], ['24h', 32]] as const) {
  const a = await agent(['--interval', '1s', '--retention', ret, '--gpu', gpus ? 'nvml' : 'none'], { ...gpuEnv(gpus), GPULSE_BENCH_FILL: '1' });
  await Bun.sleep(8000);
  rss[`${ret}_${gpus}gpu_full`] = +rssMiB(a.proc.pid).toFixed(1);
  await a.stop();
}
out.rss_full_buffer_mib = rss;

// 3) Tick → client latency (frame id is the tick time) with 1 and 200 clients; CPU per extra client.
for (const n of [1, 200]) {
  const a = await agent(['--interval', '1s', '--gpu', 'nvml'], gpuEnv(8));
  const lat: number[] = [];
  const streams = Array.from({ length: n }, (_, i) => readStream(a, i < 50 ? (d) => lat.push(d) : () => {}));
  await Bun.sleep(3000);
  lat.length = 0;
  const [cpu] = await cpuOver([a.proc.pid], 30);
  out[`latency_ms_${n}_clients`] = { p50: pctl(lat, 50), p95: pctl(lat, 95), p99: pctl(lat, 99), samples: lat.length };
  out[`cpu_pct_${n}_clients`] = +cpu!.toFixed(2);
  for (const s of streams) s.abort();
  await a.stop();
}
out.cpu_pct_per_extra_client = +(((out.cpu_pct_200_clients as number) - (out.cpu_pct_1_clients as number)) / 199).toFixed(4);

// 4) Startup and size.
if (bin) {
  const runs: number[] = [];
  for (let i = 0; i < 10; i++) { const t0 = performance.now(); Bun.spawnSync([BIN, '--version']); runs.push(performance.now() - t0); }
  out.version_ms = summary(runs, 1);
  out.binary_mib = +(statSync(BIN).size / 1048576).toFixed(1);
}
const first: number[] = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const a = await agent(['--interval', '100ms', '--gpu', 'nvml'], gpuEnv(8));
  for (;;) { const info = await (await fetch(a.url + '/v1/info', auth(a.token))).json(); if (info.buffer.count > 0) break; await Bun.sleep(5); }
  first.push(performance.now() - t0);
  await a.stop();
}
out.start_to_first_sample_ms = summary(first, 0);
console.log(JSON.stringify(out, null, 1));
