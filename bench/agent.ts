/**
 * The agent as a process: CPU (% of one core) at 1 s with a day stored and at 0.1 s, 8 fake GPUs
 * and a stream client, side by side with Prometheus' node_exporter scraped once a second in the
 * same window; RSS after warm-up with nothing, 24 h and 30 d stored (data dirs filled once with
 * synthetic history, see bench/stats.ts filledDir); tick→client latency with 1 and 200 clients and
 * CPU per extra client; startup and binary size. The history store's own figures: bench/history.ts.
 * usage: bun bench/agent.ts [--seconds 60] [--reps 3] [--bin dist/gpulse]
 */
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { auth, startAgent, tmp, type RunningAgent } from '../test/helpers.ts';
import { agentCommand, arg, dropOwned, cpuOver, FILLS, filledDir, gpuEnv, machine, peakMiB, pctl, ratios, rssMiB, summary, type FillSize } from './stats.ts';

const SECONDS = Number(arg('seconds', '60')),
  REPS = Number(arg('reps', '3'));
const { cmd, label } = agentCommand();
const log = (m: string) => console.error(`  agent: ${m}`);

/** An agent on a fresh data dir (nothing stored), or on a filled one. */
const scratch: string[] = [];
const fresh = () => {
  const d = tmp('gpulse-bench-');
  scratch.push(d);
  return d;
};
const agent = (args: string[], env: Record<string, string>, dir?: string) => startAgent(args, env, { dir: dir ?? fresh(), ...(cmd ? { bin: cmd } : {}) });
const stored = (size: FillSize, dir: string) => agent([...FILLS[size].args], gpuEnv(8), dir);

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
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const m = /^id: (\d+)$/m.exec(buf.slice(0, i));
          if (m) onFrame(now - Number(m[1]));
          buf = buf.slice(i + 2);
        }
      }
    } catch {
      /* aborted */
    }
  })();
  return ac;
}

const out: Record<string, unknown> = {
  machine: machine(),
  bin: label,
  seconds: SECONDS,
  reps: REPS,
  loadavg_start: readFileSync('/proc/loadavg', 'utf8').trim(),
};
const fills = { '24h': await filledDir('24h', cmd), '30d': await filledDir('30d', cmd) };
out.fill_s = { '24h': fills['24h'].fill_s, '30d': fills['30d'].fill_s };

// 1) Cost at 1 s (a day stored) and 0.1 s (nothing stored) with 8 GPUs and one client, next to node_exporter scraped every
//    second, and an agent at 1 s with --no-persist (no WAL, no segment writes): what the store costs per tick, same window.
const NODE_EXPORTER = ['/usr/bin/prometheus-node-exporter', '/usr/bin/node_exporter'].find(existsSync);
const cost: Record<string, number[]> = {
  agent_1s_cpu: [],
  agent_1s_no_persist_cpu: [],
  agent_100ms_cpu: [],
  node_exporter_1s_cpu: [],
  agent_1s_rss: [],
  agent_1s_no_persist_rss: [],
  agent_100ms_rss: [],
  node_exporter_rss: [],
};
for (let rep = 0; rep < REPS; rep++) {
  log(`CPU, rep ${rep + 1}/${REPS}`);
  const a1 = await stored('24h', fills['24h'].dir);
  const a2 = await agent(['--interval', '100ms', '--gpu', 'nvml'], gpuEnv(8));
  const a3 = await agent(['--interval', '1s', '--gpu', 'nvml', '--no-persist'], gpuEnv(8));
  const s1 = readStream(a1),
    s2 = readStream(a2),
    s3 = readStream(a3);
  let ne: ReturnType<typeof Bun.spawn> | null = null;
  let scrape: ReturnType<typeof setInterval> | null = null;
  if (NODE_EXPORTER) {
    const port = 21000 + Math.floor(Math.random() * 9000);
    ne = Bun.spawn([NODE_EXPORTER, `--web.listen-address=127.0.0.1:${port}`], { stdout: 'ignore', stderr: 'ignore' });
    scrape = setInterval(
      () =>
        void fetch(`http://127.0.0.1:${port}/metrics`)
          .then((r) => r.text())
          .catch(() => {}),
      1000,
    );
  }
  await Bun.sleep(10_000); // warm-up
  const pids = [a1.proc.pid, a2.proc.pid, a3.proc.pid, ...(ne ? [ne.pid] : [])];
  const [c1, c2, c3, cn] = await cpuOver(pids, SECONDS);
  cost.agent_1s_cpu!.push(c1!);
  cost.agent_100ms_cpu!.push(c2!);
  cost.agent_1s_no_persist_cpu!.push(c3!);
  cost.agent_1s_rss!.push(rssMiB(a1.proc.pid));
  cost.agent_100ms_rss!.push(rssMiB(a2.proc.pid));
  cost.agent_1s_no_persist_rss!.push(rssMiB(a3.proc.pid));
  if (ne) {
    cost.node_exporter_1s_cpu!.push(cn!);
    cost.node_exporter_rss!.push(rssMiB(ne.pid));
    ne.kill();
    await ne.exited;
  }
  if (scrape) clearInterval(scrape);
  s1.abort();
  s2.abort();
  s3.abort();
  await a1.stop();
  await a2.stop();
  await a3.stop();
}
out.cost = Object.fromEntries(
  Object.entries(cost)
    .filter(([, v]) => v.length)
    .map(([k, v]) => [k, summary(v, 2)]),
);
if (cost.node_exporter_1s_cpu!.length) {
  out.ratio_agent_1s_to_node_exporter_cpu = ratios(cost.agent_1s_cpu!, cost.node_exporter_1s_cpu!, 2);
  out.ratio_agent_100ms_to_node_exporter_cpu = ratios(cost.agent_100ms_cpu!, cost.node_exporter_1s_cpu!, 2);
  out.ratio_agent_1s_no_persist_to_node_exporter_cpu = ratios(cost.agent_1s_no_persist_cpu!, cost.node_exporter_1s_cpu!, 2);
}

// 2) RSS after warm-up, 8 GPUs at 1 s, one live client: nothing stored, 24 h, 30 d (raw kept 30 d). Order rotated per rep.
const WARM = 20,
  WATCH = 30;
const rss: Record<string, { end: number[]; max: number[]; startup_peak: number[] }> = {};
for (let rep = 0; rep < REPS; rep++) {
  const order: ('none' | FillSize)[] = (['none', '24h', '30d'] as const).map((_, i, all) => all[(i + rep) % 3]!);
  for (const what of order) {
    log(`RSS, ${what} stored, rep ${rep + 1}/${REPS}`);
    const a = what === 'none' ? await agent(['--interval', '1s', '--gpu', 'nvml'], gpuEnv(8)) : await stored(what, fills[what].dir);
    const s = readStream(a);
    await Bun.sleep(WARM * 1000);
    const seen: number[] = [];
    for (let i = 0; i < WATCH; i++) {
      await Bun.sleep(1000);
      seen.push(rssMiB(a.proc.pid));
    }
    const r = (rss[what] ??= { end: [], max: [], startup_peak: [] });
    r.end.push(seen.at(-1)!);
    r.max.push(Math.max(...seen));
    r.startup_peak.push(peakMiB(a.proc.pid));
    s.abort();
    await a.stop();
  }
}
out.rss_by_stored_mib = {
  how: `RSS at the end of ${WARM} s warm-up + ${WATCH} s, and the highest of the ${WATCH} one-second readings; startup_peak is VmHWM (includes opening the store)`,
  ...Object.fromEntries(
    Object.entries(rss).map(([k, v]) => [k, { end: summary(v.end, 1), max_while_watched: summary(v.max, 1), startup_peak: summary(v.startup_peak, 1) }]),
  ),
  ratio_24h_to_none: ratios(rss['24h']!.end, rss.none!.end, 2),
  ratio_30d_to_none: ratios(rss['30d']!.end, rss.none!.end, 2),
};

// 3) Tick → client latency (frame id is the tick time) with 1 and 200 clients; CPU per extra client.
for (const n of [1, 200]) {
  log(`latency, ${n} clients`);
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

// 4) Startup (nothing stored; with 30 d stored: bench/history.ts) and size.
if (cmd) {
  const runs: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    Bun.spawnSync([...cmd, '--version']);
    runs.push(performance.now() - t0);
  }
  out.version_ms = summary(runs, 1);
  out.binary_mib = +(statSync(cmd[0]!).size / 1048576).toFixed(1);
}
const first: number[] = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const a = await agent(['--interval', '100ms', '--gpu', 'nvml'], gpuEnv(8));
  for (;;) {
    const info = await (await fetch(a.url + '/v1/info', auth(a.token))).json();
    if (info.buffer.count > 0) break;
    await Bun.sleep(5);
  }
  first.push(performance.now() - t0);
  await a.stop();
}
out.start_to_first_sample_ms = summary(first, 0);
out.loadavg_end = readFileSync('/proc/loadavg', 'utf8').trim();
dropOwned(fills['24h'], fills['30d']);
for (const d of scratch) rmSync(d, { recursive: true, force: true });
console.log(JSON.stringify(out, null, 1));
