/**
 * The PWA's state layer in Chromium: the leader tab's header, an endpoint added from a follower
 * tab, and an agent that went down showing its last known values after a reload. The app is
 * served by one agent (`home`); the watched agent (`box`, two fake GPUs) is another, so it can stop
 * while the app still loads.
 */
import { HAVE_BROWSER, launchBrowser, pairingLink, SHOTS } from '../browser.ts';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { fakeNvml, startAgent, tmp, type RunningAgent } from '../helpers.ts';

const GPU_ENV = {
  GPULSE_NVML_LIB: fakeNvml('default'),
  FAKE_NVML_GPUS: '2',
  FAKE_NVML_NAMES: 'NVIDIA H100 80GB HBM3,NVIDIA A100-SXM4-40GB',
};

let home: RunningAgent;
let box: RunningAgent;
let ctx: BrowserContext;
const dir = tmp();
const pageErrors: string[] = [];

/** Every text the header ever showed in this page (recorded from the first paint, across reloads). */
const headerTexts = (p: Page): Promise<string[]> => p.evaluate(() => (globalThis as { __headers?: string[] }).__headers ?? []);

async function open(url: string) {
  const p = await ctx.newPage();
  p.on('pageerror', (e) => pageErrors.push(e.message));
  await p.goto(url);
  return p;
}

describe.skipIf(!HAVE_BROWSER)('state layer in Chromium', () => {
  beforeAll(async () => {
    home = await startAgent(['--interval', '500ms', '--hostname', 'home'], {}, { dir: join(dir, 'home') });
    box = await startAgent(['--interval', '500ms', '--hostname', 'gpu-box-7'], GPU_ENV, { dir: join(dir, 'box') });
    ctx = await launchBrowser(join(dir, 'profile'), { viewport: { width: 1300, height: 900 } });
    await ctx.addInitScript(() => {
      const seen: string[] = ((globalThis as { __headers?: string[] }).__headers = []);
      new MutationObserver(() => {
        const t = document.querySelector('header.top')?.textContent;
        if (t != null && seen[seen.length - 1] !== t) seen.push(t);
      }).observe(document, { subtree: true, childList: true, characterData: true });
    });
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    await home?.stop();
    await box?.stop();
  });

  test('an endpoint added in a follower tab is connected by the leader; the leader never shows "follower tab"', async () => {
    const leader = await open(`${home.url}/#/`);
    await leader.waitForFunction(() => (globalThis as any).gpulse?.role === 'leader');
    const follower = await open(pairingLink(box, home.url));
    await follower.waitForFunction(() => (globalThis as any).gpulse?.role === 'follower');
    // The follower has no connections: the box goes live only if the leader picked it up.
    await follower.waitForSelector('[data-status="live"]', { timeout: 15_000 });
    await leader.waitForSelector('[data-status="live"]', { timeout: 15_000 });
    expect(await follower.textContent('header.top')).toContain('follower tab');
    await follower.close();
    await leader.reload();
    await leader.waitForSelector('[data-status="live"]', { timeout: 15_000 });
    expect((await headerTexts(leader)).filter((t) => t.includes('follower tab'))).toEqual([]);
    await leader.close();
  }, 60_000);

  test('an agent that went down shows its last values and when it was last seen after a reload, not N/A', async () => {
    const p = await open(`${home.url}/#/`);
    await p.waitForSelector('[data-endpoint="gpu-box-7"] [data-status="live"]', { timeout: 15_000 });
    // Written every 5 s in the background; the reload must not race that timer.
    await p.evaluate(() => (globalThis as any).gpulse.fleet.lastKnown.flush());
    await box.stop();
    await p.reload();
    const tile = '[data-endpoint="gpu-box-7"]';
    await p.waitForSelector(`${tile} [data-status="offline"]`, { timeout: 15_000 });
    const text = (await p.textContent(tile))!;
    expect(text).not.toContain('N/A');
    // Its row keeps a cell per GPU with the kept utilization, temperature and power.
    expect(await p.locator(`${tile} .gcell`).count()).toBe(2);
    expect(await p.textContent(`${tile} .gcell[data-gpu="0"]`)).toMatch(/^\d+%\d+°\d+W/);
    // What is shown is what was kept: the stored record's row, as the store holds it.
    const [shown, kept] = await p.evaluate(async () => {
      const app = (globalThis as any).gpulse;
      const id = app.order[0];
      return [app.eps.get(id).last, (await app.db.get('meta', `lastknown:${id}`)).last];
    });
    expect(shown).toEqual(kept);
    expect(await p.textContent(`${tile} .seen`)).toMatch(/last seen \d+ s ago/);
    await p.screenshot({ path: join(SHOTS, 'state-offline-overview.png') });
    await p.locator(tile).screenshot({ path: join(SHOTS, 'state-offline-tile.png') });

    await p.click(tile);
    await p.waitForSelector('.host-head [data-status="offline"]');
    expect(await p.textContent('.host .strip')).not.toContain('N/A');
    expect(await p.textContent('.host-head')).toContain('last seen');
    await p.screenshot({ path: join(SHOTS, 'state-offline-host.png') });
    await p.close();
  }, 60_000);

  test('no uncaught errors in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
