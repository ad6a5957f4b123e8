/**
 * Alerts in Chromium against real agents (fake NVML): a threshold rule on a pushed metric fires and
 * resolves as the value goes up and down; a reload and a second tab never duplicate it, and never
 * notify twice; an edit keeps the open alert; silences quiet a rule or one alert; health rules
 * (throttling, a host gone silent) fire. Notifications are counted in localStorage, which every
 * tab of the origin shares, so a duplicate from any tab shows.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { HAVE_BROWSER, launchBrowser, pairingLink, SHOTS } from '../browser.ts';
import { auth, fakeNvml, startAgent, tmp, type RunningAgent } from '../helpers.ts';

describe.skipIf(!HAVE_BROWSER)('alerts in the PWA', () => {
  let a: RunningAgent, b: RunningAgent, ctx: BrowserContext, page: Page;
  const errors: string[] = [];
  const push = async (v: number) => {
    const r = await fetch(`${a.url}/v1/push`, { method: 'POST', ...auth(a.token), body: `loss ${v}\n` });
    expect(r.status).toBe(200);
  };
  const notes = (p = page) => p.evaluate(() => JSON.parse(localStorage.getItem('notes') ?? '[]') as string[]);
  /** Rows of one rule's alerts on the page, as "state label". */
  const rows = (p: Page, label: string) =>
    p.$$eval('[data-alert]', (els, l) => els.filter((e) => e.textContent!.includes(l)).map((e) => `${e.getAttribute('data-alert')}`), label);
  const stored = (p: Page) =>
    p.evaluate(async () => {
      const db = (globalThis as any).gpulse.db;
      const recs = await db.getAll('meta', IDBKeyRange.bound('alert:', 'alert:\uffff'));
      return recs.map((r: { label: string; state: string; start: number }) => ({ label: r.label, state: r.state, start: r.start }));
    });
  const waitRow = (p: Page, label: string, state: string) =>
    p.waitForFunction(([l, s]) => [...document.querySelectorAll(`[data-alert="${s}"]`)].some((e) => e.textContent!.includes(l!)), [label, state], {
      timeout: 15_000,
    });

  beforeAll(async () => {
    a = await startAgent(['--interval', '500ms', '--gpu', 'nvml', '--hostname', 'lab-a'], {
      GPULSE_NVML_LIB: fakeNvml('default'),
      FAKE_NVML_GPUS: '2',
      FAKE_NVML_THROTTLE: '1:0x40', // GPU 1: hw_thermal
    });
    b = await startAgent(['--interval', '500ms', '--gpu', 'none', '--hostname', 'lab-b']);
    await push(5);
    ctx = await launchBrowser(tmp('gpulse-alerts-'), { viewport: { width: 1400, height: 900 } });
    // A Notification that records each one where every tab (and a reload) can see it.
    await ctx.addInitScript(() => {
      const N = function (title: string) {
        const list = JSON.parse(localStorage.getItem('notes') ?? '[]');
        list.push(title);
        localStorage.setItem('notes', JSON.stringify(list));
      } as unknown as typeof Notification;
      Object.defineProperty(N, 'permission', { get: () => 'granted' });
      (window as any).Notification = N;
    });
    page = await ctx.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => errors.push(e.message));
    for (const x of [a, b]) {
      await page.goto(pairingLink(x, a.url));
      await page.waitForURL(/#\/e\//); // the link was taken: the app opened that agent's host view
      await page.waitForSelector('[data-status="live"]');
    }
    await page.goto(`${a.url}/#/`);
    await page.waitForFunction(() => document.querySelectorAll('[data-status="live"]').length === 2);
    // The pushed series is in lab-a's schema (the rule form offers it).
    await page.waitForFunction(() => [...(globalThis as any).gpulse.eps.values()].some((s: any) => s.keys.includes('user.loss')));
  }, 90_000);
  afterAll(async () => {
    await ctx?.close();
    await a?.stop();
    await b?.stop();
  });

  test('a threshold rule fires, survives a reload and a second tab as one alert, and resolves when the value goes back', async () => {
    await page.goto(`${a.url}/#/alerts`);
    await page.waitForSelector('select[name="metric"] optgroup', { state: 'attached' }); // the alerts view is loaded on first use
    expect(await page.$$eval('select[name="metric"] optgroup', (gs) => gs.map((g) => g.getAttribute('label')))).toEqual([
      'Every GPU',
      'Host',
      'GPU 0',
      'GPU 1',
      'User metrics',
    ]);
    await page.selectOption('select[name="ep"]', { label: 'lab-a' });
    await page.selectOption('select[name="metric"]', 'user.loss');
    await page.fill('input[name="threshold"]', '1');
    await page.fill('input[name="for"]', '1s');
    await page.fill('input[name="label"]', 'Loss high');
    await page.click('text=Add rule');
    await waitRow(page, 'Loss high', 'firing');
    expect(await page.textContent('header.top')).toMatch(/Alerts \(1\)/);
    expect(await notes()).toEqual(['gpulse: Loss high']);

    await page.reload();
    await waitRow(page, 'Loss high', 'firing');
    await page.waitForTimeout(1500); // the reloaded tab leads again and evaluates a few samples
    expect(await rows(page, 'Loss high')).toEqual(['firing']);

    const second = await ctx.newPage();
    await second.goto(`${a.url}/#/alerts`);
    await waitRow(second, 'Loss high', 'firing');
    await second.waitForTimeout(1500);
    expect(await rows(second, 'Loss high')).toEqual(['firing']);
    expect((await stored(second)).filter((r: { label: string }) => r.label === 'Loss high')).toHaveLength(1);
    expect(await notes()).toEqual(['gpulse: Loss high']);

    await push(0.5);
    await waitRow(page, 'Loss high', 'resolved');
    await waitRow(second, 'Loss high', 'resolved');
    expect(await rows(second, 'Loss high')).toEqual(['resolved']);
    expect(await notes()).toEqual(['gpulse: Loss high', 'gpulse: resolved · Loss high']);

    // The first tab closes: the second takes over the lead and carries on from the stored alert.
    await page.close();
    page = second;
    page.on('pageerror', (e) => errors.push(e.message));
    await push(5);
    await waitRow(page, 'Loss high', 'firing');
    expect(await rows(page, 'Loss high')).toEqual(['firing']);
    expect((await notes()).length).toBe(3);
  }, 90_000);

  test('editing the threshold keeps the open alert while it still holds, and resolves it when it does not', async () => {
    const [before] = (await stored(page)).filter((r: { label: string }) => r.label === 'Loss high');
    await page.click('[data-rule="Loss high"] >> text=Edit');
    await page.fill('input[name="threshold"]', '3');
    await page.click('text=Save rule');
    await page.waitForFunction(() => !document.querySelector('.rule-form button[type="button"]'));
    await page.waitForTimeout(1500);
    expect(await rows(page, 'Loss high')).toEqual(['firing']);
    const [after] = (await stored(page)).filter((r: { label: string }) => r.label === 'Loss high');
    expect(after.start).toBe(before.start);
    expect(await page.$$('[data-rule="Loss high"]')).toHaveLength(1);
    await page.click('[data-rule="Loss high"] >> text=Edit');
    await page.fill('input[name="threshold"]', '8');
    await page.click('text=Save rule');
    await waitRow(page, 'Loss high', 'resolved');
    expect(await notes()).toEqual(['gpulse: Loss high', 'gpulse: resolved · Loss high', 'gpulse: Loss high', 'gpulse: resolved · Loss high']);
  }, 40_000);

  test('a silenced rule fires and resolves without notifying or counting in the nav', async () => {
    await page.selectOption('[data-rule="Loss high"] select.silence', { label: 'for 1 h' });
    await page.waitForSelector('[data-rule="Loss high"] >> text=Unsilence');
    await push(9);
    await waitRow(page, 'Loss high', 'silenced');
    expect(await page.textContent('header.top')).not.toMatch(/Alerts \(/);
    await push(0.5);
    await waitRow(page, 'Loss high', 'resolved');
    expect((await notes()).length).toBe(4);
  }, 40_000);

  test('health rules: GPU throttling (silenced per alert) and a host gone silent', async () => {
    await page.selectOption('select[name="kind"]', 'throttle');
    await page.selectOption('select[name="ep"]', { label: 'lab-a' });
    await page.fill('input[name="for"]', '0s');
    await page.click('text=Add rule');
    await waitRow(page, 'GPU throttling', 'firing');
    const throttled = await page.$$eval('[data-alert="firing"]', (els) =>
      els.filter((e) => e.textContent!.includes('GPU throttling')).map((e) => e.textContent),
    );
    expect(throttled).toHaveLength(1);
    expect(throttled[0]).toContain('gpu1');
    expect(throttled[0]).toContain('hw_thermal');
    expect(await notes()).toContain('gpulse: GPU throttling (any reason but idle)');
    await page.selectOption('[data-alert="firing"] select.silence', { label: 'for 15 m' });
    await waitRow(page, 'GPU throttling', 'silenced');

    await page.selectOption('select[name="kind"]', 'silent');
    await page.selectOption('select[name="ep"]', { label: 'lab-b' });
    await page.fill('input[name="for"]', '3s');
    await page.click('text=Add rule');
    await page.waitForSelector('[data-rule="host silent for 3s"]');
    await page.waitForTimeout(4000);
    expect(await rows(page, 'host silent')).toEqual([]); // lab-b is sampling
    await b.stop();
    await waitRow(page, 'host silent for 3s', 'firing');
    expect(await page.textContent('header.top')).toMatch(/Alerts \(1\)/);

    await page.setViewportSize({ width: 1400, height: 560 });
    await page.screenshot({ path: join(SHOTS, 'alerts.png'), fullPage: true });
  }, 60_000);

  test('no uncaught errors', () => expect(errors).toEqual([]));
});
