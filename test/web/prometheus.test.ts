/** The PWA's Prometheus API client against a fake fetch: parsing, NaN, and each kind of failure. */
import { describe, expect, test } from 'bun:test';
import { pollFleet } from '../../web/lib/prom-fleet.ts';
import { PromClient, PromError, parseMatrix, parseVector } from '../../web/lib/prometheus.ts';

type Seen = { url: string; headers: Record<string, string> };
function fake(respond: (url: URL) => Response | Promise<Response>, seen: Seen[] = []) {
  return (async (url: string, init?: RequestInit) => {
    seen.push({ url: String(url), headers: (init?.headers ?? {}) as Record<string, string> });
    return respond(new URL(String(url)));
  }) as unknown as typeof fetch;
}
const ok = (data: unknown) => Response.json({ status: 'success', data });

async function failure(p: Promise<unknown>): Promise<PromError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(PromError);
    return e as PromError;
  }
  throw new Error('expected a failure');
}

describe('Prometheus client', () => {
  test('instant: vector parsed, NaN and Inf become null, token sent as bearer, base slash dropped', async () => {
    const seen: Seen[] = [];
    const c = new PromClient('http://prom:9090/', {
      token: 's3cret',
      fetch: fake(
        () =>
          ok({
            resultType: 'vector',
            result: [
              { metric: { __name__: 'DCGM_FI_DEV_GPU_UTIL', gpu: '0', Hostname: 'a' }, value: [1700000000.5, '42'] },
              { metric: { gpu: '1' }, value: [1700000000.5, 'NaN'] },
              { metric: { gpu: '2' }, value: [1700000000.5, '+Inf'] },
            ],
          }),
        seen,
      ),
    });
    const r = await c.instant('DCGM_FI_DEV_GPU_UTIL');
    expect(r).toEqual([
      { labels: { __name__: 'DCGM_FI_DEV_GPU_UTIL', gpu: '0', Hostname: 'a' }, t: 1700000000.5, v: 42 },
      { labels: { gpu: '1' }, t: 1700000000.5, v: null },
      { labels: { gpu: '2' }, t: 1700000000.5, v: null },
    ]);
    const u = new URL(seen[0]!.url);
    expect(u.origin + u.pathname).toBe('http://prom:9090/api/v1/query');
    expect(u.searchParams.get('query')).toBe('DCGM_FI_DEV_GPU_UTIL');
    expect(seen[0]!.headers.authorization).toBe('Bearer s3cret');
  });

  test('instant: a scalar answer is one unlabeled sample; no token, no header', async () => {
    const seen: Seen[] = [];
    const c = new PromClient('http://p', { fetch: fake(() => ok({ resultType: 'scalar', result: [5, '1.5'] }), seen) });
    expect(await c.instant('1.5')).toEqual([{ labels: {}, t: 5, v: 1.5 }]);
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });

  test('range: matrix parsed with its parameters', async () => {
    const seen: Seen[] = [];
    const c = new PromClient('http://p', {
      fetch: fake(
        () =>
          ok({
            resultType: 'matrix',
            result: [
              {
                metric: { instance: 'h:9740' },
                values: [
                  [10, '1'],
                  [15, 'NaN'],
                  [20, '3'],
                ],
              },
            ],
          }),
        seen,
      ),
    });
    expect(await c.range('up', 10, 20, 5)).toEqual([{ labels: { instance: 'h:9740' }, t: [10, 15, 20], v: [1, null, 3] }]);
    const u = new URL(seen[0]!.url);
    expect(u.pathname).toBe('/api/v1/query_range');
    expect([u.searchParams.get('start'), u.searchParams.get('end'), u.searchParams.get('step')]).toEqual(['10', '20', '5']);
  });

  test('unreachable or CORS-blocked: a fetch TypeError says so', async () => {
    const c = new PromClient('http://p', {
      fetch: (async () => {
        throw new TypeError('Failed to fetch');
      }) as unknown as typeof fetch,
    });
    const e = await failure(c.instant('up'));
    expect(e.kind).toBe('unreachable');
    expect(e.message).toContain('CORS');
  });

  test('401 is unauthorized and names the token', async () => {
    const c = new PromClient('http://p', { fetch: fake(() => new Response('no', { status: 401 })) });
    const e = await failure(c.instant('up'));
    expect(e.kind).toBe('unauthorized');
    expect(e.message).toContain('token');
  });

  test('a query error carries the server reason; other HTTP errors and non-API answers are told apart', async () => {
    const bad = new PromClient('http://p', {
      fetch: fake(() => Response.json({ status: 'error', errorType: 'bad_data', error: 'parse error at char 3' }, { status: 400 })),
    });
    const e1 = await failure(bad.instant('up{'));
    expect(e1.message).toContain('parse error at char 3');
    const html = new PromClient('http://p', { fetch: fake(() => new Response('<html>hi</html>', { status: 200 })) });
    expect((await failure(html.instant('up'))).kind).toBe('bad-answer');
    const e502 = new PromClient('http://p', { fetch: fake(() => new Response('gateway', { status: 502 })) });
    expect((await failure(e502.instant('up'))).kind).toBe('http');
    const other = new PromClient('http://p', { fetch: fake(() => Response.json({ hello: 1 })) });
    expect((await failure(other.instant('up'))).kind).toBe('bad-answer');
  });

  test('wrong result types and malformed samples are bad answers', () => {
    expect(() => parseVector({ resultType: 'matrix', result: [] })).toThrow(PromError);
    expect(() => parseMatrix({ resultType: 'vector', result: [] })).toThrow(PromError);
    expect(() => parseVector({ resultType: 'vector', result: [{ metric: {}, value: 'x' }] })).toThrow(PromError);
  });
});

describe('Prometheus fleet', () => {
  test('hosts from node_uname_info, GPUs from DCGM labels joined on instance (their Hostname names the host), memory in bytes, CPU from the rate', async () => {
    const answers: Record<string, unknown[]> = {
      node_uname_info: [
        { metric: { instance: '127.0.0.1:1', nodename: 'kernel-name' }, value: [1, '1'] },
        { metric: { instance: '127.0.0.1:2' }, value: [1, '1'] },
      ],
      DCGM_FI_DEV_GPU_UTIL: [
        { metric: { instance: '127.0.0.1:1', gpu: '1', modelName: 'A100', Hostname: 'box-b' }, value: [1, '20'] },
        { metric: { instance: '127.0.0.1:1', gpu: '0', modelName: 'H100', Hostname: 'box-b' }, value: [1, '10'] },
        { metric: { instance: '127.0.0.1:3', gpu: '0', modelName: 'L4', Hostname: 'box-c' }, value: [1, 'NaN'] },
      ],
      DCGM_FI_DEV_FB_USED: [{ metric: { instance: '127.0.0.1:1', gpu: '0' }, value: [1, '1024'] }],
      DCGM_FI_DEV_FB_FREE: [{ metric: { instance: '127.0.0.1:1', gpu: '0' }, value: [1, '3072'] }],
      DCGM_FI_DEV_GPU_TEMP: [{ metric: { instance: '127.0.0.1:1', gpu: '0' }, value: [1, '55'] }],
      DCGM_FI_DEV_POWER_USAGE: [{ metric: { instance: '127.0.0.1:1', gpu: '0' }, value: [1, '300.5'] }],
    };
    const c = new PromClient('http://p', {
      fetch: fake((u) => {
        const q = u.searchParams.get('query')!;
        const result = answers[q] ?? (q.includes('node_cpu_seconds_total') ? [{ metric: { instance: '127.0.0.1:2' }, value: [1, '12.5'] }] : []);
        return ok({ resultType: 'vector', result });
      }),
    });
    const fleet = await pollFleet(c);
    expect(fleet.map((h) => [h.name, h.instance, h.cpu, h.gpus.map((g) => g.gpu)])).toEqual([
      ['127.0.0.1:2', '127.0.0.1:2', 12.5, []],
      ['box-b', '127.0.0.1:1', null, ['0', '1']],
      ['box-c', '127.0.0.1:3', null, ['0']],
    ]);
    expect(fleet[1]!.gpus[0]).toEqual({ gpu: '0', model: 'H100', util: 10, memUsed: 1024 * 2 ** 20, memTotal: 4096 * 2 ** 20, temp: 55, power: 300.5 });
    expect(fleet[1]!.gpus[1]).toMatchObject({ model: 'A100', util: 20, memUsed: null, memTotal: null, temp: null });
    expect(fleet[2]!.gpus[0]!.util).toBeNull();
  });
});
