/**
 * The fleet overview with 40 hosts in real Chromium, from a hosted copy of the app (a static server
 * here, as any static host would be): two real agents paired in with `gpulse pair --app` links, 38
 * fake agents (test/fake-agent.ts) added beside them. Checks density (30+ rows in 1400×900),
 * problems first, the tag filter, an offline host's last-known values, and the Add form's refusals.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { HAVE_BROWSER, launchBrowser, waitForNotice, SHOTS } from '../browser.ts';
import { fleetSpec, startFakeAgent, type FakeAgent } from '../fake-agent.ts';
import { BUN, fakeNvml, freePort, ROOT, startAgent, tmp, type RunningAgent } from '../helpers.ts';
import { staticApp } from '../static-app.ts';

const DOCS = join(ROOT, 'docs/screenshots');
const FAKE_TOKEN = 'fake-token-0123456789abcdef';

const pairLink = (agent: RunningAgent, app: string) => {
  const r = Bun.spawnSync([BUN, join(ROOT, 'cli/main.ts'), 'pair', '--url', agent.url, '--app', app], {
    env: { PATH: process.env.PATH!, HOME: tmp(), GPULSE_TOKEN: agent.token },
  });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return r.stdout.toString().trim();
};

describe.skipIf(!HAVE_BROWSER)('fleet overview, 40 hosts', () => {
  let hot: RunningAgent, cool: RunningAgent, ctx: BrowserContext, page: Page, app: ReturnType<typeof staticApp>;
  const fakes: FakeAgent[] = [];
  const rowNames = () => page.$$eval('.fleet-row[data-endpoint]', (els) => els.map((e) => e.getAttribute('data-endpoint')));
  const endpointCount = () => page.evaluate(() => (globalThis as any).gpulse.order.length as number);

  beforeAll(async () => {
    mkdirSync(DOCS, { recursive: true });
    // GPU 0 of this one reports a hardware thermal slowdown (clock-event bit 0x40).
    hot = await startAgent(['--interval', '1s', '--gpu', 'nvml', '--hostname', 'lab-hot'], {
      GPULSE_NVML_LIB: fakeNvml('default'),
      FAKE_NVML_GPUS: '2',
      FAKE_NVML_THROTTLE: '0:0x40',
    });
    cool = await startAgent(['--interval', '1s', '--gpu', 'nvml', '--hostname', 'lab-cool'], { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '2' });
    for (let i = 0; i < 38; i++) fakes.push(startFakeAgent(fleetSpec(i, FAKE_TOKEN)));
    app = staticApp();
    ctx = await launchBrowser(tmp('gpulse-fleet-'), { viewport: { width: 1400, height: 900 } });
    page = await ctx.newPage();
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    for (const f of fakes) f.stop();
    app?.stop();
    await hot?.stop();
    await cool?.stop();
  });

  test('two agents paired with --app links land in the same hosted app; the token leaves the address bar', async () => {
    const first = pairLink(hot, app.url);
    expect(first.startsWith(`${app.url}#/add?url=`)).toBe(true);
    await page.goto(first);
    await page.waitForFunction(() => location.hash.startsWith('#/e/'), null, { timeout: 15_000 });
    expect(page.url()).not.toContain(hot.token);
    await page.goto(pairLink(cool, app.url));
    await page.waitForFunction(() => location.hash.startsWith('#/e/') && (globalThis as any).gpulse?.order.length === 2, null, { timeout: 15_000 });
    expect(page.url()).not.toContain(cool.token);
    expect(await page.evaluate(() => history.length)).toBeGreaterThan(0);
    await page.goto(`${app.url}#/`);
    await page.waitForFunction(() => document.querySelectorAll('.fleet-row[data-endpoint] [data-status="live"]').length === 2, null, { timeout: 15_000 });
    expect((await rowNames()).sort()).toEqual(['lab-cool', 'lab-hot']);
  }, 40_000);

  test('40 hosts: 30+ rows fit 1400×900, the throttled GPU sorts first, each GPU has a cell', async () => {
    await page.evaluate(
      async ([list, token]) => {
        const g = (globalThis as any).gpulse;
        for (const f of list as { url: string; name: string }[]) await g.addEndpoint(f.url, token, f.name);
      },
      [fakes.map((f) => ({ url: f.url, name: f.opts.hostname })), FAKE_TOKEN] as const,
    );
    expect(await endpointCount()).toBe(40);
    await page.waitForFunction(() => document.querySelectorAll('.fleet-row[data-endpoint] [data-status="live"]').length === 40, null, { timeout: 30_000 });
    // The throttle arrives with the agent's first snapshot (its slow round): wait for the cell to say so.
    await page.waitForSelector('[data-endpoint="lab-hot"] .gcell[data-gpu="0"][data-level="crit"]', { timeout: 20_000 });
    await page.waitForFunction(() => document.querySelector('.fleet-row[data-endpoint]')?.getAttribute('data-endpoint') === 'lab-hot', null, {
      timeout: 10_000,
    });
    const names = await rowNames();
    expect(names.length).toBe(40);
    expect(names[0]).toBe('lab-hot');
    // Then the warning (a GPU 98 % full), then the healthy hosts.
    expect(names[1]).toBe('node-06');
    expect(await page.getAttribute('[data-endpoint="node-06"]', 'data-level')).toBe('warn');
    expect(await page.getAttribute('[data-endpoint="lab-cool"]', 'data-level')).toBe('ok');
    expect(await page.getAttribute('[data-endpoint="lab-hot"] .gcell[data-gpu="0"]', 'title')).toContain('throttled: hw_thermal');
    expect(await page.locator('[data-endpoint="node-01"] .gcell').count()).toBe(8);
    const fit = await page.evaluate(
      () => [...document.querySelectorAll('.fleet-row[data-endpoint]')].filter((r) => r.getBoundingClientRect().bottom <= innerHeight).length,
    );
    console.log(`fleet-overview: ${fit} of 40 rows fully visible in 1400×900`);
    expect(fit).toBeGreaterThanOrEqual(30);
    await page.selectOption('select[name="sort"]', 'name');
    await page.waitForFunction(() => document.querySelector('.fleet-row[data-endpoint]')?.getAttribute('data-endpoint') === 'lab-cool');
    await page.selectOption('select[name="sort"]', 'problems');
  }, 60_000);

  test('tags set in Settings filter the overview', async () => {
    await page.goto(`${app.url}#/settings`);
    for (const name of ['lab-cool', 'node-03', 'node-04']) {
      await page.fill(`[data-endpoint="${name}"] input[aria-label="tags"]`, 'rack-2, prod');
      await page.press(`[data-endpoint="${name}"] input[aria-label="tags"]`, 'Enter');
    }
    await page.waitForFunction(() => [...(globalThis as any).gpulse.eps.values()].filter((s: any) => s.ep.tags?.includes('rack-2')).length === 3, null, {
      timeout: 10_000,
    });
    await page.goto(`${app.url}#/`);
    await page.fill('#filter', 'tag:rack-2');
    await page.waitForFunction(() => document.querySelectorAll('.fleet-row[data-endpoint]').length === 3);
    expect((await rowNames()).sort()).toEqual(['lab-cool', 'node-03', 'node-04']);
    await page.fill('#filter', 'node-1');
    await page.waitForFunction(() => document.querySelectorAll('.fleet-row[data-endpoint]').length === 10); // node-10 … node-19
    await page.fill('#filter', '');
    await page.waitForFunction(() => document.querySelectorAll('.fleet-row[data-endpoint]').length === 40);
  }, 30_000);

  test('an offline host keeps its last values, dimmed, with "last seen"; screenshot of 40 hosts', async () => {
    const gone = fakes[9]!; // node-10: 2 busy GPUs
    gone.stop();
    await page.waitForSelector('[data-endpoint="node-10"].dim [data-status="offline"]', { timeout: 20_000 });
    const row = page.locator('[data-endpoint="node-10"]');
    expect(await row.textContent()).toMatch(/last seen \d+ s ago/);
    // The cell still shows the newest utilization this browser received from it (not "—").
    const last = await page.evaluate(() => {
      const s = [...(globalThis as any).gpulse.eps.values()].find((x: any) => x.ep.name === 'node-10');
      return s.last[s.keys.indexOf('gpu0.util') + 1] as number;
    });
    // A number kept from before it went (its utilization moves through 0 now and then), not null.
    expect(typeof last).toBe('number');
    expect(await page.textContent('[data-endpoint="node-10"] .gcell[data-gpu="0"]')).toStartWith(`${Math.round(last)}%`);
    // Unreachable is a problem: it sorts among the critical hosts, after lab-hot's critical GPU problem or before, but above every healthy host.
    const names = await rowNames();
    expect(names.indexOf('node-10')).toBeLessThan(names.indexOf('node-06'));
    await page.waitForTimeout(300);
    const shot = join(DOCS, 'overview-40.png');
    await page.screenshot({ path: shot });
    // The README copy is kept small (under ~250 KB): quantized where pngquant is installed.
    if (Bun.which('pngquant')) Bun.spawnSync(['pngquant', '--quality', '70-95', '--force', '--output', shot, shot]);
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(SHOTS, 'overview-40-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
  }, 40_000);

  test('the Add form checks before saving: "bad token" for a wrong token, "unreachable" for a closed port', async () => {
    const n = await endpointCount();
    await page.goto(`${app.url}#/add`);
    await page.fill('input[name="url"]', hot.url.replace('127.0.0.1', 'localhost'));
    await page.fill('input[name="token"]', 'wrong-token-000000000000');
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-reason="bad-token"]', { timeout: 10_000 });
    expect(await page.textContent('[data-reason]')).toContain('bad token');
    const port = freePort();
    await page.fill('input[name="url"]', `http://127.0.0.1:${port}`);
    await page.fill('input[name="token"]', FAKE_TOKEN);
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-reason="unreachable"]', { timeout: 15_000 });
    expect(await page.textContent('[data-reason]')).toContain('unreachable');
    await page.screenshot({ path: join(SHOTS, 'add-unreachable.png') });
    expect(await endpointCount()).toBe(n);
    // A pairing link with a wrong token saves nothing either, and says why.
    await page.goto(`${app.url}#/add?url=${encodeURIComponent(cool.url.replace('127.0.0.1', 'localhost'))}&token=wrong-token-000000000000`);
    await waitForNotice(page, 'bad token', 10_000);
    expect(await page.textContent('.notice')).toContain('bad token');
    expect(page.url()).not.toContain('wrong-token');
    expect(await endpointCount()).toBe(n);
  }, 40_000);
});
