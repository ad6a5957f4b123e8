/**
 * Who uses the GPUs: attribution from /proc (fixture trees for containers, pods and Slurm), and
 * accounting against the fake NVML library with real processes the fake reports, checked against
 * the per-process series history holds.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { accountingTimeline, computeAccounting } from '../../cli/accounting/compute.ts';
import type { ProcessRecord } from '../../cli/accounting/process-index.ts';
import { accountingTable } from '../../cli/commands/accounting.ts';
import { Store } from '../../cli/store/store.ts';
import { attribute, commandGroup, parseEnviron, podUidFromCgroup, slurmJobFromCgroup } from '../../cli/sample/attribution.ts';
import type { Accounting } from '../../shared/wire.ts';
import { auth, BUN, fakeNvml, ROOT, startAgent, tmp, type RunningAgent } from '../helpers.ts';

describe('attribution from /proc', () => {
  const POD =
    '0:: /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod3f2a1b9c_1d2e_4f5a_8b6c_7d8e9f0a1b2c.slice/cri-containerd-' +
    'a'.repeat(64) +
    '.scope\n';
  test('pod UID (systemd and cgroupfs drivers), Slurm job from the cgroup path', () => {
    expect(podUidFromCgroup(POD)).toBe('3f2a1b9c-1d2e-4f5a-8b6c-7d8e9f0a1b2c');
    expect(podUidFromCgroup('12:memory:/kubepods/besteffort/pod3f2a1b9c-1d2e-4f5a-8b6c-7d8e9f0a1b2c/' + 'b'.repeat(64))).toBe(
      '3f2a1b9c-1d2e-4f5a-8b6c-7d8e9f0a1b2c',
    );
    expect(podUidFromCgroup('0::/user.slice/user-1000.slice')).toBeNull();
    expect(slurmJobFromCgroup('4:memory:/slurm/uid_1000/job_4242/step_0/task_0')).toBe('4242');
    expect(slurmJobFromCgroup('0::/system.slice/slurmstepd.scope/job_77/step_batch/user/task_0')).toBe('77');
    expect(slurmJobFromCgroup('0::/user.slice/job_12')).toBeNull();
  });
  test('environ: only the variables we use', () => {
    expect(parseEnviron('PATH=/bin\0SLURM_JOB_ID=9\0POD_NAMESPACE=ml\0SECRET=x\0')).toEqual({ SLURM_JOB_ID: '9', POD_NAMESPACE: 'ml' });
  });
  test('command groups: the program, or the script an interpreter runs', () => {
    expect(commandGroup('/usr/bin/python3 -u /home/a/train.py --lr 3')).toBe('python3 train.py');
    expect(commandGroup('python -m vllm.entrypoints.openai.api_server --model x')).toBe('python -m vllm.entrypoints.openai.api_server');
    expect(commandGroup('/opt/ollama/bin/ollama runner --model m')).toBe('ollama');
    expect(commandGroup(null)).toBeNull();
  });
  test('a fixture process in a pod: container, pod name, namespace, start time; a reused pid is read again', () => {
    const root = tmp();
    writeFileSync(join(root, 'stat'), 'cpu  1 2 3 4\nbtime 1700000000\n');
    const mk = (pid: number, start: number, env: string, cgroup: string) => {
      mkdirSync(join(root, String(pid), 'root/var/run/secrets/kubernetes.io/serviceaccount'), { recursive: true });
      writeFileSync(join(root, String(pid), 'stat'), `${pid} (py thon) S ${'0 '.repeat(18)}${start} 0 0\n`);
      writeFileSync(join(root, String(pid), 'cmdline'), 'python\0train.py\0');
      writeFileSync(join(root, String(pid), 'cgroup'), cgroup);
      writeFileSync(join(root, String(pid), 'environ'), env);
      writeFileSync(join(root, String(pid), 'root/var/run/secrets/kubernetes.io/serviceaccount/namespace'), 'research\n');
    };
    mk(42, 12345, 'KUBERNETES_SERVICE_HOST=10.0.0.1\0HOSTNAME=trainer-7d9f\0', POD);
    const a = attribute(42, root)!;
    expect(a).toMatchObject({
      command: 'python train.py',
      container: 'aaaaaaaaaaaa',
      pod: 'trainer-7d9f',
      namespace: 'research',
      job: null,
      start_s: 1700000000 + 123,
    });
    expect(typeof a.user).toBe('string');
    mk(42, 99999, 'SLURM_JOB_ID=31337\0', '0::/user.slice\n');
    expect(attribute(42, root)).toMatchObject({ job: '31337', pod: null, namespace: null, container: null, start_s: 1700000000 + 999 });
  });
});

describe('computeAccounting() on a store with known values', () => {
  const rec = (id: string, gpu: number, user: string): ProcessRecord => ({
    id,
    gpu,
    pid: Number(id.split('.')[1]!.split('-')[0]),
    uid: 0,
    user,
    command: 'python train.py',
    container: null,
    pod: null,
    namespace: null,
    job: null,
    first: 0,
    last: 1e15,
  });
  test('exact sums; energy split by SM share, only while a process is on the GPU; idle GPU by time held', () => {
    const s = Store.open({ dir: null, intervalMs: 1000, retentionMs: { raw: 1e12, '1m': 1e12, '1h': 1e12 }, maxDiskBytes: 0 });
    const keys = [
      'host.mem.total',
      'gpu0.power',
      'gpu1.power',
      'proc.gpu0.1-1.mem',
      'proc.gpu0.1-1.sm',
      'proc.gpu0.2-1.mem',
      'proc.gpu0.2-1.sm',
      'proc.gpu1.3-1.mem',
      'proc.gpu1.3-1.sm',
    ];
    s.setKeys(keys);
    const t0 = 1_800_000_000_000 - (1_800_000_000_000 % 3_600_000);
    for (let i = 0; i < 120; i++) {
      // minute 0: A (60 %) and B (20 %) on GPU 0; minute 1: only A for its first 30 s. GPU 1: C idle all along.
      const a = i < 90,
        b = i < 60;
      s.append(t0 + i * 1000, [64e9, 100, 50, a ? 2 ** 30 : NaN, a ? 60 : NaN, b ? 2 ** 31 : NaN, b ? 20 : NaN, 2 ** 30, 0]);
    }
    const q = { since: t0, until: t0 + 119_000, by: 'user' as const, tier: '1m' as const, intervalMs: 1000, gpus: [0, 1] };
    const acc = computeAccounting(s, [rec('gpu0.1-1', 0, 'alice'), rec('gpu0.2-1', 0, 'bob'), rec('gpu1.3-1', 1, 'carol')], q);
    const by = Object.fromEntries(acc.groups.map((g) => [g.group, g.total]));
    expect(by.alice).toEqual({ gpu_seconds: 90, util_gpu_seconds: 54, mem_gib_hours: +(90 / 3600).toFixed(6), energy_j: 100 * 60 * 0.75 + 100 * 30 });
    expect(by.bob).toEqual({ gpu_seconds: 60, util_gpu_seconds: 12, mem_gib_hours: +(120 / 3600).toFixed(6), energy_j: 100 * 60 * 0.25 });
    expect(by.carol).toEqual({ gpu_seconds: 120, util_gpu_seconds: 0, mem_gib_hours: +(120 / 3600).toFixed(6), energy_j: 50 * 120 });
    expect(acc.gpus).toEqual([
      { gpu: 0, energy_j: 12000, unattributed_energy_j: 3000 },
      { gpu: 1, energy_j: 6000, unattributed_energy_j: 0 },
    ]);
    expect(acc.total.energy_j).toBe(15000);
    expect(acc.groups.map((g) => g.group)).toEqual(['carol', 'alice', 'bob']); // most GPU time first
    const recs = [rec('gpu0.1-1', 0, 'alice'), rec('gpu0.2-1', 0, 'bob'), rec('gpu1.3-1', 1, 'carol')];
    const mem = accountingTimeline(s, recs, { ...q, metric: 'mem', maxPoints: 100 });
    expect(mem.t).toEqual([t0, t0 + 60_000]);
    expect(Object.fromEntries(mem.groups.map((g) => [g.group, g.values.map((v) => v / 2 ** 30)]))).toEqual({ alice: [1, 0.5], bob: [2, 0], carol: [1, 1] });
    const sm = accountingTimeline(s, recs, { ...q, metric: 'sm', maxPoints: 1 });
    expect(sm.step_ms).toBe(120_000);
    expect(Object.fromEntries(sm.groups.map((g) => [g.group, g.values]))).toEqual({ alice: [0.45], bob: [0.1], carol: [0] });
    const raw = accountingTimeline(s, recs, { ...q, tier: 'raw', metric: 'mem', maxPoints: 4 });
    expect([raw.step_ms, raw.t.length]).toEqual([30_000, 4]);
    expect(raw.groups.find((g) => g.group === 'alice')!.values.map((v) => v / 2 ** 30)).toEqual([1, 1, 1, 0]);
  });
});

/** Real processes for the fake library to report: two in a Slurm job, one outside. */
const procs: ReturnType<typeof Bun.spawn>[] = [];
let a: RunningAgent;
let procFile: string;
const INTERVAL = 200;

beforeAll(async () => {
  const dir = tmp();
  procFile = join(dir, 'procs');
  const spawn = (env: Record<string, string>) => {
    const p = Bun.spawn(['sleep', '600'], { env: { PATH: process.env.PATH!, ...env } });
    procs.push(p);
    return p.pid;
  };
  const [p1, p2, p3] = [spawn({ SLURM_JOB_ID: '4242' }), spawn({ SLURM_JOB_ID: '4242' }), spawn({})];
  // GPU 0: p1 busy (60 %), p2 lighter (20 %); GPU 1: p3 idle but holding memory.
  writeFileSync(procFile, `0:${p1}:1024:c:60:30\n0:${p2}:512:c:20:10\n1:${p3}:2048:c\n`);
  a = await startAgent(
    ['--interval', `${INTERVAL}ms`, '--gpu', 'nvml'],
    { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '2', FAKE_NVML_PROCS_FILE: procFile, GPULSE_NVML_SLOW_MS: '400' },
    { dir },
  );
});
afterAll(async () => {
  await a?.stop();
  for (const p of procs) p.kill();
});

const get = async <T>(p: string) => (await (await fetch(a.url + p, auth(a.token))).json()) as T;

describe('GPU accounting against the fake library', () => {
  test('per-process series appear for every GPU process, attributed to user, command and job', async () => {
    await Bun.sleep(1500);
    const info = await get<{ series: { key: string; scope: string; pid?: number; job?: string | null; command?: string; gpu?: number; metric?: string }[] }>(
      '/v1/info',
    );
    const proc = info.series.filter((s) => s.scope === 'process');
    expect(proc).toHaveLength(9);
    const p1 = proc.find((s) => s.pid === procs[0]!.pid && s.metric === 'sm')!;
    expect(p1.key).toMatch(new RegExp(`^proc\\.gpu0\\.${procs[0]!.pid}-\\d+\\.sm$`));
    expect(p1).toMatchObject({ gpu: 0, job: '4242', command: 'sleep 600' });
    expect(proc.find((s) => s.pid === procs[2]!.pid)).toMatchObject({ gpu: 1, job: null });
    const snap = await get<{ gpus: { processes: { pid: number; job?: string; sm_util?: number | null }[] }[] }>('/v1/snapshot');
    expect(snap.gpus[0]!.processes.find((p) => p.pid === procs[0]!.pid)).toMatchObject({ job: '4242', sm_util: 60, mem_util: 30 });
  });

  test('/v1/accounting by job and by user matches the per-process series in history', async () => {
    await Bun.sleep(3000);
    // One consistent range: everything up to the newest stored row.
    const now = (await get<{ buffer: { newest: number } }>('/v1/info')).buffer.newest;
    const acc = await get<Accounting>(`/v1/accounting?by=job&until=${now}`);
    const hist = await get<{ t: number[]; series: Record<string, (number | null)[]> }>(`/v1/history?until=${now}`);
    const keys = Object.keys(hist.series);
    const iv = INTERVAL / 1000;
    const sumOf = (pid: number, metric: string) => {
      const k = keys.find((x) => x.startsWith('proc.') && x.includes(`.${pid}-`) && x.endsWith(`.${metric}`))!;
      return hist.series[k]!.filter((v): v is number => v !== null);
    };
    const [p1, p2, p3] = procs.map((p) => p.pid);
    const job = acc.groups.find((g) => g.group === '4242')!;
    const none = acc.groups.find((g) => g.group === null)!;
    expect(job.processes).toBe(2);
    expect(none.processes).toBe(1);
    // GPU-seconds: samples present × interval
    const held = (pid: number) => sumOf(pid, 'mem').length * iv;
    expect(job.total.gpu_seconds).toBeCloseTo(held(p1!) + held(p2!), 6);
    expect(none.total.gpu_seconds).toBeCloseTo(held(p3!), 6);
    // utilization-weighted: Σ SM % / 100 × interval
    const util = (pid: number) => sumOf(pid, 'sm').reduce((s, v) => s + v / 100, 0) * iv;
    expect(job.total.util_gpu_seconds).toBeCloseTo(util(p1!) + util(p2!), 6);
    expect(none.total.util_gpu_seconds).toBe(0);
    // GiB·hours
    const gibh = (pid: number) => (sumOf(pid, 'mem').reduce((s, v) => s + v / 2 ** 30, 0) * iv) / 3600;
    expect(job.total.mem_gib_hours).toBeCloseTo(gibh(p1!) + gibh(p2!), 6);
    expect(job.gpus.map((g) => g.gpu)).toEqual([0]);
    // energy: GPU 0's energy while its processes ran, split 3:1 by SM utilization; GPU 1's all to the idle holder
    const power = (g: number, pid: number) => {
      const p = hist.series[`gpu${g}.power`]!,
        m = hist.series[keys.find((x) => x.includes(`.${pid}-`) && x.endsWith('.mem'))!]!;
      return p.reduce<number>((s, w, i) => s + (w !== null && m[i] !== null ? w * iv : 0), 0);
    };
    expect(job.total.energy_j / power(0, p1!)).toBeCloseTo(1, 1);
    expect(none.total.energy_j / power(1, p3!)).toBeCloseTo(1, 1);
    const byUser = await get<Accounting>(`/v1/accounting?by=user&until=${now}`);
    expect(byUser.groups).toHaveLength(1); // all three run as this user
    expect(byUser.total.gpu_seconds).toBeCloseTo(job.total.gpu_seconds + none.total.gpu_seconds, 3);
    expect(accountingTable(byUser)).toMatch(/^TOTAL\s+3\s/m);
  });

  test('a process that ends goes quiet in its series; accounting still counts what it used', async () => {
    const p2 = procs[1]!.pid;
    writeFileSync(procFile, `0:${procs[0]!.pid}:1024:c:60:30\n1:${procs[2]!.pid}:2048:c\n`);
    await Bun.sleep(1500);
    const h = await get<{ series: Record<string, (number | null)[]> }>('/v1/history?limit=3');
    const k = Object.keys(h.series).find((x) => x.includes(`.${p2}-`) && x.endsWith('.mem'));
    expect(k).toBeDefined();
    expect(h.series[k!]).toEqual([null, null, null]);
    const acc = await get<Accounting>('/v1/accounting?by=command');
    expect(acc.groups[0]).toMatchObject({ group: 'sleep', processes: 3 });
  });

  test('bad parameters are 400 naming them; gpulse accounting prints the table and --json', async () => {
    const r = await fetch(a.url + '/v1/accounting?by=team', auth(a.token));
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: 'by: must be one of user, container, job, command, pod, namespace', param: 'by' });
    expect((await fetch(a.url + '/v1/accounting?since=5&until=1', auth(a.token))).status).toBe(400);
    const cli = (args: string[]) =>
      Bun.spawnSync([BUN, join(ROOT, 'cli/main.ts'), 'accounting', ...args, '--url', a.url], {
        env: { PATH: process.env.PATH!, HOME: tmp(), GPULSE_TOKEN: a.token },
        stdout: 'pipe',
        stderr: 'pipe',
      });
    const t = cli(['--since', '1h', '--by', 'job']);
    expect(t.stderr.toString()).toBe('');
    expect(t.stdout.toString()).toMatch(/^GPU accounting by job, .* \(per minute\)\nJOB\s+PROCS\s+GPU-h/);
    expect(t.stdout.toString()).toMatch(/^4242\s+2\s/m);
    const j = JSON.parse(cli(['--json']).stdout.toString()) as Accounting;
    expect(j.by).toBe('user');
    expect(cli(['--by', 'team']).exitCode).toBe(2);
  });
});
