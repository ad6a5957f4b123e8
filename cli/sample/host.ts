/**
 * Per-tick host counters. On Linux: /proc read through file descriptors kept open and pread at
 * offset 0 into one reused buffer (no open/close, no subprocess). Elsewhere: systeminformation.
 */
import { closeSync, openSync, readSync, readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { H, HOST_METRICS } from '../../shared/catalog.ts';
import { counterRate, parseDiskstats, parseLoadavg, parseMeminfo, parseNetDev, parseStat, parseUptime } from './proc.ts';

export interface HostSource {
  readonly cpus: number;
  /** Writes the host block (fixed metrics then per-core) into `out` at `offset`. */
  sample(t: number, out: Float64Array, offset: number): void | Promise<void>;
  disks(): { mount: string; used: number; total: number }[];
  freqMhz(): number | null;
  close(): void;
}

const BUF = Buffer.allocUnsafe(1 << 20);

class ProcFile {
  #fd: number;
  constructor(readonly path: string) { this.#fd = openSync(path, 'r'); }
  read(): string {
    const n = readSync(this.#fd, BUF, 0, BUF.length, 0);
    return BUF.toString('latin1', 0, n);
  }
  close() { try { closeSync(this.#fd); } catch { /* already closed */ } }
}

export class ProcHost implements HostSource {
  readonly cpus: number;
  #files: Record<'stat' | 'meminfo' | 'loadavg' | 'netdev' | 'diskstats' | 'uptime', ProcFile>;
  #prev: { t: number; busy: number[]; total: number[]; rx: number; tx: number; rd: number; wr: number } | null = null;
  #disks: { mount: string; used: number; total: number }[] = [];
  #disksAt = 0;

  constructor(readonly root = '/proc') {
    this.#files = {
      stat: new ProcFile(join(root, 'stat')),
      meminfo: new ProcFile(join(root, 'meminfo')),
      loadavg: new ProcFile(join(root, 'loadavg')),
      netdev: new ProcFile(join(root, 'net/dev')),
      diskstats: new ProcFile(join(root, 'diskstats')),
      uptime: new ProcFile(join(root, 'uptime')),
    };
    this.cpus = Math.max(1, parseStat(this.#files.stat.read()).total.length - 1);
  }

  sample(t: number, out: Float64Array, o: number): void {
    const f = this.#files;
    const stat = parseStat(f.stat.read());
    const mem = parseMeminfo(f.meminfo.read());
    const load = parseLoadavg(f.loadavg.read());
    const net = parseNetDev(f.netdev.read());
    const disk = parseDiskstats(f.diskstats.read());
    out[o + H['mem.used']] = mem.memUsed;
    out[o + H['mem.total']] = mem.memTotal;
    out[o + H['swap.used']] = mem.swapUsed;
    out[o + H['swap.total']] = mem.swapTotal;
    out[o + H.load1] = load[0];
    out[o + H.load5] = load[1];
    out[o + H.load15] = load[2];
    out[o + H.uptime] = parseUptime(f.uptime.read());
    const p = this.#prev;
    const base = o + HOST_METRICS.length;
    if (p) {
      const dt = t - p.t;
      out[o + H['cpu.util']] = util(p.busy[0], p.total[0], stat.busy[0], stat.total[0]);
      for (let i = 0; i < this.cpus; i++) out[base + i] = util(p.busy[i + 1], p.total[i + 1], stat.busy[i + 1], stat.total[i + 1]);
      out[o + H['net.rx']] = counterRate(p.rx, net.rx, dt);
      out[o + H['net.tx']] = counterRate(p.tx, net.tx, dt);
      out[o + H['disk.read']] = counterRate(p.rd, disk.read, dt);
      out[o + H['disk.write']] = counterRate(p.wr, disk.write, dt);
    } else {
      // First tick: no delta yet, so rates and utilization are unknown (null), not 0.
      out[o + H['cpu.util']] = NaN;
      for (let i = 0; i < this.cpus; i++) out[base + i] = NaN;
      out[o + H['net.rx']] = out[o + H['net.tx']] = out[o + H['disk.read']] = out[o + H['disk.write']] = NaN;
    }
    this.#prev = { t, busy: stat.busy, total: stat.total, rx: net.rx, tx: net.tx, rd: disk.read, wr: disk.write };
  }

  /** Mounted real filesystems with usage; statfs is cheap but mounts change rarely, so refresh every 30 s. */
  disks() {
    const now = Date.now();
    if (now - this.#disksAt < 30_000) return this.#disks;
    this.#disksAt = now;
    const seen = new Set<string>();
    const out: { mount: string; used: number; total: number }[] = [];
    try {
      for (const line of readFileSync(join(this.root, 'mounts'), 'latin1').split('\n')) {
        const [dev, mount, type] = line.split(' ');
        if (!dev || !mount || !dev.startsWith('/dev/') || /^(squashfs|iso9660|overlay)$/.test(type ?? '') || seen.has(dev)) continue;
        seen.add(dev);
        try {
          const s = statfsSync(mount.replace(/\\040/g, ' '));
          const total = s.blocks * s.bsize;
          if (total > 0) out.push({ mount, used: (s.blocks - s.bfree) * s.bsize, total });
        } catch { /* unreadable mount: skip */ }
      }
    } catch { /* no /proc/mounts */ }
    return (this.#disks = out);
  }

  freqMhz(): number | null {
    try { return Number(readFileSync('/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq', 'latin1')) / 1000 || null; } catch { /* fall through */ }
    try {
      const m = /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync(join(this.root, 'cpuinfo'), 'latin1'));
      return m ? Math.round(Number(m[1])) : null;
    } catch { return null; }
  }

  close() { for (const f of Object.values(this.#files)) f.close(); }
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
  constructor(cpus: number) { this.cpus = cpus; }
  async sample(_t: number, out: Float64Array, o: number) {
    const si = await import('systeminformation');
    const [load, mem, net, fs] = await Promise.all([si.currentLoad(), si.mem(), si.networkStats('*'), si.fsStats().catch(() => null)]);
    out[o + H['cpu.util']] = load.currentLoad;
    load.cpus.forEach((c, i) => { if (i < this.cpus) out[o + HOST_METRICS.length + i] = c.load; });
    out[o + H['mem.used']] = mem.total - mem.available;
    out[o + H['mem.total']] = mem.total;
    out[o + H['swap.used']] = mem.swapused;
    out[o + H['swap.total']] = mem.swaptotal;
    const os = await import('node:os');
    const [l1, l5, l15] = os.loadavg();
    out[o + H.load1] = l1!; out[o + H.load5] = l5!; out[o + H.load15] = l15!;
    out[o + H.uptime] = os.uptime();
    out[o + H['net.rx']] = net.reduce((s, n) => s + (n.rx_sec ?? NaN), 0);
    out[o + H['net.tx']] = net.reduce((s, n) => s + (n.tx_sec ?? NaN), 0);
    out[o + H['disk.read']] = fs?.rx_sec ?? NaN;
    out[o + H['disk.write']] = fs?.wx_sec ?? NaN;
  }
  disks() { return []; }
  freqMhz() { return null; }
  close() {}
}

export function openHost(procRoot = '/proc'): HostSource {
  if (process.platform === 'linux') return new ProcHost(procRoot);
  return new SiHost(require('node:os').cpus().length);
}
