/**
 * The messages between the agent's main thread and its NVML workers (cli/gpu/nvml/worker.ts and
 * provider.ts), as types: both ends are checked against these, so a field cannot drift.
 */
import type { DeviceInfo } from './wire.ts';

export type WorkerRole = 'fast' | 'slow';

/** One process's utilization over the slow reader's last period (nvmlDeviceGetProcessUtilization), in %; null: unknown (pmon's `-`). */
export interface ProcessUtil {
  pid: number;
  sm: number | null;
  mem: number | null;
}
/** What the fast read takes from calls it already makes (framebuffer free/reserved, the raw throttle mask); NaN = unknown. */
export interface FastCounters {
  /** Framebuffer free and reserved, bytes (nvmlMemory_v2_t; reserved is NaN on a v1-only driver). */
  fbFree: number;
  fbReserved: number;
  /** Clock event (throttle) reasons as the raw NVML bitmask. */
  throttleMask: number;
}
/** dcgm-exporter's default counters read off the tick path in the slow round; NaN = unknown. */
export interface SlowCounters {
  pcieReplay: number;
  /** Aggregate ECC error counts: single-bit (corrected) and double-bit (uncorrected). */
  eccSbeAgg: number;
  eccDbeAgg: number;
  /** Row remapping: rows remapped for correctable / uncorrectable errors, and 1 when remapping failed. */
  remapCorrectable: number;
  remapUncorrectable: number;
  remapFailure: number;
  memTempC: number;
}
/** Every counter unknown (NaN), for a device or a round that has not answered. */
export const unknownFast = (): FastCounters => ({ fbFree: NaN, fbReserved: NaN, throttleMask: NaN });
export const unknownSlow = (): SlowCounters => ({
  pcieReplay: NaN,
  eccSbeAgg: NaN,
  eccDbeAgg: NaN,
  remapCorrectable: NaN,
  remapUncorrectable: NaN,
  remapFailure: NaN,
  memTempC: NaN,
});
export interface RawProcess {
  pid: number;
  gpu_mem: number | null;
  type: 'compute' | 'graphics';
}
export interface FastState {
  pstate: string | null;
  throttle: string[];
  lost: boolean;
  mig: boolean | null;
}

export type ToWorker =
  /** lostRetryMs: how often a lost GPU is probed, and the driver asked for devices that appeared. */
  { op: 'init'; lib: string | null; role: WorkerRole; slowMs: number; lostRetryMs: number } | { op: 'read'; seq: number };

export type FromWorker =
  | { op: 'fail'; message: string }
  | { op: 'ready'; driver: string | null; cuda: string | null; processApi: unknown; devices: Omit<DeviceInfo, 'provider'>[] }
  /** added: devices that appeared since the last reading (in this message's device order, after the ones before). */
  | {
      op: 'reading';
      seq: number;
      values: Float64Array;
      state: FastState[];
      fast: FastCounters[];
      lost: number[];
      recovered: number[];
      disabled: string[][];
      added: Omit<DeviceInfo, 'provider'>[];
    }
  /** The slow round: PCIe rates, processes, their utilization (null = unavailable on that GPU) and ECC, per device. */
  | {
      op: 'slow';
      pcie: Float64Array;
      processes: RawProcess[][];
      putil: (ProcessUtil[] | null)[];
      ecc: ({ corrected: number | null; uncorrected: number | null } | null)[];
      counters: SlowCounters[];
      xidWatched: boolean[];
      lost: number[];
    }
  | { op: 'xid'; xids: { index: number; xid: number }[] };
