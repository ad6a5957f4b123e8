/** Wires sampler → store → hub, keeps events, and builds the /v1 documents. No HTTP here. */
import { quantize, type Tier } from '../shared/chunk/index.ts';
import { G, GPU_WIDTH, H, HOST_METRICS, isExactKey } from '../shared/catalog.ts';
import { wireNum } from '../shared/json.ts';
import type { AgentEvent, GpuSnapshot, Info, OllamaModel, Snapshot } from '../shared/wire.ts';
import { ProcessIndex } from './accounting/process-index.ts';
import { ProcessTracker } from './accounting/tracker.ts';
import { LiveCatalog } from './catalog/live.ts';
import type { GpuExtras, GpuProvider, ProviderEvent } from './gpu/provider.ts';
import { ByteWriter } from './http/byte-writer.ts';
import { Hub, encodeEvent, writeSample } from './http/hub.ts';
import { OllamaSeries } from './sample/ollama-series.ts';
import { KeyIndex } from './store/key-index.ts';
import { UserMetrics, type UserMetricsOptions } from './user/user-metrics.ts';
import type { HostSource } from './sample/host.ts';
import type { Inventory } from './sample/inventory.ts';
import { hostSummary } from './sample/host-summary.ts';
import { enrich } from './sample/processes.ts';
import { Sampler } from './sample/sampler.ts';
import { EventStore } from './store/events.ts';
import { rowBatches } from './store/read.ts';
import { Store } from './store/store.ts';
import { VERSION } from './version.ts';

export interface AgentOptions {
  hostname: string;
  intervalMs: number;
  retentionMs: number;
  /** The history store; default: memory only with the given retention. */
  store?: Store;
  host: HostSource;
  gpu: GpuProvider;
  providerNotes?: string[];
  inventory?: Inventory;
  hubOptions?: ConstructorParameters<typeof Hub>[0];
  procRoot?: string;
  /** Your own metrics (textfile, push, exec); default: push only, 1,000 series. */
  user?: Partial<UserMetricsOptions>;
  /** Where accounting keeps its process index (the data dir); default: memory only. */
  processIndex?: ProcessIndex;
  /** Most GPU processes with series at once (default 64). */
  maxProcesses?: number;
  /** A process or workload series gone this long leaves the live catalog (default 10 min). */
  retireMs?: number;
}

/** Defaults for user metrics: documented in docs/api.md "Your own metrics". */
export const USER_DEFAULTS: UserMetricsOptions = {
  maxSeries: 1000,
  retireMs: 3_600_000,
  pushStaleMs: 300_000,
  textfileDir: null,
  exec: [],
  execIntervalMs: 10_000,
  execTimeoutMs: 5_000,
};

export class Agent {
  readonly sampler: Sampler;
  readonly hub: Hub;
  readonly events = new EventStore();
  store: Store;
  inventory: Inventory | undefined;
  readonly user: UserMetrics;
  readonly processes: ProcessTracker;
  readonly processIndex: ProcessIndex;
  readonly workloads: OllamaSeries;
  /** Host and GPU blocks, then user, process and workload series: the columns of every row. */
  readonly catalog: LiveCatalog;
  readonly keyIndex: KeyIndex;
  providerNotes: string[];
  /** Set by the GPU re-probe (cli/gpu/reprobe.ts) while it looks for a provider. */
  reprobeInfo: () => Info['gpu_reprobe'] = () => null;
  /** The row as stored and streamed: built-in values at the wire's precision, user series unrounded (reused buffer). */
  #row: Float64Array;
  #snapshotKey = '';
  #prevThrottle: string[][] = [];
  #prevPids: Set<number>[] = [];

  constructor(readonly opts: AgentOptions) {
    this.inventory = opts.inventory;
    this.hub = new Hub(opts.hubOptions);
    this.sampler = new Sampler({
      intervalMs: opts.intervalMs,
      host: opts.host,
      gpu: opts.gpu,
      onSample: (t, v) => this.#onSample(t, v),
      onProviderEvent: (e) => this.#onProviderEvent(e),
      onStatus: (s, prev) => {
        if (s === 'failed') this.agentEvent('collector_failed', `collector failed: ${this.sampler.collectorError ?? 'unknown'}`, 'host');
        else if (s === 'ready' && prev === 'failed') this.agentEvent('collector_recovered', 'collector recovered', 'host');
      },
    });
    this.store =
      opts.store ??
      Store.open({
        dir: null,
        intervalMs: opts.intervalMs,
        retentionMs: { raw: opts.retentionMs, '1m': 90 * 86_400_000, '1h': 730 * 86_400_000 },
        maxDiskBytes: 0,
      });
    this.providerNotes = opts.providerNotes ?? [];
    this.user = new UserMetrics({ ...USER_DEFAULTS, ...opts.user });
    this.processIndex = opts.processIndex ?? ProcessIndex.open(null);
    const retireMs = opts.retireMs ?? 600_000;
    this.processes = new ProcessTracker(() => ({ devices: this.gpu.devices, extras: this.sampler.gpuExtras }), {
      maxProcesses: opts.maxProcesses ?? 64,
      retireMs,
      procRoot: opts.procRoot,
      index: this.processIndex,
    });
    this.workloads = new OllamaSeries(() => this.sampler.ollama, retireMs);
    this.catalog = new LiveCatalog(this.sampler, [this.user, this.processes, this.workloads]);
    this.store.setKeys(this.catalog.keys);
    this.keyIndex = new KeyIndex(this.store);
    this.keyIndex.note(this.catalog.keys);
    this.#row = new Float64Array(this.catalog.width).fill(NaN);
    this.events.onChange = (e, op) => this.hub.publish('event', op === 'add' ? e : { ...e, op });
  }

  /** Raw rows the retention holds at the sampling interval. */
  get capacity() {
    return Math.max(1, Math.floor(this.opts.retentionMs / this.opts.intervalMs));
  }
  #watch: ReturnType<typeof setInterval> | null = null;
  /** The GPU provider in use (a re-probe can replace the one given at start). */
  get gpu(): GpuProvider {
    return this.sampler.gpu;
  }

  /**
   * A provider found after start (the driver loaded late): its GPUs join the catalog at the next
   * tick, and clients get the new schema before the first sample that has them.
   */
  setProvider(p: GpuProvider, notes: string[]) {
    const old = this.gpu;
    this.sampler.setGpu(p);
    this.providerNotes = notes;
    if (old !== p) old.close();
    for (const d of p.devices) this.agentEvent('gpu_added', `GPU ${d.index} added (${d.name}, ${p.kind})`, `gpu${d.index}`);
  }

  start() {
    this.user.start();
    this.sampler.start();
    // "stalled" is derived from the clock, so transitions are noticed here and become events.
    let last = this.sampler.status();
    // Processes whose history the longest tier no longer holds leave the accounting index (checked hourly).
    let pruned = 0;
    this.#watch = setInterval(() => {
      if (Date.now() - pruned > 3_600_000) {
        pruned = Date.now();
        this.processIndex.prune(pruned - this.store.opts.retentionMs['1h']);
      }
      const now = this.sampler.status();
      if (now === 'stalled' && last !== 'stalled') this.agentEvent('collector_stalled', 'collector stalled: no sample for 3 intervals', 'host');
      if (last === 'stalled' && now === 'ready') this.agentEvent('collector_recovered', 'collector recovered', 'host');
      last = now;
    }, 1000);
    (this.#watch as { unref?: () => void }).unref?.();
  }
  stop() {
    if (this.#watch) clearInterval(this.#watch);
    this.sampler.stop();
    this.user.stop();
    this.hub.close();
    this.gpu.close();
    this.opts.host.close();
    this.processIndex.flush();
    this.store.close();
  }

  /** null only if the agent's event budget is full of events newer than now (a clock set back). */
  agentEvent(kind: string, label: string, scope?: string): AgentEvent | null {
    return this.events.add({ t: Date.now(), label, source: 'agent', kind, scope });
  }

  #onSample(t: number, v: Float64Array) {
    const now = Date.now();
    const cat = this.catalog;
    // A changed catalog (a series joined or left, GPUs came up) goes out as `schema` before the first row that uses it.
    if (cat.refresh(now)) this.#catalogChanged();
    const row = this.#row;
    const b = cat.builtinWidth;
    for (let i = 0; i < b; i++) row[i] = quantize(v[i]!);
    cat.fill(row, now);
    const exact = cat.exact;
    for (let i = b; i < row.length; i++) if (!exact[i]) row[i] = quantize(row[i]!);
    // The stream carries what history holds: a row the store refuses is not sent either.
    if (this.store.append(t, row)) this.hub.publishSample(t, row, exact);
    this.#watchGpus();
    // The structured extras (processes, pstate, throttle, workloads) go out only when they change.
    const key = extrasKey(this.sampler.gpuExtras, this.sampler.ollama);
    if (key !== this.#snapshotKey) {
      this.#snapshotKey = key;
      this.hub.publish('snapshot', this.snapshotExtras());
    }
  }

  #catalogChanged() {
    const keys = this.catalog.keys;
    this.store.setKeys(keys);
    this.keyIndex.note(keys);
    this.#row = new Float64Array(keys.length).fill(NaN);
    if (this.#prevThrottle.length !== this.gpu.devices.length) {
      this.#prevThrottle = [];
      this.#prevPids = [];
    }
    this.hub.publish('schema', this.schema());
  }

  /** Whether history can answer for a key: held now or before, or pushed and joining at the next tick. */
  knows(key: string): boolean {
    return this.keyIndex.has(key) || this.user.registry.has(key);
  }

  /** The catalog and the latest row (after a tick: values as stored; before the first: nulls). */
  latest(): { defs: Info['series']; row: Float64Array } {
    return { defs: this.catalog.defs, row: this.#row };
  }

  /** Throttle start/end and process start/end become agent events. */
  #watchGpus() {
    const devs = this.gpu.devices;
    this.sampler.gpuExtras.forEach((x, i) => {
      const d = devs[i]!;
      const prevT = this.#prevThrottle[i] ?? [];
      const started = x.throttle.filter((r) => !prevT.includes(r));
      const ended = prevT.filter((r) => !x.throttle.includes(r));
      if (started.length) this.agentEvent('throttle_start', `GPU ${d.index} throttling: ${started.join(', ')}`, `gpu${d.index}`);
      if (ended.length) this.agentEvent('throttle_end', `GPU ${d.index} throttling ended: ${ended.join(', ')}`, `gpu${d.index}`);
      this.#prevThrottle[i] = x.throttle;
      const pids = new Set(x.processes.map((p) => p.pid));
      const prev = this.#prevPids[i];
      if (prev) {
        // Only new pids are looked up in /proc: this runs every tick.
        const started = enrich(
          x.processes.filter((p) => !prev.has(p.pid)),
          this.opts.procRoot,
        );
        for (const p of started)
          this.agentEvent('process_start', `GPU ${d.index}: ${p.command ?? 'pid ' + p.pid} started (pid ${p.pid}, ${p.user ?? '?'})`, `gpu${d.index}`);
        for (const pid of prev) if (!pids.has(pid)) this.agentEvent('process_end', `GPU ${d.index}: pid ${pid} ended`, `gpu${d.index}`);
      }
      this.#prevPids[i] = pids;
    });
  }

  #onProviderEvent(e: ProviderEvent) {
    switch (e.kind) {
      case 'gpu_lost':
        this.agentEvent('gpu_lost', `GPU ${e.index} lost (${e.uuid})`, `gpu${e.index}`);
        break;
      case 'gpu_recovered':
        this.agentEvent('gpu_recovered', `GPU ${e.index} recovered`, `gpu${e.index}`);
        break;
      case 'gpu_added':
        this.agentEvent('gpu_added', `GPU ${e.index} added (${e.name}, ${this.gpu.kind})`, `gpu${e.index}`);
        break;
      case 'xid':
        this.agentEvent('xid', `GPU ${e.index} XID ${e.xid}`, `gpu${e.index}`);
        break;
      case 'provider_error':
        this.agentEvent('provider_error', e.message);
        break;
    }
  }

  info(): Info {
    const g = this.gpu;
    const inv = this.inventory;
    return {
      version: VERSION,
      hostname: this.opts.hostname,
      interval_ms: this.opts.intervalMs,
      retention_s: Math.round(this.opts.retentionMs / 1000),
      capacity: this.capacity,
      status: this.sampler.status(),
      collector_error: this.sampler.collectorError,
      buffer: { count: this.store.rawRows, ...this.store.span('raw') },
      tiers: this.tiers(),
      storage: this.storage(),
      clients: this.hub.size,
      provider: g.kind,
      provider_notes: this.providerNotes,
      driver_version: g.driverVersion,
      cuda_version: g.cudaVersion,
      host: { cpu_model: inv?.cpuModel ?? null, cores: inv?.cores ?? null, threads: this.opts.host.cpus, os: inv?.os ?? null },
      devices: g.devices.map((d, i) => ({ ...d, lost: this.sampler.gpuExtras[i]?.lost ?? false, mig: this.sampler.gpuExtras[i]?.mig ?? null })),
      series: this.catalog.defs,
      user_metrics: this.user.info(),
      processes: { tracked: Math.floor(this.processes.series.size / 3), max: this.opts.maxProcesses ?? 64, refused_pids: this.processes.refusedPids },
      gpu_reprobe: this.reprobeInfo(),
    };
  }

  /** The schema event: what a client needs to decode sample frames. */
  schema() {
    const i = this.info();
    return {
      version: i.version,
      hostname: i.hostname,
      interval_ms: i.interval_ms,
      retention_s: i.retention_s,
      capacity: i.capacity,
      provider: i.provider,
      driver_version: i.driver_version,
      cuda_version: i.cuda_version,
      host: i.host,
      devices: i.devices,
      series: i.series,
    };
  }

  snapshotExtras() {
    return {
      gpus: this.gpu.devices.map((d, i) => {
        const x = this.sampler.gpuExtras[i];
        return {
          index: d.index,
          pstate: x?.pstate ?? null,
          throttle: x?.throttle ?? [],
          processes: enrich(x?.processes ?? [], this.opts.procRoot, (pid) => this.processes.known(d.index, pid)),
          lost: x?.lost ?? false,
          mig: x?.mig ?? null,
          ecc_volatile: x?.ecc ?? null,
        };
      }),
      workloads: { ollama: this.sampler.ollama },
    };
  }

  snapshot(): Snapshot {
    const v = this.sampler.values;
    const n = (i: number) => wireNum(v[i]!);
    const cpus = this.opts.host.cpus;
    const extras = this.snapshotExtras();
    const gpus: GpuSnapshot[] = this.gpu.devices.map((d, i) => {
      const o = this.sampler.gpuOffset + i * GPU_WIDTH;
      const x = extras.gpus[i]!;
      return {
        index: d.index,
        name: d.name,
        uuid: d.uuid,
        util: n(o + G.util),
        mem_bw_util: n(o + G['mem_bw.util']),
        mem_used: n(o + G['mem.used']),
        mem_total: n(o + G['mem.total']),
        temp_c: n(o + G.temp),
        power_w: n(o + G.power),
        power_limit_w: n(o + G['power.limit']),
        fan_pct: n(o + G.fan),
        clock_sm_mhz: n(o + G['clock.sm']),
        clock_mem_mhz: n(o + G['clock.mem']),
        enc_util: n(o + G['enc.util']),
        dec_util: n(o + G['dec.util']),
        pcie_rx_bps: n(o + G['pcie.rx']),
        pcie_tx_bps: n(o + G['pcie.tx']),
        energy_j: n(o + G.energy),
        pstate: x.pstate,
        throttle: x.throttle,
        processes: x.processes,
        ecc_volatile: x.ecc_volatile ?? undefined,
        lost: x.lost,
        mig: x.mig,
      };
    });
    return {
      t: this.sampler.latestT ?? Date.now(),
      hostname: this.opts.hostname,
      host: {
        cpu: {
          util: n(H['cpu.util']),
          per_core: Array.from({ length: cpus }, (_, i) => n(HOST_METRICS.length + i)),
          cores: this.inventory?.cores ?? null,
          threads: cpus,
          freq_mhz: this.opts.host.freqMhz(),
          model: this.inventory?.cpuModel ?? null,
        },
        memory: { used: n(H['mem.used']), total: n(H['mem.total']), available: wireNum(v[H['mem.total']]! - v[H['mem.used']]!) },
        swap: { used: n(H['swap.used']), total: n(H['swap.total']) },
        load: [n(H.load1), n(H.load5), n(H.load15)],
        uptime_s: n(H.uptime),
        disks: this.opts.host.disks(),
        network: { rx_bps: n(H['net.rx']), tx_bps: n(H['net.tx']) },
        disk_io: { read_bps: n(H['disk.read']), write_bps: n(H['disk.write']) },
        ...hostSummary(this.opts.host),
      },
      gpus,
      workloads: extras.workloads,
    };
  }

  /** Per tier: bucket width, retention, what is held. */
  tiers(): Info['tiers'] {
    const r = this.store.opts.retentionMs;
    return (['raw', '1m', '1h'] as Tier[]).map((tier) => ({
      tier,
      step_ms: tier === 'raw' ? this.opts.intervalMs : tier === '1m' ? 60_000 : 3_600_000,
      retention_s: Math.round(r[tier] / 1000),
      ...this.store.span(tier),
    }));
  }

  storage(): Info['storage'] {
    const s = this.store;
    return {
      dir: s.opts.dir,
      state: s.state.kind,
      message: s.state.kind === 'ok' ? null : s.state.kind === 'memory_only' ? s.state.reason : s.state.message,
      bytes: s.diskBytes,
      max_bytes: s.opts.maxDiskBytes,
      warnings: [...s.warnings],
    };
  }

  /**
   * Opens a stream: schema, current snapshot extras, a replay of the rows newer than `since` read
   * from the store a window at a time as the client drains it, then live.
   */
  openStream(since: number | null, onClose?: () => void): ReadableStream<Uint8Array> {
    const prelude = [encodeEvent('schema', this.schema()), encodeEvent('snapshot', this.snapshotExtras())];
    if (since === null) return this.hub.open(prelude, onClose);
    // The replay ends at the newest row now; rows after it reach this client live.
    const until = this.store.lastT ?? -Infinity;
    const keys = [...this.store.keys];
    return this.hub.open(prelude, onClose, replayFrames(this.store, keys, since, until));
  }
}

/**
 * What the snapshot event is made of, as a string that changes when it does. The process lists
 * and the Ollama list are replaced, never mutated, when the provider reads them again (every
 * few seconds), so they count by identity instead of being serialized every tick.
 */
const listIds = new WeakMap<object, number>();
let nextListId = 0;
// Every empty list is the same list (some providers make a new [] each read).
const idOf = (o: readonly unknown[]) => {
  if (!o.length) return 0;
  let id = listIds.get(o);
  if (id === undefined) listIds.set(o, (id = ++nextListId));
  return id;
};
export function extrasKey(gpus: readonly GpuExtras[], ollama: readonly OllamaModel[]): string {
  let k = String(idOf(ollama));
  for (const x of gpus) k += `|${x.pstate},${x.throttle.join('+')},${x.lost},${x.mig},${x.ecc?.corrected},${x.ecc?.uncorrected},${idOf(x.processes)}`;
  return k;
}

/** SSE sample frames of stored rows in (since, until], about 64 KiB a piece (written without a string per value). */
function* replayFrames(store: Store, keys: string[], since: number, until: number): Generator<Uint8Array> {
  const w = new ByteWriter();
  const exact = keys.map(isExactKey);
  const row = new Float64Array(keys.length);
  for (const b of rowBatches(store, keys, since, until)) {
    for (let i = 0; i < b.t.length; i++) {
      const t = b.t[i]!;
      if (!(t > since)) continue;
      for (let c = 0; c < keys.length; c++) row[c] = b.cols[c]![i]!;
      writeSample(w, t, row, exact);
      // The writer's buffer is reused: the hub writes each piece out (and flushes) before asking for the next.
      if (w.full) yield w.take();
    }
  }
  if (w.pos) yield w.take();
}
