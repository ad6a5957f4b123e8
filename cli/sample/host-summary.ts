/** The snapshot's per-interface and per-disk summary, from the host source's newest tick. */
import { wireNum } from '../../shared/json.ts';
import type { DiskIoUsage, InterfaceUsage } from '../../shared/wire.ts';
import type { HostSource } from './host.ts';
import { isVirtualInterface, isWholeDisk } from './proc-detail.ts';

export function hostSummary(host: HostSource): { interfaces: InterfaceUsage[]; disk_devices: DiskIoUsage[] } {
  const d = host.detail?.();
  if (!d) return { interfaces: [], disk_devices: [] };
  return {
    interfaces: d.net.map((x) => ({
      name: x.name,
      virtual: isVirtualInterface(x.name),
      rx_bytes: x.rxBytes,
      tx_bytes: x.txBytes,
      rx_packets: x.rxPackets,
      tx_packets: x.txPackets,
      rx_bps: wireNum(x.rxBps),
      tx_bps: wireNum(x.txBps),
    })),
    // Whole disks, as host.disk_io sums them: a partition's I/O is already in its disk's.
    disk_devices: d.disks
      .filter((x) => isWholeDisk(x.name))
      .map((x) => ({
        name: x.name,
        read_bytes: x.readBytes,
        write_bytes: x.writeBytes,
        reads: x.reads,
        writes: x.writes,
        read_bps: wireNum(x.readBps),
        write_bps: wireNum(x.writeBps),
        busy_pct: wireNum(x.busyPct),
      })),
  };
}
