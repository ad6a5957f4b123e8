/**
 * NVML struct sizes, offsets and version words (x86_64/aarch64 LP64), as NVIDIA's nvml.h lays
 * them out (reference nvml.md §2). Tests compare these numbers with the reference, and the fake
 * library pins the same numbers with _Static_assert in C; neither derives from the other.
 */
export const MEMORY_V1 = { size: 24, total: 0, free: 8, used: 16 } as const;
export const MEMORY_V2 = { size: 40, version: 0, total: 8, reserved: 16, free: 24, used: 32, VERSION: 0x02000028 } as const;
export const UTILIZATION = { size: 8, gpu: 0, memory: 4 } as const;
export const PCI_INFO_V3 = { size: 68, busIdLegacy: 0, domain: 16, bus: 20, device: 24, pciDeviceId: 28, pciSubSystemId: 32, busId: 36, busIdLen: 32 } as const;
/** Process structs: pid u32 @0, 4-byte hole, usedGpuMemory u64 @8; stride depends on the symbol and driver (§5). */
export const PROCESS = { pid: 0, usedGpuMemory: 8, gpuInstanceId: 16, computeInstanceId: 20, V1: 16, V2: 24, CC535: 32 } as const;
export const PROCESS_DETAIL_LIST_V1 = { size: 24, version: 0, mode: 4, numProcArrayEntries: 8, procArray: 16, VERSION: 0x01000018, entry: 32 } as const;
/** nvmlProcessUtilizationSample_t: pid u32 @0, 4-byte hole, timeStamp u64 @8 (CPU µs), then four u32 utilizations (nvml.md §2). */
export const PROCESS_UTIL_SAMPLE = { size: 32, pid: 0, timeStamp: 8, smUtil: 16, memUtil: 20, encUtil: 24, decUtil: 28 } as const;
export const EVENT_DATA = { size: 32, device: 0, eventType: 8, eventData: 16, gpuInstanceId: 24, computeInstanceId: 28 } as const;
/** nvmlFieldValue_t: the value is an 8-byte union at 32, decoded by valueType (nvml.md §2). */
export const FIELD_VALUE = { size: 40, fieldId: 0, scopeId: 4, timestamp: 8, latencyUsec: 16, valueType: 24, nvmlReturn: 28, value: 32 } as const;
export const VALUE_TYPE = { DOUBLE: 0, UINT: 1, ULONG: 2, ULONGLONG: 3, SLONGLONG: 4, SINT: 5, USHORT: 6 } as const;
/** Field ids below 251 only: ids from 251 up were renumbered between the 12.9 and 13.x headers (nvml.md §4). */
export const FI = { MEMORY_TEMP: 82 } as const;
/** nvmlDeviceGetTotalEccErrors arguments: errorType and counterType (nvml.md §1.3). */
export const ECC = { CORRECTED: 0, UNCORRECTED: 1, VOLATILE: 0, AGGREGATE: 1 } as const;

export const BUF = { name: 96, uuid: 96, driverVersion: 80 } as const;

/** nvmlReturn_t values the binding acts on (nvml.md §3). */
export const RET = {
  SUCCESS: 0,
  UNINITIALIZED: 1,
  INVALID_ARGUMENT: 2,
  NOT_SUPPORTED: 3,
  NO_PERMISSION: 4,
  NOT_FOUND: 6,
  INSUFFICIENT_SIZE: 7,
  DRIVER_NOT_LOADED: 9,
  TIMEOUT: 10,
  LIBRARY_NOT_FOUND: 12,
  FUNCTION_NOT_FOUND: 13,
  GPU_IS_LOST: 15,
} as const;

export const RET_NAMES: Record<number, string> = {
  0: 'SUCCESS',
  1: 'UNINITIALIZED',
  2: 'INVALID_ARGUMENT',
  3: 'NOT_SUPPORTED',
  4: 'NO_PERMISSION',
  5: 'ALREADY_INITIALIZED',
  6: 'NOT_FOUND',
  7: 'INSUFFICIENT_SIZE',
  8: 'INSUFFICIENT_POWER',
  9: 'DRIVER_NOT_LOADED',
  10: 'TIMEOUT',
  11: 'IRQ_ISSUE',
  12: 'LIBRARY_NOT_FOUND',
  13: 'FUNCTION_NOT_FOUND',
  14: 'CORRUPTED_INFOROM',
  15: 'GPU_IS_LOST',
  16: 'RESET_REQUIRED',
  17: 'OPERATING_SYSTEM',
  18: 'LIB_RM_VERSION_MISMATCH',
  19: 'IN_USE',
  20: 'MEMORY',
  21: 'NO_DATA',
  25: 'ARGUMENT_VERSION_MISMATCH',
  26: 'DEPRECATED',
  27: 'NOT_READY',
  28: 'GPU_NOT_FOUND',
  999: 'UNKNOWN',
};

export const CLOCK = { GRAPHICS: 0, SM: 1, MEM: 2 } as const;
export const PCIE = { TX_BYTES: 0, RX_BYTES: 1 } as const;
export const EVENT_XID_CRITICAL = 0x8n;
