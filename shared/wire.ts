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
  user_metrics: UserMetricsInfo;
  /** GPU processes with series now, the cap, and pids refused by it. */
  processes: { tracked: number; max: number; refused_pids: number[] };
  /** When no GPU provider was found at start: the next re-probe (null once one is up, or with --gpu none). */
  gpu_reprobe: { next: number; attempts: number } | null;
}

/**
 * What the stream's `schema` event carries (a subset of Info): enough to decode sample frames and
 * lay out views. The PWA keeps it per endpoint (IndexedDB `meta`, cross-tab messages).
 */
export type Schema = Pick<
  Info,
  'version' | 'hostname' | 'interval_ms' | 'retention_s' | 'capacity' | 'provider' | 'driver_version' | 'cuda_version' | 'host' | 'devices' | 'series'
>;

/** The stream's `snapshot` event: the non-numeric state of each GPU, and workloads. */
export interface SnapshotExtras {
  gpus: (Pick<GpuSnapshot, 'index' | 'pstate' | 'throttle' | 'processes'> & {
    lost: boolean;
    mig: boolean | null;
    ecc_volatile?: GpuSnapshot['ecc_volatile'] | null;
  })[];
  workloads: { ollama: OllamaModel[] };
}

/** One `*.prom` file of --textfile-dir: read fine, broken (with the line), or caught mid-write. */
export type TextfileStatus =
  | { file: string; mtime: number; state: 'ok'; series: number; /** series past --max-series, not taken */ dropped: number }
  | { file: string; mtime: number; state: 'error'; line: number | null; message: string }
  | { file: string; mtime: number; state: 'incomplete'; message: string };

/** One --exec collector: its last run. state 'pending' until the first run ends. */
export interface ExecStatus {
  name: string;
  command: string;
  interval_ms: number;
  timeout_ms: number;
  state: 'pending' | 'ok' | 'error' | 'timeout';
  last_run: number | null;
  duration_ms: number | null;
  series: number;
  dropped: number;
  /** Why the last run gave nothing: exit status and stderr's first line, the bad output line, the timeout. */
  error: string | null;
}

/** User metrics in /v1/info: how many, the cap, and each way in. */
export interface UserMetricsInfo {
  series: number;
  max_series: number;
  push: { series: number; last: number | null; stale_ms: number };
  textfile: { dir: string; error: string | null; files: TextfileStatus[] } | null;
  exec: ExecStatus[];
  /** Series refused by the cap (naming --max-series), most recent last. */
  warnings: string[];
}

/** POST /v1/push → 200. */
export interface PushResult {
  accepted: number;
  keys: string[];
}

/** What GPU accounting groups processes by. */
export type AccountingBy = 'user' | 'container' | 'job' | 'command' | 'pod' | 'namespace';
/**
 * The colours an event may carry: the agent accepts only these (and clears any other an older
 * agent saved), and the PWA drops an event with any other, since a colour goes into a style,
 * where `url(…)` would fetch.
 */
export const EVENT_COLOR_RE = /^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/;

export const ACCOUNTING_BY: readonly AccountingBy[] = ['user', 'container', 'job', 'command', 'pod', 'namespace'];

/**
 * GPU use over a range. gpu_seconds: time a process held the GPU (was in its process list);
 * util_gpu_seconds: the same weighted by its SM utilization (100 % for 1 s = 1); mem_gib_hours: its
 * GPU memory over time; energy_j: the GPU's energy while it ran, split between the processes on that
 * GPU by their utilization share.
 */
export interface AccountingUsage {
  gpu_seconds: number;
  util_gpu_seconds: number;
  mem_gib_hours: number;
  energy_j: number;
}
export interface AccountingGroup {
  group: string | null;
  processes: number;
  total: AccountingUsage;
  gpus: ({ gpu: number } & AccountingUsage)[];
}
export interface Accounting {
  since: number;
  until: number;
  by: AccountingBy;
  /** The history tier it was computed from and that tier's bucket (1-minute resolution, or hours past the 1-minute retention). */
  tier: '1m' | '1h';
  step_ms: number;
  interval_ms: number;
  groups: AccountingGroup[];
  /** Per GPU: its energy over the range, and the part with no process on it (idle, or not attributable). */
  gpus: { gpu: number; energy_j: number; unattributed_energy_j: number }[];
  total: AccountingUsage;
}

/** GET /v1/accounting/timeline: per group, GPU memory (bytes, metric=mem) or SM use (GPUs, metric=sm) per bucket; for stacked charts. */
export interface AccountingTimeline {
  since: number;
  until: number;
  by: AccountingBy;
  metric: 'mem' | 'sm';
  tier: 'raw' | '1m' | '1h';
  step_ms: number;
  t: number[];
  groups: { group: string | null; values: number[] }[];
}

export interface TierInfo {
  tier: 'raw' | '1m' | '1h';
  step_ms: number;
  retention_s: number;
  oldest: number | null;
  newest: number | null;
}

/** ok; memory_only (--no-persist, or the data dir was unusable); disk_full / write_error (writing resumes when it can). */
export type StorageState = 'ok' | 'memory_only' | 'disk_full' | 'write_error';
export interface StorageInfo {
  dir: string | null;
  state: StorageState;
  message: string | null;
  bytes: number;
  max_bytes: number;
  warnings: string[];
}

export interface GpuProcess {
  pid: number;
  user: string | null;
  command: string | null;
  gpu_mem: number | null;
  container: string | null;
  type?: 'compute' | 'graphics';
  /** Kubernetes pod (name, else UID) and namespace, Slurm job id: present when known. */
  pod?: string;
  namespace?: string;
  job?: string;
  /** The process's SM and memory utilization over the last process round, %; null when the provider cannot tell. */
  sm_util?: number | null;
  mem_util?: number | null;
}

export interface GpuSnapshot {
  index: number;
  name: string;
  uuid: string;
  util: number | null;
  mem_bw_util: number | null;
  mem_used: number | null;
  mem_total: number | null;
  temp_c: number | null;
  power_w: number | null;
  power_limit_w: number | null;
  fan_pct: number | null;
  clock_sm_mhz: number | null;
  clock_mem_mhz: number | null;
  enc_util: number | null;
  dec_util: number | null;
  pcie_rx_bps: number | null;
  pcie_tx_bps: number | null;
  energy_j: number | null;
  pstate: string | null;
  throttle: string[];
  processes: GpuProcess[];
  ecc_volatile?: { corrected: number | null; uncorrected: number | null };
  lost?: boolean;
  mig?: boolean | null;
}

export interface OllamaModel {
  name: string;
  size: number | null;
  vram: number | null;
  expires_at: string | null;
}

/**
 * A mounted filesystem accounted like df: `used` = total − free blocks, `avail` = what non-root
 * users can still write (root's reserved blocks excluded), `percent` = used / (used + avail) × 100
 * (df prints it rounded up). Bytes.
 */
export interface FilesystemUsage {
  mount: string;
  device: string;
  fstype: string;
  total: number;
  used: number;
  free: number;
  avail: number;
  percent: number | null;
}

/** One network interface: counters since boot and rates over the last interval (null on a reset). */
export interface InterfaceUsage {
  name: string;
  /** lo, veth*, docker*, br-*, … : left out of host.network's sums. */
  virtual: boolean;
  rx_bytes: number;
  tx_bytes: number;
  rx_packets: number;
  tx_packets: number;
  rx_bps: number | null;
  tx_bps: number | null;
}

/** One whole block device: counters since boot, rates over the last interval, and the share of it the device was busy. */
export interface DiskIoUsage {
  name: string;
  read_bytes: number;
  write_bytes: number;
  reads: number;
  writes: number;
  read_bps: number | null;
  write_bps: number | null;
  busy_pct: number | null;
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

export interface ApiError {
  error: string;
  param?: string;
}
