/** View details a person relies on: stale detection, drag-to-zoom in the URL, retention settings. */
import { HAVE_BROWSER, openPaired, SHOTS } from '../browser.ts';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { fakeNvml, startAgent, type RunningAgent } from '../helpers.ts';

describe.skipIf(!HAVE_BROWSER)('views', () => {
  let a: RunningAgent, ctx: BrowserContext, page: Page;
  beforeAll(async () => {
    a = await startAgent(['--interval', '500ms', '--gpu', 'nvml'], { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '1' });
    ({ ctx, page } = await openPaired(a, { width: 1300, height: 900 }));
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    await a?.stop();
  });

  test('an agent that stops sending (connection still open) turns "stale" within 3 intervals, then live again', async () => {
    process.kill(a.proc.pid, 'SIGSTOP');
    try {
      await page.waitForSelector('[data-status="stale"]', { timeout: 10_000 });
    } finally {
      process.kill(a.proc.pid, 'SIGCONT');
    }
    await page.waitForSelector('[data-status="live"]', { timeout: 10_000 });
  }, 30_000);

  test('dragging across a chart zooms: the range goes into the URL; "back to live" resets it', async () => {
    await page.click('.ranges >> text=5m');
    await page.waitForTimeout(1500);
    const over = await page.$('.chart .u-over');
    const box = (await over!.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2, { steps: 8 });
    await page.mouse.up();
    await page.waitForFunction(() => /from=\d+&to=\d+/.test(location.hash));
    const [, from, to] = /from=(\d+)&to=(\d+)/.exec(page.url())!;
    expect(Number(to) - Number(from)).toBeGreaterThan(0);
    expect(Number(to) - Number(from)).toBeLessThan(300_000);
    // The zoomed view survives a reload (bookmarkable).
    await page.reload();
    await page.waitForSelector('text=back to live');
    await page.click('text=back to live');
    await page.waitForFunction(() => !/from=/.test(location.hash));
  }, 30_000);

  test('retention per tier is shown and can be changed; bad input is refused', async () => {
    page.setDefaultTimeout(8000);
    await page.goto(a.url + '/#/settings');
    expect(await page.inputValue('input[name="raw"]')).toBe('7d');
    await page.fill('input[name="raw"]', '2d');
    await page.click('button:text-is("Save")');
    await page.waitForSelector('text=retention saved', { timeout: 8000 }).catch(async (e) => {
      await page.screenshot({ path: join(SHOTS, 'retention-fail.png') });
      throw e;
    });
    expect(await page.evaluate(() => (globalThis as any).gpulse.retention.raw)).toBe(2 * 86_400_000);
    await page.fill('input[name="1m"]', 'forever');
    await page.click('button:text-is("Save")');
    await page.waitForSelector('text=retention: use durations');
    expect(await page.evaluate(() => (globalThis as any).gpulse.retention['1m'])).toBe(90 * 86_400_000);
    // Per agent: an override of one tier; the others keep the default.
    await page.click('button:text-is("Retention…")');
    await page.fill('input[name="ep-raw"]', '1d');
    await page.click('button:text-is("Save retention")');
    await page.waitForSelector('button:text-is("Retention (custom)")');
    const r = await page.evaluate(() => {
      const app = (globalThis as any).gpulse;
      return app.retentionFor(app.order[0]);
    });
    expect(r).toEqual({ raw: 86_400_000, '1m': 90 * 86_400_000, '1h': 730 * 86_400_000 });
  }, 30_000);
});
