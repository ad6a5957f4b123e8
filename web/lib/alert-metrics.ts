/**
 * The series a threshold rule can watch, for the rule form: read from the agents' schemas (so a
 * user metric or a GPU that only one host has is offered), grouped by scope: every GPU
 * (`gpu*.` wildcards), host, each GPU, user metrics. Without any schema yet, the built-in catalog.
 */
import { GPU_METRICS, HOST_METRICS, type Unit } from '../../shared/catalog.ts';

export interface MetricOption {
  key: string;
  label: string;
  unit: Unit | string;
}
export interface MetricGroup {
  label: string;
  options: MetricOption[];
}

interface SeriesLike {
  key: string;
  label: string;
  unit: string;
  scope: string;
}

const gpuNum = (scope: string) => Number(scope.slice(3));

export function metricGroups(series: readonly SeriesLike[]): MetricGroup[] {
  const seen = new Map<string, SeriesLike>();
  for (const s of series) if (!seen.has(s.key) && (s.scope === 'host' || s.scope === 'user' || /^gpu\d+$/.test(s.scope))) seen.set(s.key, s);
  const all = [...seen.values()];
  const host = all.filter((s) => s.scope === 'host' && !/^host\.cpu\d+\./.test(s.key));
  const gpuScopes = [...new Set(all.filter((s) => s.scope.startsWith('gpu')).map((s) => s.scope))].sort((a, b) => gpuNum(a) - gpuNum(b));
  const pct = (prefix: string, label: string): MetricOption => ({ key: `${prefix}.mem.pct`, label, unit: '%' });
  const every: MetricOption[] = [
    ...GPU_METRICS.map(([m, label, unit]) => ({ key: `gpu*.${m}`, label: `GPU ${label.toLowerCase()}`, unit })),
    pct('gpu*', 'GPU memory used (% of total)'),
  ];
  const hostOpts = host.length ? host.map(opt) : HOST_METRICS.map(([m, label, unit]) => ({ key: `host.${m}`, label, unit }));
  const groups: MetricGroup[] = [
    { label: 'Every GPU', options: every },
    { label: 'Host', options: [...hostOpts, pct('host', 'Host memory used (% of total)')] },
    ...gpuScopes.map((g) => ({
      label: `GPU ${gpuNum(g)}`,
      options: [...all.filter((s) => s.scope === g).map(opt), pct(g, `GPU ${gpuNum(g)} memory used (% of total)`)],
    })),
  ];
  const user = all.filter((s) => s.scope === 'user').map(opt);
  if (user.length) groups.push({ label: 'User metrics', options: user });
  return groups;
}

function opt(s: SeriesLike): MetricOption {
  return { key: s.key, label: s.label, unit: s.unit };
}

/** The unit of a rule's metric (for the form and the alert list), or '' when unknown. */
export function unitOf(metric: string, groups: readonly MetricGroup[]): string {
  for (const g of groups) for (const o of g.options) if (o.key === metric) return o.unit;
  return '';
}
