/**
 * What the agent costs: CPU (% of one core, from /proc/<pid>/stat utime+stime, workers included)
 * and RSS, after a warm-up, with N fake GPUs and C stream clients reading.
 * usage: bun bench/agent-cost.ts [--interval 1s] [--gpus 8] [--seconds 60] [--clients 1] [--retention 24h] [--bin dist/gpulse]
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fakeNvml, startAgent, tmp, auth } from '../test/helpers.ts';

const arg = (name: string, def: string) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1]! : def; };
const interval = arg('interval', '1s'), gpus = arg('gpus', '8'), seconds = Number(arg('seconds', '60')), clients = Number(arg('clients', '1'));
const retention = arg('retention', '24h'), warm = Number(arg('warmup', '10'));
const bin = arg('bin', '');
const TICK = 100; // USER_HZ

export function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
}
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const a = await startAgent(['--interval', interval, '--retention', retention, '--no-persist', '--gpu', 'nvml'], { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: gpus }, { dir: tmp(), ...(bin ? { bin: [join(process.cwd(), bin)] } : {}) });
const readers: Promise<void>[] = [];
const aborts: AbortController[] = [];
for (let i = 0; i < clients; i++) {
  const ac = new AbortController();
  aborts.push(ac);
  readers.push((async () => {
    const res = await fetch(`${a.url}/v1/stream`, { ...auth(a.token), signal: ac.signal });
    const r = res.body!.getReader();
    try { for (;;) { const x = await r.read(); if (x.done) break; } } catch { /* aborted */ }
  })());
}
await Bun.sleep(warm * 1000);
const pid = a.proc.pid;
const c0 = cpuTicks(pid), t0 = performance.now();
await Bun.sleep(seconds * 1000);
const c1 = cpuTicks(pid), t1 = performance.now();
const result = { interval, gpus: Number(gpus), clients, seconds, cpu_pct_of_core: +(((c1 - c0) / TICK) / ((t1 - t0) / 1000) * 100).toFixed(2), rss_mib: +rssMiB(pid).toFixed(1), bin: bin || 'bun cli/main.ts' };
for (const ac of aborts) ac.abort();
await a.stop();
console.log(JSON.stringify(result));
