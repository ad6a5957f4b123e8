/**
 * Per-tick host counters. On Linux: /proc read through file descriptors kept open and pread at
 * offset 0 into one reused buffer (no open/close, no subprocess). Elsewhere: systeminformation.
 */
import { closeSync, openSync, readSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { H, HOST_METRICS } from '../../shared/catalog.ts';
import type { FilesystemUsage } from '../../shared/wire.ts';
import { blockFilesystems, dfUsage, scanFilesystems, type Filesystem } from './filesystems.ts';
import { counterRate, busyTotal, parseLoadavg, parseMeminfo, parseUptime, sumDisks, sumNet } from './proc.ts';
import {
  parseDiskstatsDetail,
  parseMeminfoFields,
  parseNetDevDetail,
  parseStatDetail,
  type DiskCounters,
  type NetDevCounters,
  type StatDetail,
} from './proc-detail.ts';

/** The latest tick's detail behind the host block: node_exporter's families and the snapshot's per-device summary. */
export interface HostDetail {
  t: number;
  stat: StatDetail;
  meminfo: { name: string; value: number; bytes: boolean }[];
  /** Rates are per second over the last interval; NaN on the first reading or a counter reset. */
  net: (NetDevCounters & { rxBps: number; txBps: number })[];
  disks: (DiskCounters & { readBps: number; writeBps: number; busyPct: number })[];
}

export interface HostSource {
  readonly cpus: number;
  /** Writes the host block (fixed metrics then per-core) into `out` at `offset`. */
  sample(t: number, out: Float64Array, offset: number): void | Promise<void>;
  /** Block-device filesystems for the snapshot, accounted like df. */
  disks(): FilesystemUsage[];
  /** Every filesystem node_exporter would list (its default exclusions), for /metrics. Optional: test doubles and non-Linux hosts have none. */
  filesystems?(): Filesystem[];
  /** The newest tick's per-mode, per-field and per-device detail; null before the first tick. Optional, as filesystems(). */
  detail?(): HostDetail | null;
  freqMhz(): number | null;
  close(): void;
}

const BUF = Buffer.allocUnsafe(1 << 20);

class ProcFile {
  #fd: number;
  constructor(readonly path: string) {
    this.#fd = openSync(path, 'r');
  }
  read(): string {
    const n = readSync(this.#fd, BUF, 0, BUF.length, 0);
    return BUF.toString('latin1', 0, n);
  }
  close() {
    try {
      closeSync(this.#fd);
    } catch {
      /* already closed */
    }
  }
}

interface Counters {
  t: number;
  stat: StatDetail;
  net: NetDevCounters[];
  disks: DiskCounters[];
}

export class ProcHost implements HostSource {
  readonly cpus: number;
  #files: Record<'stat' | 'meminfo' | 'loadavg' | 'netdev' | 'diskstats' | 'uptime', ProcFile>;
  #prev: Counters;
  #detail: HostDetail | null = null;
  #fs: Filesystem[] = [];
  #fsAt = -Infinity;

  /** `hostRoot`: the host's / as mounted in a container (`--host-root`): filesystems are the host's mounts. */
  constructor(
    readonly root = '/proc',
    now = Date.now(),
    readonly hostRoot: string | null = null,
  ) {
    this.#files = {
      stat: new ProcFile(join(root, 'stat')),
      meminfo: new ProcFile(join(root, 'meminfo')),
      loadavg: new ProcFile(join(root, 'loadavg')),
      netdev: new ProcFile(join(root, 'net/dev')),
      diskstats: new ProcFile(join(root, 'diskstats')),
      uptime: new ProcFile(join(root, 'uptime')),
    };
    // Prime the counters now, so the first tick already has utilization and rates (over the time
    // since start) instead of nulls: the first snapshot after "ready" is complete.
    this.#prev = this.#counters(now);
    this.cpus = Math.max(1, this.#prev.stat.cpus.length - 1);
  }

  #counters(t: number): Counters {
    const f = this.#files;
    return { t, stat: parseStatDetail(f.stat.read()), net: parseNetDevDetail(f.netdev.read()), disks: parseDiskstatsDetail(f.diskstats.read()) };
  }

  sample(t: number, out: Float64Array, o: number): void {
    const f = this.#files;
    const cur = this.#counters(t);
    const meminfo = f.meminfo.read();
    const mem = parseMeminfo(meminfo);
    const load = parseLoadavg(f.loadavg.read());
    out[o + H['mem.used']] = mem.memUsed;
    out[o + H['mem.total']] = mem.memTotal;
    out[o + H['swap.used']] = mem.swapUsed;
    out[o + H['swap.total']] = mem.swapTotal;
    out[o + H.load1] = load[0];
    out[o + H.load5] = load[1];
    out[o + H.load15] = load[2];
    out[o + H.uptime] = parseUptime(f.uptime.read());
    const p = this.#prev;
    const dt = t - p.t;
    const base = o + HOST_METRICS.length;
    const b0 = busyTotal(p.stat.cpus),
      b1 = busyTotal(cur.stat.cpus);
    out[o + H['cpu.util']] = util(b0.busy[0], b0.total[0], b1.busy[0], b1.total[0]);
    for (let i = 0; i < this.cpus; i++) out[base + i] = util(b0.busy[i + 1], b0.total[i + 1], b1.busy[i + 1], b1.total[i + 1]);
    const n0 = sumNet(p.net),
      n1 = sumNet(cur.net),
      d0 = sumDisks(p.disks),
      d1 = sumDisks(cur.disks);
    out[o + H['net.rx']] = counterRate(n0.rx, n1.rx, dt);
    out[o + H['net.tx']] = counterRate(n0.tx, n1.tx, dt);
    out[o + H['disk.read']] = counterRate(d0.read, d1.read, dt);
    out[o + H['disk.write']] = counterRate(d0.write, d1.write, dt);
    const prevNet = new Map(p.net.map((x) => [x.name, x]));
    const prevDisk = new Map(p.disks.map((x) => [x.name, x]));
    this.#detail = {
      t,
      stat: cur.stat,
      meminfo: parseMeminfoFields(meminfo),
      net: cur.net.map((x) => {
        const q = prevNet.get(x.name);
        return { ...x, rxBps: q ? counterRate(q.rxBytes, x.rxBytes, dt) : NaN, txBps: q ? counterRate(q.txBytes, x.txBytes, dt) : NaN };
      }),
      disks: cur.disks.map((x) => {
        const q = prevDisk.get(x.name);
        // io_ticks are milliseconds the device had I/O in flight: their rate is the busy share.
        const busy = q ? counterRate(q.ioMs, x.ioMs, dt) / 10 : NaN;
        return {
          ...x,
          readBps: q ? counterRate(q.readBytes, x.readBytes, dt) : NaN,
          writeBps: q ? counterRate(q.writeBytes, x.writeBytes, dt) : NaN,
          busyPct: Math.min(100, busy),
        };
      }),
    };
    this.#prev = cur;
  }

  detail() {
    return this.#detail;
  }

  /** Mounted filesystems with usage; statfs is cheap but mounts change rarely, so refresh every 30 s. */
  filesystems(): Filesystem[] {
    const now = Date.now();
    if (now - this.#fsAt < 30_000) return this.#fs;
    this.#fsAt = now;
    return (this.#fs = this.hostRoot ? scanFilesystems(join(this.root, '1/mounts'), this.hostRoot) : scanFilesystems(join(this.root, 'mounts')));
  }

  disks(): FilesystemUsage[] {
    return blockFilesystems(this.filesystems()).map((f) => {
      const { used, percent } = dfUsage(f);
      return {
        mount: f.mount,
        device: f.device,
        fstype: f.fstype,
        total: f.size,
        used,
        free: f.free,
        avail: f.avail,
        percent: percent === null ? null : Math.round(percent * 100) / 100,
      };
    });
  }

  freqMhz(): number | null {
    try {
      return Number(readFileSync('/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq', 'latin1')) / 1000 || null;
    } catch {
      /* fall through */
    }
    try {
      const m = /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync(join(this.root, 'cpuinfo'), 'latin1'));
      return m ? Math.round(Number(m[1])) : null;
    } catch {
      return null;
    }
  }

  close() {
    for (const f of Object.values(this.#files)) f.close();
  }
}

function util(b0: number | undefined, t0: number | undefined, b1: number | undefined, t1: number | undefined): number {
  if (b0 === undefined || t0 === undefined || b1 === undefined || t1 === undefined) return NaN;
  const dt = t1 - t0;
  if (!(dt > 0) || b1 < b0) return NaN;
  return Math.min(100, Math.max(0, ((b1 - b0) / dt) * 100));
}

/** Non-Linux fallback: systeminformation, async, with the same output layout. */
export class SiHost implements HostSource {
  readonly cpus: number;
  constructor(cpus: number) {
    this.cpus = cpus;
  }
  async sample(_t: number, out: Float64Array, o: number) {
    const si = await import('systeminformation');
    const [load, mem, net, fs] = await Promise.all([si.currentLoad(), si.mem(), si.networkStats('*'), si.fsStats().catch(() => null)]);
    out[o + H['cpu.util']] = load.currentLoad;
    load.cpus.forEach((c, i) => {
      if (i < this.cpus) out[o + HOST_METRICS.length + i] = c.load;
    });
    out[o + H['mem.used']] = mem.total - mem.available;
    out[o + H['mem.total']] = mem.total;
    out[o + H['swap.used']] = mem.swapused;
    out[o + H['swap.total']] = mem.swaptotal;
    const os = await import('node:os');
    const [l1, l5, l15] = os.loadavg();
    out[o + H.load1] = l1!;
    out[o + H.load5] = l5!;
    out[o + H.load15] = l15!;
    out[o + H.uptime] = os.uptime();
    out[o + H['net.rx']] = net.reduce((s, n) => s + (n.rx_sec ?? NaN), 0);
    out[o + H['net.tx']] = net.reduce((s, n) => s + (n.tx_sec ?? NaN), 0);
    out[o + H['disk.read']] = fs?.rx_sec ?? NaN;
    out[o + H['disk.write']] = fs?.wx_sec ?? NaN;
  }
  disks() {
    return [];
  }
  filesystems() {
    return [];
  }
  detail() {
    return null;
  }
  freqMhz() {
    return null;
  }
  close() {}
}

export function openHost(procRoot = '/proc', hostRoot: string | null = null): HostSource {
  if (process.platform === 'linux') return new ProcHost(procRoot, Date.now(), hostRoot);
  return new SiHost(require('node:os').cpus().length);
}
