/**
 * The tick loop. Ticks land on multiples of the interval (a 1 s agent samples at whole seconds)
 * and never drift: each tick schedules the next aligned time. Sources run concurrently, each
 * bounded by a timeout below the interval; a slow or failing source gives NaN for its columns
 * that tick and its error shows in collector_error, while the other sources keep flowing.
 */
import { buildCatalog, GPU_WIDTH, hostWidth, type BuiltinSeries } from '../../shared/catalog.ts';
import type { AgentStatus, OllamaModel } from '../../shared/wire.ts';
import type { GpuExtras, GpuProvider, ProviderEvent } from '../gpu/provider.ts';
import type { HostSource } from './host.ts';

export interface SamplerDeps {
  intervalMs: number;
  host: HostSource;
  gpu: GpuProvider;
  /** Called once per tick with the aligned time and the row (reused buffer: copy if kept). */
  onSample: (t: number, values: Float64Array) => void;
  onProviderEvent?: (e: ProviderEvent) => void;
  onStatus?: (s: AgentStatus, prev: AgentStatus) => void;
  /** Defaults to 80 % of the interval. */
  sourceTimeoutMs?: number;
  /** Wall clock for stamps (tests step it). */
  now?: () => number;
}

const TIMEOUT = Symbol('timeout');

export class Sampler {
  /** Host block, then each GPU's block: replaced (not mutated) when the GPU provider changes. */
  catalog: BuiltinSeries[];
  values: Float64Array;
  readonly gpuOffset: number;
  /** The provider in use; a re-probe can swap it in (setGpu) while the agent runs. */
  gpu: GpuProvider;
  /** Bumped when the catalog changes (a provider came up and its GPUs joined). */
  catalogVersion = 0;
  #nextGpu: GpuProvider | null = null;
  /** GPUs in the catalog: a provider whose device list grew (a GPU appeared) gets its catalog rebuilt. */
  #gpuCount = 0;
  latestT: number | null = null;
  gpuExtras: GpuExtras[] = [];
  ollama: OllamaModel[] = [];
  errors = new Map<string, string>();
  #status: AgentStatus = 'warming_up';
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running = false;
  #gpuInFlight: Promise<unknown> | null = null;
  #hostFailures = 0;
  #lastTickAt = 0;
  ticks = 0;

  constructor(readonly deps: SamplerDeps) {
    this.gpu = deps.gpu;
    this.gpuOffset = hostWidth(deps.host.cpus);
    this.catalog = [];
    this.values = new Float64Array(0);
    this.#useGpu(deps.gpu);
  }

  #useGpu(p: GpuProvider) {
    const gpus = p.devices.map((d) => d.index);
    this.gpu = p;
    this.#gpuCount = gpus.length;
    this.catalog = buildCatalog(this.deps.host.cpus, gpus);
    this.values = new Float64Array(this.gpuOffset + GPU_WIDTH * gpus.length).fill(NaN);
    this.gpuExtras = p.devices.map(() => ({ pstate: null, throttle: [], processes: [], ecc: null, lost: false, mig: null }));
    this.#gpuInFlight = null;
    this.errors.delete('gpu');
    this.catalogVersion++;
  }

  /**
   * Swaps in a provider found after start (a driver loaded late). Taken at the next tick, never
   * inside one: the row being built keeps the layout it started with.
   */
  setGpu(p: GpuProvider) {
    this.#nextGpu = p;
  }

  get interval() {
    return this.deps.intervalMs;
  }
  get collectorError(): string | null {
    return this.errors.size ? [...this.errors].map(([k, v]) => `${k}: ${v}`).join('; ') : null;
  }

  /** warming_up until the first tick; stalled when no tick finished for 3 intervals (or 5 s). */
  status(now = Date.now()): AgentStatus {
    if (this.#status === 'ready' && this.#lastTickAt && now - this.#lastTickAt > Math.max(3 * this.interval, 5000)) return 'stalled';
    return this.#status;
  }

  start() {
    if (this.#running) return;
    this.#running = true;
    this.#schedule();
  }

  stop() {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
  }

  /**
   * Stamps come from the wall clock, aligned to the interval, and the wait never exceeds one
   * interval. A wall clock stepped back keeps sampling (the snapshot stays current) but rows stamped
   * at or before the last one are not published or stored until the clock passes it again, so
   * stamps stay strictly increasing and true; one stepped forward just leaves a gap.
   */
  #schedule() {
    if (!this.#running) return;
    const iv = this.interval;
    const now = this.#now();
    const next = Math.ceil((now + 1) / iv) * iv;
    const wait = Math.min(iv, Math.max(0, next - now));
    this.#timer = setTimeout(() => void this.tick(next).finally(() => this.#schedule()), wait);
  }

  #now() {
    return this.deps.now ? this.deps.now() : Date.now();
  }

  /** One tick at aligned time t. Public so tests can drive it without timers. */
  async tick(t: number): Promise<void> {
    if (this.#nextGpu) {
      this.#useGpu(this.#nextGpu);
      this.#nextGpu = null;
    } else if (this.gpu.devices.length !== this.#gpuCount) this.#useGpu(this.gpu);
    const v = this.values;
    v.fill(NaN);
    const limit = this.deps.sourceTimeoutMs ?? Math.max(50, this.interval * 0.8);
    const host = this.#run('host', limit, () => this.deps.host.sample(t, v, 0));
    const gpu = this.gpu.devices.length ? this.#runGpu(limit) : Promise.resolve();
    await Promise.all([host, gpu]);
    for (const e of this.gpu.drainEvents()) this.deps.onProviderEvent?.(e);
    this.ticks++;
    this.#lastTickAt = Date.now();
    if (this.latestT !== null && t <= this.latestT) {
      this.errors.set('clock', `wall clock is ${Math.round((this.latestT - t) / 1000)} s behind the newest sample: history resumes when it passes it`);
      return;
    }
    this.errors.delete('clock');
    this.latestT = t;
    this.deps.onSample(t, v);
  }

  async #run(name: string, limit: number, fn: () => void | Promise<void>): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const r = await Promise.race([
        Promise.resolve().then(fn),
        new Promise<typeof TIMEOUT>((res) => {
          timer = setTimeout(() => res(TIMEOUT), limit);
        }),
      ]);
      if (r === TIMEOUT) throw new Error(`timed out after ${limit} ms`);
      this.errors.delete(name);
      if (name === 'host') {
        this.#hostFailures = 0;
        this.#setStatus('ready');
      }
      return true;
    } catch (err) {
      this.errors.set(name, (err as Error).message);
      if (name === 'host' && ++this.#hostFailures >= 5) this.#setStatus('failed');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * GPU reads run off the main thread (see nvml/worker.ts), so a hung driver call cannot block
   * HTTP. While a read is still outstanding we do not queue another: that tick's GPU columns are
   * null and the error says so, until the provider answers again.
   */
  #runGpu(limit: number): Promise<boolean> {
    if (this.#gpuInFlight) {
      this.errors.set('gpu', 'provider busy: previous read has not returned');
      return Promise.resolve(false);
    }
    const p = this.gpu.read();
    this.#gpuInFlight = p;
    p.finally(() => {
      if (this.#gpuInFlight === p) this.#gpuInFlight = null;
    }).catch(() => {});
    const tickNo = this.ticks;
    const v = this.values;
    return this.#run('gpu', limit, async () => {
      const r = await p;
      // A read that finished after its tick timed out belongs to no row: drop it.
      if (this.ticks !== tickNo || this.values !== v) return;
      this.values.set(r.values.subarray(0, this.values.length - this.gpuOffset), this.gpuOffset);
      this.gpuExtras = r.extras;
    });
  }

  #setStatus(s: AgentStatus) {
    if (s === this.#status) return;
    const prev = this.#status;
    this.#status = s;
    this.deps.onStatus?.(s, prev);
  }
}
