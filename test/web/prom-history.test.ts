/** A Prometheus host's history: step fit to the chart, the grid with gaps as nulls, chart loading and its errors, the route. */
import { describe, expect, test } from 'bun:test';
import { customPanel, expand, loadPanel, PANELS, promQuote } from '../../web/lib/prom-panels.ts';
import { alignToGrid, DEFAULT_SCRAPE_S, gridMs, PROM_MAX_POINTS, rangeQuery, rateWindow, scrapeIntervalOf } from '../../web/lib/prom-range.ts';
import { parsePromRoute, promHostHash } from '../../web/lib/prom-route.ts';
import { PromClient } from '../../web/lib/prometheus.ts';

const T0 = 1_699_999_200_000; // ms: a multiple of every step used below (6 s, 15 s, 60 s)

describe('step and window', () => {
  test('a point per pixel at most: 1 h over 600 px is a 6 s step', () => {
    expect(rangeQuery(T0, T0 + 3600e3, 600, 1)).toEqual({ start: T0 / 1000, end: T0 / 1000 + 3600, step: 6 });
  });

  test('never finer than the scrape interval: 5 min over 1000 px at a 15 s scrape is a 15 s step', () => {
    expect(rangeQuery(T0, T0 + 300e3, 1000, 15).step).toBe(15);
    // ceil: 5 min over 1000 px at a 1 s scrape is 0.3 s a pixel, rounded up to whole seconds
    expect(rangeQuery(T0, T0 + 300e3, 1000, 1).step).toBe(1);
  });

  test('the start is aligned down to a multiple of the step, so refreshes evaluate the same instants', () => {
    const a = rangeQuery(T0 + 1234, T0 + 3600e3 + 1234, 600, 1);
    const b = rangeQuery(T0 + 4321, T0 + 3600e3 + 4321, 600, 1);
    expect(a.start % a.step).toBe(0);
    expect(a.start).toBe(b.start);
    expect(a.start).toBeLessThanOrEqual((T0 + 1234) / 1000);
  });

  test('never over 11,000 points per series, however wide the chart', () => {
    for (const [span, width] of [
      [30 * 86400e3, 50_000],
      [86400e3, 20_000],
      [11_000e3 + 500, 100_000],
    ] as const) {
      const q = rangeQuery(T0 + 777, T0 + 777 + span, width, 1);
      expect((q.end - q.start) / q.step).toBeLessThanOrEqual(PROM_MAX_POINTS);
      expect(gridMs(q).length).toBeLessThanOrEqual(PROM_MAX_POINTS + 1);
    }
  });

  test('bad input is refused with what was wrong; an unknown scrape interval falls back to 15 s', () => {
    expect(() => rangeQuery(T0, T0, 600, 1)).toThrow(/"to" .* must be after "from"/);
    expect(() => rangeQuery(T0, T0 + 1000, 0, 1)).toThrow(/width must be at least 1 px, got 0/);
    expect(rangeQuery(T0, T0 + 60e3, 600, NaN).step).toBe(DEFAULT_SCRAPE_S);
  });

  test('rate window: at least four scrapes, and at least a step plus a scrape', () => {
    expect(rateWindow(1, 15)).toBe('60s');
    expect(rateWindow(120, 15)).toBe('135s');
    expect(rateWindow(1, 1)).toBe('4s');
  });

  test('scrape interval: the median gap of raw samples; too few samples give the default', () => {
    expect(scrapeIntervalOf([{ labels: {}, t: [10, 11, 12, 13.02, 14, 30], v: [1, 1, 1, 1, 1, 1] }])).toBe(1);
    expect(scrapeIntervalOf([{ labels: {}, t: [0, 15, 30, 45], v: [1, 1, 1, 1] }])).toBe(15);
    expect(scrapeIntervalOf([{ labels: {}, t: [0, 15], v: [1, 1] }])).toBe(DEFAULT_SCRAPE_S);
    expect(scrapeIntervalOf([])).toBe(DEFAULT_SCRAPE_S);
  });
});

describe('query_range answer → chart columns', () => {
  const q = { start: 100, end: 130, step: 5 };

  test('one x per step; a missing step and a NaN are nulls, not bridged', () => {
    const { x, ys } = alignToGrid(
      [
        { labels: { gpu: '0' }, t: [100, 105, 115, 120, 130], v: [1, 2, null, 4, 6] },
        { labels: { gpu: '1' }, t: [125.0000001], v: [9] },
      ],
      q,
    );
    expect(x).toEqual([100e3, 105e3, 110e3, 115e3, 120e3, 125e3, 130e3]);
    expect(ys).toEqual([
      [1, 2, null, null, 4, null, 6],
      [null, null, null, null, null, 9, null],
    ]);
  });

  test('samples outside the window are dropped, an empty answer is all grid and no lines', () => {
    expect(alignToGrid([{ labels: {}, t: [50, 200], v: [1, 2] }], q).ys).toEqual([[null, null, null, null, null, null, null]]);
    expect(alignToGrid([], q)).toEqual({ x: [100e3, 105e3, 110e3, 115e3, 120e3, 125e3, 130e3], ys: [] });
  });
});

type Reply = (url: URL) => Response | Promise<Response>;
function client(reply: Reply, seen: URL[] = [], timeoutMs?: number) {
  return new PromClient('http://prom', {
    timeoutMs,
    fetch: (async (url: string, init?: RequestInit) => {
      const u = new URL(url);
      seen.push(u);
      // A hung server: answer only when the client gives up (as a real fetch does on abort).
      if (u.searchParams.get('query')?.includes('hang'))
        return new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
      return reply(u);
    }) as unknown as typeof fetch,
  });
}
const matrix = (result: unknown[]) => Response.json({ status: 'success', data: { resultType: 'matrix', result } });
const panel = (id: string) => PANELS.find((p) => p.id === id)!;

describe('loading a chart', () => {
  const q = { start: 100, end: 110, step: 5 };

  test('GPU lines named by gpu and model, in GPU order, values on the grid, points counted', async () => {
    const seen: URL[] = [];
    const c = client(
      () =>
        matrix([
          { metric: { gpu: '10', modelName: 'NVIDIA L4' }, values: [[105, '7']] },
          {
            metric: { gpu: '2', modelName: 'NVIDIA H100 80GB HBM3' },
            values: [
              [100, '1'],
              [110, '3'],
            ],
          },
        ]),
      seen,
    );
    const st = await loadPanel(c, panel('gpu-util'), 'gpu-a:9740', q, 1);
    expect(st).toEqual({
      kind: 'ok',
      x: [100e3, 105e3, 110e3],
      lines: [
        { label: 'GPU 2 · H100 80GB HBM3', y: [1, null, 3] },
        { label: 'GPU 10 · L4', y: [null, 7, null] },
      ],
      points: 3,
    });
    expect(seen[0]!.pathname).toBe('/api/v1/query_range');
    expect(seen[0]!.searchParams.get('query')).toBe('DCGM_FI_DEV_GPU_UTIL{instance="gpu-a:9740"}');
    expect([seen[0]!.searchParams.get('start'), seen[0]!.searchParams.get('end'), seen[0]!.searchParams.get('step')]).toEqual(['100', '110', '5']);
  });

  test('counters go through rate() with the window for the step; the instance is quoted safely', async () => {
    const seen: URL[] = [];
    const c = client(() => matrix([]), seen);
    const st = await loadPanel(c, panel('net'), 'we"ird\\host:1', { start: 0, end: 600, step: 60 }, 15);
    expect(st).toMatchObject({ kind: 'ok', lines: [], points: 0 });
    const sent = seen.map((u) => u.searchParams.get('query'));
    expect(sent[0]).toContain('rate(node_network_receive_bytes_total{instance="we\\"ird\\\\host:1",');
    expect(sent[0]).toContain('[75s]');
    expect(sent[1]).toContain('node_network_transmit_bytes_total');
    expect(promQuote('a"b\\c')).toBe('a\\"b\\\\c');
  });

  test('a query error (400 bad_data, 422 execution, 503 timeout) is the chart state with the server reason', async () => {
    for (const [status, errorType, error] of [
      [400, 'bad_data', '1:14: parse error: unclosed left parenthesis'],
      [422, 'execution', 'found duplicate series for the match group'],
      [503, 'timeout', 'query timed out in expression evaluation'],
    ] as const) {
      const c = client(() => Response.json({ status: 'error', errorType, error }, { status }));
      const st = await loadPanel(c, panel('cpu'), 'h:1', q, 1);
      expect(st.kind).toBe('error');
      expect(st.kind === 'error' && st.message).toContain(`${errorType}: ${error}`);
    }
  });

  test('one failing query of a chart fails the chart; a hung server is a timeout, not an endless spinner', async () => {
    const c = client((u) =>
      u.searchParams.get('query')!.includes('MemTotal_bytes{') && !u.searchParams.get('query')!.includes('-')
        ? new Response('bad gateway', { status: 502 })
        : matrix([]),
    );
    const st = await loadPanel(c, panel('mem'), 'h:1', q, 1);
    expect(st).toEqual({ kind: 'error', message: 'http://prom: HTTP 502, and the answer is not JSON (is this a Prometheus API base URL?)' });
    const hung = client(() => matrix([]), [], 50);
    const st2 = await loadPanel(hung, customPanel('hang'), 'h:1', q, 1);
    expect(st2).toEqual({ kind: 'error', message: 'http://prom: timed out' });
  });

  test('a custom query: $instance and $__rate_interval filled in, lines named by their labels', async () => {
    const seen: URL[] = [];
    const c = client(() => matrix([{ metric: { __name__: 'x', mode: 'user' }, values: [[100, '0.5']] }]), seen);
    const p = customPanel('rate(node_cpu_seconds_total{instance="$instance"}[$__rate_interval])');
    const st = await loadPanel(c, p, 'h:1', q, 1);
    expect(seen[0]!.searchParams.get('query')).toBe('rate(node_cpu_seconds_total{instance="h:1"}[6s])');
    expect(st).toMatchObject({ kind: 'ok', lines: [{ label: 'mode=user', y: [0.5, null, null] }] });
    expect(expand('up{instance="$instance"}', 'a:1', q, 1)).toBe('up{instance="a:1"}');
  });
});

describe('route', () => {
  test('the host page address round-trips an instance with a colon, a zoom and a query', () => {
    const h = promHostHash('ep-1', '10.0.0.7:9740', { range: '6h', from: 1000, to: 2000 }, 'up{instance="$instance"}');
    const [path, query] = h.slice(1).split('?');
    expect(parsePromRoute(path!, new URLSearchParams(query))).toEqual({
      id: 'ep-1',
      instance: '10.0.0.7:9740',
      view: { range: '6h', from: 1000, to: 2000 },
      q: 'up{instance="$instance"}',
    });
    expect(parsePromRoute('/p/ep-1/%E0%A4%A', new URLSearchParams())).toBeNull();
    expect(parsePromRoute('/e/ep-1', new URLSearchParams())).toBeNull();
    expect(parsePromRoute('/p/ep-1/h%3A1', new URLSearchParams())?.view).toEqual({ range: '1h' });
  });
});
