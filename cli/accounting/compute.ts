/**
 * GPU accounting from history: the per-process series (`proc.<id>.mem|sm|memutil`) and each GPU's
 * power, read from the 1-minute tier (the 1-hour tier past its retention), so a week costs a few
 * thousand buckets per series however fine the sampling. Each rollup bucket carries its average
 * and its sample count, which gives exact sums:
 *   gpu_seconds      = Σ samples the process was on the GPU × interval
 *   util_gpu_seconds = Σ SM % / 100 × interval
 *   mem_gib_hours    = Σ GPU memory / 2^30 × interval / 3600
 *   energy_j         = per bucket, the GPU's energy (mean power × its samples × interval) while any
 *                      process was on it, split between its processes by SM-utilization time (by
 *                      time held when all were idle); the rest is the GPU's unattributed energy.
 */
import { ROLLUP_STEP_MS } from '../../shared/chunk/windows.ts';
import type { Accounting, AccountingBy, AccountingGroup, AccountingTimeline, AccountingUsage } from '../../shared/wire.ts';
import { commandGroup } from '../sample/attribution.ts';
import { seriesParts } from '../store/read.ts';
import type { Store } from '../store/store.ts';
import type { ProcessRecord } from './process-index.ts';

export interface AccountingQuery {
  since: number;
  until: number;
  by: AccountingBy;
  tier: '1m' | '1h';
  intervalMs: number;
  gpus: readonly number[];
}

/** The timeline may also read raw samples: a short range (an hour or less) in minute buckets would be a few points. */
export type TimelineTier = AccountingQuery['tier'] | 'raw';

const GiB = 2 ** 30;
const zero = (): AccountingUsage => ({ gpu_seconds: 0, util_gpu_seconds: 0, mem_gib_hours: 0, energy_j: 0 });
const add = (a: AccountingUsage, b: AccountingUsage) => {
  a.gpu_seconds += b.gpu_seconds;
  a.util_gpu_seconds += b.util_gpu_seconds;
  a.mem_gib_hours += b.mem_gib_hours;
  a.energy_j += b.energy_j;
};

/** The group a process falls in; null = not known (no container, no job, unreadable /proc …). */
export function groupOf(r: ProcessRecord, by: AccountingBy): string | null {
  switch (by) {
    case 'user':
      return r.user;
    case 'container':
      return r.container;
    case 'job':
      return r.job;
    case 'command':
      return commandGroup(r.command);
    case 'pod':
      return r.namespace && r.pod ? `${r.namespace}/${r.pod}` : r.pod;
    case 'namespace':
      return r.namespace;
  }
}

/** avg × count per bucket of one series: bucket start → [sum, count] (raw: each sample, count 1). */
function sums(store: Store, q: { tier: TimelineTier; until: number }, key: string, from: number): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  for (const p of seriesParts(store, q.tier, key, from, q.until)) {
    for (let i = 0; i < p.t.length; i++) {
      const n = p.count ? p.count[i]! : 1,
        v = p.v[i]!;
      if (n > 0 && v === v) out.set(p.t[i]!, [v * n, n]);
    }
  }
  return out;
}

interface Share {
  usage: AccountingUsage;
  alloc: number;
  weight: number;
}

export function computeAccounting(store: Store, records: readonly ProcessRecord[], q: AccountingQuery): Accounting {
  const step = ROLLUP_STEP_MS[q.tier];
  const from = Math.floor(q.since / step) * step;
  const iv = q.intervalMs / 1000;
  // Per process, per GPU: usage; and per GPU and bucket, who was on it (for the energy split).
  const usage = new Map<ProcessRecord, AccountingUsage>();
  const onGpu = new Map<number, Map<number, Share[]>>();
  for (const r of records) {
    const u = zero();
    usage.set(r, u);
    const mem = sums(store, q, `proc.${r.id}.mem`, from),
      sm = sums(store, q, `proc.${r.id}.sm`, from),
      mu = sums(store, q, `proc.${r.id}.memutil`, from);
    const buckets = new Set([...mem.keys(), ...sm.keys(), ...mu.keys()]);
    let byT = onGpu.get(r.gpu);
    if (!byT) onGpu.set(r.gpu, (byT = new Map()));
    for (const t of buckets) {
      const m = mem.get(t),
        s = sm.get(t),
        x = mu.get(t);
      // Held for as many samples as any of its series has: memory can be unknown, utilization unsupported.
      const alloc = Math.max(m?.[1] ?? 0, s?.[1] ?? 0, x?.[1] ?? 0);
      u.gpu_seconds += alloc * iv;
      if (s) u.util_gpu_seconds += (s[0] / 100) * iv;
      if (m) u.mem_gib_hours += ((m[0] / GiB) * iv) / 3600;
      const list = byT.get(t) ?? [];
      list.push({ usage: u, alloc, weight: s ? s[0] : NaN });
      byT.set(t, list);
    }
  }
  const gpus = [...new Set([...q.gpus, ...onGpu.keys()])].sort((a, b) => a - b);
  const gpuEnergy: Accounting['gpus'] = [];
  for (const g of gpus) {
    let energy = 0,
      unattributed = 0;
    const byT = onGpu.get(g);
    for (const [t, [powerSum, n]] of sums(store, q, `gpu${g}.power`, from)) {
      const e = powerSum * iv;
      energy += e;
      const list = byT?.get(t);
      if (!list?.length) {
        unattributed += e;
        continue;
      }
      // The part of the bucket some process was on the GPU; by utilization time, or by time held when all idled.
      const frac = Math.min(1, Math.max(...list.map((p) => p.alloc)) / n);
      const byUtil = list.reduce((a, p) => a + (p.weight === p.weight ? p.weight : 0), 0);
      const byTime = list.reduce((a, p) => a + p.alloc, 0);
      for (const p of list) p.usage.energy_j += e * frac * (byUtil > 0 ? (p.weight === p.weight ? p.weight : 0) / byUtil : p.alloc / byTime);
      unattributed += e * (1 - frac);
    }
    gpuEnergy.push({ gpu: g, energy_j: round(energy, 1), unattributed_energy_j: round(unattributed, 1) });
  }
  // Group: per GPU and total.
  const groups = new Map<string | null, { g: AccountingGroup; perGpu: Map<number, AccountingUsage> }>();
  for (const [r, u] of usage) {
    if (u.gpu_seconds === 0) continue;
    const name = groupOf(r, q.by);
    let x = groups.get(name);
    if (!x) groups.set(name, (x = { g: { group: name, processes: 0, total: zero(), gpus: [] }, perGpu: new Map() }));
    x.g.processes++;
    add(x.g.total, u);
    const pg = x.perGpu.get(r.gpu) ?? zero();
    add(pg, u);
    x.perGpu.set(r.gpu, pg);
  }
  const total = zero();
  const out = [...groups.values()]
    .map(({ g, perGpu }) => {
      add(total, g.total);
      g.gpus = [...perGpu].sort((a, b) => a[0] - b[0]).map(([gpu, u]) => ({ gpu, ...rounded(u) }));
      g.total = rounded(g.total);
      return g;
    })
    .sort((a, b) => b.total.gpu_seconds - a.total.gpu_seconds || String(a.group).localeCompare(String(b.group)));
  return {
    since: q.since,
    until: q.until,
    by: q.by,
    tier: q.tier,
    step_ms: step,
    interval_ms: q.intervalMs,
    groups: out,
    gpus: gpuEnergy,
    total: rounded(total),
  };
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
const rounded = (u: AccountingUsage): AccountingUsage => ({
  gpu_seconds: round(u.gpu_seconds, 3),
  util_gpu_seconds: round(u.util_gpu_seconds, 3),
  mem_gib_hours: round(u.mem_gib_hours, 6),
  energy_j: round(u.energy_j, 1),
});

export interface TimelineQuery extends Omit<AccountingQuery, 'tier'> {
  tier: TimelineTier;
  metric: 'mem' | 'sm';
  maxPoints: number;
}

/**
 * GPU memory (bytes) or SM use (in GPUs: a process at 50 % is 0.5) per group over time: per bucket,
 * the mean over the bucket's samples of the sum over the group's processes (a process absent for
 * part of a bucket counts for that part). Buckets are the tier's, merged so there are at most
 * `maxPoints`. Made for a stacked chart: a group with nothing in a bucket is 0.
 */
export function accountingTimeline(store: Store, records: readonly ProcessRecord[], q: TimelineQuery): AccountingTimeline {
  const tierStep = q.tier === 'raw' ? q.intervalMs : ROLLUP_STEP_MS[q.tier];
  const from = Math.floor(q.since / tierStep) * tierStep;
  const step = Math.max(1, Math.ceil((q.until - from + 1) / tierStep / q.maxPoints)) * tierStep;
  const at = (t: number) => Math.floor(t / step) * step;
  // Samples per output bucket, from a series every row has.
  const ticks = new Map<number, number>();
  for (const [t, [, n]] of sums(store, q, 'host.mem.total', from)) ticks.set(at(t), (ticks.get(at(t)) ?? 0) + n);
  const byGroup = new Map<string | null, Map<number, number>>();
  for (const r of records) {
    const g = groupOf(r, q.by);
    let m = byGroup.get(g);
    for (const [t, [sum]] of sums(store, q, `proc.${r.id}.${q.metric}`, from)) {
      if (!m) byGroup.set(g, (m = new Map()));
      m.set(at(t), (m.get(at(t)) ?? 0) + (q.metric === 'sm' ? sum / 100 : sum));
    }
  }
  const t = [...ticks.keys()].sort((a, b) => a - b);
  const groups = [...byGroup].map(([group, m]) => ({ group, values: t.map((b) => +((m.get(b) ?? 0) / ticks.get(b)!).toFixed(q.metric === 'sm' ? 4 : 0)) }));
  // Largest first: the bottom of the stack.
  groups.sort((a, b) => b.values.reduce((s, v) => s + v, 0) - a.values.reduce((s, v) => s + v, 0));
  return { since: q.since, until: q.until, by: q.by, metric: q.metric, tier: q.tier, step_ms: step, t, groups };
}
