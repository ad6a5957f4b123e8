/**
 * node_exporter's families for the panels of Grafana's "Node Exporter Full" (CPU, memory, network,
 * disk, filesystem, system): node_exporter's names, labels (cpu, mode, device, mountpoint, fstype)
 * and types, from what the host source read on its last tick (and its 30 s filesystem scan).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { H } from '../../../shared/catalog.ts';
import { dfUsage } from '../../sample/filesystems.ts';
import type { HostSource } from '../../sample/host.ts';
import { CPU_MODES, NODE_EXPORTER_DISK_EXCLUDE } from '../../sample/proc-detail.ts';
import { Exposition } from './exposition.ts';

/** /proc/stat counts in USER_HZ ticks, 100 per second on every Linux ABI (node_exporter's procfs assumes the same). */
const USER_HZ = 100;

/** uname(2)'s fields, read once: they do not change while the agent runs (nodename is --hostname-independent, as node_exporter's). */
let uname: Record<string, string> | null = null;
function unameLabels(): Record<string, string> {
  if (uname) return uname;
  let domain = '(none)';
  try {
    domain = readFileSync('/proc/sys/kernel/domainname', 'latin1').trim() || '(none)';
  } catch {
    /* not Linux */
  }
  return (uname = { domainname: domain, machine: os.machine(), nodename: os.hostname(), release: os.release(), sysname: os.type(), version: os.version() });
}

export function nodeFamilies(x: Exposition, host: HostSource, values: Float64Array, hostname: string, now = Date.now()) {
  const H_ = { Hostname: hostname };
  const S = Exposition.sample;
  const d = host.detail?.() ?? null;

  // CPU
  const cpu = x.family('node_cpu_seconds_total', 'Seconds the CPUs spent in each mode.', 'counter');
  d?.stat.cpus.forEach((modes, idx) => {
    if (idx === 0 || !modes) return; // node_exporter exports per-CPU series only; sum by (mode) gives the total
    CPU_MODES.forEach((m, j) => S(cpu, { cpu: String(idx - 1), mode: m, ...H_ }, modes[j]! / USER_HZ));
  });

  // System
  for (const [name, help, v] of [
    ['node_load1', '1m load average.', values[H.load1]!],
    ['node_load5', '5m load average.', values[H.load5]!],
    ['node_load15', '15m load average.', values[H.load15]!],
  ] as const) {
    S(x.family(name, help, 'gauge'), H_, v);
  }
  S(x.family('node_boot_time_seconds', 'Node boot time, in unixtime.', 'gauge'), H_, d?.stat.btime ?? NaN);
  S(x.family('node_time_seconds', 'System time in seconds since epoch (1970).', 'gauge'), H_, now / 1000);
  S(x.family('node_uname_info', 'Labeled system information as provided by the uname system call.', 'gauge'), { ...unameLabels(), ...H_ }, 1);
  S(x.family('node_context_switches_total', 'Total number of context switches.', 'counter'), H_, d?.stat.ctxt ?? NaN);
  S(x.family('node_intr_total', 'Total number of interrupts serviced.', 'counter'), H_, d?.stat.intr ?? NaN);
  S(x.family('node_forks_total', 'Total number of forks.', 'counter'), H_, d?.stat.forks ?? NaN);
  S(x.family('node_procs_running', 'Number of processes in runnable state.', 'gauge'), H_, d?.stat.running ?? NaN);
  S(x.family('node_procs_blocked', 'Number of processes blocked waiting for I/O to complete.', 'gauge'), H_, d?.stat.blocked ?? NaN);

  // Memory: every /proc/meminfo field, as node_exporter names them; without /proc, the two totals from the tick.
  if (d) {
    for (const f of d.meminfo) {
      const name = `node_memory_${f.name}${f.bytes ? '_bytes' : ''}`;
      S(x.family(name, `Memory information field ${f.name}${f.bytes ? '_bytes' : ''}.`, 'gauge'), H_, f.value);
    }
  } else {
    S(x.family('node_memory_MemTotal_bytes', 'Memory information field MemTotal_bytes.', 'gauge'), H_, values[H['mem.total']]!);
    S(x.family('node_memory_SwapTotal_bytes', 'Memory information field SwapTotal_bytes.', 'gauge'), H_, values[H['swap.total']]!);
  }

  // Network: every interface, as node_exporter (dashboards filter lo and virtual devices themselves).
  const net = (
    [
      ['receive', 'rx'],
      ['transmit', 'tx'],
    ] as const
  ).flatMap(([dir, k]) =>
    (
      [
        ['bytes', 'Bytes'],
        ['packets', 'Packets'],
        ['errs', 'Errs'],
        ['drop', 'Drop'],
      ] as const
    ).map(
      ([what, field]) =>
        [x.family(`node_network_${dir}_${what}_total`, `Network device statistic ${dir}_${what}.`, 'counter'), `${k}${field}` as const] as const,
    ),
  );
  for (const n of d?.net ?? []) for (const [f, field] of net) S(f, { device: n.name, ...H_ }, n[field]);

  // Disks: node_exporter's default device exclusion (partitions, loop, ram, fd).
  const disk = (name: string, help: string, type: 'gauge' | 'counter', get: (c: NonNullable<typeof d>['disks'][number]) => number) => ({
    f: x.family(name, help, type),
    get,
  });
  const disks = [
    disk('node_disk_reads_completed_total', 'The total number of reads completed successfully.', 'counter', (c) => c.reads),
    disk('node_disk_reads_merged_total', 'The total number of reads merged.', 'counter', (c) => c.readsMerged),
    disk('node_disk_read_bytes_total', 'The total number of bytes read successfully.', 'counter', (c) => c.readBytes),
    disk('node_disk_read_time_seconds_total', 'The total number of seconds spent by all reads.', 'counter', (c) => c.readMs / 1000),
    disk('node_disk_writes_completed_total', 'The total number of writes completed successfully.', 'counter', (c) => c.writes),
    disk('node_disk_writes_merged_total', 'The number of writes merged.', 'counter', (c) => c.writesMerged),
    disk('node_disk_written_bytes_total', 'The total number of bytes written successfully.', 'counter', (c) => c.writeBytes),
    disk('node_disk_write_time_seconds_total', 'This is the total number of seconds spent by all writes.', 'counter', (c) => c.writeMs / 1000),
    disk('node_disk_io_now', 'The number of I/Os currently in progress.', 'gauge', (c) => c.ioNow),
    disk('node_disk_io_time_seconds_total', 'Total seconds spent doing I/Os.', 'counter', (c) => c.ioMs / 1000),
    disk('node_disk_io_time_weighted_seconds_total', 'The weighted # of seconds spent doing I/Os.', 'counter', (c) => c.ioWeightedMs / 1000),
  ];
  for (const c of d?.disks ?? []) {
    if (NODE_EXPORTER_DISK_EXCLUDE.test(c.name)) continue;
    for (const { f, get } of disks) S(f, { device: c.name, ...H_ }, get(c));
  }

  // Filesystems (node_exporter's default mount and type exclusions; network filesystems left out).
  const fs = {
    size: x.family('node_filesystem_size_bytes', 'Filesystem size in bytes.', 'gauge'),
    free: x.family('node_filesystem_free_bytes', 'Filesystem free space in bytes.', 'gauge'),
    avail: x.family('node_filesystem_avail_bytes', 'Filesystem space available to non-root users in bytes.', 'gauge'),
    files: x.family('node_filesystem_files', 'Filesystem total file nodes.', 'gauge'),
    filesFree: x.family('node_filesystem_files_free', 'Filesystem total free file nodes.', 'gauge'),
    ro: x.family('node_filesystem_readonly', 'Filesystem read-only status.', 'gauge'),
    err: x.family('node_filesystem_device_error', 'Whether an error occurred while getting statistics for the given device.', 'gauge'),
    used: x.family('gpulse_filesystem_used_bytes', 'Filesystem space in use (size minus free blocks, as df), in bytes.', 'gauge'),
  };
  for (const f of host.filesystems?.() ?? []) {
    const l = { device: f.device, fstype: f.fstype, mountpoint: f.mount, ...H_ };
    S(fs.size, l, f.size);
    S(fs.free, l, f.free);
    S(fs.avail, l, f.avail);
    S(fs.files, l, f.files);
    S(fs.filesFree, l, f.filesFree);
    S(fs.ro, l, f.readonly ? 1 : 0);
    S(fs.err, l, f.error);
    S(fs.used, l, dfUsage(f).used);
  }
}
