/**
 * A Prometheus endpoint's fleet, read from the dcgm-exporter and node_exporter families any gpulse
 * agent (or the real exporters) exposes: hosts from node_uname_info (nodename, else instance), GPUs
 * from DCGM_FI_DEV_GPU_UTIL's labels (gpu, modelName, Hostname), joined on `instance`; a host with
 * GPUs is named by their Hostname label (the node name given to the agent or dcgm-exporter; uname's
 * nodename is the kernel's, the same for every container on one machine). One poll is a
 * handful of instant queries; nothing is stored (read-only, no IndexedDB history in this slice).
 */
import type { PromGpu, PromHost } from '../../shared/tab-messages.ts';
import type { PromClient, PromSample } from './prometheus.ts';

export type { PromGpu, PromHost };

export const FLEET_QUERIES = {
  uname: 'node_uname_info',
  util: 'DCGM_FI_DEV_GPU_UTIL',
  fbUsed: 'DCGM_FI_DEV_FB_USED',
  fbFree: 'DCGM_FI_DEV_FB_FREE',
  temp: 'DCGM_FI_DEV_GPU_TEMP',
  power: 'DCGM_FI_DEV_POWER_USAGE',
  cpu: '100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[1m])))',
} as const;

const MIB = 1024 * 1024;

/** Build the host list from one poll's answers (pure: unit-tested without a server). */
export function buildFleet(r: Record<keyof typeof FLEET_QUERIES, PromSample[]>): PromHost[] {
  const hosts = new Map<string, PromHost>();
  /** `strong`: a name from DCGM's Hostname label (the node name the agent or dcgm-exporter was given), which wins over uname's. */
  const host = (instance: string, name?: string, strong = false) => {
    let h = hosts.get(instance);
    if (!h) hosts.set(instance, (h = { instance, name: name || instance, cpu: null, gpus: [] }));
    else if (name && (strong || h.name === instance)) h.name = name;
    return h;
  };
  for (const s of r.uname) {
    const inst = s.labels.instance ?? s.labels.nodename ?? '';
    host(inst, s.labels.nodename || s.labels.instance);
  }
  const gpuKey = (s: PromSample) => `${s.labels.instance ?? s.labels.Hostname ?? ''}\u0000${s.labels.gpu ?? ''}`;
  const byGpu = (xs: PromSample[]) => new Map(xs.map((s) => [gpuKey(s), s.v]));
  const used = byGpu(r.fbUsed),
    free = byGpu(r.fbFree),
    temp = byGpu(r.temp),
    power = byGpu(r.power);
  for (const s of r.util) {
    const k = gpuKey(s);
    const u = used.get(k) ?? null,
      f = free.get(k) ?? null;
    host(s.labels.instance ?? s.labels.Hostname ?? '', s.labels.Hostname, true).gpus.push({
      gpu: s.labels.gpu ?? '?',
      model: s.labels.modelName ?? '',
      util: s.v,
      memUsed: u === null ? null : u * MIB,
      memTotal: u === null || f === null ? null : (u + f) * MIB,
      temp: temp.get(k) ?? null,
      power: power.get(k) ?? null,
    });
  }
  for (const s of r.cpu) {
    const h = hosts.get(s.labels.instance ?? '');
    if (h) h.cpu = s.v;
  }
  const list = [...hosts.values()];
  for (const h of list) h.gpus.sort((a, b) => Number(a.gpu) - Number(b.gpu) || a.gpu.localeCompare(b.gpu));
  return list.sort((a, b) => a.name.localeCompare(b.name));
}

/** One poll: every query at once; a failing query fails the poll (its PromError says why). */
export async function pollFleet(c: PromClient): Promise<PromHost[]> {
  const keys = Object.keys(FLEET_QUERIES) as (keyof typeof FLEET_QUERIES)[];
  const answers = await Promise.all(keys.map((k) => c.instant(FLEET_QUERIES[k])));
  return buildFleet(Object.fromEntries(keys.map((k, i) => [k, answers[i]!])) as Record<keyof typeof FLEET_QUERIES, PromSample[]>);
}
