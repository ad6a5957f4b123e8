/** Managing endpoints in the PWA: same-origin offer, add by URL + token, rename, reorder, remove, import; phone size. */
import { launchBrowser, HAVE_BROWSER, SHOTS } from '../browser.ts';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { BUN, fakeNvml, ROOT, startAgent, tmp, type RunningAgent } from '../helpers.ts';

describe.skipIf(!HAVE_BROWSER)('managing endpoints', () => {
  let a: RunningAgent, b: RunningAgent, ctx: BrowserContext, page: Page;
  const names = () => page.$$eval('.tile strong', (els) => els.map((e) => e.textContent));
  beforeAll(async () => {
    a = await startAgent(['--interval', '500ms', '--gpu', 'nvml', '--hostname', 'lab-a'], { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '2' });
    b = await startAgent(['--interval', '500ms', '--gpu', 'none', '--hostname', 'lab-b']);
    ctx = await launchBrowser(tmp('gpulse-manage-'), { viewport: { width: 1200, height: 900 } });
    page = await ctx.newPage();
    page.on('dialog', (d) => void d.accept());
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    await a?.stop();
    await b?.stop();
  });

  test('opened from an agent with nothing stored, the app offers that agent; URL + token adds it', async () => {
    await page.goto(a.url + '/');
    await page.waitForSelector('input[name="url"]');
    expect(await page.inputValue('input[name="url"]')).toBe(a.url);
    expect(await page.textContent('main')).toContain('served by a gpulse agent');
    await page.fill('input[name="token"]', a.token);
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-status="live"]');
    await page.waitForFunction(() => document.querySelector('.host-head h2')?.textContent === 'lab-a');
  }, 30_000);

  test('a second agent by URL + token; rename, reorder and remove (with its history)', async () => {
    await page.goto(a.url + '/#/add');
    await page.fill('input[name="url"]', b.url);
    await page.fill('input[name="token"]', b.token);
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-status="live"]');
    await page.goto(a.url + '/#/');
    await page.selectOption('select', 'custom');
    await page.waitForFunction(() => document.querySelectorAll('.tile').length === 2);
    expect(await names()).toEqual(['lab-a', 'lab-b']);
    await page.goto(a.url + '/#/settings');
    await page.fill('[data-endpoint="lab-a"] input[aria-label="name"]', 'rack 1 / box A');
    await page.press('[data-endpoint="lab-a"] input[aria-label="name"]', 'Enter');
    await page.waitForSelector('[data-endpoint="rack 1 / box A"]');
    await page.click('[data-endpoint="lab-b"] button[aria-label="move up"]');
    await page.goto(a.url + '/#/');
    await page.waitForFunction(() => [...document.querySelectorAll('.tile strong')].map((e) => e.textContent).join('|') === 'lab-b|rack 1 / box A', null, {
      timeout: 10_000,
    });
    await page.waitForTimeout(2500); // let lab-b store something
    const bId = await page.evaluate(() => (globalThis as any).gpulse.order[0]);
    await page.goto(a.url + '/#/settings');
    await page.click('[data-endpoint="lab-b"] >> text=Remove');
    await page.waitForFunction(() => !document.querySelector('[data-endpoint="lab-b"]'));
    const left = await page.evaluate(async (id) => (await (globalThis as any).gpulse.db.getAll('chunks3')).filter((c: any) => c.ep === id).length, bId);
    expect(left).toBe(0);
  }, 40_000);

  test('import a JSON export as a read-only endpoint that renders offline data', async () => {
    const file = join(tmp(), 'export.json');
    const r = Bun.spawnSync([BUN, join(ROOT, 'cli/main.ts'), 'export', '--format', 'json', '--url', a.url], {
      env: { PATH: process.env.PATH!, GPULSE_TOKEN: a.token },
    });
    writeFileSync(file, r.stdout);
    await page.goto(a.url + '/#/settings');
    await page.setInputFiles('input[type="file"]', file);
    await page.waitForSelector('text=imported lab-a (import)');
    // Written through the live writer's path and folded: raw chunks and their 1-minute rollups, watermark at the end.
    const imported = await page.evaluate(async () => {
      const app = (globalThis as any).gpulse;
      const id = app.order.find((x: string) => app.eps.get(x).ep.readOnly);
      const recs = (await app.db.getAll('chunks3')).filter((r: any) => r.ep === id);
      const raw = await app.readHistory(id, 'raw', ['host.cpu.util']);
      return {
        raw: recs.filter((r: any) => r.tier === 'raw').length,
        m: recs.filter((r: any) => r.tier === '1m').length,
        rows: raw.t.length,
        fold: await app.db.get('meta', `fold:${id}`),
        last: raw.t[raw.t.length - 1],
      };
    });
    expect(imported.raw).toBeGreaterThan(0);
    expect(imported.m).toBeGreaterThan(0);
    expect(imported.rows).toBeGreaterThan(3);
    expect(imported.fold).toBeGreaterThan(imported.last);
    await page.goto(a.url + '/#/');
    await page.click('[data-endpoint="lab-a (import)"]');
    await page.waitForSelector('.chart canvas');
    expect(await page.$('.annotate')).toBeNull(); // read-only: no annotating
  }, 30_000);

  test('phone size: overview and host view stay usable (screenshots)', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(a.url + '/#/');
    await page.waitForSelector('.tile');
    await page.screenshot({ path: join(SHOTS, 'phone-overview.png') });
    await page.click('[data-endpoint="rack 1 / box A"]');
    await page.waitForSelector('.chart canvas');
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(SHOTS, 'phone-host.png'), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  }, 30_000);
});
