/**
 * Prometheus text exposition: dcgm-exporter's GPU families (metrics/dcgm.ts), node_exporter's host
 * families (metrics/node.ts), and gpulse_* for what neither has. Unsupported values (NaN) are
 * omitted, as both exporters do, rather than exported as 0.
 */
import { H, HOST_METRICS } from '../../shared/catalog.ts';
import type { Agent } from '../agent.ts';
import { dynamicFamilies } from './metrics-dynamic.ts';
import { VERSION } from '../version.ts';
import { dcgmFamilies } from './metrics/dcgm.ts';
import { Exposition, type MetricType } from './metrics/exposition.ts';
import { nodeFamilies } from './metrics/node.ts';

const GPULSE_HOST: [string, number, string, MetricType][] = [
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
  const L = { Hostname: host };
  const x = new Exposition();
  const S = Exposition.sample;

  dcgmFamilies(x, agent.gpu, v, agent.sampler.gpuOffset, host, (i) => !!agent.sampler.gpuExtras[i]?.lost);
  nodeFamilies(x, agent.opts.host, v, host);

  for (const [name, col, help, type] of GPULSE_HOST) S(x.family(name, help, type), L, v[col]!);
  const core = x.family('gpulse_cpu_core_utilization_percent', 'Per logical CPU utilization, in percent.', 'gauge');
  for (let i = 0; i < agent.opts.host.cpus; i++) S(core, { cpu: String(i), ...L }, v[HOST_METRICS.length + i]!);
  S(x.family('gpulse_up', 'Whether the collector is ready (1) or warming up, stalled or failed (0).', 'gauge'), L, agent.sampler.status() === 'ready' ? 1 : 0);
  S(x.family('gpulse_build_info', 'Agent version and GPU provider; always 1.', 'gauge'), { version: VERSION, provider: agent.gpu.kind, ...L }, 1);
  S(x.family('gpulse_stream_clients', 'Open /v1/stream connections.', 'gauge'), L, agent.hub.size);
  S(x.family('gpulse_history_samples', 'Raw samples held in history (disk and memory).', 'gauge'), L, agent.store.rawRows);
  S(x.family('gpulse_history_disk_bytes', 'Bytes of history on disk.', 'gauge'), L, agent.store.diskBytes);
  // User, process and workload series: after the built-in families, whose names they may not take.
  const latest = agent.latest();
  x.families.push(...dynamicFamilies(latest.defs, latest.row, host, new Set(x.families.map((f) => f.name))));
  return x.render();
}
