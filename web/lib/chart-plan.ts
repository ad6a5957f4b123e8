/**
 * Which charts a host view draws, read from the endpoint's catalog: one chart per group (shared/catalog.ts
 * `ChartGroup`) and scope (the host, each GPU), split further where a group mixes units or where
 * each metric deserves its own chart (user metrics by name, processes and workloads by metric).
 * Nothing here names a series key: a series the agent announces is charted with its own label and unit.
 */
import { CHART_GROUPS, groupOf, type ChartGroup, type SeriesDef } from '../../shared/catalog.ts';

export const GROUP_TITLES: Readonly<Record<ChartGroup, string>> = {
  utilization: 'Utilization',
  memory: 'Memory',
  temperature: 'Temperature',
  power: 'Power vs limit',
  clocks: 'Clocks',
  fan: 'Fan',
  pcie: 'PCIe throughput',
  codec: 'Encoder / decoder',
  network: 'Network',
  disk: 'Disk I/O',
  load: 'Load average',
  cpu_cores: 'CPU cores',
  energy: 'Energy',
  uptime: 'Uptime',
  process: 'Processes',
  workload: 'Workloads',
  custom: 'Your metrics',
};

/** Groups drawn folded away at first: many lines (one per core) or a counter that only climbs. */
export const FOLDED_GROUPS: ReadonlySet<ChartGroup> = new Set(['cpu_cores', 'energy', 'uptime']);

export interface PlannedSeries {
  key: string;
  label: string;
}
export interface ChartSpec {
  /** Stable across ticks: group, scope, unit and (where split) metric. */
  id: string;
  group: ChartGroup;
  title: string;
  unit: string;
  /** Whose events belong on it: `host`, `gpu<N>`, `user` or `workload` (see marksFor). */
  scope: string;
  /** GPU index for GPU and process charts, for the GPU selector. */
  gpu: number | null;
  series: PlannedSeries[];
  /** Percentages of a whole are drawn 0–100; everything else scales to its data. */
  yMax?: number;
}

/** `all`, or one GPU index. */
export type GpuFilter = 'all' | number;

const gpuOfScope = (scope: string) => {
  const m = /^gpu(\d+)$/.exec(scope);
  return m ? Number(m[1]) : null;
};

const ACRONYMS: Record<string, string> = { gpu: 'GPU', sm: 'SM', pcie: 'PCIe', cpu: 'CPU' };
/** A series label without the `GPU <N> ` its chart title already says (GPU labels are lower case in the catalog). */
function shortLabel(def: SeriesDef): string {
  const l = def.label.replace(/^GPU \d+ /, '').replace(/\b(gpu|sm|pcie|cpu)\b/gi, (w) => ACRONYMS[w.toLowerCase()]!);
  return l.charAt(0).toUpperCase() + l.slice(1);
}

const labelsText = (l: Record<string, string>) =>
  Object.entries(l)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

/** Where a series goes: its chart's id parts and what the chart is called. */
function place(def: SeriesDef, group: ChartGroup): { scope: string; gpu: number | null; split: string; title: string; label: string } {
  const g = GROUP_TITLES[group];
  switch (def.scope) {
    case 'user':
      return { scope: 'user', gpu: null, split: def.metric, title: def.metric, label: labelsText(def.labels) || def.metric };
    case 'process': {
      const what = { mem: 'memory', sm: 'SM utilization', memutil: 'memory bandwidth' }[def.metric];
      return { scope: `gpu${def.gpu}`, gpu: def.gpu, split: def.metric, title: `GPU ${def.gpu} · ${g} · ${what}`, label: processLabel(def) };
    }
    case 'workload':
      return {
        scope: 'workload',
        gpu: null,
        split: def.metric,
        title: `Ollama · ${def.metric === 'vram' ? 'VRAM' : 'GPU share'}`,
        label: def.model,
      };
    default: {
      const gpu = gpuOfScope(def.scope);
      return { scope: def.scope, gpu, split: '', title: `${gpu === null ? 'Host' : `GPU ${gpu}`} · ${g}`, label: shortLabel(def) };
    }
  }
}

/** A process line: its program and pid (the full command line is in the process table). */
function processLabel(def: Extract<SeriesDef, { scope: 'process' }>): string {
  const prog = def.command?.trim().split(/\s+/)[0]?.split('/').pop();
  return `${prog || 'pid ' + def.pid} (${def.user ?? '?'}, pid ${def.pid})`;
}

/** The charts for `defs`, in group order (CHART_GROUPS), then host before GPUs in index order. */
export function planCharts(defs: readonly SeriesDef[], gpu: GpuFilter = 'all'): ChartSpec[] {
  const charts = new Map<string, ChartSpec>();
  for (const def of defs) {
    const group = groupOf(def);
    const p = place(def, group);
    if (gpu !== 'all' && p.gpu !== null && p.gpu !== gpu) continue;
    const id = [group, p.scope, def.unit, p.split].join('|');
    let c = charts.get(id);
    if (!c) {
      c = {
        id,
        group,
        title: p.title,
        unit: def.unit,
        scope: p.scope,
        gpu: p.gpu,
        series: [],
        ...(def.unit === '%' && group !== 'custom' ? { yMax: 100 } : {}),
      };
      charts.set(id, c);
    }
    c.series.push({ key: def.key, label: p.label });
  }
  const order = (c: ChartSpec) => [CHART_GROUPS.indexOf(c.group), c.gpu === null ? -1 : c.gpu];
  return [...charts.values()].sort((a, b) => {
    const [ga, ia] = order(a),
      [gb, ib] = order(b);
    // Ties keep catalog order (the sort is stable): memory, SM, bandwidth for processes.
    return ga! - gb! || ia! - ib!;
  });
}

/** Groups present in `charts`, in order, with their charts. */
export function byGroup(charts: readonly ChartSpec[]): [ChartGroup, ChartSpec[]][] {
  const m = new Map<ChartGroup, ChartSpec[]>();
  for (const c of charts) m.set(c.group, [...(m.get(c.group) ?? []), c]);
  return [...m];
}

/** GPU indices that have charts, for the selector. */
export const gpusIn = (defs: readonly SeriesDef[]): number[] =>
  [...new Set(defs.map((d) => (d.scope === 'process' ? d.gpu : gpuOfScope(d.scope))).filter((g): g is number => g !== null))].sort((a, b) => a - b);

/** A mark belongs on a chart when it has no scope (an annotation for the whole endpoint) or the chart's. */
export const marksFor = <M extends { scope?: string | null }>(marks: readonly M[], chartScope: string): M[] =>
  marks.filter((m) => !m.scope || m.scope === chartScope);
