/** The NVML provider on the main thread: two workers (fast per-tick reads, slow blocking reads), merged. */
import { G, GPU_WIDTH } from '../../../shared/catalog.ts';
import type { FromWorker, ProcessUtil, RawProcess, ToWorker } from '../../../shared/nvml-messages.ts';
import type { DeviceInfo } from '../../../shared/wire.ts';
import {
  emptyExtras,
  unknownCounters,
  type GpuCounters,
  type GpuExtras,
  type GpuProvider,
  type GpuReading,
  type ProviderEvent,
  type ProviderProcess,
} from '../provider.ts';
import type { FastCounters, SlowCounters } from './binding.ts';

export interface NvmlOptions {
  lib: string | null;
  intervalMs: number;
  slowMs?: number;
  initTimeoutMs?: number;
  lostRetryMs?: number;
}

type Ready = Extract<FromWorker, { op: 'ready' }>;
const post = (w: Worker, m: ToWorker) => w.postMessage(m);

/** Driver process lists joined with their utilization: listed but absent from the samples = idle (0 %); a sample's null stays unknown. */
export function withUtil(procs: RawProcess[], util: ProcessUtil[] | null): ProviderProcess[] {
  const by = new Map(util?.map((u) => [u.pid, u]) ?? []);
  const idle = { sm: 0, mem: 0 };
  return procs.map((p) => {
    const u = util ? (by.get(p.pid) ?? idle) : null;
    return { ...p, sm_util: u ? u.sm : null, mem_util: u ? u.mem : null };
  });
}

/**
 * In `bun build --compile` output the worker is a second entry point, stored under its path
 * relative to the entry points' common root (the repo root); from source it sits beside us.
 */
const workerUrl = () => (import.meta.url.startsWith('file:///$bunfs/') ? './cli/gpu/nvml/worker.ts' : new URL('./worker.ts', import.meta.url).href);

function spawn(opts: NvmlOptions, role: 'fast' | 'slow'): Promise<{ worker: Worker; ready: Ready }> {
  const worker = new Worker(workerUrl());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      worker.terminate();
      reject(new Error('NVML init timed out'));
    }, opts.initTimeoutMs ?? 10_000);
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      clearTimeout(timer);
      if (e.data.op === 'ready') resolve({ worker, ready: e.data });
      else {
        worker.terminate();
        reject(new Error(e.data.op === 'fail' ? e.data.message : `unexpected ${e.data.op} before ready`));
      }
    };
    worker.onerror = (e) => {
      clearTimeout(timer);
      worker.terminate();
      reject(new Error(e.message));
    };
    post(worker, {
      op: 'init',
      lib: opts.lib,
      role,
      slowMs: opts.slowMs ?? (Number(process.env.GPULSE_NVML_SLOW_MS) || Math.max(5000, opts.intervalMs)),
      lostRetryMs: opts.lostRetryMs ?? (Number(process.env.GPULSE_NVML_LOST_RETRY_MS) || 30_000),
    });
  });
}

export async function openNvml(opts: NvmlOptions): Promise<GpuProvider> {
  const fast = await spawn(opts, 'fast');
  const slow = await spawn(opts, 'slow').catch(() => null);
  return new NvmlProvider(fast.worker, slow?.worker ?? null, fast.ready);
}

class NvmlProvider implements GpuProvider {
  readonly kind = 'nvml' as const;
  readonly devices: DeviceInfo[];
  readonly driverVersion: string | null;
  readonly cudaVersion: string | null;
  readonly processApi: unknown;
  disabled: string[][] = [];
  #seq = 0;
  #pending = new Map<number, (r: GpuReading) => void>();
  #events: ProviderEvent[] = [];
  #lost = new Set<number>();
  #pcie: Float64Array;
  #slowExtras: { processes: GpuExtras['processes']; ecc: GpuExtras['ecc'] }[];
  #fast: FastCounters[] = [];
  #slowCounters: SlowCounters[] = [];
  #xidWatched: boolean[] = [];
  /** The last XID per device since start (dcgm-exporter's DCGM_FI_DEV_XID_ERRORS is "the last XID seen"). */
  #lastXid: number[];

  constructor(
    private fast: Worker,
    private slow: Worker | null,
    ready: Ready,
  ) {
    this.devices = ready.devices.map((d) => ({ ...d, provider: 'nvml' }));
    this.driverVersion = ready.driver;
    this.cudaVersion = ready.cuda;
    this.processApi = ready.processApi;
    this.#pcie = new Float64Array(this.devices.length * 2).fill(NaN);
    this.#slowExtras = this.devices.map(() => ({ processes: [], ecc: null }));
    this.#lastXid = this.devices.map(() => 0);
    fast.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (m.op !== 'reading') return;
      for (const d of m.added) {
        // A GPU that appeared: the sampler sees the longer device list and rebuilds its catalog.
        this.devices.push({ ...d, provider: 'nvml' });
        const pcie = new Float64Array(this.devices.length * 2).fill(NaN);
        pcie.set(this.#pcie.subarray(0, pcie.length));
        this.#pcie = pcie;
        this.#slowExtras.push({ processes: [], ecc: null });
        this.#lastXid.push(0);
        this.#events.push({ kind: 'gpu_added', index: d.index, uuid: d.uuid, name: d.name });
      }
      this.#noteLost(m.lost);
      for (const i of m.recovered) {
        if (!this.#lost.delete(i)) continue;
        this.#events.push({ kind: 'gpu_recovered', index: i, uuid: this.devices.find((d) => d.index === i)?.uuid ?? '' });
      }
      this.disabled = m.disabled;
      this.#fast = m.fast ?? [];
      const values = m.values;
      for (let i = 0; i < this.devices.length; i++) {
        if (this.#lost.has(this.devices[i]!.index)) continue;
        values[i * GPU_WIDTH + G['pcie.rx']] = this.#pcie[2 * i]!;
        values[i * GPU_WIDTH + G['pcie.tx']] = this.#pcie[2 * i + 1]!;
      }
      const extras: GpuExtras[] = m.state.map((s, i) => ({
        // A device the slow worker has not reached yet (it just appeared) has no processes or ECC yet.
        ...emptyExtras(),
        ...s,
        processes: s.lost ? [] : (this.#slowExtras[i]?.processes ?? []),
        ecc: this.#slowExtras[i]?.ecc ?? null,
      }));
      this.#pending.get(m.seq)?.({ values, extras });
      this.#pending.delete(m.seq);
    };
    fast.onerror = (e) => this.#events.push({ kind: 'provider_error', message: `NVML worker error: ${e.message}` });
    if (slow) {
      slow.onmessage = (e: MessageEvent<FromWorker>) => {
        const m = e.data;
        if (m.op === 'slow') {
          this.#noteLost(m.lost);
          this.#pcie = m.pcie;
          this.#slowExtras = m.processes.map((p, i) => ({ processes: withUtil(p, m.putil[i] ?? null), ecc: m.ecc[i] ?? null }));
          this.#slowCounters = m.counters;
          this.#xidWatched = m.xidWatched;
        } else if (m.op === 'xid') {
          for (const x of m.xids) {
            this.#events.push({ kind: 'xid', index: x.index, uuid: this.devices.find((d) => d.index === x.index)?.uuid ?? '', xid: x.xid });
            const i = this.devices.findIndex((d) => d.index === x.index);
            if (i >= 0) this.#lastXid[i] = x.xid;
          }
        }
      };
    }
  }

  #noteLost(indices: number[]) {
    for (const i of indices) {
      if (this.#lost.has(i)) continue;
      this.#lost.add(i);
      this.#events.push({ kind: 'gpu_lost', index: i, uuid: this.devices.find((d) => d.index === i)?.uuid ?? '' });
    }
  }

  read(): Promise<GpuReading> {
    const seq = ++this.#seq;
    return new Promise((resolve) => {
      this.#pending.set(seq, resolve);
      post(this.fast, { op: 'read', seq });
    });
  }

  drainEvents() {
    return this.#events.splice(0);
  }

  /** Fast fields from the newest reading, slow ones from the newest slow round; a lost GPU has none. */
  counters(): GpuCounters[] {
    return this.devices.map((d, i) => {
      const c = unknownCounters();
      if (this.#lost.has(d.index)) return c;
      Object.assign(c, this.#fast[i] ?? {}, this.#slowCounters[i] ?? {});
      const ecc = this.#slowExtras[i]?.ecc;
      c.eccSbeVol = ecc?.corrected ?? NaN;
      c.eccDbeVol = ecc?.uncorrected ?? NaN;
      c.xid = this.#xidWatched[i] ? this.#lastXid[i]! : NaN;
      return c;
    });
  }

  close() {
    this.fast.terminate();
    this.slow?.terminate();
  }
}
