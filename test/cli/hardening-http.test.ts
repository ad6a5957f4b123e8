/** The agent's HTTP edge against hostile requests: error pages, Host, Origin, bodies, the failure limiter. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { SERVER_HARDENING } from '../../cli/http/middleware/errors.ts';
import { auth, startAgent, type RunningAgent } from '../helpers.ts';
import { rawRequest } from '../raw-http.ts';

const portOf = (url: string) => Number(new URL(url).port);

describe('errors are small JSON, never a stack', () => {
  let a: RunningAgent;
  beforeAll(async () => { a = await startAgent(['--interval', '500ms', '--gpu', 'none']); });
  afterAll(async () => { await a?.stop(); });

  test('HTTP/1.0 without Host: a small JSON error, no development page, nothing logged as a crash', async () => {
    for (const path of ['/v1/info', '/healthz', '/', '/nope']) {
      const r = await rawRequest(portOf(a.url), [`GET ${path} HTTP/1.0\r\n\r\n`]);
      expect(r.status).toBeGreaterThan(0);
      expect(r.status).toBeLessThan(500);
      if (r.status >= 400) {
        expect(r.body.length).toBeLessThan(512);
        expect(typeof JSON.parse(r.body).error).toBe('string');
        expect(r.raw).not.toMatch(/\.ts\b|<html|at </);
      }
    }
    expect(a.stderr()).not.toMatch(/Invalid URL|failed\n|TypeError/);
  });

  test('a handler that throws outside Hono gets the JSON fallback, not the error text', async () => {
    const server = Bun.serve({ ...SERVER_HARDENING, hostname: '127.0.0.1', port: 0, fetch: () => { throw new Error('secret at /src/cli/app.ts:12'); } });
    const logged: string[] = [];
    const orig = console.error;
    console.error = (m: string) => { logged.push(m); };
    try {
      const r = await fetch(`http://127.0.0.1:${server.port}/x`);
      expect(r.status).toBe(500);
      const body = await r.text();
      expect(JSON.parse(body)).toEqual({ error: 'internal error' });
      expect(body).not.toContain('secret');
    } finally { console.error = orig; server.stop(true); }
    expect(logged.join('\n')).toContain('secret'); // the operator still sees it in the log
  });
});
