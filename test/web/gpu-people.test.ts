/** The PWA's folding of processes by user and of fleet accounting (pure parts of the new views). */
import { describe, expect, test } from 'bun:test';
import { mergeByUser } from '../../web/ui/fleet-accounting.tsx';
import { usersOn } from '../../web/ui/gpu-people.tsx';
import type { Accounting } from '../../shared/wire.ts';

describe('usersOn()', () => {
  test('per user: processes, memory, SM (null when unknown), what runs; most memory first', () => {
    const u = usersOn([
      { pid: 1, user: 'alice', command: '/usr/bin/python3 train.py --x', gpu_mem: 1e9, container: null, sm_util: 40, mem_util: 1 },
      { pid: 2, user: 'alice', command: 'python3 eval.py', gpu_mem: 2e9, container: null, job: '7', sm_util: 10, mem_util: 1 },
      { pid: 3, user: 'bob', command: 'vllm serve', gpu_mem: 5e9, container: null, pod: 'llm-0', namespace: 'ml' },
    ]);
    expect(u).toEqual([
      { user: 'bob', procs: 1, mem: 5e9, sm: null, what: ['pod ml/llm-0'] },
      { user: 'alice', procs: 2, mem: 3e9, sm: 50, what: ['python3 train.py', 'job 7'] },
    ]);
  });
});

describe('mergeByUser()', () => {
  const doc = (groups: [string | null, number][]): Accounting => ({
    since: 0,
    until: 1,
    by: 'user',
    tier: '1m',
    step_ms: 60000,
    interval_ms: 1000,
    gpus: [],
    total: { gpu_seconds: 0, util_gpu_seconds: 0, mem_gib_hours: 0, energy_j: 0 },
    groups: groups.map(([group, s]) => ({
      group,
      processes: 1,
      gpus: [],
      total: { gpu_seconds: s, util_gpu_seconds: s / 2, mem_gib_hours: 1, energy_j: 3.6e6 },
    })),
  });
  test("sums across hosts, keeps each host's share, most GPU hours first", () => {
    const rows = mergeByUser([
      {
        host: 'a',
        doc: doc([
          ['alice', 3600],
          [null, 7200],
        ]),
      },
      { host: 'b', doc: doc([['alice', 7200]]) },
    ]);
    expect(rows).toEqual([
      { user: 'alice', gpuH: 3, utilH: 1.5, memGibH: 2, kwh: 2, hosts: { a: 1, b: 2 } },
      { user: '(unknown)', gpuH: 2, utilH: 1, memGibH: 1, kwh: 1, hosts: { a: 2 } },
    ]);
  });
});
