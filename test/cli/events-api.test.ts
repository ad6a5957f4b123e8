/** /v1/events writes: PUT/PATCH change only what they name; budgets and bounds of the event store. */
import { afterAll, describe, expect, test } from 'bun:test';
import { Agent } from '../../cli/agent.ts';
import { noGpu } from '../../cli/gpu/provider.ts';
import { createApp } from '../../cli/http/app.ts';

const TOKEN = 'events-api-token-0123456789';
const host = { cpus: 1, sample() {}, disks: () => [], freqMhz: () => null, close() {} };

/** An agent in-process (no sampling started) and its app, called without a network. */
function inProcess() {
  const agent = new Agent({ hostname: 'h', intervalMs: 1000, retentionMs: 60_000, host: host as never, gpu: noGpu });
  const app = createApp(agent, { token: TOKEN, allowOrigins: [] });
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await app.request(`http://127.0.0.1${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: r.status, body: await r.json() as Record<string, unknown> };
  };
  return { agent, call };
}
const agents: Agent[] = [];
afterAll(() => { for (const a of agents) a.stop(); });

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
      [{}, 'body'], [{ label: null }, 'label'], [{ label: '' }, 'label'], [{ t: null }, 't'], [{ t: 'now' }, 't'],
      [{ end_t: 500 }, 'end_t'], [{ t: 9_000 }, 'end_t'], [{ color: 'red' }, 'color'], [{ label: 'ok', color: 'javascript:x' }, 'color'], ['[]', 'body'], ['{', 'body'],
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
    const r = await app.request('http://127.0.0.1/v1/events/u-0', { method: 'OPTIONS', headers: { origin: 'https://pwa.example', 'access-control-request-method': 'PATCH' } });
    expect(r.headers.get('access-control-allow-methods')).toContain('PATCH');
  });
});
