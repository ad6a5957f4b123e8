/** The PWA in real headless Chromium against a real agent with the fake NVML library. */
import { HAVE_BROWSER, launchBrowser, waitForNotice, SHOTS } from '../browser.ts';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { auth, BUN, fakeNvml, ROOT, startAgent, tmp, type RunningAgent } from '../helpers.ts';

const GPU_ENV = () => ({
  GPULSE_NVML_LIB: fakeNvml('default'),
  FAKE_NVML_GPUS: '2',
  FAKE_NVML_NAMES: 'NVIDIA H100 80GB HBM3,NVIDIA A100-SXM4-40GB',
  FAKE_NVML_PROCS: `0:${process.pid}:4096`,
  FAKE_NVML_THROTTLE: '1:0x4',
});

let agent: RunningAgent;
let ctx: BrowserContext;
let page: Page;
let hostUrl = '';
const dir = tmp();

/** Raw records of one series (every series has its own records; host.cpu.util stands for all). */
async function idbRows(p: Page): Promise<{ t0: number; t1: number; n: number }[]> {
  return p.evaluate(async () => {
    const app = (globalThis as any).gpulse;
    const all = await app.db.getAll('chunks3');
    return all.filter((c: any) => c.tier === 'raw' && c.key === 'host.cpu.util').map((c: any) => ({ t0: c.t0, t1: c.t1, n: c.n }));
  });
}
const pageErrors: string[] = [];
const watch = (p: Page) => p.on('pageerror', (e) => pageErrors.push(`${e.message}\n${e.stack ?? ''}`));
const maxGap = (ts: number[]) => ts.reduce((m, t, i) => (i ? Math.max(m, t - ts[i - 1]!) : 0), 0);
async function storedTimes(p: Page): Promise<number[]> {
  return p.evaluate(async () => {
    const app = (globalThis as any).gpulse;
    return Array.from((await app.readHistory(app.order[0], 'raw', ['host.cpu.util'])).t as Float64Array);
  });
}

describe.skipIf(!HAVE_BROWSER)('PWA in Chromium', () => {
  beforeAll(async () => {
    agent = await startAgent(['--interval', '500ms', '--hostname', 'gpu-box-1'], GPU_ENV(), { dir });
    ctx = await launchBrowser(join(dir, 'profile'), { viewport: { width: 1400, height: 1000 } });
    page = await ctx.newPage();
    watch(page);
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    await agent?.stop();
  });

  test('opening the pairing link adds the agent, drops the token from the address bar, shows every GPU live', async () => {
    const pair = Bun.spawnSync([BUN, join(ROOT, 'cli/main.ts'), 'pair', '--url', agent.url], { env: { PATH: process.env.PATH!, GPULSE_TOKEN: agent.token } });
    const link = pair.stdout.toString().trim();
    expect(link).toContain('#/add?url=');
    const t0 = Date.now();
    await page.goto(link);
    await page.waitForSelector('[data-status="live"]', { timeout: 15_000 });
    expect(page.url()).not.toContain(agent.token);
    expect(page.url()).toMatch(/#\/e\/[\w-]+$/);
    hostUrl = page.url();
    await page.waitForSelector('.gpu[data-gpu="1"]');
    const text = await page.textContent('main');
    expect(text).toContain('NVIDIA H100 80GB HBM3');
    expect(text).toContain('NVIDIA A100-SXM4-40GB');
    expect(text).toContain('throttled: power cap: drawing at its power limit'); // sw_power_cap, in words (shared/explain.ts)
    expect(text).toMatch(/80\.0 GiB/);
    console.log(`pairing link → live GPUs in ${Date.now() - t0} ms`);
    // the process list shows this test's pid with its user and command (slow cadence: wait for it)
    await page.waitForFunction((pid) => document.querySelector('.gpu[data-gpu="0"] .procs')?.textContent?.includes(String(pid)), process.pid, {
      timeout: 15_000,
    });
  }, 30_000);

  test('charts render with data; screenshots of host and overview, light and dark', async () => {
    await page.waitForSelector('.chart canvas');
    await page.waitForTimeout(1500);
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(SHOTS, `host-${scheme}.png`), fullPage: true });
    }
    await page.goto(page.url().replace(/#.*$/, '#/'));
    await page.waitForSelector('.tile');
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(SHOTS, `overview-${scheme}.png`) });
    }
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await page.textContent('.tile')).toContain('H100 80GB HBM3');
  }, 30_000);

  test('history is in IndexedDB as chunks and survives a reload', async () => {
    await page.waitForTimeout(2500);
    await page.evaluate(() => (globalThis as any).gpulse.flush()); // segments are written every 10 s; now, here
    const before = await idbRows(page);
    expect(before.length).toBeGreaterThan(0);
    expect(before.reduce((s, c) => s + c.n, 0)).toBeGreaterThan(3);
    await page.reload();
    await page.waitForSelector('.tile');
    const after = await idbRows(page);
    expect(after.reduce((s, c) => s + c.n, 0)).toBeGreaterThanOrEqual(before.reduce((s, c) => s + c.n, 0));
  }, 30_000);

  test('two tabs share one connection; the second gets live data over BroadcastChannel', async () => {
    const second = await ctx.newPage();
    watch(second);
    await second.goto(page.url());
    await second.waitForSelector('[data-status="live"]', { timeout: 10_000 });
    const info = await (await fetch(agent.url + '/v1/info', auth(agent.token))).json();
    expect(info.clients).toBe(1);
    expect(await second.textContent('header.top')).toContain('follower tab');
    await second.close();
  }, 30_000);

  test('browser closed for a while: on return the agent fills the gap, no hole in stored history', async () => {
    const url = page.url();
    await page.close();
    await Bun.sleep(3000); // ~6 samples missed by the browser
    page = await ctx.newPage();
    watch(page);
    await page.goto(url);
    await page.waitForSelector('[data-status="live"]');
    await page.waitForTimeout(3000);
    const ts = await storedTimes(page);
    // Every sample the agent has over the stored span is in IndexedDB, once.
    const hist = await (await fetch(`${agent.url}/v1/history?since=${ts[0]}&until=${ts.at(-1)}&keys=host.cpu.util`, auth(agent.token))).json();
    expect(ts).toEqual(hist.t);
    expect(maxGap(ts)).toBeLessThan(3000); // and the 3 s the browser was closed is covered
  }, 30_000);

  test('agent stopped → offline; restarted → live again with its history still served', async () => {
    const port = new URL(agent.url).port;
    await agent.stop();
    await page.waitForSelector('[data-status="offline"]', { timeout: 15_000 });
    expect(await page.textContent('[data-status="offline"]')).toMatch(/retrying in \d+ s/);
    await page.screenshot({ path: join(SHOTS, 'offline.png') });
    agent = await startAgent(['--interval', '500ms', '--hostname', 'gpu-box-1', '--port', port], GPU_ENV(), { dir });
    await page.waitForSelector('[data-status="live"]', { timeout: 40_000 });
    const hist = await (await fetch(agent.url + '/v1/history?limit=100000', auth(agent.token))).json();
    const stored = await storedTimes(page);
    expect(hist.t[0]).toBeLessThanOrEqual(stored[0]!); // the agent kept what it had before the restart
  }, 60_000);

  test('offline in the browser: the shell loads from the service worker and stored history renders', async () => {
    await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 10_000 }).catch(() => {});
    await page.goto(hostUrl);
    await page.waitForSelector('.chart canvas');
    await ctx.setOffline(true);
    try {
      await page.reload();
      await page.waitForSelector('.chart canvas', { timeout: 15_000 }).catch(async (e) => {
        await page.screenshot({ path: join(SHOTS, 'browser-offline-fail.png') });
        throw e;
      });
      await page.waitForSelector('[data-status="offline"], [data-status="connecting"]', { timeout: 15_000 });
      expect(await page.textContent('main')).toContain('NVIDIA H100 80GB HBM3');
      await page.screenshot({ path: join(SHOTS, 'browser-offline.png') });
    } finally {
      await ctx.setOffline(false);
    }
  }, 40_000);

  test('a pairing link with a rejected token saves nothing and says "bad token"', async () => {
    const before = await page.evaluate(() => (globalThis as any).gpulse.order.length);
    await page.goto(page.url().replace(/#.*$/, `#/add?url=${encodeURIComponent(agent.url.replace('127.0.0.1', 'localhost'))}&token=wrong-token-000000000000`));
    await waitForNotice(page, 'bad token');
    expect(await page.textContent('.notice')).toContain('bad token');
    expect(page.url()).not.toContain('wrong-token');
    expect(await page.evaluate(() => (globalThis as any).gpulse.order.length)).toBe(before);
  }, 30_000);

  test('a pairing link to an agent that never answers: the app is drawn at once, the token gone, "checking" said', async () => {
    // Accepts connections and never answers: the check waits for its timeout.
    const silent = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    try {
      const url = `http://localhost:${silent.port}`;
      await page.goto(page.url().replace(/#.*$/, `#/add?url=${encodeURIComponent(url)}&token=silent-token-0000000000000`));
      await page.waitForSelector('.notice', { timeout: 5_000 });
      expect(await page.textContent('.notice')).toContain(`Checking the agent at ${url}`);
      expect(page.url()).not.toContain('silent-token');
      expect(await page.textContent('header.top')).toContain('Overview');
    } finally {
      silent.stop(true);
      await page.reload(); // ends the pending check, which would otherwise move a later test's page to #/add
      await page.waitForFunction(() => (globalThis as any).gpulse);
    }
  }, 30_000);

  test('a token rejected later (rotated on the agent) shows "unauthorized" with a way to fix it', async () => {
    const id = await page.evaluate(
      async (url) => (await (globalThis as any).gpulse.addEndpoint(url, 'wrong-token-000000000000')).id as string,
      agent.url.replace('127.0.0.1', 'localhost'),
    );
    await page.goto(page.url().replace(/#.*$/, `#/e/${id}`));
    await page.waitForSelector('[data-status="unauthorized"]', { timeout: 15_000 }).catch(async (e) => {
      await page.screenshot({ path: join(SHOTS, 'unauthorized-fail.png') });
      throw e;
    });
    expect(await page.textContent('main')).toContain('Fix token');
  }, 30_000);

  test('a mark made from a shell shows on the host page; the user can end it', async () => {
    await page.goto(hostUrl);
    const r = Bun.spawnSync([BUN, join(ROOT, 'cli/main.ts'), 'mark', 'run 42 start', '--url', agent.url], {
      env: { PATH: process.env.PATH!, GPULSE_TOKEN: agent.token },
    });
    expect(r.exitCode).toBe(0);
    await page.waitForSelector('[data-event="run 42 start"]', { timeout: 10_000 });
    await page.click('[data-event="run 42 start"] >> text=End now');
    await page.waitForFunction(() => document.querySelector('[data-event="run 42 start"] td')?.textContent?.includes('→'), null, { timeout: 10_000 });
  }, 30_000);

  test('an alert rule fires on live data: listed, counted in the nav, notified', async () => {
    await page.evaluate(() => {
      (window as any).__notes = [];
      const N = function (this: unknown, title: string, o: NotificationOptions) {
        (window as any).__notes.push({ title, body: o?.body });
      } as unknown as typeof Notification;
      Object.defineProperty(N, 'permission', { get: () => 'granted' });
      (window as any).Notification = N;
    });
    await page.goto(page.url().replace(/#.*$/, '#/alerts'));
    await page.selectOption('select[name="metric"]', 'gpu*.temp');
    await page.fill('input[name="threshold"]', '30');
    await page.fill('input[name="for"]', '1s');
    await page.fill('input[name="label"]', 'GPU hot');
    await page.click('text=Add rule');
    await page.waitForSelector('[data-rule="GPU hot"]');
    await page.waitForSelector('[data-alert="firing"]', { timeout: 15_000 });
    expect(await page.textContent('header.top')).toMatch(/Alerts \(\d+\)/);
    const notes = await page.evaluate(() => (window as any).__notes);
    expect(notes[0].title).toBe('gpulse: GPU hot');
    await page.screenshot({ path: join(SHOTS, 'alerts.png') });
    await page.click('[data-rule="GPU hot"] >> text=Delete');
    await page.waitForSelector('[data-alert="resolved"]', { timeout: 10_000 });
  }, 40_000);

  test('export the shown range as CSV', async () => {
    await page.goto(hostUrl.replace(/\?.*$/, '') + '?range=5m');
    await page.waitForSelector('.chart canvas');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('text=Export CSV')]);
    const text = await Bun.file(await dl.path()).text();
    const [head, first] = text.split('\n');
    expect(head!.split(',').slice(0, 3)).toEqual(['time', 't_ms', 'host.cpu.util']);
    expect(head).toContain('gpu1.temp');
    expect(new Date(first!.split(',')[0]!).getTime()).toBe(Number(first!.split(',')[1]));
  }, 30_000);

  test('no uncaught errors in any page', () => expect(pageErrors).toEqual([]));
});
