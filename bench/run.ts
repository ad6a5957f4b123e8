/**
 * npm run bench: every benchmark in turn; raw results to bench/results.json (BENCHMARKS.md quotes
 * them). The binary is copied once and the 24 h and 30 d data dirs are filled once, then handed
 * to bench/agent.ts and bench/history.ts ($BENCH_BIN, $BENCH_DATA_24H, $BENCH_DATA_30D).
 * usage: bun bench/run.ts [--only micro,agent,history] [--reps 3] [--seconds 60]
 *   --only runs some of them and keeps the other sections of results.json as they were.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmp } from '../test/helpers.ts';
import { agentCommand, filledDir, machine } from './stats.ts';

const root = new URL('..', import.meta.url).pathname;
const ALL = ['micro', 'codec', 'agent', 'history', 'import', 'pwa'];
const argv = process.argv.slice(2);
const o = argv.indexOf('--only');
const only = o >= 0 ? argv[o + 1]!.split(',') : ALL;
const pass = o >= 0 ? [...argv.slice(0, o), ...argv.slice(o + 2)] : argv;
const unknown = only.filter((n) => !ALL.includes(n));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')} (have ${ALL.join(', ')})`);
  process.exit(2);
}

const file = join(root, 'bench/results.json');
const results: Record<string, unknown> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
results.machine = machine();
const env: Record<string, string> = { ...(process.env as Record<string, string>) };
const cleanup: string[] = [];
if (only.includes('agent') || only.includes('history')) {
  const { cmd, label } = agentCommand();
  if (cmd) {
    env.BENCH_BIN = cmd[0]!;
    cleanup.push(dirname(cmd[0]!));
  }
  const fills: Record<string, number | null> = {};
  for (const size of ['24h', '30d'] as const) {
    const dir = tmp(`gpulse-bench-${size}-`);
    process.env[`BENCH_DATA_${size.toUpperCase()}`] = dir;
    console.error(`filling ${size} of synthetic history …`);
    fills[size] = (await filledDir(size, cmd)).fill_s;
    env[`BENCH_DATA_${size.toUpperCase()}`] = dir;
    cleanup.push(dir);
  }
  results.setup = { bin: label, fill_s: fills };
}
const dates = (results.dates ??= {}) as Record<string, string>;
// Results from before per-section dates carry the one date of their run.
if (typeof results.date === 'string') {
  for (const k of ALL) if (results[k] && !dates[k]) dates[k] = results.date;
  delete results.date;
}
let failed = false;
for (const name of only) {
  console.error(`bench/${name}.ts …`);
  const r = Bun.spawnSync([process.execPath, join(root, `bench/${name}.ts`), ...pass], { stdout: 'pipe', stderr: 'inherit', env });
  if (r.exitCode !== 0) {
    console.error(`bench/${name}.ts failed`);
    failed = true;
    break;
  }
  // A bench prints its figures as JSON: the whole output, or its last line after progress lines.
  const out = r.stdout.toString().trim();
  results[name] = JSON.parse(out.startsWith('{') ? out : out.slice(out.lastIndexOf('\n') + 1));
  dates[name] = new Date().toISOString();
  console.log(name, r.stdout.toString());
  writeFileSync(file, JSON.stringify(results, null, 1) + '\n');
}
for (const d of cleanup) rmSync(d, { recursive: true, force: true });
if (failed) process.exit(1);
