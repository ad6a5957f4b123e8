import { describe, expect, test } from 'bun:test';
import { containerFromCgroup } from '../../cli/sample/processes.ts';
import { counterRate, parseDiskstats, parseLoadavg, parseMeminfo, parseNetDev, parseStat } from '../../cli/sample/proc.ts';

const STAT = `cpu  100 0 50 800 50 0 0 0 0 0
cpu0 60 0 30 380 30 0 0 0 0 0
cpu1 40 0 20 420 20 0 0 0 0 0
intr 12345
ctxt 999
`;
const MEMINFO = `MemTotal:       16000000 kB
MemFree:         2000000 kB
MemAvailable:    6000000 kB
Buffers:          500000 kB
Cached:          3000000 kB
SwapTotal:       4000000 kB
SwapFree:        3000000 kB
Hugepagesize:       2048 kB
`;
const NETDEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 5000000   100    0    0    0     0          0         0  5000000   100    0    0    0     0       0          0
  eth0: 1000     10    0    0    0     0          0         0     2000      20    0    0    0     0       0          0
  ens5: 500       5    0    0    0     0          0         0      700       7    0    0    0     0       0          0
veth12ab: 9999999 1   0    0    0     0          0         0  9999999       1    0    0    0     0       0          0
`;
const DISKSTATS = `   8       0 sda 100 0 2000 0 50 0 4000 0 0 0 0
   8       1 sda1 90 0 1800 0 45 0 3600 0 0 0 0
 259       0 nvme0n1 10 0 100 0 5 0 60 0 0 0 0
 259       1 nvme0n1p1 10 0 100 0 5 0 60 0 0 0 0
   7       0 loop0 1000 0 99999 0 0 0 0 0 0 0 0
 253       0 dm-0 1 0 99999 0 1 0 99999 0 0 0 0
`;

describe('/proc parsers (fixtures)', () => {
  test('stat: aggregate and per-CPU busy/total jiffies, iowait counted as idle', () => {
    const s = parseStat(STAT);
    expect(s.total).toEqual([1000, 500, 500]);
    expect(s.busy).toEqual([150, 90, 60]);
  });
  test('meminfo: used = total − available, swap used, in bytes', () => {
    const m = parseMeminfo(MEMINFO);
    expect(m.memTotal).toBe(16000000 * 1024);
    expect(m.memUsed).toBe(10000000 * 1024);
    expect(m.swapUsed).toBe(1000000 * 1024);
  });
  test('meminfo without MemAvailable (old kernels) falls back to free+buffers+cached', () => {
    expect(parseMeminfo(MEMINFO.replace(/MemAvailable.*\n/, '')).memUsed).toBe((16000000 - 5500000) * 1024);
  });
  test('loadavg', () => expect(parseLoadavg('0.52 0.58 0.59 1/467 12345\n')).toEqual([0.52, 0.58, 0.59]));
  test('net/dev sums real interfaces, skipping lo and veths', () => expect(parseNetDev(NETDEV)).toEqual({ rx: 1500, tx: 2700 }));
  test('diskstats sums whole disks in bytes, skipping partitions, loop and dm', () =>
    expect(parseDiskstats(DISKSTATS)).toEqual({ read: 2100 * 512, write: 4060 * 512 }));
});

describe('counterRate()', () => {
  test('per second from deltas', () => expect(counterRate(1000, 3000, 2000)).toBe(1000));
  test('a counter that wrapped or reset gives NaN (null), never a negative or huge spike', () => {
    expect(counterRate(2 ** 32 - 10, 5, 1000)).toBeNaN();
    expect(counterRate(1e12, 0, 1000)).toBeNaN();
  });
  test('no previous reading or no time passed gives NaN', () => {
    expect(counterRate(NaN, 5, 1000)).toBeNaN();
    expect(counterRate(1, 5, 0)).toBeNaN();
  });
});

describe('containerFromCgroup()', () => {
  const id = 'a'.repeat(12) + 'b'.repeat(52);
  test.each([
    [`0::/system.slice/docker-${id}.scope`, 'aaaaaaaaaaaa'],
    [`12:memory:/docker/${id}`, 'aaaaaaaaaaaa'],
    [`0::/kubepods.slice/kubepods-burstable.slice/cri-containerd-${id}.scope`, 'aaaaaaaaaaaa'],
    [`0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${id}.scope/container`, 'aaaaaaaaaaaa'],
    ['0::/user.slice/user-1000.slice/session-3.scope', null],
  ])('%p → %p', (text, want) => expect(containerFromCgroup(text)).toBe(want));
});
