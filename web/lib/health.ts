/**
 * GPU and host health for the fleet overview: pure functions over plain values, so the rules can
 * be tested without a browser and the overview can sort 100 hosts cheaply. A problem is something
 * a person should look at now: throttling other than idle or benign clock policy, an XID, an
 * uncorrected ECC error, a lost GPU, a hot GPU, full GPU memory, or a host that cannot be read.
 */

export type Level = 'ok' | 'warn' | 'crit';

/** One reason a GPU or host is not ok; `code` is stable (tests, CSS), `text` is for people. */
export type Problem =
  | { code: 'lost'; level: 'crit'; text: string }
  | { code: 'xid'; level: 'crit'; text: string }
  | { code: 'ecc'; level: 'crit'; text: string }
  | { code: 'throttle'; level: Level; text: string }
  | { code: 'hot'; level: Level; text: string }
  | { code: 'mem-full'; level: 'warn'; text: string }
  | { code: 'unreachable'; level: Level; text: string };

/** What the overview knows of one GPU now (nulls: unknown or unsupported). */
export interface GpuReading {
  index: number;
  util: number | null;
  memUsed: number | null;
  memTotal: number | null;
  temp: number | null;
  power: number | null;
  throttle: readonly string[];
  lost: boolean;
  eccUncorrected: number | null;
  /** Time of the newest XID event for this GPU (the agent's clock, ms), or null. */
  xidAt: number | null;
}

/** Thresholds in one place, so the README and the tests quote the same numbers. */
export const HEALTH = {
  hotWarnC: 83,
  hotCritC: 90,
  memFullPct: 95,
  /** An XID keeps its GPU red this long after it arrived. */
  xidHoldMs: 15 * 60_000,
} as const;

/**
 * Clock-event reasons that mean the GPU is being held back by heat, power or hardware. Application
 * clocks, display clocks and sync boost are policy, not trouble; idle is never reported as a throttle.
 */
const THROTTLE_LEVEL: Record<string, Level> = {
  hw_slowdown: 'crit',
  hw_thermal: 'crit',
  hw_power_brake: 'crit',
  sw_thermal: 'warn',
  sw_power_cap: 'warn',
};

const RANK: Record<Level, number> = { ok: 0, warn: 1, crit: 2 };
export const worst = (levels: Iterable<Level>): Level => {
  let w: Level = 'ok';
  for (const l of levels) if (RANK[l] > RANK[w]) w = l;
  return w;
};

export function gpuProblems(g: GpuReading, now: number): Problem[] {
  const out: Problem[] = [];
  if (g.lost) out.push({ code: 'lost', level: 'crit', text: 'GPU lost (fell off the bus or driver reset)' });
  if (g.xidAt !== null && now - g.xidAt < HEALTH.xidHoldMs) out.push({ code: 'xid', level: 'crit', text: 'XID error in the last 15 min' });
  if (g.eccUncorrected !== null && g.eccUncorrected > 0) out.push({ code: 'ecc', level: 'crit', text: `${g.eccUncorrected} uncorrected ECC errors` });
  const reasons = g.throttle.filter((r) => r in THROTTLE_LEVEL);
  if (reasons.length) out.push({ code: 'throttle', level: worst(reasons.map((r) => THROTTLE_LEVEL[r]!)), text: `throttled: ${reasons.join(', ')}` });
  if (g.temp !== null && g.temp >= HEALTH.hotWarnC)
    out.push({ code: 'hot', level: g.temp >= HEALTH.hotCritC ? 'crit' : 'warn', text: `hot: ${Math.round(g.temp)} °C` });
  if (g.memUsed !== null && g.memTotal && (g.memUsed / g.memTotal) * 100 >= HEALTH.memFullPct)
    out.push({ code: 'mem-full', level: 'warn', text: `memory ${Math.round((g.memUsed / g.memTotal) * 100)} % full` });
  return out;
}

/** Reachability from the connection status kind (web/lib/live.ts EndpointStatus). */
export function reachProblem(status: string): Problem | null {
  if (status === 'unauthorized') return { code: 'unreachable', level: 'crit', text: 'token rejected' };
  if (status === 'error') return { code: 'unreachable', level: 'crit', text: 'agent error' };
  if (status === 'offline') return { code: 'unreachable', level: 'crit', text: 'offline' };
  if (status === 'stale') return { code: 'unreachable', level: 'warn', text: 'no samples lately' };
  return null;
}

/** A host's standing: its worst level, and a score that orders hosts of the same level by how much is wrong. */
export interface HostHealth {
  level: Level;
  problems: Problem[];
  /** Higher is worse: level first, then the number of problems. */
  score: number;
}

export function hostHealth(status: string, gpus: readonly GpuReading[], now: number): HostHealth {
  const problems: Problem[] = [];
  const reach = reachProblem(status);
  if (reach) problems.push(reach);
  for (const g of gpus) problems.push(...gpuProblems(g, now));
  const level = worst(problems.map((p) => p.level));
  const crit = problems.filter((p) => p.level === 'crit').length;
  return { level, problems, score: RANK[level] * 1_000_000 + crit * 1000 + problems.length };
}

export type SortMode = 'problems' | 'name' | 'load' | 'custom';
export const SORT_MODES: readonly SortMode[] = ['problems', 'name', 'load', 'custom'];

/** The fields sorting needs; the overview's rows carry more. */
export interface Sortable {
  name: string;
  /** Position in the user's own order (Settings ↑/↓). */
  order: number;
  health: HostHealth;
  /** Mean GPU utilization, or CPU utilization on a host without GPUs; null when unknown. */
  load: number | null;
}

const byName = (a: Sortable, b: Sortable) => a.name.localeCompare(b.name, undefined, { numeric: true });

/** A new sorted array; ties fall back to the name, so the order is stable from one second to the next. */
export function sortHosts<T extends Sortable>(rows: readonly T[], mode: SortMode): T[] {
  const out = [...rows];
  if (mode === 'name') out.sort(byName);
  else if (mode === 'custom') out.sort((a, b) => a.order - b.order);
  else if (mode === 'load') out.sort((a, b) => (b.load ?? -1) - (a.load ?? -1) || byName(a, b));
  // Within a level, by name rather than load: rows must not trade places every second as loads move.
  else out.sort((a, b) => b.health.score - a.health.score || byName(a, b));
  return out;
}

/**
 * The filter box: every word must match the name, the hostname or a tag (case-insensitive);
 * `tag:x` matches tags only, so "tag:a100" does not also catch a host named a100-test.
 */
export function matchesFilter(filter: string, name: string, hostname: string | null, tags: readonly string[]): boolean {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const lowTags = tags.map((t) => t.toLowerCase());
  const hay = [name.toLowerCase(), (hostname ?? '').toLowerCase(), ...lowTags];
  return words.every((w) => (w.startsWith('tag:') ? lowTags.includes(w.slice(4)) : hay.some((h) => h.includes(w))));
}

/** Tags as typed in Settings ("prod, a100 rack-3") → a clean list; a bad tag is named in the error. */
export function parseTags(text: string): string[] {
  const tags = text
    .split(/[\s,]+/)
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of tags) if (!/^[\w.:/-]{1,40}$/.test(t)) throw new Error(`tag ${JSON.stringify(t)}: use letters, digits and . _ - : / (at most 40)`);
  return [...new Set(tags)].slice(0, 20);
}
