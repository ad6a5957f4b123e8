/**
 * Prometheus text exposition. GPU metrics use dcgm-exporter's names and labels (gpu, UUID,
 * modelName, Hostname), host metrics node_exporter's where one exists, the rest gpulse_*.
 * Unsupported values (NaN) are omitted, as dcgm-exporter does, rather than exported as 0.
 */
import { G, GPU_WIDTH, H, HOST_METRICS } from '../../shared/catalog.ts';
import type { Agent } from '../agent.ts';
import { dynamicFamilies } from './metrics-dynamic.ts';
import { VERSION } from '../version.ts';

type Family = { name: string; help: string; type: 'gauge' | 'counter' | 'untyped'; lines: string[] };

const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labels = (l: Record<string, string>) => '{' + Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`).join(',') + '}';

const GPU_FAMILIES: [string, number, string, 'gauge' | 'counter', number][] = [
  // name, metric column, help, type, scale
  ['DCGM_FI_DEV_GPU_UTIL', G.util, 'GPU utilization (in %).', 'gauge', 1],
  ['DCGM_FI_DEV_MEM_COPY_UTIL', G['mem_bw.util'], 'Memory utilization (in %).', 'gauge', 1],
  ['DCGM_FI_DEV_FB_USED', G['mem.used'], 'Framebuffer memory used (in MiB).', 'gauge', 1 / 1048576],
  ['DCGM_FI_DEV_FB_TOTAL', G['mem.total'], 'Framebuffer memory total (in MiB).', 'gauge', 1 / 1048576],
  ['DCGM_FI_DEV_GPU_TEMP', G.temp, 'GPU temperature (in C).', 'gauge', 1],
  ['DCGM_FI_DEV_POWER_USAGE', G.power, 'Power draw (in W).', 'gauge', 1],
  ['DCGM_FI_DEV_POWER_MGMT_LIMIT', G['power.limit'], 'Enforced power limit (in W).', 'gauge', 1],
  ['DCGM_FI_DEV_FAN_SPEED', G.fan, 'Fan speed (in %).', 'gauge', 1],
  ['DCGM_FI_DEV_SM_CLOCK', G['clock.sm'], 'SM clock frequency (in MHz).', 'gauge', 1],
  ['DCGM_FI_DEV_MEM_CLOCK', G['clock.mem'], 'Memory clock frequency (in MHz).', 'gauge', 1],
  ['DCGM_FI_DEV_ENC_UTIL', G['enc.util'], 'Encoder utilization (in %).', 'gauge', 1],
  ['DCGM_FI_DEV_DEC_UTIL', G['dec.util'], 'Decoder utilization (in %).', 'gauge', 1],
  ['DCGM_FI_PROF_PCIE_RX_BYTES', G['pcie.rx'], 'PCIe receive rate (in B/s).', 'gauge', 1],
  ['DCGM_FI_PROF_PCIE_TX_BYTES', G['pcie.tx'], 'PCIe transmit rate (in B/s).', 'gauge', 1],
  ['DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', G.energy, 'Total energy consumption since boot (in mJ).', 'counter', 1000],
];

const HOST_FAMILIES: [string, number, string, 'gauge' | 'counter'][] = [
  ['node_load1', H.load1, '1m load average.', 'gauge'],
  ['node_load5', H.load5, '5m load average.', 'gauge'],
  ['node_load15', H.load15, '15m load average.', 'gauge'],
  ['node_memory_MemTotal_bytes', H['mem.total'], 'Memory information field MemTotal_bytes.', 'gauge'],
  ['node_memory_SwapTotal_bytes', H['swap.total'], 'Memory information field SwapTotal_bytes.', 'gauge'],
  ['gpulse_memory_used_bytes', H['mem.used'], 'Host memory in use (total minus available), in bytes.', 'gauge'],
  ['gpulse_swap_used_bytes', H['swap.used'], 'Swap in use, in bytes.', 'gauge'],
  ['gpulse_cpu_utilization_percent', H['cpu.util'], 'Host CPU utilization over the last interval, in percent.', 'gauge'],
  ['gpulse_network_receive_bytes_per_second', H['net.rx'], 'Network receive rate over non-virtual interfaces.', 'gauge'],
  ['gpulse_network_transmit_bytes_per_second', H['net.tx'], 'Network transmit rate over non-virtual interfaces.', 'gauge'],
  ['gpulse_disk_read_bytes_per_second', H['disk.read'], 'Disk read rate over whole block devices.', 'gauge'],
  ['gpulse_disk_written_bytes_per_second', H['disk.write'], 'Disk write rate over whole block devices.', 'gauge'],
  ['gpulse_uptime_seconds', H.uptime, 'Host uptime in seconds.', 'gauge'],
];

export function renderMetrics(agent: Agent): string {
  const v = agent.sampler.values;
  const host = agent.opts.hostname;
  const fams: Family[] = [];
  const fam = (name: string, help: string, type: 'gauge' | 'counter') => { const f: Family = { name, help, type, lines: [] }; fams.push(f); return f; };
  const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(10).replace(/\.?0+$/, ''));

  const devs = agent.gpu.devices;
  for (const [name, col, help, type, scale] of GPU_FAMILIES) {
    const f = fam(name, help, type);
    devs.forEach((d, i) => {
      const x = v[agent.sampler.gpuOffset + i * GPU_WIDTH + col]!;
      if (Number.isFinite(x)) f.lines.push(`${name}${labels({ gpu: String(d.index), UUID: d.uuid, modelName: d.name, Hostname: host })} ${num(Math.round(x * scale * 1000) / 1000)}`);
    });
  }
  const lost = fam('gpulse_gpu_lost', 'Whether the GPU has fallen off the bus (1) or not (0).', 'gauge');
  devs.forEach((d, i) => lost.lines.push(`gpulse_gpu_lost${labels({ gpu: String(d.index), UUID: d.uuid, modelName: d.name, Hostname: host })} ${agent.sampler.gpuExtras[i]?.lost ? 1 : 0}`));

  for (const [name, col, help, type] of HOST_FAMILIES) {
    const x = v[col]!;
    const f = fam(name, help, type);
    if (Number.isFinite(x)) f.lines.push(`${name}${labels({ Hostname: host })} ${num(x)}`);
  }
  const core = fam('gpulse_cpu_core_utilization_percent', 'Per logical CPU utilization, in percent.', 'gauge');
  for (let i = 0; i < agent.opts.host.cpus; i++) {
    const x = v[HOST_METRICS.length + i]!;
    if (Number.isFinite(x)) core.lines.push(`gpulse_cpu_core_utilization_percent${labels({ cpu: String(i), Hostname: host })} ${num(x)}`);
  }
  const size = fam('node_filesystem_size_bytes', 'Filesystem size in bytes.', 'gauge');
  const used = fam('gpulse_filesystem_used_bytes', 'Filesystem space in use, in bytes.', 'gauge');
  for (const d of agent.opts.host.disks()) {
    size.lines.push(`node_filesystem_size_bytes${labels({ mountpoint: d.mount, Hostname: host })} ${d.total}`);
    used.lines.push(`gpulse_filesystem_used_bytes${labels({ mountpoint: d.mount, Hostname: host })} ${d.used}`);
  }
  const st = agent.sampler.status();
  fam('gpulse_up', 'Whether the collector is ready (1) or warming up, stalled or failed (0).', 'gauge').lines.push(`gpulse_up${labels({ Hostname: host })} ${st === 'ready' ? 1 : 0}`);
  fam('gpulse_build_info', 'Agent version and GPU provider; always 1.', 'gauge').lines.push(`gpulse_build_info${labels({ version: VERSION, provider: agent.gpu.kind, Hostname: host })} 1`);
  fam('gpulse_stream_clients', 'Open /v1/stream connections.', 'gauge').lines.push(`gpulse_stream_clients${labels({ Hostname: host })} ${agent.hub.size}`);
  fam('gpulse_history_samples', 'Raw samples held in history (disk and memory).', 'gauge').lines.push(`gpulse_history_samples${labels({ Hostname: host })} ${agent.store.rawRows}`);
  fam('gpulse_history_disk_bytes', 'Bytes of history on disk.', 'gauge').lines.push(`gpulse_history_disk_bytes${labels({ Hostname: host })} ${agent.store.diskBytes}`);

  // User, process and workload series: after the built-in families, whose names they may not take.
  const latest = agent.latest();
  fams.push(...dynamicFamilies(latest.defs, latest.row, host, new Set(fams.map((f) => f.name))));
  let out = '';
  for (const f of fams) {
    if (!f.lines.length) continue;
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n${f.lines.join('\n')}\n`;
  }
  return out;
}
