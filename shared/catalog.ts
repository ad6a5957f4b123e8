/** The series catalog: which columns a frame carries, in order. Key = `<scope>.<metric>`. */
export type Unit = '%' | 'B' | 'B/s' | 'W' | 'J' | 'C' | 'MHz' | 's' | '';
export type Scope = 'host' | `gpu${number}`;
export interface SeriesDef { key: string; label: string; unit: Unit; scope: Scope }

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
export function buildCatalog(cpus: number, gpuIndices: readonly number[]): SeriesDef[] {
  const out: SeriesDef[] = HOST_METRICS.map(([m, label, unit]) => ({ key: `host.${m}`, label, unit, scope: 'host' as const }));
  for (let i = 0; i < cpus; i++) out.push({ key: `host.cpu${i}.util`, label: `CPU ${i} utilization`, unit: '%', scope: 'host' });
  for (const g of gpuIndices) {
    for (const [m, label, unit] of GPU_METRICS) out.push({ key: `gpu${g}.${m}`, label: `GPU ${g} ${label.toLowerCase()}`, unit, scope: `gpu${g}` });
  }
  return out;
}
