/**
 * The PWA against hostile agents, in real headless Chromium: small servers in this file speak just
 * enough of the API to be added, then send a schema with a non-string hostname, or an SSE line
 * (or message) that never ends. The rest of the app must keep working, and nothing bad is stored.
 */
import { HAVE_BROWSER, openPaired, pairingLink } from '../browser.ts';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { BrowserContext, Page } from 'playwright-core';
import { CORS } from '../fake-agent.ts';
import { startAgent, type RunningAgent } from '../helpers.ts';
import { INFO_FIELDS, minimalSchema } from '../fixtures/schema.ts';

type Mode = 'hostname' | 'endless-line' | 'endless-frame' | 'accounting';
const enc = new TextEncoder();
// A hostile agent may send any hostname (a number, say): the rest of its schema is valid.
const schema = (hostname: unknown) => ({ ...minimalSchema(), hostname });

/**
 * A hostile agent on 127.0.0.1. Every stream it sends is bounded (256 MiB) and stops when the client cancels.
 * 'accounting': a GPU host named `acct.hostname` whose stream idles and whose /v1/accounting answers `acct.doc`.
 */
function hostileAgent(mode: Mode, acct?: { hostname: string; doc: unknown }) {
  const agentSchema = mode === 'accounting' ? { ...schema(acct!.hostname), provider: 'nvml' } : schema(mode === 'hostname' ? 1234 : 'hostile');
  const stats = { cancelled: 0, streams: 0, maxPerStream: 0 };
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    development: false,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (req.method === 'OPTIONS') return new Response(null, { status: 204, headers: CORS });
      const json = (b: unknown) => Response.json(b, { headers: CORS });
      if (path === '/v1/info') return json({ ...agentSchema, ...INFO_FIELDS });
      if (path === '/v1/history') return json({ t: [], series: {} });
      if (path === '/v1/events') return json({ events: [] });
      if (path === '/v1/accounting' && acct) return json(acct.doc);
      if (path !== '/v1/stream') return json({ error: 'no route' });
      stats.streams++;
      const head = `event: schema\ndata: ${JSON.stringify(agentSchema)}\n\n`;
      const piece = enc.encode(mode === 'endless-line' ? '1,'.repeat(32 * 1024) : `data: ${'2'.repeat(64 * 1024 - 7)}\n`);
      let timer: ReturnType<typeof setInterval> | undefined;
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>(
          {
            start(c) {
              c.enqueue(enc.encode(head + (mode === 'endless-line' ? 'id: 1\nevent: sample\ndata: [' : mode === 'endless-frame' ? 'event: sample\n' : '')));
              // The hostname and accounting agents then idle with heartbeats (bounded by the test's life).
              if (mode === 'hostname' || mode === 'accounting')
                timer = setInterval(() => {
                  try {
                    c.enqueue(enc.encode(': hb\n\n'));
                  } catch {
                    clearInterval(timer);
                  }
                }, 500);
            },
            pull(c) {
              if (mode === 'hostname' || mode === 'accounting') return new Promise<void>(() => {});
              if (sent >= 256 << 20) return new Promise<void>(() => {}); // the bound: hold the line open, send no more
              c.enqueue(piece);
              sent += piece.byteLength;
              stats.maxPerStream = Math.max(stats.maxPerStream, sent);
            },
            cancel() {
              stats.cancelled++;
              clearInterval(timer);
            },
          },
          { highWaterMark: 0 },
        ),
        { headers: { ...CORS, 'content-type': 'text/event-stream' } },
      );
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, host: `127.0.0.1:${server.port}`, stats, stop: () => server.stop(true) };
}

describe.skipIf(!HAVE_BROWSER)('hostile agents in the PWA', () => {
  let a: RunningAgent, ctx: BrowserContext, page: Page;
  const errors: string[] = [];
  const tile = (name: string) => `[data-endpoint="${name}"]`;
  // The pairing link adds the endpoint and then opens its page; the overview shows every tile.
  const add = async (url: string) => {
    await page.goto(pairingLink({ url, token: 'hostile-token-0123456789' }, a.url));
    await page.waitForFunction(() => location.hash.startsWith('#/e/'));
    await page.goto(`${a.url}/#/`);
  };
  const remove = (url: string) =>
    page.evaluate((u) => {
      const g = (globalThis as any).gpulse;
      const id = g.order.find((i: string) => g.eps.get(i).ep.url === u);
      return g.removeEndpoint(id);
    }, url);
  const statusTitle = (name: string) => page.getAttribute(`${tile(name)} [data-status]`, 'title');
  beforeAll(async () => {
    a = await startAgent(['--interval', '500ms', '--gpu', 'none', '--hostname', 'good-agent']);
    ({ ctx, page } = await openPaired(a, { width: 1200, height: 900 }, (p) => p.on('pageerror', (e) => errors.push(e.message))));
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    await a?.stop();
  });

  test('a non-string hostname: that endpoint shows error with the reason; the app keeps working, also after a reload', async () => {
    const h = hostileAgent('hostname');
    try {
      await add(h.url);
      await page.waitForSelector(`${tile(h.host)} [data-status="error"]`, { timeout: 15_000 });
      expect(await statusTitle(h.host)).toContain('agent sent a malformed /v1/info: hostname: expected a string, got number');
      await page.waitForSelector(`${tile('good-agent')} [data-status="live"]`);
      // Nothing of it was stored: after a reload the app still renders both endpoints.
      const id = await page.evaluate(
        (url) => (globalThis as any).gpulse.order.find((i: string) => (globalThis as any).gpulse.eps.get(i).ep.url === url),
        h.url,
      );
      expect(await page.evaluate((i) => (globalThis as any).gpulse.db.get('meta', `schema:${i}`), id)).toBeUndefined();
      await page.reload();
      await page.waitForSelector(`${tile('good-agent')} [data-status="live"]`, { timeout: 15_000 });
      await page.waitForSelector(`${tile(h.host)} [data-status="error"]`, { timeout: 15_000 });
      await page.click(tile('good-agent'));
      await page.waitForSelector('.chart canvas');
      expect(errors).toEqual([]);
    } finally {
      h.stop();
    }
  }, 60_000);

  for (const mode of ['endless-line', 'endless-frame'] as const) {
    test(`${mode === 'endless-line' ? 'an SSE line' : 'an SSE message'} that never ends: the connection is dropped with an error; the tab lives on`, async () => {
      const h = hostileAgent(mode);
      try {
        await add(h.url);
        // Its schema is valid, so the tile takes the agent's hostname.
        await page.waitForSelector(`${tile('hostile')} [data-status="error"]`, { timeout: 30_000 });
        expect(await statusTitle('hostile')).toContain(
          mode === 'endless-line' ? 'agent sent an SSE line longer than 16 MiB' : 'agent sent an SSE frame longer than 16 MiB',
        );
        // The browser cancelled the body: the hostile agent stopped well short of its 256 MiB a stream.
        for (let i = 0; i < 50 && h.stats.cancelled < 1; i++) await Bun.sleep(100);
        expect(h.stats.cancelled).toBeGreaterThanOrEqual(1);
        expect(h.stats.maxPerStream).toBeLessThan(48 << 20);
        const cdp = await ctx.newCDPSession(page);
        const heap = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
        expect(heap.usedSize).toBeLessThan(256 << 20);
        expect(await page.evaluate(() => 1 + 1)).toBe(2);
        await page.waitForSelector(`${tile('good-agent')} [data-status="live"]`);
        expect(errors).toEqual([]);
        // Remove it so the next hostile agent is judged on its own.
        await remove(h.url);
      } finally {
        h.stop();
      }
    }, 60_000);
  }

  test("an agent whose accounting answer has a wrong type: its row is left out with the reason; the other agent's GPU hours still show", async () => {
    const use = (gpu_seconds: number, mem: unknown) => ({ gpu_seconds, util_gpu_seconds: gpu_seconds / 2, mem_gib_hours: mem, energy_j: 3.6e6 });
    const doc = (user: string, mem: unknown) => ({
      since: 1,
      until: Date.now(),
      by: 'user',
      tier: '1m',
      step_ms: 60_000,
      interval_ms: 1000,
      groups: [{ group: user, processes: 1, total: use(7200, mem), gpus: [{ gpu: 0, ...use(7200, mem) }] }],
      gpus: [{ gpu: 0, energy_j: 3.6e6, unattributed_energy_j: 0 }],
      total: use(7200, 1),
    });
    // A string where a number belongs once reached .toFixed and took the whole table (and the overview) down.
    const bad = hostileAgent('accounting', { hostname: 'acct-bad', doc: doc('mallory', '5') });
    const good = hostileAgent('accounting', { hostname: 'acct-good', doc: doc('carol', 1.5) });
    try {
      await add(good.url);
      await add(bad.url);
      const row = await page.waitForSelector('[data-fleet-accounting] tr[data-user="carol"]', { timeout: 20_000 });
      expect(await row.$$eval('td.num', (t) => t.map((x) => x.textContent))).toEqual(['2.00', '1.00', '1.5', '1.00']);
      await page.waitForFunction(() => document.querySelector('[data-fleet-accounting]')?.textContent?.includes('accounting answer not understood'));
      expect(await page.textContent('[data-fleet-accounting]')).toContain(
        'accounting answer not understood: groups[0].total.mem_gib_hours: expected a finite number, got string',
      );
      expect(await page.$('[data-fleet-accounting] tr[data-user="mallory"]')).toBeNull();
      await page.waitForSelector(`${tile('good-agent')} [data-status="live"]`);
      expect(errors).toEqual([]);
    } finally {
      await remove(bad.url).catch(() => {});
      await remove(good.url).catch(() => {});
      bad.stop();
      good.stop();
    }
  }, 60_000);
});
