/**
 * Benchmark helpers: repeat-and-summarize (min / median / max, percentiles), /proc readings of a
 * process (CPU ticks, RSS, peak RSS), the binary under test, and data dirs filled with synthetic
 * history once per size (GPULSE_BENCH_FILL) and reused by every measured run.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { fakeNvml, ROOT, tmp } from '../test/helpers.ts';

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
export const pctl = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
export const summary = (xs: number[], digits = 3) => ({
  min: +Math.min(...xs).toFixed(digits),
  median: +median(xs).toFixed(digits),
  max: +Math.max(...xs).toFixed(digits),
  n: xs.length,
});
/** Ratio of two paired series: median of the per-pair ratios, with min/max (pairs measured in the same window). */
export const ratios = (a: number[], b: number[], digits = 3) =>
  summary(
    a.map((x, i) => x / b[i]!),
    digits,
  );

/** Runs fn `reps` times (after one warm-up) and returns per-call microseconds of each run of `iters` calls. */
export function timeit(fn: () => void, iters: number, reps = 5): number[] {
  for (let i = 0; i < Math.min(iters, 100); i++) fn();
  const out: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = Bun.nanoseconds();
    for (let i = 0; i < iters; i++) fn();
    out.push((Bun.nanoseconds() - t0) / iters / 1000);
  }
  return out;
}

// ---- a process, through /proc ----

const HZ = 100;
export const cpuTicks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
};
const statusKb = (pid: number, field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? NaN);
export const rssMiB = (pid: number) => statusKb(pid, 'VmRSS') / 1024;
/** Peak RSS since start or since the last resetPeak. */
export const peakMiB = (pid: number) => statusKb(pid, 'VmHWM') / 1024;
/** Resets VmHWM to the current RSS (Linux ≥ 4.0: "5" to clear_refs), so peakMiB measures one operation. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** CPU% of one core over `seconds` for each pid, measured over the same window. */
export async function cpuOver(pids: number[], seconds: number): Promise<number[]> {
  const c0 = pids.map(cpuTicks),
    t0 = performance.now();
  await Bun.sleep(seconds * 1000);
  const dt = (performance.now() - t0) / 1000;
  return pids.map((p, i) => ((cpuTicks(p) - c0[i]!) / HZ / dt) * 100);
}

export const machine = () => ({
  cpus: navigator.hardwareConcurrency,
  model: /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1],
  mem_gib: +(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1048576).toFixed(1),
});

export const arg = (n: string, d: string) => {
  const i = process.argv.indexOf(`--${n}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
export const gpuEnv = (n: number) => ({ GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: String(n) });

// ---- a page in Chromium ----

/**
 * Chromium's Performance metrics (CDP) of a page over `seconds` of wall time: `end`, the readings
 * at the end (JSHeapUsedSize, …), and `pct`, the share of the window the named duration metrics
 * (TaskDuration, ScriptDuration, LayoutDuration, …; seconds) grew by together, in %.
 */
export async function cdpWindow(ctx: BrowserContext, page: Page, seconds: number) {
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Performance.enable');
  const read = async (): Promise<Record<string, number>> =>
    Object.fromEntries(((await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] }).metrics.map((x) => [x.name, x.value]));
  const a0 = await read();
  const w0 = performance.now();
  await Bun.sleep(seconds * 1000);
  const a1 = await read();
  const dt = (performance.now() - w0) / 1000;
  return { end: a1, pct: (...names: string[]) => (names.reduce((s, k) => s + (a1[k] ?? 0) - (a0[k] ?? 0), 0) / dt) * 100 };
}

// ---- the binary under test ----

/**
 * The command that runs the agent: $BENCH_BIN (set by bench/run.ts), else a private copy of
 * --bin (default dist/gpulse) so a rebuild during the run does not change what is measured, else
 * `bun cli/main.ts` when nothing is built.
 */
export function agentCommand(): { cmd: string[] | undefined; label: string } {
  if (process.env.BENCH_BIN) return { cmd: [process.env.BENCH_BIN], label: 'dist/gpulse (copy taken at the start of the run)' };
  const bin = resolve(ROOT, arg('bin', 'dist/gpulse'));
  if (!existsSync(bin)) return { cmd: undefined, label: 'bun cli/main.ts' };
  const copy = join(tmp('gpulse-bench-bin-'), 'gpulse');
  copyFileSync(bin, copy);
  return { cmd: [copy], label: `${arg('bin', 'dist/gpulse')} (copy, built ${new Date(statSync(bin).mtimeMs).toISOString()})` };
}

// ---- stored history, filled once per size ----

/** Arguments every run on a filled data dir uses (retention must match the fill's, or a restart drops history). */
export const FILLS = {
  '24h': { span: '24h', args: ['--interval', '1s', '--gpu', 'nvml'] },
  // Raw kept for the whole 30 days (not the 14 d default), so every tier holds the full span: the most the store can hold open.
  '30d': { span: '30d', args: ['--interval', '1s', '--gpu', 'nvml', '--retention', '30d'] },
} as const;
export type FillSize = keyof typeof FILLS;

/**
 * A data dir (the `dir` startAgent takes: HOME, with the store in state/) holding `size` of
 * synthetic history at 1 s for 8 fake GPUs. $BENCH_DATA_24H / $BENCH_DATA_30D name one filled
 * earlier in the run (bench/run.ts fills each once); otherwise it is filled here: `gpulse serve`
 * with GPULSE_BENCH_FILL writes the history before it starts serving, then is stopped.
 */
export async function filledDir(size: FillSize, cmd: string[] | undefined): Promise<{ dir: string; fill_s: number | null; owned: boolean }> {
  const given = process.env[`BENCH_DATA_${size.toUpperCase()}`];
  if (given && existsSync(join(given, 'state'))) return { dir: given, fill_s: null, owned: false };
  const dir = given ?? tmp(`gpulse-bench-${size}-`);
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  const proc = Bun.spawn(
    [
      ...(cmd ?? [process.execPath, join(ROOT, 'cli/main.ts')]),
      'serve',
      '--port',
      '0',
      '--ollama',
      'off',
      '--data-dir',
      join(dir, 'state'),
      ...FILLS[size].args,
    ],
    {
      env: {
        PATH: process.env.PATH!,
        HOME: dir,
        XDG_CONFIG_HOME: join(dir, 'config'),
        GPULSE_TOKEN: 'bench-token-0123456789abcdef',
        ...gpuEnv(8),
        GPULSE_BENCH_FILL: FILLS[size].span,
      },
      stdout: 'ignore',
      stderr: 'pipe',
    },
  );
  let err = '';
  const dec = new TextDecoder();
  // Read stderr to the end (a pipe left unread could block the agent's last writes at shutdown).
  const reader = (async () => {
    for await (const c of proc.stderr as ReadableStream<Uint8Array>) err += dec.decode(c, { stream: true });
  })();
  while (!/serving https?:\/\//.test(err) && proc.exitCode === null) await Bun.sleep(50);
  const fill_s = +((performance.now() - t0) / 1000).toFixed(1);
  proc.kill('SIGTERM');
  await proc.exited;
  await reader.catch(() => {});
  if (!/serving https?:\/\//.test(err)) throw new Error(`filling ${size} failed: ${err}`);
  return { dir, fill_s, owned: !given };
}

/** Removes the data dirs a script filled itself (not those bench/run.ts handed it). */
export function dropOwned(...fills: { dir: string; owned: boolean }[]) {
  for (const f of fills) if (f.owned) rmSync(f.dir, { recursive: true, force: true });
}
