/** The agent's HTTP edge against hostile requests: error pages, Host, Origin, bodies, the failure limiter. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { ApiError } from '../../cli/http/errors.ts';
import { bodyLimit } from '../../cli/http/middleware/body-limit.ts';
import { SERVER_HARDENING } from '../../cli/http/middleware/errors.ts';
import { auth, startAgent, type RunningAgent } from '../helpers.ts';
import { rawRequest } from '../raw-http.ts';

const portOf = (url: string) => Number(new URL(url).port);

describe('errors are small JSON, never a stack', () => {
  let a: RunningAgent;
  beforeAll(async () => {
    a = await startAgent(['--interval', '500ms', '--gpu', 'none']);
  });
  afterAll(async () => {
    await a?.stop();
  });

  test('HTTP/1.0 without Host: a small JSON 400 naming the header, no development page, nothing logged as a crash', async () => {
    for (const path of ['/v1/info', '/healthz', '/', '/nope']) {
      const r = await rawRequest(portOf(a.url), [`GET ${path} HTTP/1.0\r\n\r\n`]);
      expect(r.status).toBe(400);
      expect(r.headers['content-type']).toStartWith('application/json');
      expect(r.body.length).toBeLessThan(512);
      expect(JSON.parse(r.body)).toEqual({ error: 'missing Host header', param: 'host' });
      expect(r.raw).not.toMatch(/\.ts\b|<html|at </);
    }
    // HTTP/1.0 with a Host is served as usual.
    expect((await rawRequest(portOf(a.url), ['GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n'])).status).toBe(200);
    expect(a.stderr()).not.toMatch(/Invalid URL|failed\n|TypeError/);
  });

  test('a handler that throws outside Hono gets the JSON fallback, not the error text', async () => {
    const server = Bun.serve({
      ...SERVER_HARDENING,
      hostname: '127.0.0.1',
      port: 0,
      fetch: () => {
        throw new Error('secret at /src/cli/app.ts:12');
      },
    });
    const logged: string[] = [];
    const orig = console.error;
    console.error = (m: string) => {
      logged.push(m);
    };
    try {
      const r = await fetch(`http://127.0.0.1:${server.port}/x`);
      expect(r.status).toBe(500);
      const body = await r.text();
      expect(JSON.parse(body)).toEqual({ error: 'internal error' });
      expect(body).not.toContain('secret');
    } finally {
      console.error = orig;
      server.stop(true);
    }
    expect(logged.join('\n')).toContain('secret'); // the operator still sees it in the log
  });
});

const get = (port: number, path: string, headers: Record<string, string>) =>
  rawRequest(port, [
    `GET ${path} HTTP/1.1\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}Connection: close\r\n\r\n`,
  ]);

describe('Host check (DNS rebinding)', () => {
  let a: RunningAgent;
  beforeAll(async () => {
    a = await startAgent(['--interval', '500ms', '--gpu', 'none', '--allowed-host', 'gpu-7.lab.example'], {
      GPULSE_ALLOWED_HOST: 'ignored-because-the-flag-wins',
    });
  });
  afterAll(async () => {
    await a?.stop();
  });

  test('a rebound name (Host: evil.example) is refused with 421 naming it, even with the right token, and without CORS headers', async () => {
    const p = portOf(a.url);
    for (const path of ['/v1/info', '/healthz', '/']) {
      const r = await get(p, path, { Host: `evil.example:${p}`, Authorization: `Bearer ${a.token}`, Origin: `http://evil.example:${p}` });
      expect(r.status).toBe(421);
      expect(JSON.parse(r.body)).toMatchObject({ param: 'host', error: expect.stringContaining('"evil.example"') });
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
    }
  });
  test('loopback names, IP literals and --allowed-host are served', async () => {
    const p = portOf(a.url);
    for (const host of ['127.0.0.1', 'localhost', '[::1]', '10.1.2.3', 'LOCALHOST.', 'gpu-7.lab.example', 'GPU-7.lab.example']) {
      const r = await get(p, '/v1/info', { Host: `${host}:${p}`, Authorization: `Bearer ${a.token}` });
      expect(`${host} ${r.status}`).toBe(`${host} 200`);
    }
    expect((await get(p, '/healthz', { Host: 'ignored-because-the-flag-wins' })).status).toBe(421);
  });
  test('empty, duplicated or malformed Host headers are a 400', async () => {
    const p = portOf(a.url);
    for (const host of ['', 'a b', '127.0.0.1, evil.example', 'user@127.0.0.1', 'x/y', '127.0.0.1:99999', '[::1']) {
      const r = await get(p, '/healthz', { Host: host });
      expect(`${JSON.stringify(host)} ${r.status}`).toBe(`${JSON.stringify(host)} 400`);
      expect(JSON.parse(r.body).param).toBe('host');
    }
  });
  test('GPULSE_ALLOWED_HOST applies when the flag is absent', async () => {
    const b = await startAgent(['--interval', '500ms', '--gpu', 'none'], { GPULSE_ALLOWED_HOST: 'a.example,b.example' });
    try {
      const p = portOf(b.url);
      expect((await get(p, '/healthz', { Host: 'b.example' })).status).toBe(200);
      expect((await get(p, '/healthz', { Host: 'c.example' })).status).toBe(421);
    } finally {
      await b.stop();
    }
  });
});

describe('--no-auth: only same-origin, loopback and --allow-origin origins', () => {
  let a: RunningAgent;
  beforeAll(async () => {
    a = await startAgent(['--interval', '500ms', '--gpu', 'none', '--no-auth', '--allow-origin', 'https://pwa.example']);
  });
  afterAll(async () => {
    await a?.stop();
  });
  const pre = (origin: string) =>
    fetch(a.url + '/v1/info', {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-private-network': 'true' },
    });

  test('a foreign web page gets 403 naming its origin, and no CORS or Private Network Access grant', async () => {
    for (const origin of ['https://evil.example', 'http://192.168.1.20:8080', 'null']) {
      const r = await fetch(a.url + '/v1/info', { headers: { origin } });
      expect(r.status).toBe(403);
      expect((await r.json()).error).toContain(JSON.stringify(origin));
      expect(r.headers.get('access-control-allow-origin')).toBeNull();
      const p = await pre(origin);
      expect(p.status).toBe(403);
      expect(p.headers.get('access-control-allow-origin')).toBeNull();
      expect(p.headers.get('access-control-allow-private-network')).toBeNull();
    }
  });
  test('its own origin, loopback origins and --allow-origin are served, named exactly (never *)', async () => {
    for (const origin of [a.url, 'http://localhost:5173', 'http://127.0.0.1:3000', 'https://pwa.example']) {
      const r = await fetch(a.url + '/v1/info', { headers: { origin } });
      expect(`${origin} ${r.status}`).toBe(`${origin} 200`);
      expect(r.headers.get('access-control-allow-origin')).toBe(origin);
      const p = await pre(origin);
      expect(p.headers.get('access-control-allow-origin')).toBe(origin);
      expect(p.headers.get('access-control-allow-private-network')).toBe('true');
    }
    // No Origin at all: curl, Prometheus, `gpulse export`.
    const r = await fetch(a.url + '/v1/info');
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
  });
});

/** Peak resident memory of a process (kB → bytes), from the kernel's high-water mark. */
const peakRss = (pid: number) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const MB = 1 << 20;

describe('request bodies are bounded before they are buffered', () => {
  let a: RunningAgent;
  beforeAll(async () => {
    a = await startAgent(['--interval', '500ms', '--gpu', 'none']);
  });
  afterAll(async () => {
    await a?.stop();
  });
  const post = (headers: string, parts: Parameters<typeof rawRequest>[1] = [], timeoutMs = 5000, all = false) =>
    rawRequest(portOf(a.url), [`POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`, ...parts], timeoutMs, all);

  test('a 100 MB POST with Content-Length: 413 naming the limit, answered before the body is sent, memory flat', async () => {
    const before = peakRss(a.proc.pid);
    // Headers only: the answer must not wait for a body.
    const t0 = Date.now();
    const r = await post(`Authorization: Bearer ${a.token}\r\nContent-Type: application/json\r\nContent-Length: ${100 * MB}\r\n`, [], 2000);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toEqual({ error: 'body: larger than the 16 KiB (16384 bytes) limit', param: 'body' });
    // And with the 100 MB actually sent (the agent discards it): read until the time runs out.
    const full = await post(`Authorization: Bearer ${a.token}\r\nContent-Length: ${100 * MB}\r\n`, [{ filler: 100 * MB }], 3000, true);
    expect(full.status).toBe(413);
    expect(peakRss(a.proc.pid) - before).toBeLessThan(24 * MB);
  }, 30_000);

  test('a 100 MB chunked POST is counted while it streams and cut at the limit, memory flat', async () => {
    const before = peakRss(a.proc.pid);
    const chunk = `10000\r\n${'x'.repeat(0x10000)}\r\n`;
    const r = await post(
      `Authorization: Bearer ${a.token}\r\nTransfer-Encoding: chunked\r\n`,
      Array.from({ length: 1600 }, () => chunk),
      15_000,
    );
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).error).toContain('16 KiB');
    expect(peakRss(a.proc.pid) - before).toBeLessThan(24 * MB);
  }, 30_000);

  test('an unauthenticated POST is refused before its body is read', async () => {
    const before = peakRss(a.proc.pid);
    const t0 = Date.now();
    const r = await post(`Content-Length: ${100 * MB}\r\n`, [], 2000);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(r.status).toBe(401);
    const full = await post(
      `Transfer-Encoding: chunked\r\n`,
      Array.from({ length: 800 }, () => `10000\r\n${'x'.repeat(0x10000)}\r\n`),
      15_000,
    );
    expect(full.status).toBe(401);
    expect(peakRss(a.proc.pid) - before).toBeLessThan(24 * MB);
  }, 30_000);

  describe('/v1/push: the same middleware at 1 MiB', () => {
    const push = (headers: string, parts: Parameters<typeof rawRequest>[1] = [], timeoutMs = 5000) =>
      rawRequest(portOf(a.url), [`POST /v1/push HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${a.token}\r\n${headers}\r\n`, ...parts], timeoutMs);

    test('over 1 MiB is a 413 naming the limit, by Content-Length or counted as it streams', async () => {
      const byLength = await push(`Content-Length: ${2 * MB}\r\n`, [], 2000);
      expect(byLength.status).toBe(413);
      expect(JSON.parse(byLength.body)).toEqual({ error: 'body: larger than the 1 MiB (1048576 bytes) limit', param: 'body' });
      const chunk = `10000\r\n${'x'.repeat(0x10000)}\r\n`;
      const chunked = await push(
        'Transfer-Encoding: chunked\r\n',
        Array.from({ length: 20 }, () => chunk),
      );
      expect(chunked.status).toBe(413);
      // 1 MiB itself is accepted: a push may be that big (comments fill it up to one series).
      const last = 'push_limit_probe 1\n';
      const body = '#'.repeat(MB - last.length - 1) + '\n' + last;
      expect(body.length).toBe(MB);
      const ok = await fetch(a.url + '/v1/push', { method: 'POST', body, ...auth(a.token) });
      expect(ok.status).toBe(200);
    }, 30_000);

    test('a body dripped slower than the 10 s deadline is a 408, and nothing is logged as an error', async () => {
      const drip = Array.from({ length: 24 }, (_, i) => [{ pauseMs: 500 }, String(i % 10)]).flat();
      const r = await push('Content-Length: 100\r\n', drip, 15_000);
      expect(r.status).toBe(408);
      expect(JSON.parse(r.body)).toEqual({ error: 'body: not received within 10 s', param: 'body' });
      // A client that hangs up mid-body is no error of the agent's either.
      await push('Content-Length: 100\r\n', ['drip 1'], 500);
      await Bun.sleep(300);
      expect(a.stderr()).not.toMatch(/internal error|unhandled error|gpulse: POST /);
    }, 30_000);
  });

  test('a body within the limit is still accepted', async () => {
    const r = await fetch(a.url + '/v1/events', { method: 'POST', body: JSON.stringify({ label: 'x'.repeat(400) }), ...auth(a.token) });
    expect(r.status).toBe(201);
  });
});

describe('bodyLimit middleware', () => {
  const app = new Hono();
  app.onError((e, c) => (e instanceof ApiError ? c.json({ error: e.message }, e.status) : c.json({ error: 'internal' }, 500)));
  app.post('/', bodyLimit({ maxBytes: 1024, timeoutMs: 300 }), async (c) => c.json({ got: (await c.req.text()).length }));
  let server: ReturnType<typeof Bun.serve>;
  beforeAll(() => {
    server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: app.fetch });
  });
  afterAll(() => server?.stop(true));

  test('a body dripping in slower than the deadline is a 408', async () => {
    const r = await rawRequest(
      server.port!,
      ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', 'abc', { pauseMs: 200 }, 'def', { pauseMs: 400 }, 'ghi'],
      3000,
    );
    expect(r.status).toBe(408);
    expect(JSON.parse(r.body).error).toContain('not received within 0.3 s');
  });
  test('exact limit passes; one byte more does not, with or without Content-Length', async () => {
    expect(await (await fetch(`http://127.0.0.1:${server.port}/`, { method: 'POST', body: 'x'.repeat(1024) })).json()).toEqual({ got: 1024 });
    expect((await fetch(`http://127.0.0.1:${server.port}/`, { method: 'POST', body: 'x'.repeat(1025) })).status).toBe(413);
    const chunked = await rawRequest(server.port!, [
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
      '400\r\n' + 'x'.repeat(1024) + '\r\n',
      '1\r\nx\r\n',
      '0\r\n\r\n',
    ]);
    expect(chunked.status).toBe(413);
  });
});

describe('the failed-auth limiter', () => {
  test('an attacker on the same address cannot lock the right token out', async () => {
    const a = await startAgent(['--interval', '500ms', '--gpu', 'none']);
    try {
      // The attacker floods wrong tokens from 127.0.0.1, the same address as the real client.
      const flood = async () => {
        for (let i = 0; i < 30; i++) await fetch(a.url + '/v1/info', auth('guess-' + i));
      };
      await flood();
      expect((await fetch(a.url + '/v1/info', auth('guess-x'))).status).toBe(429);
      for (let i = 0; i < 5; i++) {
        const [ok] = await Promise.all([fetch(a.url + '/v1/info', auth(a.token)), flood()]);
        expect(ok.status).toBe(200);
      }
      // A missing token is still counted and limited.
      expect((await fetch(a.url + '/v1/info')).status).toBe(429);
    } finally {
      await a.stop();
    }
  });
});
