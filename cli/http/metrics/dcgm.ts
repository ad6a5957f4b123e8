/**
 * dcgm-exporter's families: its default counters that NVML can answer, under its names, types and
 * label set (gpu, UUID, pci_bus_id, device = nvidia<N>, modelName, Hostname, DCGM_FI_DRIVER_VERSION).
 * Catalog columns come from the tick's row; the rest from the provider's counters().
 */
import { G, GPU_WIDTH } from '../../../shared/catalog.ts';
import type { GpuCounters, GpuProvider } from '../../gpu/provider.ts';
import { Exposition, type MetricType } from './exposition.ts';

const MiB = 1048576;

/** name, catalog column, help, type, scale (dcgm-exporter's units: MiB for framebuffer, mJ for energy). */
const FROM_ROW: [string, number, string, MetricType, number][] = [
  ['DCGM_FI_DEV_GPU_UTIL', G.util, 'GPU utilization (in %).', 'gauge', 1],
  ['DCGM_FI_DEV_MEM_COPY_UTIL', G['mem_bw.util'], 'Memory utilization (in %).', 'gauge', 1],
  ['DCGM_FI_DEV_FB_USED', G['mem.used'], 'Framebuffer memory used (in MiB).', 'gauge', 1 / MiB],
  ['DCGM_FI_DEV_FB_TOTAL', G['mem.total'], 'Framebuffer memory total (in MiB).', 'gauge', 1 / MiB],
  ['DCGM_FI_DEV_GPU_TEMP', G.temp, 'GPU temperature (in C).', 'gauge', 1],
  ['DCGM_FI_DEV_POWER_USAGE', G.power, 'Power draw (in W).', 'gauge', 1],
  ['DCGM_FI_DEV_POWER_MGMT_LIMIT', G['power.limit'], 'Enforced power limit (in W).', 'gauge', 1],
  ['DCGM_FI_DEV_FAN_SPEED', G.fan, 'Fan speed (in %).', 'gauge', 1],
  ['DCGM_FI_DEV_SM_CLOCK', G['clock.sm'], 'SM clock frequency (in MHz).', 'gauge', 1],
  ['DCGM_FI_DEV_MEM_CLOCK', G['clock.mem'], 'Memory clock frequency (in MHz).', 'gauge', 1],
  ['DCGM_FI_DEV_ENC_UTIL', G['enc.util'], 'Encoder utilization (in %).', 'gauge', 1],
  ['DCGM_FI_DEV_DEC_UTIL', G['dec.util'], 'Decoder utilization (in %).', 'gauge', 1],
  ['DCGM_FI_PROF_PCIE_RX_BYTES', G['pcie.rx'], 'PCIe receive rate (in B/s).', 'gauge', 1],
  ['DCGM_FI_PROF_PCIE_TX_BYTES', G['pcie.tx'], 'PCIe transmit rate (in B/s).', 'gauge', 1],
  ['DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', G.energy, 'Total energy consumption since boot (in mJ).', 'counter', 1000],
];

const FROM_COUNTERS: [string, keyof GpuCounters, string, MetricType, number][] = [
  ['DCGM_FI_DEV_FB_FREE', 'fbFree', 'Framebuffer memory free (in MiB).', 'gauge', 1 / MiB],
  ['DCGM_FI_DEV_FB_RESERVED', 'fbReserved', 'Framebuffer memory reserved (in MiB).', 'gauge', 1 / MiB],
  ['DCGM_FI_DEV_MEMORY_TEMP', 'memTempC', 'Memory temperature (in C).', 'gauge', 1],
  ['DCGM_FI_DEV_CLOCK_THROTTLE_REASONS', 'throttleMask', 'Current clock throttle reasons (bitmask of NVML clock event reasons).', 'gauge', 1],
  ['DCGM_FI_DEV_XID_ERRORS', 'xid', 'Value of the last XID error encountered.', 'gauge', 1],
  ['DCGM_FI_DEV_PCIE_REPLAY_COUNTER', 'pcieReplay', 'Total number of PCIe retries.', 'counter', 1],
  ['DCGM_FI_DEV_ECC_SBE_VOL_TOTAL', 'eccSbeVol', 'Total number of single-bit volatile ECC errors.', 'counter', 1],
  ['DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', 'eccDbeVol', 'Total number of double-bit volatile ECC errors.', 'counter', 1],
  ['DCGM_FI_DEV_ECC_SBE_AGG_TOTAL', 'eccSbeAgg', 'Total number of single-bit persistent ECC errors.', 'counter', 1],
  ['DCGM_FI_DEV_ECC_DBE_AGG_TOTAL', 'eccDbeAgg', 'Total number of double-bit persistent ECC errors.', 'counter', 1],
  ['DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', 'remapCorrectable', 'Number of remapped rows for correctable errors.', 'counter', 1],
  ['DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS', 'remapUncorrectable', 'Number of remapped rows for uncorrectable errors.', 'counter', 1],
  ['DCGM_FI_DEV_ROW_REMAP_FAILURE', 'remapFailure', 'Whether remapping of rows has failed.', 'gauge', 1],
];

/** Three decimals: dcgm-exporter's values are whole or close to it, and MiB from bytes should not print 15 digits. */
const r3 = (v: number) => Math.round(v * 1000) / 1000;

export function gpuLabels(gpu: GpuProvider, hostname: string): Record<string, string>[] {
  return gpu.devices.map((d) => ({
    gpu: String(d.index),
    UUID: d.uuid,
    pci_bus_id: d.pci_bus_id ?? '',
    device: `nvidia${d.index}`,
    modelName: d.name,
    Hostname: hostname,
    DCGM_FI_DRIVER_VERSION: gpu.driverVersion ?? '',
  }));
}

export function dcgmFamilies(x: Exposition, gpu: GpuProvider, values: Float64Array, gpuOffset: number, hostname: string, lost: (i: number) => boolean) {
  const L = gpuLabels(gpu, hostname);
  for (const [name, col, help, type, scale] of FROM_ROW) {
    const f = x.family(name, help, type);
    L.forEach((l, i) => Exposition.sample(f, l, r3(values[gpuOffset + i * GPU_WIDTH + col]! * scale)));
  }
  const counters = gpu.counters?.() ?? [];
  for (const [name, key, help, type, scale] of FROM_COUNTERS) {
    const f = x.family(name, help, type);
    L.forEach((l, i) => Exposition.sample(f, l, r3((counters[i]?.[key] ?? NaN) * scale)));
  }
  const lostF = x.family('gpulse_gpu_lost', 'Whether the GPU has fallen off the bus (1) or not (0).', 'gauge');
  L.forEach((l, i) => Exposition.sample(lostF, l, lost(i) ? 1 : 0));
}
