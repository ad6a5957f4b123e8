/** Browser-side faults: IndexedDB quota exceeded, and the leader tab closing while another tab is open. */
import { HAVE_BROWSER, launchBrowser, pairingLink, waitForNotice } from '../browser.ts';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { auth, fakeNvml, ROOT, startAgent, tmp, type RunningAgent } from '../helpers.ts';

describe.skipIf(!HAVE_BROWSER)('browser faults', () => {
  let agent: RunningAgent;
  let ctx: BrowserContext;
  beforeAll(async () => {
    agent = await startAgent(
      ['--interval', '250ms', '--gpu', 'nvml', '--retention', '2h'],
      { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '8', GPULSE_BENCH_FILL: '2h' },
      { dir: tmp() },
    );
    ctx = await launchBrowser(tmp('gpulse-faults-'));
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    await agent?.stop();
  });

  test('quota exceeded: the oldest raw data is pruned, the user is told, live data keeps flowing', async () => {
    const page = await ctx.newPage();
    await page.goto(`${agent.url}/#/`);
    const cdp = await ctx.newCDPSession(page);
    // 2 hours at 250 ms with 8 GPUs is ~28,800 rows × 135 series, ~3 MB as chunks: more than 2 MB.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: agent.url, quotaSize: 2 * 1024 * 1024 });
    await page.goto(pairingLink(agent));
    await waitForNotice(page, /storage is full/, 60_000);
    expect(await page.textContent('.notice')).toMatch(/storage is full: removed \d+ oldest raw chunk/);
    await page.waitForSelector('[data-status="live"]', { timeout: 20_000 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.waitForTimeout(1500);
    expect(errors.filter((e) => !/Quota/i.test(e))).toEqual([]);
    await page.close();
  }, 90_000);

  test('two tabs, the leader closes mid-write: the other takes over, one connection, no hole in history', async () => {
    const ctx2 = await launchBrowser(tmp('gpulse-tabs-'));
    try {
      const a = await startAgent(['--interval', '250ms', '--gpu', 'nvml'], { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '1' }, { dir: tmp() });
      try {
        const leader = await ctx2.newPage();
        await leader.goto(pairingLink(a));
        await leader.waitForSelector('[data-status="live"]');
        const follower = await ctx2.newPage();
        await follower.goto(leader.url());
        await follower.waitForSelector('[data-status="live"]');
        // The role shows once the lock manager has answered, which may come after the first data.
        await follower.waitForFunction(() => document.querySelector('header.top')?.textContent?.includes('follower tab'), null, { timeout: 10_000 });
        await leader.waitForTimeout(1000); // mid-write: rows are buffered between 2 s flushes
        await leader.close();
        await follower.waitForFunction(() => !document.querySelector('header.top')?.textContent?.includes('follower tab'), null, { timeout: 10_000 });
        await follower.waitForTimeout(3500);
        const info = await (await fetch(a.url + '/v1/info', auth(a.token))).json();
        expect(info.clients).toBe(1);
        const ts: number[] = await follower.evaluate(async () => {
          const app = (globalThis as any).gpulse;
          return Array.from((await app.readHistory(app.order[0], 'raw', ['host.cpu.util'])).t as Float64Array);
        });
        // Every row the agent has in the stored span is in the browser (a loaded machine may skip a tick
        // in the agent itself, so compare with its history rather than assume a perfect 250 ms grid).
        const hist = await (await fetch(`${a.url}/v1/history?since=${ts[0]}&until=${ts.at(-1)}&keys=host.cpu.util`, auth(a.token))).json();
        expect(ts).toEqual(hist.t);
        expect(new Set(ts).size).toBe(ts.length);
        // never written twice: the series' records do not overlap
        const spans: [number, number][] = await follower.evaluate(async () =>
          (await (globalThis as any).gpulse.db.getAll('chunks3'))
            .filter((c: any) => c.tier === 'raw' && c.key === 'host.cpu.util')
            .map((c: any) => [c.t0, c.t1]),
        );
        spans.sort((x, y) => x[0] - y[0]);
        spans.forEach(([t0], i) => {
          if (i) expect(t0).toBeGreaterThan(spans[i - 1]![1]);
        });
      } finally {
        await a.stop();
      }
    } finally {
      await ctx2.close();
    }
  }, 60_000);
});
