/**
 * /metrics for the series that come and go: user metrics under their own names and labels (full
 * precision), GPU processes as gpulse_process_*, Ollama models as gpulse_ollama_model_*. Values
 * are the latest row's; a series with no value is omitted, never 0.
 */
import type { ProcessSeries, SeriesDef, UserSeries, WorkloadSeries } from '../../shared/catalog.ts';
import { commandGroup } from '../sample/attribution.ts';

export interface PromFamilyOut {
  name: string;
  help: string;
  type: 'gauge' | 'counter' | 'untyped';
  lines: string[];
}

const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const helpEsc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const labels = (l: Record<string, string | null | undefined>) => {
  const e = Object.entries(l).filter((x): x is [string, string] => typeof x[1] === 'string' && x[1] !== '');
  return e.length ? '{' + e.map(([k, v]) => `${k}="${esc(v)}"`).join(',') + '}' : '';
};

const PROCESS_FAMILIES: Record<ProcessSeries['metric'], [string, string]> = {
  mem: ['gpulse_process_gpu_memory_bytes', 'GPU memory used by a process, in bytes.'],
  sm: ['gpulse_process_sm_utilization_percent', "A process's share of the GPU's SM time over the last process round, in percent."],
  memutil: ['gpulse_process_memory_utilization_percent', "A process's share of the GPU's memory bandwidth over the last process round, in percent."],
};
const WORKLOAD_FAMILIES: Record<WorkloadSeries['metric'], [string, string]> = {
  vram: ['gpulse_ollama_model_vram_bytes', 'GPU memory held by a running Ollama model, in bytes.'],
  gpu_share: ['gpulse_ollama_model_gpu_percent', "Share of a running Ollama model's weights in GPU memory, in percent (the rest is on the CPU)."],
};

/**
 * Families for every dynamic series in `defs` with its value in `row` (same order). User metric
 * names that a built-in family already uses (`reserved`) are skipped: one name, one family.
 */
export function dynamicFamilies(defs: readonly SeriesDef[], row: ArrayLike<number>, hostname: string, reserved: ReadonlySet<string>): PromFamilyOut[] {
  const fams = new Map<string, PromFamilyOut>();
  const fam = (name: string, help: string, type: PromFamilyOut['type']) => {
    let f = fams.get(name);
    if (!f) fams.set(name, (f = { name, help, type, lines: [] }));
    return f;
  };
  defs.forEach((d, i) => {
    const x = row[i]!;
    if (!Number.isFinite(x)) return;
    if (d.scope === 'user') {
      const u = d as UserSeries;
      if (reserved.has(u.metric)) return;
      const f = fam(
        u.metric,
        helpEsc(
          u.help ??
            `User metric from ${u.source.kind === 'textfile' ? `textfile ${u.source.file}` : u.source.kind === 'exec' ? `exec ${u.source.name}` : 'push'}.`,
        ),
        u.type,
      );
      // The user's own Hostname label, if any, wins over ours.
      f.lines.push(`${u.metric}${labels({ ...u.labels, Hostname: u.labels.Hostname ?? hostname })} ${String(x)}`);
    } else if (d.scope === 'process') {
      const p = d as ProcessSeries;
      const [name, help] = PROCESS_FAMILIES[p.metric];
      fam(name, help, 'gauge').lines.push(
        `${name}${labels({ gpu: String(p.gpu), pid: String(p.pid), user: p.user, command: commandGroup(p.command), container: p.container, pod: p.pod, namespace: p.namespace, job: p.job, Hostname: hostname })} ${num(x)}`,
      );
    } else if (d.scope === 'workload') {
      const w = d as WorkloadSeries;
      const [name, help] = WORKLOAD_FAMILIES[w.metric];
      fam(name, help, 'gauge').lines.push(`${name}${labels({ model: w.model, Hostname: hostname })} ${num(x)}`);
    }
  });
  return [...fams.values()];
}

const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(10).replace(/\.?0+$/, ''));
