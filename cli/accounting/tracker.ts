/**
 * Per-process GPU series: for every process on a GPU, its GPU memory and SM / memory utilization
 * (`proc.gpu<N>.<pid>-<start s>.mem|sm|memutil`), attributed to user, command, container, pod and
 * job, and recorded in the ProcessIndex so accounting can group them later. The provider's process
 * lists change at its slow cadence (5 s), so a tick only compares list identities; /proc is read
 * once per new process.
 */
import type { ProcessOwner, ProcessSeries } from '../../shared/catalog.ts';
import type { DeviceInfo } from '../../shared/wire.ts';
import { EphemeralSeries } from '../catalog/ephemeral.ts';
import type { SeriesSource } from '../catalog/source.ts';
import type { GpuExtras } from '../gpu/provider.ts';
import { attribute, commandGroup, type Attribution } from '../sample/attribution.ts';
import type { ProcessIndex } from './process-index.ts';

export interface TrackerOptions {
  /** Most processes with series at once (three series each). */
  maxProcesses: number;
  /** A process gone this long leaves the live catalog. */
  retireMs: number;
  procRoot?: string;
  index: ProcessIndex;
}

export const PROCESS_METRICS = [
  ['mem', 'GPU memory', 'B'],
  ['sm', 'SM utilization', '%'],
  ['memutil', 'memory utilization', '%'],
] as const;

/** How often a running process's last-seen time is written to the index. */
const SEEN_EVERY_MS = 60_000;

export class ProcessTracker implements SeriesSource {
  readonly series: EphemeralSeries<ProcessSeries>;
  /** Processes that got no series because the cap was reached (the newest few, for /v1/info). */
  refusedPids: number[] = [];
  #lists: unknown[] = [];
  #firstSeen = new Map<string, number>();
  /** Attribution of the pids in the previous round, by `gpu:pid`: a process still listed is not read from /proc again. */
  #known = new Map<string, Attribution | null>();
  #lastSeenWrite = 0;
  #live: string[] = [];

  constructor(
    readonly read: () => { devices: readonly DeviceInfo[]; extras: readonly GpuExtras[] },
    readonly opts: TrackerOptions,
  ) {
    // The label names the command, user and pid; with the other owner fields that is the whole description.
    const same = (a: ProcessSeries, b: ProcessSeries) =>
      a.label === b.label && a.container === b.container && a.pod === b.pod && a.namespace === b.namespace && a.job === b.job && a.command === b.command;
    this.series = new EphemeralSeries(opts.retireMs, opts.maxProcesses * PROCESS_METRICS.length, same);
  }

  get version(): number {
    return this.series.version;
  }

  prepare(now: number) {
    const { devices, extras } = this.read();
    // Lists are replaced when re-read, so identity says whether anything changed (an empty list is an empty list).
    if (
      extras.length !== this.#lists.length ||
      extras.some((x, i) => x.processes !== this.#lists[i] && (x.processes.length || (this.#lists[i] as unknown[]).length))
    ) {
      this.#lists = extras.map((x) => x.processes);
      this.#resync(now, devices, extras);
    }
    if (now - this.#lastSeenWrite >= SEEN_EVERY_MS) {
      this.#lastSeenWrite = now;
      for (const id of this.#live) this.opts.index.seen(id, now);
    }
    this.series.prepare(now);
  }

  #resync(now: number, devices: readonly DeviceInfo[], extras: readonly GpuExtras[]) {
    const rows: [ProcessSeries, number][] = [];
    const live: string[] = [];
    const seenPids = new Set<string>();
    const known = new Map<string, Attribution | null>();
    extras.forEach((x, i) => {
      const gpu = devices[i]?.index ?? i;
      for (const p of x.processes) {
        // Listed in the previous round too: the same process (its pid cannot be reused while it runs).
        const gp = `${gpu}:${p.pid}`;
        const a = this.#known.has(gp) ? this.#known.get(gp)! : attribute(p.pid, this.opts.procRoot);
        known.set(gp, a);
        const slot = `${gpu}:${p.pid}:${a?.start ?? ''}`;
        seenPids.add(slot);
        // Without /proc (another pid namespace) the first sighting stands in for the start time.
        const first = this.#firstSeen.get(slot) ?? now;
        this.#firstSeen.set(slot, first);
        const id = `gpu${gpu}.${p.pid}-${a?.start_s ?? Math.floor(first / 1000)}`;
        const owner: ProcessOwner = {
          user: a?.user ?? null,
          command: a?.command ?? null,
          container: a?.container ?? null,
          pod: a?.pod ?? null,
          namespace: a?.namespace ?? null,
          job: a?.job ?? null,
        };
        const what = `${commandGroup(owner.command) ?? 'pid ' + p.pid} (${owner.user ?? '?'}, pid ${p.pid})`;
        const values = { mem: p.gpu_mem ?? NaN, sm: p.sm_util ?? NaN, memutil: p.mem_util ?? NaN };
        for (const [metric, label, unit] of PROCESS_METRICS) {
          rows.push([
            { key: `proc.${id}.${metric}`, label: `GPU ${gpu} ${what} ${label}`, unit, scope: 'process', gpu, pid: p.pid, metric, ...owner },
            values[metric],
          ]);
        }
        this.opts.index.upsert({ id, gpu, pid: p.pid, uid: a?.uid ?? null, ...owner, first: now, last: now });
        live.push(id);
      }
    });
    for (const k of this.#firstSeen.keys()) if (!seenPids.has(k)) this.#firstSeen.delete(k);
    this.#known = known;
    const refused = this.series.sync(now, rows);
    this.refusedPids = [...new Set(refused.map((k) => Number(/\.(\d+)-/.exec(k)?.[1])))].slice(-20);
    // A process that just ended was last seen about now: record that, not the last periodic write.
    const now_ = new Set(live);
    for (const id of this.#live) if (!now_.has(id)) this.opts.index.seen(id, now);
    this.#live = live;
  }

  /** The attribution read for a process on a GPU in the latest round (undefined: not listed then). */
  known(gpu: number, pid: number): Attribution | null | undefined {
    return this.#known.get(`${gpu}:${pid}`);
  }

  defs(): readonly ProcessSeries[] {
    return this.series.defs();
  }
  fill(out: Float64Array, at: number) {
    this.series.fill(out, at);
  }
}
