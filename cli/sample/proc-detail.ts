/**
 * Per-device and per-mode detail from the same /proc files the tick already reads: what
 * node_exporter exports (CPU seconds by mode, every meminfo field, per-interface and per-disk
 * counters) and what /v1/snapshot summarises. Pure functions over file text, like proc.ts.
 */

/** /proc/stat's CPU modes, in file order; guest and guest_nice are already inside user and nice. */
export const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

export interface StatDetail {
  /** Jiffies per mode (CPU_MODES order); index 0 is the "cpu" aggregate line, then cpu0, cpu1, … */
  cpus: number[][];
  /** Boot time (s since the epoch), context switches, interrupts, forks, running and blocked processes. */
  btime: number;
  ctxt: number;
  intr: number;
  forks: number;
  running: number;
  blocked: number;
}

export function parseStatDetail(text: string): StatDetail {
  const d: StatDetail = { cpus: [], btime: NaN, ctxt: NaN, intr: NaN, forks: NaN, running: NaN, blocked: NaN };
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const key = line.slice(0, sp);
    if (key.startsWith('cpu')) {
      const f = line.slice(sp).trim().split(/\s+/);
      const idx = key === 'cpu' ? 0 : Number(key.slice(3)) + 1;
      if (Number.isInteger(idx)) d.cpus[idx] = CPU_MODES.map((_, i) => Number(f[i]) || 0);
      continue;
    }
    // "intr" is followed by one count per interrupt line: only the first number (the total) is kept.
    const first = Number(
      line
        .slice(sp + 1)
        .trimStart()
        .split(' ', 1)[0],
    );
    switch (key) {
      case 'btime':
        d.btime = first;
        break;
      case 'ctxt':
        d.ctxt = first;
        break;
      case 'intr':
        d.intr = first;
        break;
      case 'processes':
        d.forks = first;
        break;
      case 'procs_running':
        d.running = first;
        break;
      case 'procs_blocked':
        d.blocked = first;
        break;
    }
  }
  return d;
}

/**
 * Every /proc/meminfo field under node_exporter's name: "Active(anon)" → "Active_anon"; values
 * given in kB become bytes (`bytes: true`), the HugePages_* counts stay counts.
 */
export function parseMeminfoFields(text: string): { name: string; value: number; bytes: boolean }[] {
  const out: { name: string; value: number; bytes: boolean }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([\w()]+):\s+(\d+)(\s+kB)?/.exec(line);
    if (!m) continue;
    out.push({ name: m[1]!.replace(/\((\w+)\)/, '_$1'), value: Number(m[2]) * (m[3] ? 1024 : 1), bytes: !!m[3] });
  }
  return out;
}

export interface NetDevCounters {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrs: number;
  rxDrop: number;
  txBytes: number;
  txPackets: number;
  txErrs: number;
  txDrop: number;
}

/** One entry per interface in /proc/net/dev (the two header lines skipped). */
export function parseNetDevDetail(text: string): NetDevCounters[] {
  const out: NetDevCounters[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map((x) => Number(x) || 0);
    out.push({
      name: line.slice(0, colon).trim(),
      rxBytes: f[0]!,
      rxPackets: f[1]!,
      rxErrs: f[2]!,
      rxDrop: f[3]!,
      txBytes: f[8]!,
      txPackets: f[9]!,
      txErrs: f[10]!,
      txDrop: f[11]!,
    });
  }
  return out;
}

/** Loopback and the virtual devices containers and bridges add: counted once on the real interface. */
export const isVirtualInterface = (name: string) => name === 'lo' || /^(veth|docker|br-|virbr|cni|flannel|cali|vxlan)/.test(name);

export interface DiskCounters {
  name: string;
  reads: number;
  readsMerged: number;
  readBytes: number;
  readMs: number;
  writes: number;
  writesMerged: number;
  writeBytes: number;
  writeMs: number;
  ioNow: number;
  ioMs: number;
  ioWeightedMs: number;
}

/** One entry per block device in /proc/diskstats; sectors are always 512 bytes there. */
export function parseDiskstatsDetail(text: string): DiskCounters[] {
  const out: DiskCounters[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const n = (i: number) => Number(f[i]) || 0;
    out.push({
      name: f[2]!,
      reads: n(3),
      readsMerged: n(4),
      readBytes: n(5) * 512,
      readMs: n(6),
      writes: n(7),
      writesMerged: n(8),
      writeBytes: n(9) * 512,
      writeMs: n(10),
      ioNow: n(11),
      ioMs: n(12),
      ioWeightedMs: n(13),
    });
  }
  return out;
}

/** Whole disks only: partitions (sda1, nvme0n1p1, mmcblk0p1), loop, ram, dm, zram, sr and fd are left out of sums and summaries. */
export const isWholeDisk = (name: string) =>
  !/^(loop|ram|dm-|zram|sr|fd)/.test(name) && !/^(sd|vd|xvd|hd)[a-z]+\d+$/.test(name) && !/^(nvme\d+n\d+|mmcblk\d+)p\d+$/.test(name);

/** node_exporter's default --collector.diskstats.device-exclude: what its dashboards expect to see. */
export const NODE_EXPORTER_DISK_EXCLUDE = /^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$/;
