/**
 * Linux /proc parsers: pure functions over file text, so fixtures test them. Counter fields
 * are returned raw; rates come from deltas in host.ts.
 */
import { CPU_MODES, isVirtualInterface, isWholeDisk, parseDiskstatsDetail, parseNetDevDetail, type DiskCounters, type NetDevCounters } from './proc-detail.ts';

/** Aggregate and per-CPU jiffies from /proc/stat: [busy, total] pairs; index 0 is the "cpu" line. */
export function parseStat(text: string): { busy: number[]; total: number[] } {
  const cpus: number[][] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) continue;
    const f = line.trim().split(/\s+/);
    cpus[f[0] === 'cpu' ? 0 : Number(f[0]!.slice(3)) + 1] = CPU_MODES.map((_, i) => Number(f[i + 1]) || 0);
  }
  return busyTotal(cpus);
}

/** user nice system idle iowait irq softirq steal → busy and total; iowait counts as idle (guest* is already in user/nice). */
export function busyTotal(cpus: readonly (readonly number[] | undefined)[]): { busy: number[]; total: number[] } {
  const busy: number[] = [];
  const total: number[] = [];
  cpus.forEach((m, idx) => {
    if (!m) return;
    let sum = 0;
    for (const j of m) sum += j;
    busy[idx] = sum - m[3]! - m[4]!;
    total[idx] = sum;
  });
  return { busy, total };
}

export interface MemInfo {
  memTotal: number;
  memUsed: number;
  swapTotal: number;
  swapUsed: number;
}
/** Bytes. "Used" follows free(1): total − available (falls back to free+buffers+cached on old kernels). */
export function parseMeminfo(text: string): MemInfo {
  const kb: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(line);
    if (m) kb[m[1]!] = Number(m[2]);
  }
  const total = kb.MemTotal ?? NaN;
  const avail = kb.MemAvailable ?? (kb.MemFree ?? 0) + (kb.Buffers ?? 0) + (kb.Cached ?? 0);
  return {
    memTotal: total * 1024,
    memUsed: (total - avail) * 1024,
    swapTotal: (kb.SwapTotal ?? NaN) * 1024,
    swapUsed: ((kb.SwapTotal ?? NaN) - (kb.SwapFree ?? NaN)) * 1024,
  };
}

export function parseLoadavg(text: string): [number, number, number] {
  const f = text.trim().split(/\s+/);
  return [Number(f[0]), Number(f[1]), Number(f[2])];
}

export const parseUptime = (text: string): number => Number(text.trim().split(/\s+/)[0]);

/** Summed rx/tx bytes over physical-ish interfaces (skips lo and virtual bridges/veths so containers are not double counted). */
export function parseNetDev(text: string): { rx: number; tx: number } {
  return sumNet(parseNetDevDetail(text));
}
export function sumNet(devs: readonly NetDevCounters[]): { rx: number; tx: number } {
  let rx = 0,
    tx = 0;
  for (const d of devs)
    if (!isVirtualInterface(d.name)) {
      rx += d.rxBytes;
      tx += d.txBytes;
    }
  return { rx, tx };
}

/** Summed bytes read/written over whole disks, skipping partitions, loop, ram and dm devices. */
export function parseDiskstats(text: string): { read: number; write: number } {
  return sumDisks(parseDiskstatsDetail(text));
}
export function sumDisks(disks: readonly DiskCounters[]): { read: number; write: number } {
  let read = 0,
    write = 0;
  for (const d of disks)
    if (isWholeDisk(d.name)) {
      read += d.readBytes;
      write += d.writeBytes;
    }
  return { read, write };
}

/**
 * Per-second rate from two counter readings. A counter that went backwards (wrap at 2^32/2^64,
 * interface reset, device removed) yields NaN for that tick rather than a negative or huge spike.
 */
export function counterRate(prev: number, cur: number, dtMs: number): number {
  if (!(dtMs > 0) || !Number.isFinite(prev) || !Number.isFinite(cur) || cur < prev) return NaN;
  return ((cur - prev) * 1000) / dtMs;
}
