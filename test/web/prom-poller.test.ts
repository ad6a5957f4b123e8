/** The leader's Prometheus polling: one loop per source, answers as tab messages every tab accepts, loops following the endpoint list. */
import 'fake-indexeddb/auto';
import { describe, expect, test } from 'bun:test';
import { parseTabMessage, type TabMessage } from '../../shared/tab-messages.ts';
import { openDb } from '../../web/lib/db.ts';
import { FleetStore } from '../../web/lib/fleet-store.ts';
import { PromPoller } from '../../web/lib/prom-poller.ts';
import { until } from '../helpers.ts';

/** A Prometheus with one host and one GPU (util `util`), or down; it counts polls (one uname query each) and the tokens it saw. */
function fakeProm() {
  const p = { util: 42, down: false, polls: 0, tokens: [] as string[] };
  const fetch = async (url: string, init?: RequestInit) => {
    const q = new URL(url).searchParams.get('query');
    if (q === 'node_uname_info') {
      p.polls++;
      p.tokens.push(((init?.headers ?? {}) as Record<string, string>).authorization ?? '');
    }
    if (p.down) throw new TypeError('Failed to fetch');
    const result =
      q === 'node_uname_info'
        ? [{ metric: { instance: 'h:9740', nodename: 'h' }, value: [1, '1'] }]
        : q === 'DCGM_FI_DEV_GPU_UTIL'
          ? [{ metric: { instance: 'h:9740', gpu: '0', modelName: 'NVIDIA H100', Hostname: 'gpu-h' }, value: [1, String(p.util)] }]
          : [];
    return Response.json({ status: 'success', data: { resultType: 'vector', result } });
  };
  return { p, fetch };
}

async function setup() {
  const db = await openDb(`prom-${Math.random()}`);
  const fleet = new FleetStore(() => db);
  await fleet.reload();
  const sent: TabMessage[] = [];
  const { p, fetch } = fakeProm();
  const poller = new PromPoller({
    fleet,
    every: 10,
    fetch,
    send: (m) => {
      sent.push(m);
      // As every tab applies it (state.ts): what the overview's Prometheus tiles read.
      if (m.type === 'prom') fleet.get(m.id)?.setProm(m);
    },
  });
  return { fleet, sent, p, poller };
}

describe('PromPoller', () => {
  test('polls each Prometheus source (not agents), sends its hosts as a message other tabs accept', async () => {
    const { fleet, sent, p, poller } = await setup();
    const ep = await fleet.add({ name: 'prom', url: 'http://prom:9090', token: 'tok', kind: 'prometheus' });
    await fleet.add({ name: 'agent', url: 'http://agent:9740', token: 't' });
    poller.sync();
    poller.sync(); // idempotent: still one loop
    await until(() => sent.length >= 3, 'three polls');
    poller.stopAll();
    expect(sent.every((m) => m.type === 'prom' && m.id === ep.id)).toBe(true);
    for (const m of sent) expect(parseTabMessage(JSON.parse(JSON.stringify(m)))).toEqual(m);
    expect(fleet.get(ep.id)!.prom!.hosts).toEqual([
      {
        instance: 'h:9740',
        name: 'gpu-h',
        cpu: null,
        gpus: [{ gpu: '0', model: 'NVIDIA H100', util: 42, memUsed: null, memTotal: null, temp: null, power: null }],
      },
    ]);
    expect(p.tokens.every((t) => t === 'Bearer tok')).toBe(true);
    // One loop: never two polls in flight (each poll's answer is sent before the next starts).
    expect(p.polls - sent.length).toBeLessThanOrEqual(1);
  });

  test('a failed poll says why and keeps the last hosts; the next good one clears it', async () => {
    const { fleet, p, poller } = await setup();
    const ep = await fleet.add({ name: 'prom', url: 'http://prom:9090', token: '', kind: 'prometheus' });
    poller.sync();
    const s = fleet.get(ep.id)!;
    await until(() => !!s.prom?.hosts, 'the first answer');
    p.down = true;
    await until(() => !!s.prom?.error, 'a failure');
    expect(s.prom!.hosts?.[0]?.name).toBe('gpu-h');
    p.down = false;
    p.util = 7;
    await until(() => s.prom?.error === null && s.prom.hosts?.[0]?.gpus[0]?.util === 7, 'recovery');
    poller.stopAll();
  });

  test('follows the endpoint list: a new token restarts the loop with it, a removed source stops', async () => {
    const { fleet, p, poller } = await setup();
    const ep = await fleet.add({ name: 'prom', url: 'http://prom:9090', token: 'old', kind: 'prometheus' });
    poller.sync();
    await until(() => p.polls >= 1, 'a poll');
    await fleet.update(ep.id, { token: 'new' });
    poller.sync();
    await until(() => p.tokens.at(-1) === 'Bearer new', 'a poll with the new token');
    await fleet.remove(ep.id);
    poller.sync();
    const n = p.polls;
    await new Promise((r) => setTimeout(r, 50)); // five intervals of the test's 10 ms
    expect(p.polls - n).toBeLessThanOrEqual(1); // at most the one already in flight
  });
});
