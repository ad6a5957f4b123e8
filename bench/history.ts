/**
 * The stored history as a process serves it (dist/gpulse, 8 fake GPUs at 1 s), over data dirs
 * filled once per size with synthetic history (24 h; 30 d with raw kept 30 d):
 *   - disk bytes per stored value, per tier, per series and per series class (segment files read
 *     while the agent is stopped, and /v1/info storage.bytes ÷ (buffer.count × series));
 *   - /v1/history per tier: latency, bytes, peak RSS growth (VmHWM reset before each request);
 *   - ten concurrent full-range raw reads: RSS growth, and whether the sampler missed ticks
 *     meanwhile (a live stream client's frame ids, and the rows /v1/history holds for the window);
 *   - /v1/stream?since=<24 h ago> replay: time to drain, RSS growth, ten at once;
 *   - /v1/history/chunks over the raw 24 h: bytes per value, time;
 *   - startup with 30 d stored (spawn → serving, spawn → first new sample) next to an empty dir.
 * usage: bun bench/history.ts [--reps 3] [--bin dist/gpulse]
 */
import { closeSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { dirLength, GROUP_PREFIX, parseDir } from '../cli/store/group.ts';
import { readAt } from '../cli/store/segments.ts';
import { auth, startAgent, tmp, type RunningAgent } from '../test/helpers.ts';
import { agentCommand, arg, dropOwned, FILLS, filledDir, gpuEnv, machine, peakMiB, pctl, ratios, resetPeak, rssMiB, summary, type FillSize } from './stats.ts';

const REPS = Number(arg('reps', '3'));
const DAY = 86_400_000;
const { cmd, label } = agentCommand();
const out: Record<string, unknown> = { machine: machine(), bin: label, reps: REPS, loadavg_start: readFileSync('/proc/loadavg', 'utf8').trim() };
const log = (m: string) => console.error(`  history: ${m}`);

const fills = { '24h': await filledDir('24h', cmd), '30d': await filledDir('30d', cmd) };
out.fill_s = { '24h': fills['24h'].fill_s, '30d': fills['30d'].fill_s };
const scratch: string[] = [];
const fresh = () => {
  const d = tmp('gpulse-bench-');
  scratch.push(d);
  return d;
};
const start = (size: FillSize | null, extra: string[] = []) =>
  startAgent(size ? [...FILLS[size].args, ...extra] : ['--interval', '1s', '--gpu', 'nvml', ...extra], gpuEnv(8), {
    dir: size ? fills[size].dir : fresh(),
    ...(cmd ? { bin: cmd } : {}),
  });
const info = async (a: RunningAgent) => (await fetch(`${a.url}/v1/info`, auth(a.token))).json();

// ---------------------------------------------------------------- disk bytes per stored value

/** Every group of every segment file of a tier (read-only; the agent is stopped). */
function scanTier(stateDir: string, tier: string) {
  const r = { files: 0, bytes: 0, groups: 0, rows: 0, values: 0, perKey: new Map<string, { bytes: number; values: number }>() };
  let names: string[] = [];
  try {
    names = readdirSync(join(stateDir, tier)).filter((n) => n.endsWith('.seg'));
  } catch {
    return r;
  }
  for (const name of names) {
    const fd = openSync(join(stateDir, tier, name), 'r');
    try {
      r.files++;
      let o = 0;
      for (;;) {
        const dl = dirLength(readAt(fd, GROUP_PREFIX, o));
        if (dl === null) break;
        const p = parseDir(readAt(fd, GROUP_PREFIX + dl + 4, o));
        if (!p.ok) break;
        const d = p.dir;
        r.groups++;
        r.rows += d.rows;
        r.bytes += d.size;
        r.values += d.rows * d.chunks.size;
        for (const [k, [, len]] of d.chunks) {
          const x = r.perKey.get(k) ?? { bytes: 0, values: 0 };
          x.bytes += len;
          x.values += d.rows;
          r.perKey.set(k, x);
        }
        o += d.size;
      }
    } finally {
      closeSync(fd);
    }
  }
  return r;
}

/** Series classes by what the synthetic generator (cli/store/synthetic.ts) makes of each metric. */
const CLASS: Record<string, 'constant' | 'smooth' | 'noisy'> = {
  'mem.total': 'constant',
  'swap.total': 'constant',
  'power.limit': 'constant',
  'clock.mem': 'constant',
  'enc.util': 'constant',
  'dec.util': 'constant',
  fan: 'constant',
  temp: 'smooth',
  'mem.used': 'smooth',
  energy: 'smooth',
  uptime: 'smooth',
  load1: 'smooth',
  load5: 'smooth',
  load15: 'smooth',
};
const metricOf = (key: string) => key.replace(/^(host|gpu\d+)\./, '').replace(/^cpu\d+\./, 'cpuN.');

const disk: Record<string, unknown> = {};
for (const size of ['24h', '30d'] as FillSize[]) {
  const state = join(fills[size].dir, 'state');
  const tiers: Record<string, unknown> = {};
  let perKey: Map<string, { bytes: number; values: number }> | null = null;
  for (const tier of ['raw', '1m', '1h']) {
    const s = scanTier(state, tier);
    if (tier === 'raw') perKey = s.perKey;
    // A rollup "value" is one series' bucket (avg, min, max and count together).
    tiers[tier] = { files: s.files, groups: s.groups, rows: s.rows, bytes: s.bytes, bytes_per_value: s.values ? +(s.bytes / s.values).toFixed(3) : null };
  }
  let wal = 0;
  try {
    wal = readFileSync(join(state, 'wal')).byteLength;
  } catch {
    /* none */
  }
  const entry: Record<string, unknown> = { tiers, wal_bytes: wal };
  if (size === '24h' && perKey) {
    const byMetric = new Map<string, { bytes: number; values: number }>();
    const byClass = new Map<string, { bytes: number; values: number; series: number }>();
    for (const [k, x] of perKey) {
      const m = metricOf(k);
      const a = byMetric.get(m) ?? { bytes: 0, values: 0 };
      a.bytes += x.bytes;
      a.values += x.values;
      byMetric.set(m, a);
      const c = CLASS[m.replace(/^cpuN\./, '')] ?? 'noisy';
      const b = byClass.get(c) ?? { bytes: 0, values: 0, series: 0 };
      b.bytes += x.bytes;
      b.values += x.values;
      b.series++;
      byClass.set(c, b);
    }
    entry.raw_bytes_per_value_by_metric = Object.fromEntries(
      [...byMetric].sort((p, q) => p[1].bytes / p[1].values - q[1].bytes / q[1].values).map(([m, x]) => [m, +(x.bytes / x.values).toFixed(3)]),
    );
    entry.raw_by_class = Object.fromEntries(
      [...byClass].map(([c, x]) => [
        c,
        {
          series: x.series,
          bytes_per_value: +(x.bytes / x.values).toFixed(3),
          share_of_bytes: +(x.bytes / [...byClass.values()].reduce((s, y) => s + y.bytes, 0)).toFixed(3),
        },
      ]),
    );
  }
  disk[size] = entry;
}

// ---------------------------------------------------------------- a live client and its frame ids

interface Live {
  ids: number[];
  arrivals: number[];
  ac: AbortController;
  error: string | null;
}
/** Reads /v1/stream live, keeping each sample frame's id (its tick time) and when it arrived. */
function liveClient(a: RunningAgent): Live {
  const l: Live = { ids: [], arrivals: [], ac: new AbortController(), error: null };
  void (async () => {
    try {
      const res = await fetch(`${a.url}/v1/stream`, { ...auth(a.token), signal: l.ac.signal });
      const dec = new TextDecoder();
      let buf = '';
      for await (const c of res.body as ReadableStream<Uint8Array>) {
        const now = Date.now();
        buf += dec.decode(c, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const m = /^id: (\d+)\nevent: sample$/m.exec(buf.slice(0, i));
          if (m) {
            l.ids.push(Number(m[1]));
            l.arrivals.push(now);
          }
          buf = buf.slice(i + 2);
        }
      }
      if (!l.ac.signal.aborted) l.error = 'stream ended';
    } catch (e) {
      if (!l.ac.signal.aborted) l.error = (e as Error).message;
    }
  })();
  return l;
}

/** Ticks missing from the live stream over [from, to], and how late frames arrived (arrival − tick). */
function ticksIn(l: Live, from: number, to: number, intervalMs = 1000) {
  const idx = l.ids.map((t, i) => [t, i] as const).filter(([t]) => t >= from && t <= to);
  let missed = 0;
  for (let j = 1; j < idx.length; j++) missed += Math.round((idx[j]![0] - idx[j - 1]![0]) / intervalMs) - 1;
  const late = idx.map(([t, i]) => l.arrivals[i]! - t);
  return {
    frames: idx.length,
    expected: Math.floor(to / intervalMs) - Math.ceil(from / intervalMs) + 1,
    missed_between_frames: missed,
    late_ms: late.length ? { p50: pctl(late, 50), p99: pctl(late, 99), max: Math.max(...late) } : null,
  };
}

/** Rows /v1/history holds for [from, to] (one series), against the ticks that fall in it. */
async function rowsIn(a: RunningAgent, from: number, to: number) {
  const h = await (await fetch(`${a.url}/v1/history?since=${from}&until=${to}&keys=host.uptime`, auth(a.token))).json();
  return { rows: h.t.length as number, expected: Math.floor(to / 1000) - Math.ceil(from / 1000) + 1 };
}

// ---------------------------------------------------------------- requests

/** One GET read to the end: ms, bytes, tier header, whether the body ended as a whole document does. */
async function get(a: RunningAgent, path: string) {
  const t0 = performance.now();
  const res = await fetch(a.url + path, auth(a.token));
  let bytes = 0,
    tail = new Uint8Array(0);
  for await (const c of res.body as ReadableStream<Uint8Array>) {
    bytes += c.byteLength;
    if (c.byteLength) tail = c.slice(-16);
  }
  const end = new TextDecoder().decode(tail);
  const complete = path.startsWith('/v1/history?') || path === '/v1/history' ? /"tier":"(raw|1m|1h)"\}$/.test(end) : res.ok;
  return { ms: performance.now() - t0, bytes, status: res.status, tier: res.headers.get('x-gpulse-tier'), complete };
}

/**
 * Runs `fn` with the agent's peak RSS reset first: RSS before, peak during, growth, and the ticks
 * the sampler missed while it ran (rows /v1/history holds for the window against the whole
 * seconds in it; rows are stamped on the second, so the count is exact).
 */
async function measure<T>(
  a: RunningAgent,
  fn: () => Promise<T>,
): Promise<{ r: T; rss_before: number; peak: number; growth: number; from: number; to: number; missed_ticks: number; window_ticks: number }> {
  const pid = a.proc.pid;
  await Bun.sleep(1500); // let the previous request's garbage go and a tick pass
  const before = rssMiB(pid);
  if (!resetPeak(pid)) throw new Error('cannot reset VmHWM (needs /proc/PID/clear_refs)');
  const from = Date.now();
  const r = await fn();
  const to = Date.now();
  const peak = peakMiB(pid);
  await Bun.sleep(1200); // the tick stamped just before `to` is stored by now
  const rows = await rowsIn(a, from, to);
  return {
    r,
    rss_before: +before.toFixed(1),
    peak: +peak.toFixed(1),
    growth: +(peak - before).toFixed(1),
    from,
    to,
    missed_ticks: rows.expected - rows.rows,
    window_ticks: rows.expected,
  };
}

const showPath = (path: string) => path.replace(/\d{13}/g, (t) => `<${((Number(t) - Date.now()) / 3_600_000).toFixed(1)} h>`);

/** A query repeated: latency, bytes, tier, RSS growth, ticks missed (each a summary over reps). */
async function query(a: RunningAgent, path: string, reps: number) {
  await get(a, path); // warm-up (page cache, directory cache)
  const ms: number[] = [],
    growth: number[] = [],
    missed: number[] = [];
  let last = { bytes: 0, tier: null as string | null, status: 0, complete: false };
  for (let i = 0; i < reps; i++) {
    const p = await measure(a, () => get(a, path));
    ms.push(p.r.ms);
    growth.push(p.growth);
    missed.push(p.missed_ticks);
    last = p.r;
  }
  return {
    path: showPath(path),
    status: last.status,
    complete: last.complete,
    tier: last.tier,
    bytes: last.bytes,
    ms: summary(ms, 1),
    rss_growth_mib: summary(growth, 1),
    missed_ticks: summary(missed, 0),
  };
}

/** /v1/stream?since=…: reads until the replay has caught up with the time the stream was opened. */
async function replay(a: RunningAgent, since: number, countFrames: boolean) {
  const t0 = performance.now();
  const opened = Date.now();
  const ac = new AbortController();
  const res = await fetch(`${a.url}/v1/stream?since=${since}`, { ...auth(a.token), signal: ac.signal });
  const dec = new TextDecoder('latin1');
  let bytes = 0,
    frames = 0,
    prev = 0,
    caughtUp = false;
  try {
    for await (const c of res.body as ReadableStream<Uint8Array>) {
      bytes += c.byteLength;
      if (countFrames)
        for (let i = 0; i < c.length; i++) {
          if (c[i] === 10 && prev === 10) frames++;
          prev = c[i]!;
        }
      const tail = dec.decode(c.subarray(Math.max(0, c.length - 4096)));
      const i = tail.lastIndexOf('id: ');
      if (i >= 0 && Number(tail.slice(i + 4, tail.indexOf('\n', i))) >= opened - 1000) {
        caughtUp = true;
        break;
      }
    }
  } catch {
    /* dropped */
  }
  ac.abort();
  return { ms: performance.now() - t0, bytes, frames: countFrames ? frames : null, caught_up: caughtUp };
}

// ---------------------------------------------------------------- 24 h stored

{
  log('24 h stored: queries');
  const a = await start('24h');
  const live = liveClient(a);
  await Bun.sleep(5000);
  const i0 = await info(a);
  const series = i0.series.length as number;
  const q: Record<string, unknown> = {
    stored: {
      rows: i0.buffer.count,
      series,
      storage_bytes: i0.storage.bytes,
      storage_bytes_per_raw_value: +(i0.storage.bytes / (i0.buffer.count * series)).toFixed(3),
    },
  };
  const now = () => Date.now();
  // The newest 5 minutes of rows (300 at 1 s): `limit` rather than `since`, because a reused data dir
  // has a gap between the fill and this run, so the last 5 minutes of wall clock hold fewer rows.
  q.last_300_rows_raw = await query(a, '/v1/history?limit=300', 5);
  q.step_60s_24h = await query(a, `/v1/history?since=${now() - DAY}&step=60000`, 5);
  q.max_points_2000 = await query(a, '/v1/history?max_points=2000', REPS);
  q.max_points_1440 = await query(a, '/v1/history?max_points=1440', REPS);

  // Full-range raw reads of every series, in alternation with the same range as stored chunks.
  log('24 h stored: full-range reads');
  const full = { ms: [] as number[], growth: [] as number[], missed: [] as number[], window: [] as number[], complete: [] as boolean[], bytes: 0 };
  const chunks = { ms: [] as number[], growth: [] as number[], missed: [] as number[], bytes: 0 };
  let rows = 0;
  await get(a, '/v1/history');
  await get(a, '/v1/history/chunks');
  for (let i = 0; i < REPS; i++) {
    const f = await measure(a, () => get(a, '/v1/history'));
    full.ms.push(f.r.ms);
    full.growth.push(f.growth);
    full.missed.push(f.missed_ticks);
    full.window.push(f.window_ticks);
    full.complete.push(f.r.complete);
    full.bytes = f.r.bytes;
    rows = (await info(a)).buffer.count;
    const c = await measure(a, () => get(a, '/v1/history/chunks'));
    chunks.ms.push(c.r.ms);
    chunks.growth.push(c.growth);
    chunks.missed.push(c.missed_ticks);
    chunks.bytes = c.r.bytes;
  }
  q.full_raw_all_series = {
    bytes: full.bytes,
    rows,
    values: rows * series,
    complete: full.complete.every(Boolean),
    ms: summary(full.ms, 0),
    mvalues_per_s: +((rows * series) / summary(full.ms).median / 1000).toFixed(2),
    rss_growth_mib: summary(full.growth, 1),
    missed_ticks: summary(full.missed, 0),
    ticks_in_window: summary(full.window, 0),
  };
  q.chunks_raw_all = {
    bytes: chunks.bytes,
    bytes_per_value: +(chunks.bytes / (rows * series)).toFixed(3),
    ms: summary(chunks.ms, 0),
    rss_growth_mib: summary(chunks.growth, 1),
    missed_ticks: summary(chunks.missed, 0),
    json_vs_chunks_time: ratios(full.ms, chunks.ms, 1),
    json_vs_chunks_bytes: +(full.bytes / chunks.bytes).toFixed(1),
  };

  // Ten at once: RSS growth, ticks missed (stored rows), and how late the live client's frames came.
  const concurrent = async (what: string, one: () => Promise<{ ms: number; ok: boolean }>) => {
    log(`24 h stored: ten concurrent ${what}`);
    const runs: unknown[] = [];
    for (let i = 0; i < REPS; i++) {
      const p = await measure(a, () => Promise.all(Array.from({ length: 10 }, one)));
      runs.push({
        wall_ms: p.to - p.from,
        each_ms: summary(
          p.r.map((x) => x.ms),
          0,
        ),
        all_complete: p.r.every((x) => x.ok),
        rss_before: p.rss_before,
        peak: p.peak,
        rss_growth_mib: p.growth,
        missed_ticks: p.missed_ticks,
        ticks_in_window: p.window_ticks,
        live_stream: ticksIn(live, p.from, p.to),
      });
    }
    return runs;
  };
  q.ten_concurrent_full_raw = await concurrent('full-range reads', async () => {
    const r = await get(a, '/v1/history');
    return { ms: r.ms, ok: r.complete };
  });

  // Stream replay of the last 24 h.
  log('24 h stored: stream replays');
  const rep = { ms: [] as number[], growth: [] as number[], missed: [] as number[], bytes: 0, frames: null as number | null, caught_up: [] as boolean[] };
  for (let i = 0; i < REPS; i++) {
    const p = await measure(a, () => replay(a, Date.now() - DAY, true));
    rep.ms.push(p.r.ms);
    rep.growth.push(p.growth);
    rep.missed.push(p.missed_ticks);
    rep.bytes = p.r.bytes;
    rep.frames = p.r.frames;
    rep.caught_up.push(p.r.caught_up);
  }
  q.replay_24h = {
    bytes: rep.bytes,
    frames: rep.frames,
    all_caught_up: rep.caught_up.every(Boolean),
    ms: summary(rep.ms, 0),
    rss_growth_mib: summary(rep.growth, 1),
    missed_ticks: summary(rep.missed, 0),
    replay_vs_full_raw_json_time: +(summary(rep.ms).median / summary(full.ms).median).toFixed(2),
  };
  q.ten_concurrent_replays_24h = await concurrent('stream replays', async () => {
    const r = await replay(a, Date.now() - DAY, false);
    return { ms: r.ms, ok: r.caught_up };
  });
  q.live_client_error = live.error;
  live.ac.abort();
  q.final_info = { clients: (await info(a)).clients, rss_mib: +rssMiB(a.proc.pid).toFixed(1) };
  await a.stop();
  out.stored_24h = q;
}

// ---------------------------------------------------------------- 30 d stored: startup, then the long tiers

{
  log('30 d stored: startup');
  /** spawn → serving (store opened, server listening) and spawn → first new sample stored. */
  const startup = async (size: FillSize | null) => {
    const t0 = performance.now(),
      wall0 = Date.now();
    const a = await start(size);
    const serving = performance.now() - t0;
    for (;;) {
      const i = await info(a);
      if ((i.buffer.newest ?? 0) >= wall0) break;
      await Bun.sleep(5);
    }
    const first = performance.now() - t0;
    const peak = peakMiB(a.proc.pid);
    return { a, serving, first, peak };
  };
  const s: Record<string, number[]> = { serving_30d: [], first_30d: [], peak_30d: [], serving_empty: [], first_empty: [], peak_empty: [] };
  for (let i = 0; i < REPS; i++) {
    for (const size of [null, '30d'] as const) {
      const r = await startup(size);
      const k = size ? '30d' : 'empty';
      s[`serving_${k}`]!.push(r.serving);
      s[`first_${k}`]!.push(r.first);
      s[`peak_${k}`]!.push(r.peak);
      await r.a.stop();
    }
  }
  out.startup = {
    note: 'first sample: the first tick is on the next whole second after the sampler starts, so it adds 0–1000 ms of waiting to the time to serving',
    spawn_to_serving_ms: {
      empty: summary(s.serving_empty!, 0),
      stored_30d: summary(s.serving_30d!, 0),
      ratio_30d_to_empty: ratios(s.serving_30d!, s.serving_empty!, 2),
    },
    spawn_to_first_sample_ms: {
      empty: summary(s.first_empty!, 0),
      stored_30d: summary(s.first_30d!, 0),
      ratio_30d_to_empty: ratios(s.first_30d!, s.first_empty!, 2),
    },
    peak_rss_at_startup_mib: { empty: summary(s.peak_empty!, 1), stored_30d: summary(s.peak_30d!, 1) },
  };

  log('30 d stored: queries');
  const a = await start('30d');
  await Bun.sleep(5000);
  const i0 = await info(a);
  const q: Record<string, unknown> = { stored: { rows: i0.buffer.count, series: i0.series.length, storage_bytes: i0.storage.bytes, tiers: i0.tiers } };
  q.step_1h_30d = await query(a, `/v1/history?since=${Date.now() - 30 * DAY}&step=3600000`, 5);
  q.step_60s_30d = await query(a, `/v1/history?since=${Date.now() - 30 * DAY}&step=60000`, REPS);
  q.max_points_2000 = await query(a, '/v1/history?max_points=2000', REPS);
  q.last_300_rows_raw = await query(a, '/v1/history?limit=300', 5);
  q.step_60s_24h = await query(a, `/v1/history?since=${Date.now() - DAY}&step=60000`, 5);
  q.rss_after_mib = +rssMiB(a.proc.pid).toFixed(1);
  await a.stop();
  out.stored_30d = q;
}

out.disk = disk;
out.loadavg_end = readFileSync('/proc/loadavg', 'utf8').trim();
dropOwned(fills['24h'], fills['30d']);
for (const d of scratch) rmSync(d, { recursive: true, force: true });
console.log(JSON.stringify(out, null, 1));
