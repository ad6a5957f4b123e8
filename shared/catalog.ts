/** The series catalog: which columns a frame carries, in order. Key = `<scope>.<metric>`. */
export type Unit = '%' | 'B' | 'B/s' | 'W' | 'J' | 'C' | 'MHz' | 's' | '';
export type Scope = SeriesDef['scope'];

/** Host and GPU series: fixed per provider, values at the wire's precision. */
export interface BuiltinSeries {
  key: string;
  label: string;
  unit: Unit;
  scope: 'host' | `gpu${number}`;
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
  ['util', 'GPU utilization', '%'],
  ['mem_bw.util', 'Memory bandwidth utilization', '%'],
  ['mem.used', 'Memory used', 'B'],
  ['mem.total', 'Memory total', 'B'],
  ['temp', 'Temperature', 'C'],
  ['power', 'Power draw', 'W'],
  ['power.limit', 'Power limit', 'W'],
  ['fan', 'Fan speed', '%'],
  ['clock.sm', 'SM clock', 'MHz'],
  ['clock.mem', 'Memory clock', 'MHz'],
  ['enc.util', 'Encoder utilization', '%'],
  ['dec.util', 'Decoder utilization', '%'],
  ['pcie.rx', 'PCIe receive', 'B/s'],
  ['pcie.tx', 'PCIe transmit', 'B/s'],
  ['energy', 'Energy since driver load', 'J'],
] as const satisfies readonly (readonly [string, string, Unit])[];

export type GpuMetric = (typeof GPU_METRICS)[number][0];
/** Column index of each GPU metric inside a device's value block. */
export const G = Object.fromEntries(GPU_METRICS.map(([k], i) => [k, i])) as { readonly [K in GpuMetric]: number };
export const GPU_WIDTH = GPU_METRICS.length;

/** Host metrics before the per-core block; the per-core block follows these. */
export const HOST_METRICS = [
  ['cpu.util', 'CPU utilization', '%'],
  ['mem.used', 'Memory used', 'B'],
  ['mem.total', 'Memory total', 'B'],
  ['swap.used', 'Swap used', 'B'],
  ['swap.total', 'Swap total', 'B'],
  ['load1', 'Load average 1 min', ''],
  ['load5', 'Load average 5 min', ''],
  ['load15', 'Load average 15 min', ''],
  ['net.rx', 'Network receive', 'B/s'],
  ['net.tx', 'Network transmit', 'B/s'],
  ['disk.read', 'Disk read', 'B/s'],
  ['disk.write', 'Disk write', 'B/s'],
  ['uptime', 'Uptime', 's'],
] as const satisfies readonly (readonly [string, string, Unit])[];

export type HostMetric = (typeof HOST_METRICS)[number][0];
export const H = Object.fromEntries(HOST_METRICS.map(([k], i) => [k, i])) as { readonly [K in HostMetric]: number };
/** Width of the host block: fixed metrics plus one per logical CPU. */
export const hostWidth = (cpus: number) => HOST_METRICS.length + cpus;

/** Builds the catalog for a host with `cpus` logical CPUs and the given GPU indices. */
export function buildCatalog(cpus: number, gpuIndices: readonly number[]): BuiltinSeries[] {
  const out: BuiltinSeries[] = HOST_METRICS.map(([m, label, unit]) => ({ key: `host.${m}`, label, unit, scope: 'host' as const }));
  for (let i = 0; i < cpus; i++) out.push({ key: `host.cpu${i}.util`, label: `CPU ${i} utilization`, unit: '%', scope: 'host' });
  for (const g of gpuIndices) {
    for (const [m, label, unit] of GPU_METRICS) out.push({ key: `gpu${g}.${m}`, label: `GPU ${g} ${label.toLowerCase()}`, unit, scope: `gpu${g}` });
  }
  return out;
}
