/** Tabs: the leader election (Web Locks) and handover, and the typed tab messages with their check. */
import { describe, expect, test } from 'bun:test';
import { parseTabMessage, validateTabMessage, type TabMessage } from '../../shared/tab-messages.ts';
import { LeaderStore, type Role } from '../../web/lib/leader-store.ts';
import { FakeLocks } from './fake-locks.ts';
import { until } from '../helpers.ts';
import { minimalSchema } from '../fixtures/schema.ts';

const schema = minimalSchema();

function tab(locks: FakeLocks, channel: string) {
  const t = { roles: [] as Role[], got: [] as TabMessage[], leaderCalls: 0, store: null as unknown as LeaderStore };
  t.store = new LeaderStore({
    locks: locks as unknown as LockManager,
    channel: new BroadcastChannel(channel),
    onMessage: (m, local) => {
      if (!local) t.got.push(m);
    },
    onLeader: () => t.leaderCalls++,
    onRole: (r) => t.roles.push(r),
  });
  return t;
}

describe('leader election', () => {
  test('the first tab leads, the second follows (never "follower" before it is one), and takes over when the leader closes', async () => {
    const locks = new FakeLocks();
    const ch = `t-${Math.random()}`;
    const a = tab(locks, ch),
      b = tab(locks, ch);
    expect(a.store.role).toBe('pending');
    a.store.start();
    await until(() => a.store.role === 'leader', 'a to lead', 1000);
    b.store.start();
    await until(() => b.store.role === 'follower', 'b to follow', 1000);
    expect(a.roles).toEqual(['leader']); // straight from pending: nothing to flash
    expect(b.leaderCalls).toBe(0);

    a.store.close(); // the leader tab goes: the browser frees its lock
    await until(() => b.store.role === 'leader', 'b to take over', 1000);
    expect(b.roles).toEqual(['follower', 'leader']);
    expect(b.leaderCalls).toBe(1);
    expect(a.leaderCalls).toBe(1);
    b.store.close();
  });

  test('without Web Locks the tab leads alone', () => {
    let led = 0;
    const s = new LeaderStore({ channel: null, onMessage() {}, onLeader: () => led++ });
    s.start();
    expect(s.role).toBe('leader');
    expect(led).toBe(1);
  });

  test('messages reach the other tabs; send() also applies here, post() only there; malformed ones are dropped', async () => {
    const locks = new FakeLocks();
    const ch = `t-${Math.random()}`;
    const a = tab(locks, ch),
      b = tab(locks, ch);
    let localA = 0;
    const orig = a.store.opts.onMessage;
    a.store.opts.onMessage = (m, local) => {
      if (local) localA++;
      orig(m, local);
    };
    a.store.start();
    b.store.start();
    a.store.send({ type: 'status', id: 'e1', status: { kind: 'live', lastT: 5 } });
    a.store.post({ type: 'rules' });
    const raw = new BroadcastChannel(ch); // an older build in a third tab
    raw.postMessage({ type: 'status', id: 'e1', status: { kind: 'live' } });
    raw.postMessage('endpoints');
    raw.postMessage({ type: 'rows', id: 'e1', keys: ['a'], rows: [[1, 2, 3]] });
    await until(() => b.got.length >= 2 && b.store.dropped >= 3, 'b to receive', 1000);
    expect(b.got).toEqual([{ type: 'status', id: 'e1', status: { kind: 'live', lastT: 5 } }, { type: 'rules' }]);
    expect(b.store.dropped).toBe(3);
    expect(localA).toBe(1);
    raw.close();
    a.store.close();
    b.store.close();
  });
});

test('posts within TAB_BATCH_MS go out as one postMessage, in order; a bad message in a batch is dropped alone', async () => {
  const locks = new FakeLocks();
  const ch = `t-${Math.random()}`;
  const a = tab(locks, ch),
    b = tab(locks, ch);
  a.store.start();
  b.store.start();
  const raw = new BroadcastChannel(ch);
  const seen: unknown[] = [];
  raw.onmessage = (e) => seen.push(e.data);
  for (let i = 0; i < 100; i++) a.store.post({ type: 'stored', id: `e${i}` });
  await until(() => b.got.length >= 100, 'b to receive the batch', 1000);
  expect(seen).toHaveLength(1); // one postMessage for all hundred
  expect(b.got.map((m) => (m as { id: string }).id)).toEqual(Array.from({ length: 100 }, (_, i) => `e${i}`));
  raw.postMessage([{ type: 'kick', id: 'x' }, { type: 'kick' }, { type: 'endpoints' }]);
  await until(() => b.got.length >= 102, 'b to receive the mixed batch', 1000);
  expect(b.got.slice(100)).toEqual([{ type: 'kick', id: 'x' }, { type: 'endpoints' }]);
  expect(b.store.dropped).toBe(1);
  // close() sends what is still queued: a tab that goes right after a change still tells the others.
  a.store.post({ type: 'rules' });
  a.store.close();
  await until(() => b.got.length >= 103, 'b to receive what a queued before closing', 1000);
  expect(b.got.at(-1)).toEqual({ type: 'rules' });
  raw.close();
  b.store.close();
});

describe('tab messages', () => {
  const good: TabMessage[] = [
    { type: 'status', id: 'e', status: { kind: 'offline', retryAt: 1, attempt: 2, message: 'agent unreachable' } },
    { type: 'status', id: 'e', status: { kind: 'unauthorized' } },
    { type: 'schema', id: 'e', schema: schema as never },
    { type: 'rows', id: 'e', keys: ['a', 'b'], rows: [[1, 2, null]], history: true },
    { type: 'extras', id: 'e', extras: { gpus: [{ index: 0, pstate: 'P0', throttle: [], processes: [], lost: false, mig: null }], workloads: { ollama: [] } } },
    { type: 'stored', id: 'e' },
    { type: 'xid', id: 'e', gpu: 1, t: 5 },
    { type: 'endpoints' },
    {
      type: 'alerts',
      records: [
        {
          id: 'r|e|gpu0',
          rule: 'r',
          ep: 'e',
          instance: 'gpu0',
          label: 'hot',
          state: 'firing',
          since: 1,
          start: 2,
          end: null,
          value: 90,
          detail: null,
          silencedUntil: null,
          lastHit: null,
          mark: null,
        },
      ],
    },
    { type: 'rules' },
    { type: 'silence-alert', id: 'r|e|gpu0', until: 5 },
    { type: 'silence-alert', id: 'r|e|gpu0', until: null },
    { type: 'kick', id: 'e' },
    { type: 'prom', id: 'e', at: 1, hosts: [{ instance: 'h:9740', name: 'h', cpu: 3, gpus: [] }], error: null },
    { type: 'prom', id: 'e', at: 2, hosts: null, error: 'unreachable' },
  ];
  test.each(good.map((m) => [m.type, m] as const))('a well-formed %s message passes as it is', (_t, m) => {
    expect(parseTabMessage(m)).toBe(m);
  });

  test.each([
    [null, 'payload: expected an object, got null'],
    [{ type: 'hello' }, 'type: expected one of status, schema, rows, extras, stored, xid, endpoints, alerts, rules, silence-alert, kick, prom, got "hello"'],
    [{ type: 'status', id: 'e', status: { kind: 'live' } }, 'status.lastT: expected a finite number, got undefined'],
    [
      { type: 'status', id: 'e', status: { kind: 'asleep' } },
      'status.kind: expected one of connecting, live, stale, offline, unauthorized, error, got "asleep"',
    ],
    [{ type: 'schema', id: 'e', schema: { ...schema, hostname: 5 } }, 'schema.hostname: expected a string, got number'],
    [{ type: 'rows', id: 'e', keys: ['a'], rows: [[1, 2, 3]] }, 'rows[0]: expected 2 items (t and one per key), got 3'],
    [{ type: 'rows', id: 'e', keys: ['a'], rows: [['t', 2]] }, 'rows[0][0]: expected a finite number, got string'],
    [{ type: 'rows', id: 'e', keys: ['a'], rows: [[1, 2]], history: 'yes' }, 'history: expected true'],
    [{ type: 'kick' }, 'id: expected a string, got undefined'],
    [{ type: 'alerts', records: [{ id: 'x' }] }, 'records[0].rule: expected a string, got undefined'],
    [{ type: 'alerts', log: [] }, 'records: expected an array, got undefined'],
    [
      { type: 'prom', id: 'e', at: 1, hosts: [{ instance: 'h', name: 'h', cpu: '3', gpus: [] }], error: null },
      'hosts[0].cpu: expected a finite number, got string',
    ],
  ])('%j is dropped: %s', (m, reason) => {
    const r = validateTabMessage(m);
    expect(r.ok ? 'ok' : r.reason).toBe(reason);
    expect(parseTabMessage(m)).toBeNull();
  });
});
