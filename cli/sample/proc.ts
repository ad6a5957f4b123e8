/**
 * Linux /proc parsers: pure functions over file text, so fixtures test them. Counter fields
 * are returned raw; rates come from deltas in host.ts.
 */

/** Aggregate and per-CPU jiffies from /proc/stat: [busy, total] pairs; index 0 is the "cpu" line. */
export function parseStat(text: string): { busy: number[]; total: number[] } {
  const busy: number[] = [];
  const total: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) continue;
    const f = line.trim().split(/\s+/);
    // user nice system idle iowait irq softirq steal (guest* already counted in user/nice)
    let sum = 0;
    for (let i = 1; i <= 8 && i < f.length; i++) sum += Number(f[i]) || 0;
    const idle = (Number(f[4]) || 0) + (Number(f[5]) || 0);
    const idx = f[0] === 'cpu' ? 0 : Number(f[0]!.slice(3)) + 1;
    busy[idx] = sum - idle;
    total[idx] = sum;
  }
  return { busy, total };
}

export interface MemInfo { memTotal: number; memUsed: number; swapTotal: number; swapUsed: number }
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
  let rx = 0, tx = 0;
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo' || /^(veth|docker|br-|virbr|cni|flannel|cali|vxlan)/.test(name)) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/);
    rx += Number(f[0]) || 0;
    tx += Number(f[8]) || 0;
  }
  return { rx, tx };
}

/** Summed sectors read/written (×512 bytes) over whole disks, skipping partitions, loop, ram and dm devices. */
export function parseDiskstats(text: string): { read: number; write: number } {
  let read = 0, write = 0;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const name = f[2]!;
    if (/^(loop|ram|dm-|zram|sr|fd)/.test(name)) continue;
    // Partitions: sda1, nvme0n1p1, mmcblk0p1, vda2 — count only the whole device.
    if (/^(sd|vd|xvd|hd)[a-z]+\d+$/.test(name) || /^(nvme\d+n\d+|mmcblk\d+)p\d+$/.test(name)) continue;
    read += (Number(f[5]) || 0) * 512;
    write += (Number(f[9]) || 0) * 512;
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
