/**
 * `gpulse import` throughput and memory: generates a gpulse CSV export, a gpulse JSON export and
 * an otto MetricCollector JSON export of about --size MB each (a 32-thread host with 8 GPUs, 165
 * series at 1 s, values from the synthetic history generators, quantized as the agent stores
 * them), imports each into a fresh data dir with the real CLI in a subprocess, and prints rows,
 * values/s (the import's own time, from its summary line; the process's wall and CPU time too)
 * and the import process's peak RSS (VmHWM). A tiny file first gives the CLI's baseline RSS.
 *
 *   npx bun bench/import.ts [--size 300] [--formats csv,json,otto] [--keep]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCatalog } from '../shared/catalog.ts';
import { quantize } from '../shared/chunk/index.ts';
import { generatorFor } from '../cli/store/synthetic.ts';
import { arg } from './stats.ts';

const SIZE = Number(arg('size', '300')) * 1e6;
const FORMATS = arg('formats', 'csv,json,otto').split(',');
const KEEP = process.argv.includes('--keep');
const ROOT = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'gpulse-bench-import-'));

const keys = buildCatalog(32, [0, 1, 2, 3, 4, 5, 6, 7]).map((s) => s.key);
const now = Date.now();

/** Rows of the synthetic box, i-th row at start + i s, every value quantized. */
function* rows(n: number): Generator<[number, Float64Array]> {
  const gens = keys.map((k, i) => generatorFor(k, i + 1));
  const row = new Float64Array(keys.length);
  const start = Math.floor(now / 1000) * 1000 - 3_600_000 - n * 1000;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < keys.length; c++) row[c] = quantize(gens[c]!(i));
    yield [start + i * 1000, row];
  }
}

async function writeFile(path: string, parts: Iterable<string>) {
  const w = Bun.file(path).writer({ highWaterMark: 1 << 20 });
  let buf = '';
  for (const p of parts) {
    buf += p;
    if (buf.length > 1 << 20) {
      w.write(buf);
      buf = '';
    }
  }
  w.write(buf);
  await w.end();
}

const cell = (v: number) => (Number.isFinite(v) ? String(v) : '');

function* csv(n: number) {
  yield ['time', 't_ms', ...keys].join(',') + '\n';
  for (const [t, row] of rows(n)) yield `${new Date(t).toISOString()},${t},${Array.from(row, cell).join(',')}\n`;
}

/** The columnar export document, written column after column (each column regenerated: nothing held). */
function* json(n: number) {
  yield `{"format":"gpulse-export","version":1,"info":{"hostname":"bench","interval_ms":1000},"history":{"t":[`;
  let first = true;
  for (const [t] of rows(n)) {
    yield first ? String(t) : `,${t}`;
    first = false;
  }
  yield '],"series":{';
  for (let c = 0; c < keys.length; c++) {
    yield `${c ? ',' : ''}${JSON.stringify(keys[c])}:[`;
    const gen = generatorFor(keys[c]!, c + 1);
    for (let i = 0; i < n; i++) {
      const v = quantize(gen(i));
      yield `${i ? ',' : ''}${Number.isFinite(v) ? v : 'null'}`;
    }
    yield ']';
  }
  yield '}},"events":[]}\n';
}

/** otto labels for the first host: what ottoSeries maps, and otto's own percentages. */
const OTTO_LABELS: [string, string | null][] = [
  ['CPU %', 'host.cpu.util'],
  ['Mem %', null],
  ['Disk %', null],
  ['Load 1m', 'host.load1'],
  ['Load 5m', 'host.load5'],
  ['Load 15m', 'host.load15'],
  ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((g): [string, string | null][] => [
    [`GPU ${g} %`, `gpu${g}.util`],
    [`GPU ${g} Temp C`, `gpu${g}.temp`],
    [`GPU ${g} Power W`, `gpu${g}.power`],
  ]),
];

function* otto(n: number) {
  const gens = OTTO_LABELS.map(([, k], i) => generatorFor(k ?? 'x', i + 1));
  const start = Math.floor(now / 1000) * 1000 - 3_600_000 - n * 1000;
  yield '{"metrics": [';
  for (let i = 0; i < n; i++) {
    const ts = new Date(start + i * 1000).toISOString().replace('Z', '+00:00');
    let s = '';
    for (let c = 0; c < OTTO_LABELS.length; c++) {
      s += `${i || c ? ', ' : ''}{"timestamp": "${ts}", "host": "gpubox", "label": "${OTTO_LABELS[c]![0]}", "value": ${quantize(gens[c]!(i))}}`;
    }
    yield s;
  }
  yield '], "events": []}\n';
}

/** Rows needed for about SIZE bytes, from a small sample of the format. */
async function sized(name: string, gen: (n: number) => Iterable<string>) {
  const path = join(dir, name);
  await writeFile(path, gen(200));
  const per = statSync(path).size / 200;
  const n = Math.max(1, Math.round(SIZE / per));
  const t0 = performance.now();
  await writeFile(path, gen(n));
  return { path, n, bytes: statSync(path).size, genS: (performance.now() - t0) / 1000 };
}

/**
 * The CLI's main() in a fresh process reporting its own peak RSS as VmHWM (getrusage's maxrss is
 * carried across exec from this big generating process, so it would read our size, not its own).
 */
function importRun(path: string) {
  const data = mkdtempSync(join(dir, 'state-'));
  const code = `const { main } = await import(${JSON.stringify(join(ROOT, 'cli/main.ts'))});
const c = await main(${JSON.stringify(['import', path, '--data-dir', data])});
let kb = process.resourceUsage().maxRSS;
try { kb = Number(/VmHWM:\\s*(\\d+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]); } catch {}
process.stderr.write('peak-rss-kb ' + kb + '\\n');
process.exit(c);`;
  const t0 = performance.now();
  const r = Bun.spawnSync([process.execPath, '-e', code], { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, HOME: dir } });
  const wall = (performance.now() - t0) / 1000;
  const text = r.stdout.toString() + r.stderr.toString();
  if (r.exitCode !== 0) throw new Error(`import failed (${r.exitCode}): ${text}`);
  const m = /imported ([\d,]+) rows, ([\d,]+) values.*; ([\d.]+)s, /.exec(text)!;
  const disk = /\(([\d.]+ \w+) on disk\)/.exec(text)?.[1] ?? '?';
  const cpu = r.resourceUsage ? Number(r.resourceUsage.cpuTime.total) / 1e6 : NaN;
  rmSync(data, { recursive: true, force: true });
  return {
    rows: Number(m[1]!.replace(/,/g, '')),
    values: Number(m[2]!.replace(/,/g, '')),
    importS: Number(m[3]),
    wall,
    cpu,
    rss: Number(/peak-rss-kb (\d+)/.exec(text)![1]) * 1024,
    disk,
  };
}

const MB = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
const MiB = (b: number) => `${(b / 1024 ** 2).toFixed(1)} MiB`;

console.log(`gpulse import bench: ${keys.length} series, target ${MB(SIZE)} a file, data in ${dir}`);
const tiny = await sized('tiny.csv', (n) => csv(Math.min(n, 10)));
const base = importRun(tiny.path);
console.log(`baseline (10-row CSV): peak RSS ${MiB(base.rss)}`);
const results: Record<string, unknown> = { series: keys.length, baseline_rss_bytes: base.rss };
for (const f of FORMATS) {
  const gen = f === 'csv' ? csv : f === 'json' ? json : f === 'otto' ? otto : null;
  if (!gen) throw new Error(`unknown format ${f}`);
  const file = await sized(`history.${f === 'csv' ? 'csv' : `${f}.json`}`, gen);
  const r = importRun(file.path);
  const vps = r.values / r.importS;
  console.log(
    `${f.padEnd(4)} ${MB(file.bytes).padStart(7)} (${file.n} ${f === 'otto' ? 'ticks' : 'rows'}, generated in ${file.genS.toFixed(1)}s): ${r.rows} rows, ${r.values} values` +
      ` in ${r.importS.toFixed(2)}s = ${(vps / 1e6).toFixed(2)}M values/s, ${(file.bytes / 1e6 / r.importS).toFixed(0)} MB/s` +
      ` (process: ${r.wall.toFixed(2)}s wall, ${r.cpu.toFixed(2)}s CPU); peak RSS ${MiB(r.rss)} (+${MiB(r.rss - base.rss)} over baseline); store ${r.disk}`,
  );
  results[f] = {
    file_bytes: file.bytes,
    rows: r.rows,
    values: r.values,
    import_s: r.importS,
    values_per_s: vps,
    wall_s: r.wall,
    cpu_s: r.cpu,
    peak_rss_bytes: r.rss,
  };
  if (!KEEP) rmSync(file.path, { force: true });
}
console.log(JSON.stringify(results));
if (!KEEP) rmSync(dir, { recursive: true, force: true });
