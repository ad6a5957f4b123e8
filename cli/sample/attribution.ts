/**
 * Who a process belongs to, from /proc/<pid>: user (uid → name), command line, container id and
 * Kubernetes pod (cgroup path), namespace and pod name (environment, or the pod's service-account
 * file), Slurm job (SLURM_JOB_ID, or the slurm cgroup path), and its start time. Read once per
 * process (pid + start time: a reused pid is a new process) and cached. Parsers are pure for tests.
 */
import { readFileSync, statSync } from 'node:fs';
import type { ProcessOwner } from '../../shared/catalog.ts';

export interface Attribution extends ProcessOwner {
  uid: number | null;
  /** Start time in epoch seconds (from the kernel's boot time + the process's start ticks); null when unreadable. */
  start_s: number | null;
  /** The kernel's start ticks field, the cache key with the pid. */
  start: string;
}

/** docker / containerd / podman / kubepods ids as they appear in cgroup paths; 12-char short id like `docker ps`. */
export function containerFromCgroup(text: string): string | null {
  const m =
    /(?:docker[-/]|cri-containerd[-:]|libpod-|crio-|containerd[-/]|\/kubepods\/.*\/)([0-9a-f]{64})/.exec(text) ??
    /\/([0-9a-f]{64})(?:\.scope)?\s*$/m.exec(text);
  return m ? m[1]!.slice(0, 12) : null;
}

/** The pod UID in a kubepods cgroup path (cgroupfs `pod<uid>/`, systemd `…-pod<uid_with_underscores>.slice`). */
export function podUidFromCgroup(text: string): string | null {
  const m = /kubepods[^\n]*?pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/.exec(text);
  return m ? m[1]!.replace(/_/g, '-') : null;
}

/** Slurm's job id in its cgroup path (`/slurm/uid_1000/job_42/…`, `…/slurmstepd.scope/job_42/…`). */
export function slurmJobFromCgroup(text: string): string | null {
  return /slurm[^\n]*\/job_(\d+)(?:\/|$)/m.exec(text)?.[1] ?? null;
}

const ENV_WANTED = ['SLURM_JOB_ID', 'POD_NAME', 'POD_NAMESPACE', 'KUBERNETES_SERVICE_HOST', 'HOSTNAME'] as const;
/** The few variables we use from /proc/<pid>/environ (NUL-separated), nothing else is kept. */
export function parseEnviron(text: string): Partial<Record<(typeof ENV_WANTED)[number], string>> {
  const out: Partial<Record<(typeof ENV_WANTED)[number], string>> = {};
  for (const kv of text.split('\0')) {
    const eq = kv.indexOf('=');
    const k = kv.slice(0, eq) as (typeof ENV_WANTED)[number];
    if (eq > 0 && ENV_WANTED.includes(k)) out[k] = kv.slice(eq + 1);
  }
  return out;
}

const INTERPRETERS = /^(python[\d.]*|pypy[\d.]*|node|bun|deno|ruby|perl|bash|sh|zsh|Rscript|julia|java|torchrun|accelerate|deepspeed)$/;
const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/**
 * What "by command" groups on: the program's base name, plus for an interpreter or launcher the
 * script or module it runs (`python train.py --lr 3` → `python train.py`; `python -m vllm.entrypoints…` → `python -m vllm.entrypoints…`).
 */
export function commandGroup(cmdline: string | null): string | null {
  if (!cmdline) return null;
  const argv = cmdline.split(' ').filter(Boolean);
  const prog = base(argv[0] ?? '');
  if (!INTERPRETERS.test(prog)) return prog || null;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-m' || a === '-c') return `${prog} ${a} ${argv[i + 1] ?? ''}`.trim();
    if (!a.startsWith('-')) return `${prog} ${base(a)}`;
  }
  return prog;
}

let users: Map<number, string> | null = null;
function userName(uid: number): string {
  if (!users) {
    users = new Map();
    try {
      for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const f = line.split(':');
        if (f.length > 2) users.set(Number(f[2]), f[0]!);
      }
    } catch {
      /* no passwd: numeric uids */
    }
  }
  return users.get(uid) ?? String(uid);
}

const bootCache = new Map<string, number | null>();
/** The kernel's boot time (btime in /proc/stat), epoch seconds. */
function bootTime(procRoot: string): number | null {
  if (!bootCache.has(procRoot)) {
    let bt: number | null = null;
    try {
      const m = /^btime (\d+)$/m.exec(readFileSync(`${procRoot}/stat`, 'latin1'));
      bt = m ? Number(m[1]) : null;
    } catch {
      /* not linux */
    }
    bootCache.set(procRoot, bt);
  }
  return bootCache.get(procRoot)!;
}
/** USER_HZ: 100 on every Linux architecture the agent ships for. */
const CLK_TCK = 100;

const read = (p: string, enc: BufferEncoding = 'utf8'): string | null => {
  try {
    return readFileSync(p, enc);
  } catch {
    return null;
  }
};

const cache = new Map<string, Map<number, Attribution>>();

/** Attribution of a live pid; null when it is gone (or there is no /proc). */
export function attribute(pid: number, procRoot = '/proc'): Attribution | null {
  const stat = read(`${procRoot}/${pid}/stat`, 'latin1');
  if (stat === null) return null;
  const start = stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[19] ?? '';
  let byPid = cache.get(procRoot);
  if (!byPid) cache.set(procRoot, (byPid = new Map()));
  const hit = byPid.get(pid);
  // Same pid and same start time = same process; otherwise the pid was reused.
  if (hit && hit.start === start) return hit;
  let uid: number | null = null;
  try {
    uid = statSync(`${procRoot}/${pid}`).uid;
  } catch {
    /* gone */
  }
  const command = read(`${procRoot}/${pid}/cmdline`)?.replace(/\0+$/, '').replace(/\0/g, ' ') || null;
  const cgroup = read(`${procRoot}/${pid}/cgroup`) ?? '';
  // environ is readable only by the process's owner or root: without it, job and pod come from the cgroup alone.
  const env = parseEnviron(read(`${procRoot}/${pid}/environ`, 'latin1') ?? '');
  const podUid = podUidFromCgroup(cgroup);
  const inKube = podUid !== null || env.KUBERNETES_SERVICE_HOST !== undefined;
  const saNs = inKube ? read(`${procRoot}/${pid}/root/var/run/secrets/kubernetes.io/serviceaccount/namespace`)?.trim() || null : null;
  const bt = bootTime(procRoot);
  const a: Attribution = {
    uid,
    user: uid === null ? null : userName(uid),
    command,
    start,
    container: containerFromCgroup(cgroup),
    pod: env.POD_NAME ?? (inKube && env.HOSTNAME ? env.HOSTNAME : null) ?? podUid,
    namespace: env.POD_NAMESPACE ?? saNs,
    job: env.SLURM_JOB_ID ?? slurmJobFromCgroup(cgroup),
    start_s: bt !== null && /^\d+$/.test(start) ? bt + Math.floor(Number(start) / CLK_TCK) : null,
  };
  byPid.set(pid, a);
  if (byPid.size > 4096) byPid.delete(byPid.keys().next().value!);
  return a;
}
