/** GPU processes enriched from /proc/<pid> (attribution.ts): user, command line, container, pod, job. */
import type { GpuProcess } from '../../shared/wire.ts';
import type { ProviderProcess } from '../gpu/provider.ts';
import { attribute, type Attribution } from './attribution.ts';

export { containerFromCgroup } from './attribution.ts';

/** `known`: attributions already read this round (the process tracker's), so a snapshot does not read /proc again. */
export function enrich(raw: readonly ProviderProcess[], procRoot = '/proc', known?: (pid: number) => Attribution | null | undefined): GpuProcess[] {
  return raw.map((p) => {
    const k = known?.(p.pid);
    const a = k !== undefined ? k : attribute(p.pid, procRoot);
    const out: GpuProcess = {
      pid: p.pid,
      user: a?.user ?? null,
      command: a?.command ?? null,
      gpu_mem: p.gpu_mem,
      container: a?.container ?? null,
      type: p.type,
    };
    if (a?.pod) out.pod = a.pod;
    if (a?.namespace) out.namespace = a.namespace;
    if (a?.job) out.job = a.job;
    if (p.sm_util !== undefined) {
      out.sm_util = p.sm_util;
      out.mem_util = p.mem_util ?? null;
    }
    return out;
  });
}
