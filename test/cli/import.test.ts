/**
 * `gpulse import`: real files in a temp dir, the real CLI in a subprocess (exit codes, messages),
 * and the real store opened on the result (rows read back with rowBatches, compared exactly).
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rowBatches } from '../../cli/store/read.ts';
import { Store } from '../../cli/store/store.ts';
import { exportDoc, historyCsv } from '../../shared/export.ts';
import { quantize } from '../../shared/chunk/index.ts';
import type { History } from '../../shared/wire.ts';
import { ROOT, tmp } from '../helpers.ts';

const DAY = 86_400_000;
const FIX = join(ROOT, 'test/fixtures/import');
/** The fixtures are dated 2025: keep everything, so they never age out of the store. */
const KEEP = ['--retention', '36500d', '--retention-1m', '36500d', '--retention-1h', '36500d'];
const RET = { raw: 36500 * DAY, '1m': 36500 * DAY, '1h': 36500 * DAY };
const home = tmp('gpulse-import-home-');
const sleepers: Bun.Subprocess[] = [];
afterAll(() => {
  for (const p of sleepers) p.kill();
});

const ENV = { PATH: process.env.PATH!, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') };

function cli(args: string[]) {
  const r = Bun.spawnSync([process.execPath, join(ROOT, 'cli/main.ts'), 'import', ...args], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe', env: ENV });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

/**
 * The CLI's main() in a fresh process that reports its own peak RSS: VmHWM, the high-water mark
 * of its own address space. (getrusage's maxrss is no good here: Linux carries it across exec
 * from the spawning process, so a child of a big test process reads big whatever it does.)
 */
function cliPeak(args: string[]) {
  const code = `const { main } = await import(${JSON.stringify(join(ROOT, 'cli/main.ts'))});
const c = await main(${JSON.stringify(['import', ...args])});
let kb = process.resourceUsage().maxRSS;
try { kb = Number(/VmHWM:\\s*(\\d+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]); } catch {}
process.stderr.write('peak-rss-kb ' + kb + '\\n');
process.exit(c);`;
  const r = Bun.spawnSync([process.execPath, '-e', code], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe', env: ENV });
  const err = r.stderr.toString();
  return { code: r.exitCode, out: r.stdout.toString(), err, rss: Number(/peak-rss-kb (\d+)/.exec(err)?.[1] ?? NaN) * 1024 };
}

/** Everything the store holds for `keys`, raw rows (NaN = null). */
function readBack(dir: string, keys: string[]) {
  const s = Store.open({ dir, intervalMs: 1000, retentionMs: RET, maxDiskBytes: 1 << 30 });
  try {
    const t: number[] = [],
      cols: number[][] = keys.map(() => []);
    for (const b of rowBatches(s, keys, -Infinity, Infinity)) {
      t.push(...b.t);
      b.cols.forEach((c, j) => cols[j]!.push(...c));
    }
    return { t, cols, lastT: s.lastT };
  } finally {
    s.close();
  }
}

/** A history as an agent's store holds it (quantized at ingest), read back like /v1/history does. */
function storeHistory(n: number, from: number): History {
  const s = Store.open({ dir: null, intervalMs: 1000, retentionMs: RET, maxDiskBytes: 1 << 30 });
  const keys = ['host.cpu.util', 'host.mem.used', 'gpu0.util', 'gpu0.power', 'gpu0.temp', 'gpu1.energy', 'host.load1'];
  s.setKeys(keys);
  const row = new Float64Array(keys.length);
  for (let i = 0; i < n; i++) {
    row[0] = (i * 7.31) % 100;
    row[1] = 3.2e10 + i * 4096;
    row[2] = i % 9 === 0 ? NaN : (i * 13) % 101;
    row[3] = 68.123 + Math.sin(i) * 500;
    row[4] = -5 + (i % 90);
    row[5] = 1e9 + i * 612.345;
    row[6] = i % 5 === 0 ? NaN : 0.001 * i;
    for (let k = 0; k < row.length; k++) row[k] = quantize(row[k]!);
    s.append(from + i * 1000, row);
  }
  const h: History = { t: [], series: Object.fromEntries(keys.map((k) => [k, []])) };
  for (const b of rowBatches(s, keys, -Infinity, Infinity)) {
    h.t.push(...b.t);
    keys.forEach((k, j) => h.series[k]!.push(...Array.from(b.cols[j]!, (v) => (Number.isFinite(v) ? v : null))));
  }
  return h;
}

/** The history's values as the store reads them back (null → NaN). */
const asCols = (h: History) => Object.values(h.series).map((c) => c.map((v) => v ?? NaN));
const keysOf = (h: History) => Object.keys(h.series);

const T0 = Date.UTC(2025, 5, 1, 12); // 1748779200000, what the fixtures use

describe('import: formats round-trip exactly', () => {
  const h = storeHistory(2500, T0); // ~42 min: three sealed 15-min windows and a partial one

  test('gpulse export CSV', () => {
    const dir = tmp();
    const f = join(dir, 'export.csv');
    writeFileSync(f, historyCsv(h));
    const r = cli([f, '--data-dir', join(dir, 'data'), ...KEEP]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('export.csv (csv): imported 2,500 rows');
    expect(r.out).toContain('7 series; skipped 0');
    const back = readBack(join(dir, 'data'), keysOf(h));
    expect(back.t).toEqual(h.t);
    expect(back.cols).toEqual(asCols(h));
  });

  test('gpulse export JSON (exportDoc, as `gpulse export --format json` writes it), and pretty-printed with members reordered', () => {
    const dir = tmp();
    const doc = exportDoc({ hostname: 'box', interval_ms: 1000, series: [{ key: 'x', label: 'y]', unit: '%' }] }, h, [
      { id: 'u-0', t: T0, label: 'run "1" [start]', source: 'user' },
    ]);
    writeFileSync(join(dir, 'a.json'), JSON.stringify(doc) + '\n');
    const { history, ...rest } = doc;
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ history, ...rest }, null, 2));
    for (const f of ['a.json', 'b.json']) {
      const data = join(dir, `data-${f}`);
      const r = cli([join(dir, f), '--data-dir', data, ...KEEP]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toContain(`${f} (gpulse-json): imported 2,500 rows`);
      const back = readBack(data, keysOf(h));
      expect(back.t).toEqual(h.t);
      expect(back.cols).toEqual(asCols(h));
    }
  });

  test("the PWA's JSON export (the same exportDoc; its info is the schema plus hostname, events without ep) and a bare /v1/history body", () => {
    const dir = tmp();
    const small: History = { t: [T0, T0 + 1000, T0 + 2000], series: { 'gpu0.util': [1, null, 3], 'host.cpu.util': [0.5, 0.25, 100] } };
    writeFileSync(
      join(dir, 'pwa.json'),
      JSON.stringify(
        exportDoc({ interval_ms: 1000, hostname: 'box', series: [] }, small, [{ id: 'a-1', t: T0, label: 'gpu_lost', source: 'agent', kind: 'gpu_lost' }]),
      ),
    );
    writeFileSync(join(dir, 'bare.json'), JSON.stringify(small));
    for (const f of ['pwa.json', 'bare.json']) {
      const data = join(dir, `data-${f}`);
      const r = cli([join(dir, f), '--data-dir', data, ...KEEP]);
      expect(r.code).toBe(0);
      const back = readBack(data, ['gpu0.util', 'host.cpu.util']);
      expect(back.t).toEqual(small.t);
      expect(back.cols).toEqual([
        [1, NaN, 3],
        [0.5, 0.25, 100],
      ]);
    }
  });

  test('otto MetricCollector JSON: ticks become rows, labels map to gpulse keys for the first host, the rest keep host/label', () => {
    const dir = tmp();
    const r = cli([join(FIX, 'otto-metrics.json'), '--data-dir', join(dir, 'data'), ...KEEP]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('otto-metrics.json (otto): imported 3 rows, 12 values, 6 series');
    const keys = ['host.cpu.util', 'gpubox/Mem %', 'gpu0.util', 'host.load1', 'router1/CPU %', 'gpubox/fan ° rpm'];
    const back = readBack(join(dir, 'data'), keys);
    expect(back.t).toEqual([T0, T0 + 5250, T0 + 10_000]);
    expect(back.cols).toEqual([
      [12.5, 14, 16],
      [40.25, NaN, NaN],
      [97, 99.12, 100],
      [3.5, 3.75, NaN],
      [5, 6, NaN],
      [NaN, NaN, 1200],
    ]);
  });

  test('otto: epoch seconds or ms (numbers or numeric strings), no host field, extra members ignored; --host picks the mapped host', () => {
    const dir = tmp();
    const r = cli([join(FIX, 'otto-epoch.json'), '--data-dir', join(dir, 'data'), ...KEEP]);
    expect(r.code).toBe(0);
    const back = readBack(join(dir, 'data'), ['host.cpu.util', 'Disk %']);
    expect(back.t).toEqual([T0 + 500, T0 + 1500, T0 + 2500]);
    expect(back.cols).toEqual([
      [1, 2, 3],
      [55.5, 55.6, NaN],
    ]);

    const r2 = cli([join(FIX, 'otto-metrics.json'), '--data-dir', join(dir, 'data2'), '--host', 'router1', ...KEEP]);
    expect(r2.code).toBe(0);
    const back2 = readBack(join(dir, 'data2'), ['host.cpu.util', 'gpubox/CPU %', 'gpubox/GPU 0 %']);
    expect(back2.cols).toEqual([
      [5, 6, NaN],
      [12.5, 14, 16],
      [97, 99.12, 100],
    ]);
  });

  test('unknown keys become series; values are stored at the wire precision; a quoted header key keeps its comma', () => {
    const dir = tmp();
    const f = join(dir, 'x.csv');
    writeFileSync(f, `time,t_ms,my.thing,"odd,key ""q""",gpu7.util\n,${T0},1.23456,123.456,\n,${T0 + 1000},-0.004,7,1234.5\n`);
    const r = cli([f, '--data-dir', join(dir, 'data'), ...KEEP]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('imported 2 rows, 5 values, 3 series');
    const back = readBack(join(dir, 'data'), ['my.thing', 'odd,key "q"', 'gpu7.util']);
    expect(back.cols).toEqual([
      [1.23, 0],
      [123.5, 7],
      [NaN, 1235],
    ]);
  });
});

describe('import: bad rows, overlap, odd files', () => {
  test('a bad row names its file and line; rows before it are kept, nothing of it or after it is stored', () => {
    const dir = tmp();
    const r = cli([join(FIX, 'bad-row.csv'), '--data-dir', join(dir, 'data'), ...KEEP]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('bad-row.csv:5: column "gpu0.util": not a number: "oops"');
    expect(r.err).toContain('the 3 rows before it were imported');
    expect(r.out).toContain('imported 3 rows');
    const back = readBack(join(dir, 'data'), ['host.cpu.util', 'gpu0.util', 'custom.metric']);
    expect(back.t).toEqual([T0, T0 + 1000, T0 + 2000]);
    expect(back.cols).toEqual([
      [10, 11, 12],
      [50, 51, 52],
      [1, NaN, 3],
    ]);
  });

  test('--skip-bad skips and counts the bad row and goes on', () => {
    const dir = tmp();
    const r = cli([join(FIX, 'bad-row.csv'), '--data-dir', join(dir, 'data'), '--skip-bad', ...KEEP]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('bad-row.csv:5: column "gpu0.util": not a number: "oops"; skipped');
    expect(r.out).toContain('imported 4 rows, 11 values, 3 series; skipped 1 (1 bad)');
    const back = readBack(join(dir, 'data'), ['host.cpu.util', 'gpu0.util']);
    expect(back.t).toEqual([T0, T0 + 1000, T0 + 2000, T0 + 4000]);
    expect(back.cols).toEqual([
      [10, 11, 12, 14],
      [50, 51, 52, 54],
    ]);
  });

  test('bad rows in JSON: the row index, line and byte; a short row, a bad time; otto names the record', () => {
    const dir = tmp();
    const doc = {
      format: 'gpulse-export',
      version: 1,
      info: {},
      history: { t: [T0, T0 + 1000, T0 + 2000], series: { a: [1, 2, 3], b: [1, '2', 3] } },
      events: [],
    };
    const text = JSON.stringify(doc, null, 1);
    writeFileSync(join(dir, 'v.json'), text);
    const at = text.indexOf('"2"');
    let r = cli([join(dir, 'v.json'), '--data-dir', join(dir, 'd1'), ...KEEP]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`v.json: row 1 (line ${text.slice(0, at).split('\n').length}, byte ${at}): series "b": not a number: "\\"2\\""`);
    expect(readBack(join(dir, 'd1'), ['a', 'b']).cols).toEqual([[1], [1]]);

    doc.history.series.b = [1, 2];
    writeFileSync(join(dir, 'short.json'), JSON.stringify(doc));
    r = cli([join(dir, 'short.json'), '--data-dir', join(dir, 'd2'), ...KEEP]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('series "b" has 2 values but t has 3');
    expect(readBack(join(dir, 'd2'), ['a']).t).toEqual([]);

    writeFileSync(
      join(dir, 'o.json'),
      '{"metrics": [\n{"timestamp": "2025-06-01T12:00:00Z", "label": "CPU %", "value": 1},\n{"timestamp": "2025-06-01T12:00:01Z", "label": "CPU %", "value": 2},\n{"timestamp": "2025-06-01T12:00:01Z", "label": "Disk %", "value": "full"}\n]}',
    );
    r = cli([join(dir, 'o.json'), '--data-dir', join(dir, 'd3'), ...KEEP]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('o.json: metrics[2] (line 4, byte');
    expect(r.err).toContain('value is a string, not a number');
    // The tick of the bad record is not imported at all (no half row); the tick before is.
    expect(readBack(join(dir, 'd3'), ['host.cpu.util']).t).toEqual([T0]);

    writeFileSync(join(dir, 't.csv'), `time,t_ms,a\n,${T0},1\n,${T0 + 0.5},2\n`);
    r = cli([join(dir, 't.csv'), '--data-dir', join(dir, 'd4'), ...KEEP]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('t.csv:3: time 1748779200000.5 is not an integer number of ms');
    writeFileSync(join(dir, 'f.csv'), `time,t_ms,a,b\n,${T0},1,2\n,${T0 + 1000},1\n`);
    r = cli([join(dir, 'f.csv'), '--data-dir', join(dir, 'd5'), ...KEEP]);
    expect(r.err).toContain('f.csv:3: 3 fields, the header has 4');
  });

  test('a data dir held by a live process is refused with exit 1, and nothing is written', () => {
    const dir = tmp();
    const data = join(dir, 'data');
    mkdirSync(data, { mode: 0o700 });
    const sleeper = Bun.spawn(['sleep', '60']);
    sleepers.push(sleeper);
    writeFileSync(join(data, 'LOCK'), String(sleeper.pid));
    const r = cli([join(FIX, 'bad-row.csv'), '--data-dir', data, ...KEEP]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`import refused: ${data} is in use by process ${sleeper.pid}`);
    expect(r.out).toBe('');
    expect(readFileSync(join(data, 'LOCK'), 'utf8')).toBe(String(sleeper.pid));
    sleeper.kill();
  });

  test('rows at or before the newest stored row are skipped and counted (overlap), as are rows out of order and in the future', () => {
    const dir = tmp();
    const data = join(dir, 'data');
    const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => `,${T0 + (from + i) * 1000},${from + i}`).join('\n');
    writeFileSync(join(dir, 'first.csv'), `time,t_ms,a\n${rows(0, 10)}\n`);
    writeFileSync(join(dir, 'second.csv'), `time,t_ms,a\n${rows(5, 10)}\n,${T0 + 3000},99\n,${Date.now() + 3_600_000},1\n`);
    let r = cli([join(dir, 'first.csv'), '--data-dir', data, ...KEEP]);
    expect(r.code).toBe(0);
    r = cli([join(dir, 'first.csv'), join(dir, 'second.csv'), '--data-dir', data, ...KEEP]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('first.csv (csv): imported 0 rows, 0 values, 1 series; skipped 10 (10 overlap existing history)');
    expect(r.out).toContain(
      'second.csv (csv): imported 5 rows, 5 values, 1 series; skipped 7 (5 overlap existing history, 1 out of order or repeated time, 1 in the future)',
    );
    expect(r.out).toContain('total (2 of 2 files, with opening and sealing the store): imported 5 rows');
    const back = readBack(data, ['a']);
    expect(back.t).toEqual(Array.from({ length: 15 }, (_, i) => T0 + i * 1000));
    expect(back.cols[0]).toEqual(Array.from({ length: 15 }, (_, i) => i));
  });

  test('CRLF line ends and a UTF-8 BOM read the same as LF', () => {
    const dir = tmp();
    const text = `time,t_ms,a,b\n2025-06-01T12:00:00.000Z,${T0},1,2\n2025-06-01T12:00:01.000Z,${T0 + 1000},,4\n`;
    writeFileSync(join(dir, 'crlf.csv'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text.replace(/\n/g, '\r\n'))]));
    writeFileSync(
      join(dir, 'bom.json'),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ t: [T0], series: { a: [1] } }).replace(/,/g, ',\r\n'))]),
    );
    let r = cli([join(dir, 'crlf.csv'), '--data-dir', join(dir, 'd1'), ...KEEP]);
    expect(r.code).toBe(0);
    const back = readBack(join(dir, 'd1'), ['a', 'b']);
    expect(back.t).toEqual([T0, T0 + 1000]);
    expect(back.cols).toEqual([
      [1, NaN],
      [2, 4],
    ]);
    r = cli([join(dir, 'bom.json'), '--data-dir', join(dir, 'd2'), ...KEEP]);
    expect(r.code).toBe(0);
    expect(readBack(join(dir, 'd2'), ['a']).cols).toEqual([[1]]);
  });

  test('a quoted header key spanning lines keeps its newline, and later lines are still numbered as in the file', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'ml.csv'), `time,t_ms,"two\nlines",b\n,${T0},1,2\n,${T0 + 1000},x,2\n`);
    const r = cli([join(dir, 'ml.csv'), '--data-dir', join(dir, 'd'), ...KEEP]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ml.csv:4: column "two\\nlines": not a number: "x"');
    expect(readBack(join(dir, 'd'), ['two\nlines', 'b']).cols).toEqual([[1], [2]]);
  });

  test('JSON: an empty element is a bad row, the columns stay aligned with --skip-bad', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'e.json'), `{"t": [${T0}, ${T0 + 1000}, ${T0 + 2000}], "series": {"a": [1,,3], "b": [4, 5, 6]}}`);
    const r = cli([join(dir, 'e.json'), '--data-dir', join(dir, 'd'), '--skip-bad', ...KEEP]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('e.json: row 1 (line 1, byte');
    expect(r.err).toContain('series "a": missing value; skipped');
    const back = readBack(join(dir, 'd'), ['a', 'b']);
    expect(back.t).toEqual([T0, T0 + 2000]);
    expect(back.cols).toEqual([
      [1, 3],
      [4, 6],
    ]);
  });

  test('a time column only (no t_ms): ISO or epoch ms', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'iso.csv'), `time,a\n2025-06-01T12:00:00.000Z,1\n${T0 + 1000},2\n2025-06-01 14:00:02+02:00,3\n`);
    const r = cli([join(dir, 'iso.csv'), '--data-dir', join(dir, 'd'), ...KEEP]);
    expect(r.code).toBe(0);
    expect(readBack(join(dir, 'd'), ['a']).t).toEqual([T0, T0 + 1000, T0 + 2000]);
  });

  test('an empty file is an error; a header-only file imports nothing and succeeds', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'empty.csv'), '');
    writeFileSync(join(dir, 'blank.csv'), '\n\r\n  \n');
    writeFileSync(join(dir, 'header.csv'), 'time,t_ms,gpu0.util\r\n');
    let r = cli([join(dir, 'empty.csv'), '--data-dir', join(dir, 'd')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('empty.csv: empty file: nothing to import');
    r = cli([join(dir, 'blank.csv'), '--data-dir', join(dir, 'd')]);
    expect(r.code).toBe(1);
    r = cli([join(dir, 'header.csv'), '--data-dir', join(dir, 'd')]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('header.csv (csv): imported 0 rows, 0 values, 1 series; skipped 0');
  });

  test('not an export: a CSV without a time column, JSON of another shape, broken JSON, a missing file', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'other.csv'), 'a,b\n1,2\n');
    writeFileSync(join(dir, 'other.json'), '{"rows": [1, 2]}');
    writeFileSync(join(dir, 'cut.json'), `{"history": {"t": [${T0}, ${T0 + 1000}], "series": {"a": [1, 2`);
    writeFileSync(join(dir, 'v2.json'), '{"format": "gpulse-export", "version": 2, "history": {"t": [], "series": {}}}');
    const cases: [string, string][] = [
      ['other.csv', 'neither a t_ms nor a time column'],
      ['other.json', 'neither "history" (a gpulse export) nor "metrics" (an otto export)'],
      ['cut.json', `cut.json:1 (byte ${readFileSync(join(dir, 'cut.json'), 'utf8').indexOf('[1, 2')}): the file ends inside a value`],
      ['v2.json', 'version 2 is not supported'],
      ['missing.csv', 'missing.csv: cannot read (ENOENT)'],
    ];
    for (const [f, msg] of cases) {
      const r = cli([join(dir, f), '--data-dir', join(dir, 'd')]);
      expect(r.code).toBe(1);
      expect(r.err).toContain(msg);
    }
  });

  test('usage errors exit 2', () => {
    let r = cli([]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('import: FILE is required');
    r = cli(['x.csv', '--bogus']);
    expect(r.code).toBe(2);
    r = cli(['x.csv', '--max-disk', '1MB']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--max-disk: must be at least 16MiB');
  });
});

describe('import: memory stays bounded', () => {
  const KEYS = Array.from({ length: 150 }, (_, i) => `gpu${i % 8}.m${i}`);
  const cell = (k: number, i: number) => String(((i * 31 + k * 17) % 1000) / 10);

  async function write(path: string, parts: () => Generator<string>) {
    const w = Bun.file(path).writer({ highWaterMark: 1 << 20 });
    let s = '';
    for (const p of parts()) {
      s += p;
      if (s.length > 1 << 20) {
        w.write(s);
        s = '';
      }
    }
    w.write(s);
    await w.end();
  }

  /** About `mb` MB of CSV and of columnar JSON (`name`.csv, `name`.json): 150 series at 1 s, ending an hour ago. */
  async function bigFiles(dir: string, name: string, mb: number) {
    const n = Math.round((mb * 1e6) / (40 + KEYS.length * 5));
    const start = Math.floor(Date.now() / 1000) * 1000 - 3_600_000 - n * 1000;
    await write(join(dir, `${name}.csv`), function* () {
      yield `time,t_ms,${KEYS.join(',')}\n`;
      for (let i = 0; i < n; i++) yield `${new Date(start + i * 1000).toISOString()},${start + i * 1000},${KEYS.map((_, k) => cell(k, i)).join(',')}\n`;
    });
    await write(join(dir, `${name}.json`), function* () {
      yield '{"format":"gpulse-export","version":1,"info":{},"history":{"t":[';
      for (let i = 0; i < n; i++) yield `${i ? ',' : ''}${start + i * 1000}`;
      yield '],"series":{';
      for (let k = 0; k < KEYS.length; k++) {
        yield `${k ? ',' : ''}"${KEYS[k]}":[`;
        for (let i = 0; i < n; i++) yield `${i ? ',' : ''}${cell(k, i)}`;
        yield ']';
      }
      yield '}},"events":[]}';
    });
    return n;
  }

  test('60 MB of CSV or columnar JSON: peak RSS under 128 MiB, growth well below the file size and no more than for a 15 MB file', async () => {
    const dir = tmp();
    const rows = { small: await bigFiles(dir, 'small', 15), big: await bigFiles(dir, 'big', 60) };
    writeFileSync(join(dir, 'tiny.csv'), `time,t_ms,a\n,${Date.now() - 60_000},1\n`);
    const base = cliPeak([join(dir, 'tiny.csv'), '--data-dir', join(dir, 'd0')]).rss;
    const MiB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
    const report: string[] = [`baseline ${MiB(base)}`];
    for (const ext of ['csv', 'json']) {
      const peak: Record<string, number> = {};
      for (const name of ['small', 'big'] as const) {
        const f = join(dir, `${name}.${ext}`);
        const r = cliPeak([f, '--data-dir', join(dir, `d-${name}-${ext}`)]);
        expect(r.code).toBe(0);
        expect(r.out).toContain(`imported ${rows[name].toLocaleString('en-US')} rows, ${(rows[name] * KEYS.length).toLocaleString('en-US')} values`);
        peak[name] = r.rss;
        report.push(`${name}.${ext} ${(statSync(f).size / 1e6).toFixed(0)} MB: ${MiB(r.rss)}`);
      }
      const size = statSync(join(dir, `big.${ext}`)).size;
      expect(peak.big!).toBeLessThan(128 * 2 ** 20);
      // The working set over a tiny import (read buffers, the store's open windows): bounded, not a share of the file.
      expect(peak.big! - base).toBeLessThan(Math.min(48 * 2 ** 20, size));
      // Streaming: four times the file, (nearly) the same memory.
      expect(peak.big! - peak.small!).toBeLessThan(16 * 2 ** 20);
    }
    const back = readBack(join(dir, 'd-big-json'), [KEYS[3]!]);
    expect(back.t.length).toBe(rows.big);
    expect(back.cols[0]![rows.big - 1]).toBe(Number(cell(3, rows.big - 1)));
    console.log(`import peak RSS (VmHWM): ${report.join('; ')}`);
    rmSync(dir, { recursive: true, force: true });
  }, 300_000);
});

describe('import: killed', () => {
  test('SIGKILL while the log is being written, then the same import again: every row stored once (the log held whole rows only)', async () => {
    const dir = tmp();
    const data = join(dir, 'data');
    const file = join(dir, 'otto.json');
    // 12 series: 113-byte log rows, so a 64 KiB batch fills well inside a 900-row window (3 series would never reach the log).
    const labels = ['CPU %', 'Mem %', 'Load 1m', 'Load 5m', ...Array.from({ length: 8 }, (_, g) => `GPU ${g} %`)];
    const keys = ['host.cpu.util', 'gpubox/Mem %', 'host.load1', 'host.load5', ...Array.from({ length: 8 }, (_, g) => `gpu${g}.util`)];
    const ticks = 30_000;
    const value = (l: number, i: number) => ((i * 7 + l * 13) % 1000) / 10;
    const w = Bun.file(file).writer({ highWaterMark: 1 << 20 });
    w.write('{"metrics": [');
    for (let i = 0; i < ticks; i++) {
      const ts = new Date(T0 + i * 1000).toISOString().replace('Z', '+00:00');
      w.write(labels.map((l, k) => `${i || k ? ', ' : ''}{"timestamp": "${ts}", "host": "gpubox", "label": "${l}", "value": ${value(k, i)}}`).join(''));
    }
    w.write('], "events": []}\n');
    await w.end();

    const first = Bun.spawn([process.execPath, join(ROOT, 'cli/main.ts'), 'import', file, '--data-dir', data, ...KEEP], {
      cwd: ROOT,
      stdout: 'pipe',
      stderr: 'pipe',
      env: ENV,
    });
    // Kill it once the log has its first batch (~580 ticks in), long before the import can end.
    let killed = false;
    for (let i = 0; i < 20_000 && first.exitCode === null; i++) {
      let size = 0;
      try {
        size = statSync(join(data, 'wal')).size;
      } catch {
        /* not created yet */
      }
      if (size > 0) {
        first.kill('SIGKILL');
        killed = true;
        break;
      }
      await Bun.sleep(1);
    }
    await first.exited;
    expect(killed).toBe(true);
    expect(first.signalCode).toBe('SIGKILL');

    const r = cli([file, '--data-dir', data, ...KEEP]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const back = readBack(data, keys);
    expect(back.t.length).toBe(ticks);
    expect(back.t[0]).toBe(T0);
    expect(back.t[ticks - 1]).toBe(T0 + (ticks - 1) * 1000);
    for (let k = 0; k < labels.length; k++) {
      const want = Array.from({ length: ticks }, (_, i) => value(k, i));
      expect(back.cols[k]!.every((v, i) => v === want[i])).toBe(true);
    }
    // The rerun stored what the kill lost, and nothing twice.
    const stored = Number(/imported ([\d,]+) rows/.exec(r.out)![1]!.replace(/,/g, ''));
    const skipped = Number(/(\d[\d,]*) overlap existing history/.exec(r.out)?.[1]?.replace(/,/g, '') ?? '0');
    expect(stored + skipped).toBe(ticks);
    expect(stored).toBeGreaterThan(0);
    // What the killed import had logged survived it: the rerun found those rows stored.
    expect(skipped).toBeGreaterThan(0);
  });
});
