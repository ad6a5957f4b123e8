/** The PWA's stream client against hostile or broken agents (a fake fetch feeding chosen bytes). */
import { describe, expect, test } from 'bun:test';
import { LiveConnection, validRow, validSchema, type EndpointStatus } from '../../web/lib/live.ts';
import { CPU_SERIES, minimalSchema } from '../fixtures/schema.ts';

const schema = minimalSchema({ series: [...CPU_SERIES, { key: 'host.mem.used', label: 'mem', unit: 'B', scope: 'host' }] });

function fakeFetch(chunks: string[], status = 200, history = { t: [], series: {} }) {
  return (async (url: string) => {
    if (String(url).includes('/v1/history')) return Response.json(history, { status });
    if (status !== 200) return Response.json({ error: 'nope' }, { status });
    const enc = new TextEncoder();
    return new Response(
      new ReadableStream({
        start(c) {
          for (const x of chunks) c.enqueue(enc.encode(x));
          c.close();
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    );
  }) as unknown as typeof fetch;
}

async function run(
  chunks: string[],
  opts: { status?: number; resume?: number | null; history?: { t: number[]; series: Record<string, (number | null)[]> } } = {},
) {
  const rows: (number | null)[][] = [];
  const statuses: EndpointStatus[] = [];
  let schemas = 0;
  const c = new LiveConnection(
    {
      url: 'http://agent',
      token: 't',
      resumeFrom: async () => (opts.resume === undefined ? 1 : opts.resume),
      fetchImpl: fakeFetch(chunks, opts.status, opts.history as never),
    },
    {
      status: (s) => statuses.push(s),
      schema: () => schemas++,
      rows: (_k, r) => rows.push(...r),
      snapshot() {},
      event() {},
    },
  );
  c.start();
  await Bun.sleep(50);
  c.stop();
  return { rows, statuses, schemas };
}

const S = `event: schema\ndata: ${JSON.stringify(schema)}\n\n`;
const sample = (t: number, ...v: unknown[]) => `id: ${t}\nevent: sample\ndata: ${JSON.stringify([t, ...v])}\n\n`;

describe('LiveConnection', () => {
  test('valid frames become rows; status goes live', async () => {
    const r = await run([S, sample(1000, 5, 100), sample(2000, null, 200)]);
    expect(r.rows).toEqual([
      [1000, 5, 100],
      [2000, null, 200],
    ]);
    expect(r.statuses.some((s) => s.kind === 'live')).toBe(true);
  });
  test('truncated SSE: the partial frame at the end is never delivered', async () => {
    const r = await run([S, sample(1000, 1, 2), 'event: sample\ndata: [2000, 3']);
    expect(r.rows).toEqual([[1000, 1, 2]]);
  });
  test('wrong width, NaN, strings, non-increasing times and huge frames are dropped; good rows still pass', async () => {
    const huge = `event: sample\ndata: [3000,${'1,'.repeat(5_000_000)}1]\n\n`;
    const r = await run([
      S,
      sample(1000, 1),
      'event: sample\ndata: [1500, NaN, 1]\n\n',
      sample(1600, '7', 1),
      sample(1700, 1, 2, 3),
      huge,
      sample(4000, 4, 4),
      sample(3500, 9, 9),
      sample(4000, 8, 8),
    ]);
    expect(r.rows).toEqual([[4000, 4, 4]]);
  });
  test('staleness is timed on the browser clock: an agent whose clock is an hour behind is still live', async () => {
    const old = Date.now() - 3_600_000;
    const before = Date.now();
    const r = await run([S, sample(old, 1, 2)]);
    const live = r.statuses.find((x) => x.kind === 'live') as { kind: 'live'; lastT: number };
    expect(live.lastT).toBeGreaterThanOrEqual(before);
  });
  test('samples before any schema are ignored', async () => {
    expect((await run([sample(1000, 1, 2), S, sample(2000, 1, 2)])).rows).toEqual([[2000, 1, 2]]);
  });
  test('a malformed schema is an error, not a crash, and nothing is stored', async () => {
    const r = await run([`event: schema\ndata: {"series": "nope"}\n\n`, sample(1000, 1, 2)]);
    expect(r.rows).toEqual([]);
    expect(r.statuses.some((s) => s.kind === 'error')).toBe(true);
  });
  test('a non-string hostname: the endpoint is an error naming the field; nothing reaches the app', async () => {
    const r = await run([`event: schema\ndata: ${JSON.stringify({ ...schema, hostname: 1234 })}\n\n`, sample(1000, 1, 2)]);
    expect(r.schemas).toBe(0);
    expect(r.rows).toEqual([]);
    const last = r.statuses.at(-1)!;
    expect(last.kind).toBe('error');
    expect((last as { message: string }).message).toBe('agent sent a malformed schema: hostname: expected a string, got number');
  });
  test('malformed snapshot extras and events are dropped frame by frame', async () => {
    const got: unknown[] = [];
    const c = new LiveConnection(
      {
        url: 'http://agent',
        token: 't',
        resumeFrom: async () => 1,
        fetchImpl: fakeFetch([
          S,
          `event: snapshot\ndata: {"gpus":"x"}\n\n`,
          `event: event\ndata: {"id":1}\n\n`,
          `event: snapshot\ndata: {"gpus":[],"workloads":{"ollama":[]}}\n\n`,
          `event: event\ndata: {"id":"u-1","t":5,"label":"ok","source":"user"}\n\n`,
        ]),
      },
      {
        status() {},
        schema() {},
        rows() {},
        snapshot: (x) => got.push(['snapshot', x]),
        event: (e) => got.push(['event', e]),
      },
    );
    c.start();
    await Bun.sleep(50);
    c.stop();
    expect(got).toEqual([
      ['snapshot', { gpus: [], workloads: { ollama: [] } }],
      ['event', { id: 'u-1', t: 5, label: 'ok', source: 'user' }],
    ]);
  });
  test('malformed history on first contact: an error naming the field, no rows', async () => {
    const r = await run([S], { resume: null, history: { t: [1000, 2000], series: { 'host.cpu.util': [1, 'x'] } } as never });
    expect(r.rows).toEqual([]);
    expect((r.statuses.at(-1) as { message: string }).message).toBe(
      'agent sent malformed history: series.host.cpu.util[1]: expected a finite number, got string',
    );
  });
  test('401 → unauthorized, no retry loop', async () => {
    const r = await run([], { status: 401 });
    expect(r.statuses.at(-1)).toEqual({ kind: 'unauthorized' });
  });
  test('a new endpoint is backfilled from /v1/history first; NaN-ish values become null', async () => {
    const r = await run([S], { resume: null, history: { t: [1000, 2000], series: { 'host.cpu.util': [1, null], 'host.mem.used': [5, 6] } } });
    expect(r.rows).toEqual([
      [1000, 1, 5],
      [2000, null, 6],
    ]);
  });
  test('validators', () => {
    expect(validRow([1, 2, null], 2)).toBe(true);
    expect(validRow([1, 2], 2)).toBe(false);
    expect(validRow([0, 1, 2], 2)).toBe(false);
    expect(validRow([1, Infinity, 2], 2)).toBe(false);
    expect(validSchema(schema)).toBe(true);
    expect(validSchema({ ...schema, interval_ms: 0 })).toBe(false);
  });
});
