/**
 * `gpulse import FILE… [--data-dir DIR] [--interval DUR] [--retention…] [--max-disk SIZE] [--skip-bad] [--host NAME]`
 *
 * Reads history files into the agent's store, streaming (a chunk at a time, whatever the size):
 * `gpulse export` CSV and JSON, the PWA's exports (the same formats), and otto MetricCollector JSON.
 * The agent must be stopped (the store's LOCK). Rows at or before the store's newest row are
 * skipped and counted (the store only appends). The first bad row stops the import, keeping the
 * rows before it; --skip-bad skips and counts bad rows instead. Exit 0, 1 on a bad file or row,
 * 2 on a usage error.
 */
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { formatDuration, formatSize } from '../../shared/duration.ts';
import { serveConfig, UsageError, type ParsedValue } from '../args.ts';
import { FileFormatError, lineAt, StreamReader } from '../import/bytes.ts';
import { importCsv } from '../import/csv.ts';
import { importJson } from '../import/document.ts';
import { BadRowError, newStats, Sink, type FileStats } from '../import/sink.ts';
import { stateDir } from '../paths.ts';
import { Store, StoreLockedError } from '../store/store.ts';

/**
 * The import's write-ahead log goes out in writes of this size, not one per row (a write per row
 * was over a third of an otto import's time): a killed import loses at most the rows of this
 * many bytes (~250 otto ticks of 30 series, ~50 rows of 165), which a rerun stores.
 */
const WAL_BATCH_BYTES = 64 << 10;

const out = (m: string) => process.stdout.write(`${m}\n`);
const err = (m: string) => process.stderr.write(`gpulse: ${m}\n`);

export async function importCommand(files: string[], flags: Record<string, ParsedValue>): Promise<number> {
  if (!files.length)
    throw new UsageError('import: FILE is required, e.g. gpulse import history.csv (gpulse export CSV/JSON, PWA export, otto MetricCollector JSON)');
  const cfg = serveConfig(flags, { hostname: '', dataDir: stateDir() });
  const host = (flags.host as string | undefined) ?? null;
  if (host === '') throw new UsageError('--host: must not be empty');
  for (const f of files) {
    let st;
    try {
      st = statSync(f);
    } catch (e) {
      err(`${f}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      return 1;
    }
    if (!st.isFile()) {
      err(`${f}: not a file`);
      return 1;
    }
  }
  const dir = cfg.dataDir!;
  let store: Store;
  try {
    store = Store.open({
      dir,
      intervalMs: cfg.intervalMs,
      maxDiskBytes: cfg.maxDiskBytes,
      walBatchBytes: WAL_BATCH_BYTES,
      retentionMs: { raw: cfg.retentionMs, '1m': cfg.retention1mMs, '1h': cfg.retention1hMs },
      log: (m) => err(`warning: ${m}`),
    });
  } catch (e) {
    if (e instanceof StoreLockedError) {
      err(`import refused: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (store.state.kind === 'memory_only') {
    store.close();
    err(`import refused: ${store.state.reason}`);
    return 1;
  }

  const sink = new Sink(store, {
    skipBad: flags['skip-bad'] === true,
    now: Date.now(),
    retentionMs: { raw: cfg.retentionMs, '1m': cfg.retention1mMs, '1h': cfg.retention1hMs },
    warn: err,
  });
  const done: FileStats[] = [];
  let failed = false;
  const t0 = performance.now();
  try {
    for (const f of files) {
      const stats = sink.beginFile(f);
      const t1 = performance.now();
      try {
        await importFile(f, sink, host);
      } catch (e) {
        if (e instanceof BadRowError) stats.error = `${e.where}: ${e.why}`;
        else if (e instanceof FileFormatError) stats.error = `${f}${e.offset !== null ? `:${lineAt(f, e.offset)} (byte ${e.offset})` : ''}: ${e.message}`;
        else throw e;
      }
      stats.ms = performance.now() - t1;
      done.push(stats);
      out(summary(stats, basename(f), cfg.retentionMs));
      if (stats.error) {
        failed = true;
        const kept = stats.rows
          ? `the ${count(stats.rows, 'row')} before it ${stats.rows === 1 ? 'was' : 'were'} imported`
          : 'no rows of this file were imported';
        err(
          `${stats.error}\n  ${sink.o.skipBad ? `${kept}; this file stopped there` : `import stopped: ${kept}, nothing after it (--skip-bad skips bad rows instead)`}`,
        );
        if (!sink.o.skipBad) break;
      }
    }
  } finally {
    store.flushAll();
    store.close();
  }
  const total = done.reduce((a, s) => {
    for (const k of ['rows', 'values', 'overlap', 'order', 'future', 'expired', 'bad', 'rollupOnly', 'hourOnly'] as const) a[k] += s[k];
    a.series = Math.max(a.series, s.series);
    return a;
  }, newStats('total'));
  total.ms = performance.now() - t0;
  out(
    summary(total, `total (${done.length} of ${files.length} ${files.length === 1 ? 'file' : 'files'}, with opening and sealing the store)`, cfg.retentionMs),
  );
  const st = store.state;
  if (st.kind === 'disk_full' || st.kind === 'write_error') {
    err(`writing ${dir} failed (${st.message}): the imported history is not all on disk`);
    return 1;
  }
  if (!failed && total.rows) out(`history in ${dir} (${formatSize(store.diskBytes)} on disk); start the agent to serve it`);
  return failed ? 1 : 0;
}

/** Sniffs the first bytes: a JSON object, or CSV. Skips a UTF-8 byte-order mark. */
async function importFile(path: string, sink: Sink, host: string | null) {
  const r = new StreamReader(path);
  try {
    while (r.end - r.pos < 3 && (await r.fill(r.pos)));
    if (r.buf[r.pos] === 0xef && r.buf[r.pos + 1] === 0xbb && r.buf[r.pos + 2] === 0xbf) r.pos += 3;
    let c = -1;
    for (;;) {
      while (r.pos < r.end && (r.buf[r.pos] === 32 || r.buf[r.pos] === 9 || r.buf[r.pos] === 10 || r.buf[r.pos] === 13)) r.pos++;
      if (r.pos < r.end) {
        c = r.buf[r.pos]!;
        break;
      }
      if (!(await r.fill())) break;
    }
    if (c < 0) throw new FileFormatError('empty file: nothing to import');
    if (c === 123 /* { */) await importJson(r, sink, path, path, { host });
    else if (c === 91 /* [ */) throw new FileFormatError('a JSON array: expected a gpulse export or an otto export (an object)');
    else await importCsv(r, sink, path);
  } finally {
    r.close();
  }
}

const num = (n: number) => n.toLocaleString('en-US');
const count = (n: number, what: string) => `${num(n)} ${what}${n === 1 ? '' : 's'}`;
const rate = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));

/** One line: what was imported, what was skipped and why, how fast. */
export function summary(s: FileStats, name = basename(s.file), rawRetentionMs = 0): string {
  const sec = s.ms / 1000;
  const skipped: string[] = [];
  if (s.overlap) skipped.push(`${num(s.overlap)} overlap existing history`);
  if (s.order) skipped.push(`${num(s.order)} out of order or repeated time`);
  if (s.future) skipped.push(`${num(s.future)} in the future`);
  if (s.expired) skipped.push(`${num(s.expired)} older than --retention-1h`);
  if (s.bad) skipped.push(`${num(s.bad)} bad`);
  const n = skipped.length ? s.overlap + s.order + s.future + s.expired + s.bad : 0;
  return (
    `${name}${s.format !== '?' && s.file !== 'total' ? ` (${s.format})` : ''}: imported ${count(s.rows, 'row')}, ${count(s.values, 'value')}, ${num(s.series)} series` +
    `; skipped ${num(n)}${n ? ` (${skipped.join(', ')})` : ''}` +
    (s.rollupOnly
      ? `; ${count(s.rollupOnly, 'row')} older than --retention${rawRetentionMs ? ` (${formatDuration(rawRetentionMs)})` : ''} will keep only rollups${s.hourOnly ? ` (${num(s.hourOnly)} older than --retention-1m: 1-hour only)` : ''}`
      : '') +
    `; ${sec.toFixed(2)}s, ${rate(sec > 0 ? s.values / sec : 0)} values/s` +
    (s.error ? '; stopped at an error' : '')
  );
}
