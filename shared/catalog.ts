/** The series catalog: which columns a frame carries, in order. Key = `<scope>.<metric>`. */
export type Unit = '%' | 'B' | 'B/s' | 'W' | 'J' | 'C' | 'MHz' | 's' | '';
export type Scope = SeriesDef['scope'];

/**
 * Which chart a series is drawn on (docs/api.md "Series catalog"): series of one group and one
 * scope share a chart. Host and GPU entries carry it as `group`; user, process and workload series
 * get theirs from their scope (groupOf), so an older agent's catalog without the field still maps.
 */
export const CHART_GROUPS = [
  'utilization',
  'memory',
  'temperature',
  'power',
  'clocks',
  'fan',
  'pcie',
  'codec',
  'network',
  'disk',
  'load',
  'cpu_cores',
  'energy',
  'uptime',
  'process',
  'workload',
  'custom',
] as const;
export type ChartGroup = (typeof CHART_GROUPS)[number];

/** Host and GPU series: fixed per provider, values at the wire's precision. */
export interface BuiltinSeries {
  key: string;
  label: string;
  unit: Unit;
  scope: 'host' | `gpu${number}`;
  /** Absent from agents before 0.1 (PWA imports of old exports too): groupOf fills it in. */
  group?: ChartGroup;
}

/** Where a user series came in (README "Your own metrics"). */
export type UserSource = { kind: 'textfile'; file: string } | { kind: 'push' } | { kind: 'exec'; name: string };

/**
 * A user metric (`user.` + folded name and labels, shared/series-key.ts). Kept at full float64
 * precision end to end (a training loss of 0.0123457 comes back as that), never rounded by wireNum.
 */
export interface UserSeries {
  key: string;
  label: string;
  unit: Unit;
  scope: 'user';
  precision: 'full';
  metric: string;
  labels: Record<string, string>;
  help: string | null;
  type: 'gauge' | 'counter' | 'untyped';
  /** The unit as the source wrote it (`# UNIT`, or a `_seconds`/`_bytes` suffix), when there was one. */
  prom_unit: string | null;
  source: UserSource;
}

/** Who a GPU process belongs to, as read from /proc/<pid> (null where unknown or unreadable). */
export interface ProcessOwner {
  user: string | null;
  command: string | null;
  container: string | null;
  pod: string | null;
  namespace: string | null;
  job: string | null;
}

/** One GPU process's memory or utilization (`proc.gpu<N>.<pid>-<start s>.<metric>`). */
export interface ProcessSeries extends ProcessOwner {
  key: string;
  label: string;
  unit: Unit;
  scope: 'process';
  gpu: number;
  pid: number;
  metric: 'mem' | 'sm' | 'memutil';
}

/** A workload's series (an Ollama model's VRAM and GPU share). */
export interface WorkloadSeries {
  key: string;
  label: string;
  unit: Unit;
  scope: 'workload';
  workload: 'ollama';
  model: string;
  metric: 'vram' | 'gpu_share';
}

export type SeriesDef = BuiltinSeries | UserSeries | ProcessSeries | WorkloadSeries;

/** Every user series key starts with this; those keys are stored and sent at full precision. */
export const USER_PREFIX = 'user.';
/** Values of this key are never rounded to the wire precision (by key, so stored history after a restart is treated the same). */
export const isExactKey = (key: string): boolean => key.startsWith(USER_PREFIX);

/** Per-GPU metrics in frame order; the provider fills a Float64Array of this length per device. */
export const GPU_METRICS = [
  ['util', 'GPU utilization', '%', 'utilization'],
  ['mem_bw.util', 'Memory bandwidth utilization', '%', 'utilization'],
  ['mem.used', 'Memory used', 'B', 'memory'],
  ['mem.total', 'Memory total', 'B', 'memory'],
  ['temp', 'Temperature', 'C', 'temperature'],
  ['power', 'Power draw', 'W', 'power'],
  ['power.limit', 'Power limit', 'W', 'power'],
  ['fan', 'Fan speed', '%', 'fan'],
  ['clock.sm', 'SM clock', 'MHz', 'clocks'],
  ['clock.mem', 'Memory clock', 'MHz', 'clocks'],
  ['enc.util', 'Encoder utilization', '%', 'codec'],
  ['dec.util', 'Decoder utilization', '%', 'codec'],
  ['pcie.rx', 'PCIe receive', 'B/s', 'pcie'],
  ['pcie.tx', 'PCIe transmit', 'B/s', 'pcie'],
  ['energy', 'Energy since driver load', 'J', 'energy'],
] as const satisfies readonly (readonly [string, string, Unit, ChartGroup])[];

export type GpuMetric = (typeof GPU_METRICS)[number][0];
/** Column index of each GPU metric inside a device's value block. */
export const G = Object.fromEntries(GPU_METRICS.map(([k], i) => [k, i])) as { readonly [K in GpuMetric]: number };
export const GPU_WIDTH = GPU_METRICS.length;

/** Host metrics before the per-core block; the per-core block follows these. */
export const HOST_METRICS = [
  ['cpu.util', 'CPU utilization', '%', 'utilization'],
  ['mem.used', 'Memory used', 'B', 'memory'],
  ['mem.total', 'Memory total', 'B', 'memory'],
  ['swap.used', 'Swap used', 'B', 'memory'],
  ['swap.total', 'Swap total', 'B', 'memory'],
  ['load1', 'Load average 1 min', '', 'load'],
  ['load5', 'Load average 5 min', '', 'load'],
  ['load15', 'Load average 15 min', '', 'load'],
  ['net.rx', 'Network receive', 'B/s', 'network'],
  ['net.tx', 'Network transmit', 'B/s', 'network'],
  ['disk.read', 'Disk read', 'B/s', 'disk'],
  ['disk.write', 'Disk write', 'B/s', 'disk'],
  ['uptime', 'Uptime', 's', 'uptime'],
] as const satisfies readonly (readonly [string, string, Unit, ChartGroup])[];

export type HostMetric = (typeof HOST_METRICS)[number][0];
export const H = Object.fromEntries(HOST_METRICS.map(([k], i) => [k, i])) as { readonly [K in HostMetric]: number };
/** Width of the host block: fixed metrics plus one per logical CPU. */
export const hostWidth = (cpus: number) => HOST_METRICS.length + cpus;

type HostRow = (typeof HOST_METRICS)[number];
type GpuRow = (typeof GPU_METRICS)[number];
/** One catalog entry of each kind; `i` as the key writes it (buildCatalog's numbers, builtinDef's digits). */
const hostDef = ([m, label, unit, group]: HostRow): BuiltinSeries => ({ key: `host.${m}`, label, unit, scope: 'host', group });
const coreDef = (i: number | string): BuiltinSeries => ({
  key: `host.cpu${i}.util`,
  label: `CPU ${i} utilization`,
  unit: '%',
  scope: 'host',
  group: 'cpu_cores',
});
const gpuDef = (i: number | string, [m, label, unit, group]: GpuRow): BuiltinSeries => ({
  key: `gpu${i}.${m}`,
  label: `GPU ${i} ${label.toLowerCase()}`,
  unit,
  scope: `gpu${Number(i)}`,
  group,
});

/** Builds the catalog for a host with `cpus` logical CPUs and the given GPU indices. */
export function buildCatalog(cpus: number, gpuIndices: readonly number[]): BuiltinSeries[] {
  const out: BuiltinSeries[] = HOST_METRICS.map(hostDef);
  for (let i = 0; i < cpus; i++) out.push(coreDef(i));
  for (const g of gpuIndices) for (const row of GPU_METRICS) out.push(gpuDef(g, row));
  return out;
}

const BUILTIN_GROUP = new Map<string, ChartGroup>([
  ...HOST_METRICS.map(([m, , , g]) => [`host.${m}`, g] as const),
  ...GPU_METRICS.map(([m, , , g]) => [m, g] as const),
]);
const isGroup = (g: unknown): g is ChartGroup => (CHART_GROUPS as readonly unknown[]).includes(g);

/** The chart group of a catalog entry: its own `group` when it names one, else from its scope and key. */
export function groupOf(def: Pick<SeriesDef, 'key' | 'scope'> & { group?: unknown }): ChartGroup {
  if (def.scope === 'user') return 'custom';
  if (def.scope === 'process') return 'process';
  if (def.scope === 'workload') return 'workload';
  if (isGroup(def.group)) return def.group;
  if (/^host\.cpu\d+\.util$/.test(def.key)) return 'cpu_cores';
  const m = /^gpu\d+\.(.+)$/.exec(def.key);
  return BUILTIN_GROUP.get(m ? m[1]! : def.key) ?? 'custom';
}

/**
 * The catalog entry of a host or GPU key, rebuilt from the tables above (as buildCatalog writes
 * it), or null for any other key. For history whose agent's catalog is not at hand: an import
 * without `info`, an endpoint whose schema has not arrived yet.
 */
export function builtinDef(key: string): BuiltinSeries | null {
  const core = /^host\.cpu(\d+)\.util$/.exec(key);
  if (core) return coreDef(core[1]!);
  const host = HOST_METRICS.find(([m]) => `host.${m}` === key);
  if (host) return hostDef(host);
  const g = /^gpu(\d+)\.(.+)$/.exec(key);
  const gm = g && GPU_METRICS.find(([m]) => m === g[2]);
  if (g && gm) return gpuDef(g[1]!, gm);
  return null;
}
