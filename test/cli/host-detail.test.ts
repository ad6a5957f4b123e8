/** Per-mode, per-field and per-device host detail: parsers on fixtures, df accounting, primed counters, the snapshot's summary. */
import { describe, expect, test } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { H, HOST_METRICS } from '../../shared/catalog.ts';
import { blockFilesystems, dfUsage, nodeExporterListed, parseMounts, scanFilesystems } from '../../cli/sample/filesystems.ts';
import { ProcHost } from '../../cli/sample/host.ts';
import { NODE_EXPORTER_DISK_EXCLUDE, parseDiskstatsDetail, parseMeminfoFields, parseNetDevDetail, parseStatDetail } from '../../cli/sample/proc-detail.ts';
import { auth, startAgent, tmp } from '../helpers.ts';

const STAT = `cpu  100 2 50 800 50 3 4 5 0 0
cpu0 60 1 30 380 30 1 2 3 0 0
cpu1 40 1 20 420 20 2 2 2 0 0
intr 12345 0 0 7
ctxt 999
btime 1700000000
processes 4242
procs_running 3
procs_blocked 1
softirq 77 1 2
`;
const NETDEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 5000000   100    0    0    0     0          0         0  5000000   100    0    0    0     0       0          0
  eth0: 1000     10    1    2    0     0          0         0     2000      20    3    4    0     0       0          0
`;
const DISKSTATS = `   8       0 sda 100 7 2000 30 50 8 4000 40 2 500 600 0 0 0 0
   8       1 sda1 90 0 1800 0 45 0 3600 0 0 0 0 0 0 0 0
 259       1 nvme0n1p1 10 0 100 0 5 0 60 0 0 0 0 0 0 0 0
 253       0 dm-0 1 0 99999 0 1 0 99999 0 0 0 0 0 0 0 0
`;
const MEMINFO = `MemTotal:       16000000 kB
MemFree:         2000000 kB
MemAvailable:    6000000 kB
Active(anon):     123 kB
SwapTotal:       4000000 kB
SwapFree:        3000000 kB
HugePages_Total:       4
Hugepagesize:       2048 kB
`;

describe('/proc detail parsers (fixtures)', () => {
  test('stat: jiffies per mode per CPU, boot time, context switches, interrupts, forks, running/blocked', () => {
    const d = parseStatDetail(STAT);
    expect(d.cpus[0]).toEqual([100, 2, 50, 800, 50, 3, 4, 5]);
    expect(d.cpus[2]).toEqual([40, 1, 20, 420, 20, 2, 2, 2]);
    expect(d).toMatchObject({ btime: 1700000000, ctxt: 999, intr: 12345, forks: 4242, running: 3, blocked: 1 });
  });
  test("meminfo: every field under node_exporter's name, kB as bytes, HugePages counts as counts", () => {
    const m = Object.fromEntries(parseMeminfoFields(MEMINFO).map((f) => [f.name, f]));
    expect(m.MemAvailable).toEqual({ name: 'MemAvailable', value: 6000000 * 1024, bytes: true });
    expect(m.Active_anon!.value).toBe(123 * 1024);
    expect(m.HugePages_Total).toEqual({ name: 'HugePages_Total', value: 4, bytes: false });
  });
  test('net/dev: bytes, packets, errors and drops per interface', () => {
    expect(parseNetDevDetail(NETDEV)[1]).toEqual({
      name: 'eth0',
      rxBytes: 1000,
      rxPackets: 10,
      rxErrs: 1,
      rxDrop: 2,
      txBytes: 2000,
      txPackets: 20,
      txErrs: 3,
      txDrop: 4,
    });
  });
  test("diskstats: every counter per device, sectors as bytes; node_exporter's device exclusion", () => {
    expect(parseDiskstatsDetail(DISKSTATS)[0]).toEqual({
      name: 'sda',
      reads: 100,
      readsMerged: 7,
      readBytes: 2000 * 512,
      readMs: 30,
      writes: 50,
      writesMerged: 8,
      writeBytes: 4000 * 512,
      writeMs: 40,
      ioNow: 2,
      ioMs: 500,
      ioWeightedMs: 600,
    });
    expect(['sda', 'sda1', 'nvme0n1p1', 'dm-0', 'nvme0n1', 'loop3'].filter((n) => !NODE_EXPORTER_DISK_EXCLUDE.test(n))).toEqual(['sda', 'dm-0', 'nvme0n1']);
  });
});

describe('filesystems, accounted like df', () => {
  const MOUNTS = `/dev/vda / ext4 rw,relatime 0 0
proc /proc proc rw 0 0
tmpfs /run tmpfs rw,nosuid 0 0
/dev/vdb /mnt/my\\040data xfs ro,relatime 0 0
/dev/vda /var/lib/docker/overlay2/x ext4 rw 0 0
overlay /var/lib/docker/overlay2/y/merged overlay rw 0 0
server:/export /nfs nfs4 rw 0 0
/dev/vda /srv ext4 rw 0 0
`;
  test("mounts: octal escapes decoded, ro noted; node_exporter's exclusions and no network filesystems", () => {
    const ms = parseMounts(MOUNTS);
    expect(ms[3]).toEqual({ device: '/dev/vdb', mount: '/mnt/my data', fstype: 'xfs', readonly: true });
    expect(ms.filter(nodeExporterListed).map((m) => m.mount)).toEqual(['/', '/run', '/mnt/my data', '/srv']);
  });
  test("statfs per mount; df's Used, Avail and Use% with root's reserve; a failing statfs is a device error; the snapshot lists block devices once", () => {
    const root = tmp();
    writeFileSync(join(root, 'mounts'), MOUNTS);
    // 1000 blocks of 4 KiB, 400 free, of which 350 are available to non-root (50 reserved).
    const fs = scanFilesystems(join(root, 'mounts'), '', (p) => {
      if (p === '/run') throw new Error('EACCES');
      return { blocks: 1000, bfree: 400, bavail: 350, bsize: 4096, files: 100, ffree: 60 };
    });
    const slash = fs.find((f) => f.mount === '/')!;
    expect(slash).toMatchObject({ size: 4096000, free: 1638400, avail: 1433600, files: 100, filesFree: 60, error: 0 });
    const u = dfUsage(slash);
    expect(u.used).toBe(600 * 4096);
    expect(Math.ceil(u.percent!)).toBe(64); // df: 600 / (600 + 350) = 63.2 → 64%
    expect(fs.find((f) => f.mount === '/run')).toMatchObject({ error: 1 });
    expect(blockFilesystems(fs).map((f) => f.mount)).toEqual(['/', '/mnt/my data']);
  });
});

describe('ProcHost', () => {
  function fakeProc() {
    const root = tmp();
    mkdirSync(join(root, 'net'));
    writeFileSync(join(root, 'stat'), STAT);
    writeFileSync(join(root, 'meminfo'), MEMINFO);
    writeFileSync(join(root, 'loadavg'), '0.5 0.4 0.3 1/100 42\n');
    writeFileSync(join(root, 'net/dev'), NETDEV);
    writeFileSync(join(root, 'diskstats'), DISKSTATS);
    writeFileSync(join(root, 'uptime'), '1234.5 99\n');
    writeFileSync(join(root, 'mounts'), '');
    return root;
  }
  test('counters are primed at construction: the first tick already has utilization and rates', () => {
    const root = fakeProc();
    const host = new ProcHost(root, 1_000_000);
    // One second later: cpu0 did 50 more jiffies of user work out of 100, eth0 received 1000 bytes, sda read 1 MiB and was busy 250 ms.
    writeFileSync(join(root, 'stat'), STAT.replace('cpu  100 2 50 800', 'cpu  150 2 50 850').replace('cpu0 60 1 30 380', 'cpu0 110 1 30 430'));
    writeFileSync(join(root, 'net/dev'), NETDEV.replace('eth0: 1000 ', 'eth0: 2000 '));
    writeFileSync(join(root, 'diskstats'), DISKSTATS.replace('sda 100 7 2000 30 50 8 4000 40 2 500', `sda 100 7 ${2000 + 2048} 30 50 8 4000 40 2 750`));
    const out = new Float64Array(HOST_METRICS.length + host.cpus).fill(NaN);
    host.sample(1_001_000, out, 0);
    expect(out[H['cpu.util']]).toBe(50);
    expect(out[HOST_METRICS.length]).toBe(50);
    expect(out[H['net.rx']]).toBe(1000);
    expect(out[H['disk.read']]).toBe(1048576);
    const d = host.detail()!;
    expect(d.net.find((n) => n.name === 'eth0')).toMatchObject({ rxBps: 1000, txBps: 0 });
    expect(d.disks.find((n) => n.name === 'sda')).toMatchObject({ readBps: 1048576, busyPct: 25 });
    expect(d.stat.btime).toBe(1700000000);
    host.close();
  });
  test("--host-root: the host init's mount table, each mount point statfs'ed under the host root, labelled with the host's path", () => {
    const hostRoot = tmp();
    mkdirSync(join(hostRoot, 'proc/1'), { recursive: true });
    mkdirSync(join(hostRoot, 'data'));
    writeFileSync(join(hostRoot, 'proc/1/mounts'), '/dev/sda1 / ext4 rw 0 0\n/dev/sdb /data xfs rw 0 0\n');
    const seen: string[] = [];
    const fs = scanFilesystems(join(hostRoot, 'proc/1/mounts'), hostRoot, (path) => {
      seen.push(path);
      return { blocks: 10, bfree: 5, bavail: 4, bsize: 4096, files: 1, ffree: 1 };
    });
    expect(seen).toEqual([join(hostRoot, '/'), join(hostRoot, '/data')]);
    expect(fs.map((f) => [f.mount, f.device])).toEqual([
      ['/', '/dev/sda1'],
      ['/data', '/dev/sdb'],
    ]);
    // Through ProcHost, with a real statfs of the directories standing in for the host's mounts.
    for (const [f, text] of [
      ['stat', STAT],
      ['meminfo', MEMINFO],
      ['loadavg', '0 0 0 1/1 1\n'],
      ['diskstats', DISKSTATS],
      ['uptime', '1 1\n'],
    ] as const)
      writeFileSync(join(hostRoot, 'proc', f), text);
    mkdirSync(join(hostRoot, 'proc/net'));
    writeFileSync(join(hostRoot, 'proc/net/dev'), NETDEV);
    const host = new ProcHost(join(hostRoot, 'proc'), 0, hostRoot);
    expect(host.filesystems().map((f) => f.mount)).toEqual(['/', '/data']);
    expect(host.filesystems()[1]!.size).toBeGreaterThan(0);
    host.close();
  });
  test('a counter that went backwards is a null rate for that device only', () => {
    const root = fakeProc();
    const host = new ProcHost(root, 0);
    writeFileSync(join(root, 'net/dev'), NETDEV.replace('eth0: 1000 ', 'eth0: 10   ').replace('lo: 5000000 ', 'lo: 5001000 '));
    host.sample(1000, new Float64Array(HOST_METRICS.length + host.cpus), 0);
    const net = host.detail()!.net;
    expect(net.find((n) => n.name === 'eth0')!.rxBps).toBeNaN();
    expect(net.find((n) => n.name === 'lo')!.rxBps).toBe(1000);
    host.close();
  });
});

describe('the snapshot right after ready', () => {
  test('has rates, memory available, filesystems like df, interfaces and disks', async () => {
    const a = await startAgent(['--interval', '1s', '--gpu', 'none', '--no-persist']);
    try {
      for (let i = 0; i < 100; i++) {
        if ((await (await fetch(a.url + '/healthz')).json()).status === 'ready') break;
        await Bun.sleep(20);
      }
      const s = (await (await fetch(a.url + '/v1/snapshot', auth(a.token))).json()).host;
      expect(s.cpu.util).not.toBeNull();
      expect(s.network.rx_bps).not.toBeNull();
      expect(s.disk_io.read_bps).not.toBeNull();
      expect(s.memory.available).toBe(s.memory.total - s.memory.used);
      const lo = s.interfaces.find((n: { name: string }) => n.name === 'lo');
      expect(lo).toMatchObject({ virtual: true });
      expect(lo.rx_bytes).toBeGreaterThan(0);
      expect(lo.rx_bps).not.toBeNull();
      for (const d of s.disks) {
        expect(d.used + d.free).toBe(d.total);
        expect(d.avail).toBeLessThanOrEqual(d.free);
        expect(d.percent).toBeCloseTo((d.used / (d.used + d.avail)) * 100, 1);
      }
      for (const d of s.disk_devices) expect(d.read_bps).not.toBeNull();
    } finally {
      await a.stop();
    }
  });
});
