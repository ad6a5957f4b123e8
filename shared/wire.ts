/** Every /v1 payload as a type: the contract in code, shared by agent and PWA. */
import type { SeriesDef } from './catalog.ts';

export type AgentStatus = 'warming_up' | 'ready' | 'stalled' | 'failed';
export type ProviderKind = 'nvml' | 'nvidia-smi' | 'amd' | 'none';

export interface DeviceInfo {
  index: number;
  name: string;
  uuid: string;
  memory_total: number | null;
  provider: ProviderKind;
  pci_bus_id?: string | null;
  /** true once the provider saw GPU_IS_LOST for it; its columns are null from then on. */
  lost?: boolean;
  mig?: boolean | null;
}

export interface Info {
  version: string;
  hostname: string;
  interval_ms: number;
  retention_s: number;
  capacity: number;
  status: AgentStatus;
  collector_error: string | null;
  /** Raw rows held (on disk and in memory), oldest and newest. */
  buffer: { count: number; oldest: number | null; newest: number | null };
  /** History tiers: raw at the sampling interval, 1-minute and 1-hour rollups. */
  tiers: TierInfo[];
  storage: StorageInfo;
  clients: number;
  provider: ProviderKind;
  /** Why the better providers were passed over, in order tried (empty when the first worked). */
  provider_notes: string[];
  driver_version: string | null;
  cuda_version: string | null;
  host: { cpu_model: string | null; cores: number | null; threads: number; os: string | null };
  devices: DeviceInfo[];
  series: SeriesDef[];
}

export interface TierInfo { tier: 'raw' | '1m' | '1h'; step_ms: number; retention_s: number; oldest: number | null; newest: number | null }

/** ok; memory_only (--no-persist, or the data dir was unusable); disk_full / write_error (writing resumes when it can). */
export type StorageState = 'ok' | 'memory_only' | 'disk_full' | 'write_error';
export interface StorageInfo { dir: string | null; state: StorageState; message: string | null; bytes: number; max_bytes: number; warnings: string[] }

export interface GpuProcess { pid: number; user: string | null; command: string | null; gpu_mem: number | null; container: string | null; type?: 'compute' | 'graphics' }

export interface GpuSnapshot {
  index: number; name: string; uuid: string;
  util: number | null; mem_bw_util: number | null; mem_used: number | null; mem_total: number | null;
  temp_c: number | null; power_w: number | null; power_limit_w: number | null; fan_pct: number | null;
  clock_sm_mhz: number | null; clock_mem_mhz: number | null; enc_util: number | null; dec_util: number | null;
  pcie_rx_bps: number | null; pcie_tx_bps: number | null; energy_j: number | null;
  pstate: string | null; throttle: string[]; processes: GpuProcess[];
  ecc_volatile?: { corrected: number | null; uncorrected: number | null };
  lost?: boolean; mig?: boolean | null;
}

export interface OllamaModel { name: string; size: number | null; vram: number | null; expires_at: string | null }

/**
 * A mounted filesystem accounted like df: `used` = total − free blocks, `avail` = what non-root
 * users can still write (root's reserved blocks excluded), `percent` = used / (used + avail) × 100
 * (df prints it rounded up). Bytes.
 */
export interface FilesystemUsage { mount: string; device: string; fstype: string; total: number; used: number; free: number; avail: number; percent: number | null }

/** One network interface: counters since boot and rates over the last interval (null on a reset). */
export interface InterfaceUsage {
  name: string;
  /** lo, veth*, docker*, br-*, … : left out of host.network's sums. */
  virtual: boolean;
  rx_bytes: number; tx_bytes: number; rx_packets: number; tx_packets: number;
  rx_bps: number | null; tx_bps: number | null;
}

/** One whole block device: counters since boot, rates over the last interval, and the share of it the device was busy. */
export interface DiskIoUsage {
  name: string;
  read_bytes: number; write_bytes: number; reads: number; writes: number;
  read_bps: number | null; write_bps: number | null; busy_pct: number | null;
}

export interface Snapshot {
  t: number;
  hostname: string;
  host: {
    cpu: { util: number | null; per_core: (number | null)[]; cores: number | null; threads: number; freq_mhz: number | null; model: string | null };
    /** `available` is the kernel's MemAvailable; used = total − available. */
    memory: { used: number | null; total: number | null; available: number | null };
    swap: { used: number | null; total: number | null };
    load: (number | null)[];
    uptime_s: number | null;
    disks: FilesystemUsage[];
    network: { rx_bps: number | null; tx_bps: number | null };
    disk_io: { read_bps: number | null; write_bps: number | null };
    interfaces: InterfaceUsage[];
    disk_devices: DiskIoUsage[];
  };
  gpus: GpuSnapshot[];
  workloads: { ollama: OllamaModel[] };
}

export interface History {
  t: number[];
  series: Record<string, (number | null)[]>;
  /** Present with agg=minmax: per-bucket minimum and maximum. */
  min?: Record<string, (number | null)[]>;
  max?: Record<string, (number | null)[]>;
  step?: number;
}

export type EventSource = 'agent' | 'user';
export interface AgentEvent {
  id: string;
  t: number;
  label: string;
  end_t?: number | null;
  source: EventSource;
  color?: string | null;
  /** Machine-readable kind for agent events (gpu_lost, throttle_start, …). */
  kind?: string;
  scope?: string;
}

export interface ApiError { error: string; param?: string }
