/** /v1/events writes: PUT/PATCH change only what they name; budgets and bounds of the event store. */
import { afterAll, describe, expect, test } from 'bun:test';
import { Agent } from '../../cli/agent.ts';
import { noGpu } from '../../cli/gpu/provider.ts';
import { createApp } from '../../cli/http/app.ts';
import { EventStore } from '../../cli/store/events.ts';

const TOKEN = 'events-api-token-0123456789';
const host = { cpus: 1, sample() {}, disks: () => [], freqMhz: () => null, close() {} };

/** An agent in-process (no sampling started) and its app, called without a network. */
function inProcess() {
  const agent = new Agent({ hostname: 'h', intervalMs: 1000, retentionMs: 60_000, host: host as never, gpu: noGpu });
  const app = createApp(agent, { token: TOKEN, allowOrigins: [] });
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await app.request(`http://127.0.0.1${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  return { agent, call };
}
const agents: Agent[] = [];
afterAll(() => {
  for (const a of agents) a.stop();
});

describe('PUT/PATCH /v1/events/:id change only the fields given', () => {
  const { agent, call } = inProcess();
  agents.push(agent);
  const make = async () => (await call('POST', '/v1/events', { label: 'run 1', t: 1_000, end_t: 5_000, color: '#f00' })).body as { id: string };

  test("the PWA's edit (label only) keeps the range and the colour", async () => {
    const ev = await make();
    for (const method of ['PUT', 'PATCH']) {
      const r = await call(method, `/v1/events/${ev.id}`, { label: `renamed by ${method}` });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ label: `renamed by ${method}`, t: 1_000, end_t: 5_000, color: '#f00' });
    }
    expect(agent.events.get(ev.id)).toMatchObject({ label: 'renamed by PATCH', end_t: 5_000, color: '#f00' });
  });
  test('explicit null clears end_t and color; the other fields stay', async () => {
    const ev = await make();
    expect((await call('PATCH', `/v1/events/${ev.id}`, { end_t: null })).body).toMatchObject({ label: 'run 1', end_t: null, color: '#f00' });
    expect((await call('PUT', `/v1/events/${ev.id}`, { color: null })).body).toMatchObject({ label: 'run 1', end_t: null, color: null, t: 1_000 });
  });
  test('bad changes are a 400 naming the field, and change nothing', async () => {
    const ev = await make();
    const before = { ...agent.events.get(ev.id) };
    const cases: [unknown, string][] = [
      [{}, 'body'],
      [{ label: null }, 'label'],
      [{ label: '' }, 'label'],
      [{ t: null }, 't'],
      [{ t: 'now' }, 't'],
      [{ end_t: 500 }, 'end_t'],
      [{ t: 9_000 }, 'end_t'],
      [{ color: 'red' }, 'color'],
      [{ label: 'ok', color: 'javascript:x' }, 'color'],
      // #rgba and #rrggbbaa: the PWA's event check refuses them, so the agent must too.
      [{ color: '#f00f' }, 'color'],
      [{ color: '#ff0000ff' }, 'color'],
      ['[]', 'body'],
      ['{', 'body'],
    ];
    for (const [body, param] of cases) {
      const r = await call('PATCH', `/v1/events/${ev.id}`, body);
      expect(`${JSON.stringify(body)} → ${r.status} ${r.body.param}`).toBe(`${JSON.stringify(body)} → 400 ${param}`);
    }
    expect(agent.events.get(ev.id)).toEqual(before as never);
  });
  test('moving t and end_t together is checked on the merged event', async () => {
    const ev = await make();
    expect((await call('PATCH', `/v1/events/${ev.id}`, { t: 9_000, end_t: 12_000 })).body).toMatchObject({ t: 9_000, end_t: 12_000, label: 'run 1' });
  });
  test('PATCH is allowed by CORS preflight', async () => {
    const app = createApp(agent, { token: TOKEN, allowOrigins: [] });
    const r = await app.request('http://127.0.0.1/v1/events/u-0', {
      method: 'OPTIONS',
      headers: { origin: 'https://pwa.example', 'access-control-request-method': 'PATCH' },
    });
    expect(r.headers.get('access-control-allow-methods')).toContain('PATCH');
  });
});

describe('event store budgets and bounds', () => {
  test('a t more than a day ahead is a 400 naming t (POST and PATCH); nothing is stored', async () => {
    const { agent, call } = inProcess();
    agents.push(agent);
    const r = await call('POST', '/v1/events', { label: 'from the future', t: Date.now() + 2 * 86_400_000 });
    expect(r.status).toBe(400);
    expect(r.body.param).toBe('t');
    expect(r.body.error).toMatch(/more than a day in the future/);
    expect(agent.events.size).toBe(0);
    const ok = await call('POST', '/v1/events', { label: 'planned', t: Date.now() + 3_600_000 });
    expect(ok.status).toBe(201);
    expect((await call('PATCH', `/v1/events/${ok.body.id}`, { t: Date.now() + 3 * 86_400_000 })).status).toBe(400);
  });

  test('annotations dated ahead fill the user budget: a new one is refused (409), never a 201 it does not keep', async () => {
    const { agent, call } = inProcess();
    agents.push(agent);
    const soon = Date.now() + 3_600_000;
    for (let i = 0; i < agent.events.budgets.user; i++) expect(agent.events.add({ t: soon + i, label: `ahead ${i}`, source: 'user' })).not.toBeNull();
    const r = await call('POST', '/v1/events', { label: 'now' });
    expect(r.status).toBe(409);
    expect(r.body.error).toMatch(/not kept: 10000 newer annotations/);
    expect(agent.events.all().some((e) => e.label === 'now')).toBe(false);
    // Agent events have their own budget: still recorded.
    expect(agent.agentEvent('xid', 'GPU 0 XID 79')).not.toBeNull();
    // A newer annotation evicts the oldest one instead, and is kept.
    const later = await call('POST', '/v1/events', { label: 'later', t: soon + 20_000 });
    expect(later.status).toBe(201);
    expect(agent.events.get(later.body.id as string)).toBeDefined();
    expect(agent.events.all().some((e) => e.label === 'ahead 0')).toBe(false);
    expect(agent.events.count('user')).toBe(10_000);
  });

  test('a flood of agent events never evicts annotations; a flood of annotations never evicts agent events', () => {
    const s = new EventStore({ agent: 50, user: 20 });
    let t = 1_000;
    for (let i = 0; i < 10; i++) s.add({ t: t++, label: `mark ${i}`, source: 'user' });
    for (let i = 0; i < 500; i++) s.add({ t: t++, label: `process ${i}`, source: 'agent', kind: 'process_start' });
    expect(s.count('user')).toBe(10);
    expect(s.count('agent')).toBe(50);
    expect(
      s
        .all()
        .filter((e) => e.source === 'agent')
        .at(0)!.label,
    ).toBe('process 450');
    for (let i = 0; i < 500; i++) s.add({ t: t++, label: `note ${i}`, source: 'user' });
    expect(s.count('agent')).toBe(50);
    expect(s.count('user')).toBe(20);
    expect(s.all().map((e) => e.t)).toEqual([...s.all().map((e) => e.t)].sort((a, b) => a - b));
  });

  test('loading a file keeps each source within its own budget, newest first', () => {
    const s = new EventStore({ agent: 3, user: 2 });
    const ev = (i: number, source: string) => ({ id: `${source[0]}-${i}`, t: i, label: String(i), source }) as never;
    s.load([ev(1, 'user'), ev(2, 'agent'), ev(3, 'user'), ev(4, 'agent'), ev(5, 'user'), ev(6, 'agent'), ev(7, 'agent'), ev(8, 'bogus')]);
    expect(s.count('user')).toBe(2);
    expect(s.count('agent')).toBe(3);
    expect(s.all().map((e) => e.t)).toEqual([3, 5, 6, 7, 8]);
    expect(s.add({ t: 9, label: 'next', source: 'user' })!.id).toBe('u-9');
  });

  test('loading a file saved by an older agent: a colour the agent no longer accepts is cleared, the event kept', () => {
    const s = new EventStore();
    const ev = (i: number, color: unknown) => ({ id: `u-${i}`, t: i, label: String(i), source: 'user', color }) as never;
    s.load([ev(1, '#f00a'), ev(2, '#12345'), ev(3, '#0f0'), ev(4, '#00ff00'), ev(5, null), ev(6, 7), ev(7, undefined)]);
    expect(s.all().map((e) => [e.t, e.color])).toEqual([
      [1, null],
      [2, null],
      [3, '#0f0'],
      [4, '#00ff00'],
      [5, null],
      [6, null],
      [7, undefined],
    ]);
  });
});
