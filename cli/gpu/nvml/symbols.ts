/** The dlopen symbol table, as data. Versioned names only where NVML has them (nvml.md §1.1). */
import { FFIType as T } from 'bun:ffi';

const p = T.ptr,
  u32 = T.u32,
  i32 = T.i32,
  u64 = T.u64;

/** Present in every driver this agent supports (R450+); a missing one fails the provider. */
export const REQUIRED = {
  nvmlInit_v2: { args: [], returns: i32 },
  nvmlShutdown: { args: [], returns: i32 },
  nvmlSystemGetDriverVersion: { args: [p, u32], returns: i32 },
  nvmlDeviceGetCount_v2: { args: [p], returns: i32 },
  nvmlDeviceGetHandleByIndex_v2: { args: [u32, p], returns: i32 },
  nvmlDeviceGetName: { args: [p, p, u32], returns: i32 },
  nvmlDeviceGetUUID: { args: [p, p, u32], returns: i32 },
  nvmlDeviceGetMemoryInfo: { args: [p, p], returns: i32 },
  nvmlDeviceGetUtilizationRates: { args: [p, p], returns: i32 },
  nvmlDeviceGetTemperature: { args: [p, u32, p], returns: i32 },
  nvmlDeviceGetPowerUsage: { args: [p, p], returns: i32 },
} as const;

/** Probed one by one: a newer driver symbol, or one a minimal driver build may lack. */
export const OPTIONAL = {
  nvmlSystemGetCudaDriverVersion: { args: [p], returns: i32 },
  nvmlDeviceGetPciInfo_v3: { args: [p, p], returns: i32 },
  nvmlDeviceGetMemoryInfo_v2: { args: [p, p], returns: i32 },
  nvmlDeviceGetEncoderUtilization: { args: [p, p, p], returns: i32 },
  nvmlDeviceGetDecoderUtilization: { args: [p, p, p], returns: i32 },
  nvmlDeviceGetFanSpeed: { args: [p, p], returns: i32 },
  nvmlDeviceGetEnforcedPowerLimit: { args: [p, p], returns: i32 },
  nvmlDeviceGetTotalEnergyConsumption: { args: [p, p], returns: i32 },
  nvmlDeviceGetClockInfo: { args: [p, u32, p], returns: i32 },
  nvmlDeviceGetPerformanceState: { args: [p, p], returns: i32 },
  nvmlDeviceGetCurrentClocksEventReasons: { args: [p, p], returns: i32 },
  nvmlDeviceGetCurrentClocksThrottleReasons: { args: [p, p], returns: i32 },
  nvmlDeviceGetPcieThroughput: { args: [p, u32, p], returns: i32 },
  nvmlDeviceGetMigMode: { args: [p, p, p], returns: i32 },
  nvmlDeviceGetTotalEccErrors: { args: [p, u32, u32, p], returns: i32 },
  nvmlDeviceGetComputeRunningProcesses_v3: { args: [p, p, p], returns: i32 },
  nvmlDeviceGetComputeRunningProcesses_v2: { args: [p, p, p], returns: i32 },
  nvmlDeviceGetComputeRunningProcesses: { args: [p, p, p], returns: i32 },
  nvmlDeviceGetGraphicsRunningProcesses_v3: { args: [p, p, p], returns: i32 },
  nvmlDeviceGetGraphicsRunningProcesses_v2: { args: [p, p, p], returns: i32 },
  nvmlDeviceGetRunningProcessDetailList: { args: [p, p], returns: i32 },
  nvmlDeviceGetProcessUtilization: { args: [p, p, p, u64], returns: i32 },
  nvmlDeviceGetConfComputeMemSizeInfo: { args: [p, p], returns: i32 },
  nvmlEventSetCreate: { args: [p], returns: i32 },
  nvmlDeviceRegisterEvents: { args: [p, u64, p], returns: i32 },
  nvmlEventSetWait_v2: { args: [p, p, u32], returns: i32 },
  nvmlEventSetFree: { args: [p], returns: i32 },
  // dcgm-exporter's default counters that NVML answers (read by the slow worker, nvml.md §1.3).
  nvmlDeviceGetPcieReplayCounter: { args: [p, p], returns: i32 },
  nvmlDeviceGetRemappedRows: { args: [p, p, p, p, p], returns: i32 },
  nvmlDeviceGetFieldValues: { args: [p, i32, p], returns: i32 },
} as const;

export type OptionalName = keyof typeof OPTIONAL;
