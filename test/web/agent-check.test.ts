/**
 * The Add form's check (web/lib/agent-check.ts) against real loopback servers: an agent-like one,
 * a web server that is not an agent, and a closed port. What only a browser does (CORS, mixed
 * content) is modelled by a fetch that fails the way the browser's does: one TypeError.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { checkAgent } from '../../web/lib/agent-check.ts';
import { freePort } from '../helpers.ts';

const TOKEN = 'good-token-0123456789';
let agent: ReturnType<typeof Bun.serve>, web: ReturnType<typeof Bun.serve>, broken: ReturnType<typeof Bun.serve>;
let closedPort = 0;
const url = (s: { port?: number }) => `http://127.0.0.1:${s.port}`;

beforeAll(() => {
  agent = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === '/healthz') return new Response('ok');
      if (req.headers.get('authorization') !== `Bearer ${TOKEN}`) return Response.json({ error: 'unauthorized' }, { status: 401 });
      return Response.json({ version: '0.9.0', hostname: 'gpu-7', interval_ms: 1000, series: [] });
    },
  });
  web = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('<html>router login</html>', { headers: { 'content-type': 'text/html' } }) });
  broken = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: (req) =>
      new URL(req.url).pathname === '/v1/info' && req.headers.get('x-mode') !== 'x'
        ? Response.json({ hello: 'world' })
        : Response.json({ error: 'disk full' }, { status: 503 }),
  });
  closedPort = freePort();
});
afterAll(() => {
  agent?.stop(true);
  web?.stop(true);
  broken?.stop(true);
});

const http = { pageProtocol: 'http:' };

describe('checking an agent before it is saved', () => {
  test('a real answer with the right token: ok, with its normalized URL and hostname', async () => {
    const r = await checkAgent(url(agent) + '/some/path', TOKEN, http);
    expect(r).toMatchObject({ kind: 'ok', url: url(agent), hostname: 'gpu-7', version: '0.9.0' });
    // The answer itself comes back too: the first connection uses it instead of asking again.
    expect(r.kind === 'ok' && (r.info as { hostname?: string }).hostname).toBe('gpu-7');
  });
  test('a wrong or missing token: bad token', async () => {
    const r = await checkAgent(url(agent), 'wrong-token', http);
    expect(r.kind).toBe('bad-token');
    expect(r.kind === 'bad-token' && r.status).toBe(401);
    expect((await checkAgent(url(agent), '  ', http)).kind).toBe('bad-token');
  });
  test('a closed port: unreachable', async () => {
    const r = await checkAgent(`http://127.0.0.1:${closedPort}`, TOKEN, http);
    expect(r).toMatchObject({ kind: 'unreachable' });
    expect((r as { message: string }).message).toContain(`127.0.0.1:${closedPort}`);
  });
  test('a web server that is not an agent, and JSON of the wrong shape: not a gpulse agent', async () => {
    expect(await checkAgent(url(web), TOKEN, http)).toMatchObject({ kind: 'not-agent', message: expect.stringContaining('did not answer JSON') });
    expect(await checkAgent(url(broken), TOKEN, http)).toMatchObject({ kind: 'not-agent', message: expect.stringContaining('no "version"') });
  });
  test('an agent error with JSON: the status and its message', async () => {
    const f = ((u: string, init: RequestInit) => fetch(u, { ...init, headers: { ...init.headers, 'x-mode': 'x' } })) as typeof fetch;
    expect(await checkAgent(url(broken), TOKEN, { ...http, fetchImpl: f })).toMatchObject({
      kind: 'http-error',
      status: 503,
      message: expect.stringContaining('disk full'),
    });
  });
  test('a bad URL is named', async () => {
    expect(await checkAgent('ftp://x', TOKEN, http)).toMatchObject({ kind: 'bad-url', message: expect.stringContaining('http:// or https://') });
    expect((await checkAgent('not a url', TOKEN, http)).kind).toBe('bad-url');
  });

  // As a browser: a CORS-readable request fails with a TypeError; an opaque no-cors one still goes through.
  const browserLike = ((u: string, init: RequestInit = {}) =>
    init.mode === 'no-cors' ? fetch(u, init) : Promise.reject(new TypeError('Failed to fetch'))) as typeof fetch;
  test('reachable, but the browser refuses to let the page read it: blocked (CORS or local-network permission)', async () => {
    const r = await checkAgent(url(agent), TOKEN, { ...http, fetchImpl: browserLike });
    expect(r).toMatchObject({ kind: 'blocked', message: expect.stringContaining('local network access') });
  });
  test('the same failure on a closed port is still unreachable', async () => {
    expect((await checkAgent(`http://127.0.0.1:${closedPort}`, TOKEN, { ...http, fetchImpl: browserLike })).kind).toBe('unreachable');
  });
  test('an https page and an http agent on another host: mixed content', async () => {
    const r = await checkAgent('http://gpu-box.example:9740', TOKEN, { pageProtocol: 'https:', fetchImpl: browserLike });
    expect(r).toMatchObject({ kind: 'mixed-content', message: expect.stringContaining('mixed content') });
    // From http://localhost the same agent is not mixed content: the failure is judged on its own.
    expect((await checkAgent(url(agent), TOKEN, { pageProtocol: 'https:', fetchImpl: browserLike })).kind).toBe('blocked');
  });
  test('an address that never answers: unreachable within the bound', async () => {
    const slow = ((u: string, init: RequestInit) =>
      new Promise<Response>((_, reject) => init.signal?.addEventListener('abort', () => reject(init.signal!.reason)))) as typeof fetch;
    expect(await checkAgent(url(agent), TOKEN, { ...http, fetchImpl: slow, timeoutMs: 50 })).toMatchObject({
      kind: 'unreachable',
      message: expect.stringContaining('did not answer'),
    });
  });
});
