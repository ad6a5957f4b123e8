/**
 * The history charts of one host of a Prometheus source: which PromQL each chart asks for (the
 * dcgm-exporter and node_exporter names a gpulse agent also serves, selected by the host's
 * `instance` label, counters through `rate()`), and how one chart's answers become its lines, or
 * the reason it has none. Each chart is loaded on its own, so a failing query blanks only its chart
 * and says why there.
 */
import { alignToGrid, gridMs, rateWindow, type RangeQuery } from './prom-range.ts';
import type { PromClient, PromLabels } from './prometheus.ts';

export interface PanelQuery {
  /** PromQL with `$instance` (the host's instance label, escaped for a "…" string) and `$__rate_interval`. */
  expr: string;
  /** The line's name for one answered series. */
  legend: (l: PromLabels) => string;
}
export interface PanelDef {
  id: string;
  title: string;
  /** A catalog unit (shared/catalog.ts): the chart formats ticks and legend with shared/format.ts. */
  unit: string;
  yMax?: number;
  /** A GPU chart: left out for a host that has no DCGM series. */
  gpu?: boolean;
  queries: PanelQuery[];
}
export interface PanelLine {
  label: string;
  y: (number | null)[];
}
export type PanelState =
  | { kind: 'loading' }
  | { kind: 'ok'; x: number[]; lines: PanelLine[]; /** non-null values over all lines */ points: number }
  | { kind: 'error'; message: string };

const MIB = 1024 * 1024;
const gpuLegend = (l: PromLabels) => `GPU ${l.gpu ?? '?'}${l.modelName ? ` · ${l.modelName.replace(/^NVIDIA\s+/, '')}` : ''}`;
const named = (name: string) => () => name;
/** Loopback and the usual virtual bridges and veths, as Grafana's node dashboards leave them out of host traffic. */
const NET_DEVICES = 'device!~"lo|veth.*|docker.*|br-.*|virbr.*|cni.*|flannel.*|cali.*"';

export const PANELS: PanelDef[] = [
  {
    id: 'gpu-util',
    title: 'GPU utilization',
    unit: '%',
    yMax: 100,
    gpu: true,
    queries: [{ expr: 'DCGM_FI_DEV_GPU_UTIL{instance="$instance"}', legend: gpuLegend }],
  },
  {
    id: 'gpu-mem',
    title: 'GPU memory used',
    unit: 'B',
    gpu: true,
    queries: [{ expr: `DCGM_FI_DEV_FB_USED{instance="$instance"} * ${MIB}`, legend: gpuLegend }],
  },
  {
    id: 'gpu-temp',
    title: 'GPU temperature',
    unit: 'C',
    gpu: true,
    queries: [{ expr: 'DCGM_FI_DEV_GPU_TEMP{instance="$instance"}', legend: gpuLegend }],
  },
  {
    id: 'gpu-power',
    title: 'GPU power',
    unit: 'W',
    gpu: true,
    queries: [{ expr: 'DCGM_FI_DEV_POWER_USAGE{instance="$instance"}', legend: gpuLegend }],
  },
  {
    id: 'cpu',
    title: 'Host CPU',
    unit: '%',
    yMax: 100,
    queries: [
      {
        expr: '100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{instance="$instance",mode="idle"}[$__rate_interval])))',
        legend: named('CPU busy'),
      },
    ],
  },
  {
    id: 'mem',
    title: 'Host memory',
    unit: 'B',
    queries: [
      { expr: 'node_memory_MemTotal_bytes{instance="$instance"} - node_memory_MemAvailable_bytes{instance="$instance"}', legend: named('used') },
      { expr: 'node_memory_MemTotal_bytes{instance="$instance"}', legend: named('total') },
    ],
  },
  {
    id: 'net',
    title: 'Network',
    unit: 'B/s',
    queries: [
      { expr: `sum by (instance) (rate(node_network_receive_bytes_total{instance="$instance",${NET_DEVICES}}[$__rate_interval]))`, legend: named('received') },
      { expr: `sum by (instance) (rate(node_network_transmit_bytes_total{instance="$instance",${NET_DEVICES}}[$__rate_interval]))`, legend: named('sent') },
    ],
  },
  {
    id: 'disk',
    title: 'Disk',
    unit: 'B/s',
    queries: [
      { expr: 'sum by (instance) (rate(node_disk_read_bytes_total{instance="$instance"}[$__rate_interval]))', legend: named('read') },
      { expr: 'sum by (instance) (rate(node_disk_written_bytes_total{instance="$instance"}[$__rate_interval]))', legend: named('written') },
    ],
  },
];

/** A label value inside a PromQL "…" string: backslashes and quotes escaped (PromQL strings take Go's escapes). */
export const promQuote = (v: string) => JSON.stringify(v).slice(1, -1);

/** The PromQL sent for one chart query: `$instance` and `$__rate_interval` filled in. */
export function expand(expr: string, instance: string, q: RangeQuery, scrapeS: number): string {
  return expr.replaceAll('$__rate_interval', rateWindow(q.step, scrapeS)).replaceAll('$instance', promQuote(instance));
}

/** A chart of the user's own PromQL for this host: one line per answered series, named by its labels. */
export function customPanel(expr: string): PanelDef {
  const legend = (l: PromLabels) =>
    Object.entries(l)
      .filter(([k]) => k !== '__name__')
      .map(([k, v]) => `${k}=${v}`)
      .join(', ') || expr;
  return {
    id: 'custom',
    title: expr,
    unit: '',
    queries: [{ expr, legend }],
  };
}

/** Orders one query's lines: GPUs by number (0, 1, …, 10), others by name. */
const byLabel = (a: PanelLine, b: PanelLine) => a.label.localeCompare(b.label, undefined, { numeric: true });

/** One chart: all its queries over the same grid; the first failure is the chart's error. */
export async function loadPanel(c: PromClient, p: PanelDef, instance: string, q: RangeQuery, scrapeS: number): Promise<PanelState> {
  try {
    const answers = await Promise.all(p.queries.map((pq) => c.range(expand(pq.expr, instance, q, scrapeS), q.start, q.end, q.step)));
    const lines: PanelLine[] = [];
    const x = gridMs(q);
    answers.forEach((series, i) => {
      const al = alignToGrid(series, q, x);
      lines.push(...series.map((s, j) => ({ label: p.queries[i]!.legend(s.labels), y: al.ys[j]! })).sort(byLabel));
    });
    const points = lines.reduce((n, l) => n + l.y.filter((v) => v !== null).length, 0);
    return { kind: 'ok', x, lines, points };
  } catch (e) {
    return { kind: 'error', message: (e as Error).message };
  }
}
