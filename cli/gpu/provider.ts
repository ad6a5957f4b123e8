/** What every GPU source (NVML, nvidia-smi, amdgpu sysfs) gives the sampler. */
import { THROTTLE_REASONS } from '../../shared/explain.ts';
import type { DeviceInfo, ProviderKind } from '../../shared/wire.ts';
import { unknownFast, unknownSlow, type FastCounters, type SlowCounters } from '../../shared/nvml-messages.ts';

/**
 * A process on a GPU as the provider reports it. sm_util/mem_util: its share of the GPU over the
 * provider's last process round, in %; null when the provider cannot tell (no per-process
 * utilization: MIG, an old driver, AMD), absent from providers that never can.
 */
export interface ProviderProcess {
  pid: number;
  gpu_mem: number | null;
  type: 'compute' | 'graphics';
  sm_util?: number | null;
  mem_util?: number | null;
}

/** Slow-changing, non-numeric state per device; refreshed at the provider's slow cadence. */
export interface GpuExtras {
  pstate: string | null;
  throttle: string[];
  /** Raw processes from the driver; the sampler adds user/command/container from /proc. */
  processes: ProviderProcess[];
  ecc: { corrected: number | null; uncorrected: number | null } | null;
  lost: boolean;
  mig: boolean | null;
}

export interface GpuReading {
  /** GPU_WIDTH values per device in catalog order; NaN = unsupported or unknown (null on the wire). */
  values: Float64Array;
  extras: GpuExtras[];
}

export type ProviderEvent =
  | { kind: 'gpu_lost'; index: number; uuid: string }
  | { kind: 'gpu_recovered'; index: number; uuid: string }
  /** A GPU the driver reports now that it did not at start: it joins the catalog at the next tick. */
  | { kind: 'gpu_added'; index: number; uuid: string; name: string }
  | { kind: 'xid'; index: number; uuid: string; xid: number }
  | { kind: 'provider_error'; message: string };

/**
 * dcgm-exporter's per-GPU fields that are not catalog series (they go to /metrics only, so the
 * catalog and the stored history stay as they are). NaN = unknown or unsupported: omitted. The
 * fast and slow parts are what the NVML worker reads (shared/nvml-messages.ts); the rest:
 */
export interface GpuCounters extends FastCounters, SlowCounters {
  /** The last XID seen since the agent started; 0 = none; NaN when XID events cannot be watched. */
  xid: number;
  /** Volatile ECC error counts: single-bit (corrected) and double-bit (uncorrected). */
  eccSbeVol: number;
  eccDbeVol: number;
}

export const unknownCounters = (): GpuCounters => ({ ...unknownFast(), ...unknownSlow(), xid: NaN, eccSbeVol: NaN, eccDbeVol: NaN });

export interface GpuProvider {
  readonly kind: ProviderKind;
  readonly devices: DeviceInfo[];
  readonly driverVersion: string | null;
  readonly cudaVersion: string | null;
  read(): Promise<GpuReading>;
  /** The latest dcgm-style counters per device (providers that have none leave this out). */
  counters?(): GpuCounters[];
  /** Agent events the provider noticed (lost GPUs, XIDs); drained by the sampler each tick. */
  drainEvents(): ProviderEvent[];
  close(): void;
}

export const emptyExtras = (): GpuExtras => ({ pstate: null, throttle: [], processes: [], ecc: null, lost: false, mig: null });

/** The host-only "provider": no devices, nothing to read. */
export const noGpu: GpuProvider = {
  kind: 'none',
  devices: [],
  driverVersion: null,
  cudaVersion: null,
  read: async () => ({ values: new Float64Array(0), extras: [] }),
  drainEvents: () => [],
  close() {},
};

/** Throttle/clock-event reason bits (nvml.md §4, shared/explain.ts), decoded to names; GpuIdle is not a throttle. */
// Every tick, per GPU (NVML's fast read): the mask's low word once, no BigInt per reason.
export function decodeThrottle(mask: bigint): string[] {
  const m = Number(BigInt.asUintN(32, mask));
  const out: string[] = [];
  for (const r of THROTTLE_REASONS) if (m & r.bit) out.push(r.name);
  return out;
}
