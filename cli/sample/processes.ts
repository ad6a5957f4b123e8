/** GPU processes enriched from /proc/<pid>: user, command line, container id. Cached per pid. */
import { readFileSync, statSync } from 'node:fs';
import type { GpuProcess } from '../../shared/wire.ts';

interface ProcInfo { user: string | null; command: string | null; container: string | null; start: string }
const cache = new Map<number, ProcInfo>();
let users: Map<number, string> | null = null;

function userName(uid: number): string {
  if (!users) {
    users = new Map();
    try {
      for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const f = line.split(':');
        if (f.length > 2) users.set(Number(f[2]), f[0]!);
      }
    } catch { /* no passwd: numeric uids */ }
  }
  return users.get(uid) ?? String(uid);
}

/** docker / containerd / podman / kubepods ids as they appear in cgroup paths; 12-char short id like `docker ps`. */
export function containerFromCgroup(text: string): string | null {
  const m = /(?:docker[-/]|cri-containerd[-:]|libpod-|crio-|containerd[-/]|\/kubepods\/.*\/)([0-9a-f]{64})/.exec(text)
    ?? /\/([0-9a-f]{64})(?:\.scope)?\s*$/m.exec(text);
  return m ? m[1]!.slice(0, 12) : null;
}

function lookup(pid: number, procRoot: string): ProcInfo | null {
  let start: string;
  try { start = readFileSync(`${procRoot}/${pid}/stat`, 'latin1').split(') ')[1]?.split(' ')[19] ?? ''; } catch { return null; }
  const hit = cache.get(pid);
  // Same pid and same start time = same process; otherwise the pid was reused.
  if (hit && hit.start === start) return hit;
  let user: string | null = null, command: string | null = null, container: string | null = null;
  try { user = userName(statSync(`${procRoot}/${pid}`).uid); } catch { /* gone */ }
  try { command = readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ') || null; } catch { /* gone */ }
  try { container = containerFromCgroup(readFileSync(`${procRoot}/${pid}/cgroup`, 'utf8')); } catch { /* not linux */ }
  const info = { user, command, container, start };
  cache.set(pid, info);
  if (cache.size > 4096) cache.delete(cache.keys().next().value!);
  return info;
}

export function enrich(raw: { pid: number; gpu_mem: number | null; type: 'compute' | 'graphics' }[], procRoot = '/proc'): GpuProcess[] {
  return raw.map((p) => {
    const info = lookup(p.pid, procRoot);
    return { pid: p.pid, user: info?.user ?? null, command: info?.command ?? null, gpu_mem: p.gpu_mem, container: info?.container ?? null, type: p.type };
  });
}
