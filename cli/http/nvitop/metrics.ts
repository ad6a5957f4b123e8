/**
 * nvitop monitor-web's `/metrics.json` from gpulse's row: its collector's metric keys
 * (`monitor/host/cpu_percent (%)/mean`, `monitor/gpu:0/memory_used (MiB)/last`, …) with the same
 * units, its buffer and device descriptions. gpulse samples once per interval, so a sample's
 * mean, min, max and last are the same value.
 */
import type { Agent } from '../../agent.ts';
import { bytes2human, formatRetention, UNITS } from './format.ts';

export const PREFIX = 'monitor';

/** One collector metric: its key (scope/name (unit)) and how to compute it from catalog values. */
export interface CompatMetric {
  key: string;
  value: (get: (catalogKey: string) => number) => number;
}

const pct = (a: number, b: number) => (b > 0 ? (a / b) * 100 : NaN);

/** The collector's keys for this host and GPU set, in nvitop's order: host first, then each GPU. */
export function compatMetrics(gpuIndices: readonly number[]): CompatMetric[] {
  const m: CompatMetric[] = [
    { key: 'host/cpu_percent (%)', value: (g) => g('host.cpu.util') },
    { key: 'host/memory_percent (%)', value: (g) => pct(g('host.mem.used'), g('host.mem.total')) },
    // psutil reports 0 % for a host without swap, not "unknown".
    { key: 'host/swap_percent (%)', value: (g) => (g('host.swap.total') === 0 ? 0 : pct(g('host.swap.used'), g('host.swap.total'))) },
    { key: 'host/memory_used (GiB)', value: (g) => g('host.mem.used') / UNITS.GiB },
    { key: 'host/load_average (%) (1 min)', value: (g) => g('host.load1') },
    { key: 'host/load_average (%) (5 min)', value: (g) => g('host.load5') },
    { key: 'host/load_average (%) (15 min)', value: (g) => g('host.load15') },
  ];
  for (const i of gpuIndices) {
    const k = (name: string) => `gpu${i}.${name}`;
    m.push(
      { key: `gpu:${i}/memory_used (MiB)`, value: (g) => g(k('mem.used')) / UNITS.MiB },
      { key: `gpu:${i}/memory_free (MiB)`, value: (g) => (g(k('mem.total')) - g(k('mem.used'))) / UNITS.MiB },
      { key: `gpu:${i}/memory_total (MiB)`, value: (g) => g(k('mem.total')) / UNITS.MiB },
      { key: `gpu:${i}/memory_percent (%)`, value: (g) => Math.round(pct(g(k('mem.used')), g(k('mem.total'))) * 10) / 10 },
      { key: `gpu:${i}/gpu_utilization (%)`, value: (g) => g(k('util')) },
      { key: `gpu:${i}/memory_utilization (%)`, value: (g) => g(k('mem_bw.util')) },
      { key: `gpu:${i}/fan_speed (%)`, value: (g) => g(k('fan')) },
      { key: `gpu:${i}/temperature (C)`, value: (g) => g(k('temp')) },
      { key: `gpu:${i}/power_usage (W)`, value: (g) => g(k('power')) },
    );
  }
  return m;
}

/** The catalog keys the compat metrics read. */
export function compatSourceKeys(gpuIndices: readonly number[]): string[] {
  const host = ['host.cpu.util', 'host.mem.used', 'host.mem.total', 'host.swap.used', 'host.swap.total', 'host.load1', 'host.load5', 'host.load15'];
  return [...host, ...gpuIndices.flatMap((i) => ['mem.used', 'mem.total', 'util', 'mem_bw.util', 'fan', 'temp', 'power'].map((m) => `gpu${i}.${m}`))];
}

/**
 * A sample's metrics dict: every metric as /mean, /min, /max, /last (one reading, so all equal),
 * plus the collector's `duration (s)` (seconds since this agent process started; null for rows an
 * earlier run stored) and `timestamp` (the sample's epoch seconds). Unknown values are null.
 */
export function metricsDict(defs: readonly CompatMetric[], values: readonly number[], t: number, startedAt: number): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  defs.forEach((d, i) => {
    const v = values[i]!;
    const x = Number.isFinite(v) ? v : null;
    for (const s of ['mean', 'min', 'max', 'last']) out[`${PREFIX}/${d.key}/${s}`] = x;
  });
  out[`${PREFIX}/duration (s)`] = t >= startedAt ? (t - startedAt) / 1000 : null;
  out[`${PREFIX}/timestamp`] = t / 1000;
  return out;
}

/** monitor-web's metrics_human: finite MiB and GiB values as nvitop's bytes2human writes them. */
export function metricsHuman(metrics: Record<string, number | null>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metrics)) {
    if (v === null || !Number.isFinite(v)) continue;
    if (k.includes(' (MiB)')) out[k] = bytes2human(v * UNITS.MiB, UNITS.MiB);
    else if (k.includes(' (GiB)')) out[k] = bytes2human(v * UNITS.GiB, UNITS.GiB);
  }
  return out;
}

/** The `buffer` object both endpoints carry: gpulse's raw tier in monitor-web's terms (epoch seconds, 0.0 when empty). */
export function bufferStats(agent: Agent) {
  const span = agent.store.span('raw');
  const retention = agent.opts.retentionMs / 1000;
  return {
    count: agent.store.rawRows,
    max_count: agent.capacity,
    retention_seconds: retention,
    retention_human: formatRetention(retention),
    oldest_epoch: span.oldest === null ? 0.0 : span.oldest / 1000,
    newest_epoch: span.newest === null ? 0.0 : span.newest / 1000,
  };
}

/** The process start, for the collector's `duration (s)`. */
export const PROCESS_STARTED_AT = Date.now() - Math.round(process.uptime() * 1000);

/** `/metrics.json`: the latest sample plus metadata, in monitor-web's shape. */
export function metricsJson(agent: Agent, now = Date.now()) {
  const gpus = agent.gpu.devices.map((d) => d.index);
  const defs = compatMetrics(gpus);
  const index = new Map(agent.sampler.catalog.map((s, i) => [s.key, i]));
  const v = agent.sampler.values;
  const get = (key: string) => {
    const i = index.get(key);
    return i === undefined ? NaN : v[i]!;
  };
  const t = agent.sampler.latestT;
  const metrics =
    t === null
      ? {}
      : metricsDict(
          defs,
          defs.map((d) => d.value(get)),
          t,
          PROCESS_STARTED_AT,
        );
  return {
    interval: agent.opts.intervalMs / 1000,
    hostname: agent.opts.hostname,
    server_time: now / 1000,
    sample_time: t === null ? 0.0 : t / 1000,
    stale_seconds: t === null ? null : Math.max(0, now - t) / 1000,
    status: agent.sampler.status(now),
    collector_error: agent.sampler.collectorError,
    buffer: bufferStats(agent),
    devices: agent.gpu.devices.map((d) => ({
      index: d.index,
      name: d.name,
      memory_total_mib: d.memory_total === null ? 0 : Math.floor(d.memory_total / UNITS.MiB),
      memory_total_human: d.memory_total === null ? 'N/A' : bytes2human(d.memory_total),
      uuid: d.uuid,
    })),
    metrics,
    metrics_human: metricsHuman(metrics),
  };
}
