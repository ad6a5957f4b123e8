/**
 * The host view's charts in Chromium, against a real agent (fake NVML, two GPUs, 3 h of history):
 * every chart group with its unit, legends with stats, the GPU selector, an XID and a throttle
 * event in words on that GPU's charts only, and the range it opens at.
 */
import { HAVE_BROWSER, launchBrowser, pairingLink, SHOTS } from '../browser.ts';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Subprocess } from 'bun';
import type { BrowserContext, Page } from 'playwright-core';
import { auth, BUN, fakeNvml, ROOT, startAgent, tmp, type RunningAgent } from '../helpers.ts';

const README_SHOT = join(ROOT, 'docs/screenshots/host-view.png');
/** A command line longer than the process table's column, to check it can be read in full. */
const LONG_ARGS = ['train.py', '--model=llama-3-70b-instruct', '--epochs=90', '--data=/datasets/imagenet/shards/train-00000-of-01024.tar'];

const pageErrors: string[] = [];

describe.skipIf(!HAVE_BROWSER)('host view charts in Chromium', () => {
  let agent: RunningAgent, ctx: BrowserContext, page: Page, worker: Subprocess;
  let id = '';
  beforeAll(async () => {
    mkdirSync(join(ROOT, 'docs/screenshots'), { recursive: true });
    // A process on GPU 0 whose command line is long (the agent reads it from /proc/<pid>/cmdline).
    worker = Bun.spawn([BUN, '-e', 'setTimeout(() => {}, 600_000)', ...LONG_ARGS], { stdout: 'ignore', stderr: 'ignore' });
    agent = await startAgent(['--interval', '1s', '--gpu', 'nvml', '--hostname', 'dgx-07'], {
      GPULSE_NVML_LIB: fakeNvml('default'),
      FAKE_NVML_GPUS: '2',
      FAKE_NVML_NAMES: 'NVIDIA H100 80GB HBM3,NVIDIA A100-SXM4-40GB',
      FAKE_NVML_PROCS: `0:${worker.pid}:8192`,
      FAKE_NVML_THROTTLE: '1:0x40',
      FAKE_NVML_XID: '1:79',
      GPULSE_NVML_SLOW_MS: '500',
      GPULSE_BENCH_FILL: '3h',
    });
    ctx = await launchBrowser(tmp('gpulse-hostcharts-'), { viewport: { width: 1400, height: 1000 }, colorScheme: 'light' });
    page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${e.message}\n${e.stack ?? ''}`));
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    await agent?.stop();
    worker?.kill();
  });

  test('without range= the view opens at the history held (3 h), and every chart group is drawn with its unit', async () => {
    await page.goto(pairingLink(agent));
    await page.waitForSelector('[data-status="live"]', { timeout: 30_000 });
    await page.waitForFunction(() => performance.getEntriesByType('mark').some((m) => m.name.startsWith('gpulse:backfill:')), null, { timeout: 120_000 });
    id = await page.evaluate(() => (globalThis as any).gpulse.order[0]);
    // A user metric, so the "Your metrics" group has something.
    expect((await fetch(`${agent.url}/v1/push`, { method: 'POST', ...auth(agent.token), body: 'loss{run="42"} 0.25\n' })).status).toBe(200);

    // Pairing opened the host view before anything was stored (so at 1 h); open it afresh.
    await page.goto(`${agent.url}/#/`);
    await page.goto(`${agent.url}/#/e/${id}`);
    await page.waitForSelector('.chart canvas', { timeout: 30_000 });
    expect(await page.textContent('nav.ranges:not(.gpu-select) button.on')).toBe('3h');
    // An explicit range still wins.
    await page.goto(`${agent.url}/#/e/${id}?range=15m`);
    await page.waitForFunction(() => document.querySelector('nav.ranges:not(.gpu-select) button.on')?.textContent === '15m');
    await page.goto(`${agent.url}/#/e/${id}`);
    await page.waitForFunction(() => document.querySelector('nav.ranges:not(.gpu-select) button.on')?.textContent === '3h');

    await page.waitForSelector('.chart[data-group="custom"] canvas', { timeout: 20_000 });
    await page.waitForSelector('.chart[data-group="process"] canvas', { timeout: 20_000 });
    const units: Record<string, string> = {
      utilization: '%',
      memory: 'bytes',
      temperature: '°C',
      power: 'W',
      clocks: 'MHz',
      fan: '%',
      pcie: 'bytes/s',
      codec: '%',
      network: 'bytes/s',
      disk: 'bytes/s',
      load: '',
      process: '',
      custom: '',
    };
    for (const [group, unit] of Object.entries(units)) {
      const caps = await page.$$eval(`.chart[data-group="${group}"] figcaption`, (els) => els.map((e) => e.textContent ?? ''));
      expect(caps.length).toBeGreaterThan(0);
      if (unit) for (const c of caps) expect(c).toContain(`(${unit})`);
    }
    // Disk space (from /v1/snapshot, not a catalog series): a bar per filesystem, in bytes.
    const space = await page.waitForSelector('[data-group="disk_space"] .bar', { timeout: 20_000 });
    expect(await space.textContent()).toMatch(/i?B \/ .*B · \d+ %/);
    // One chart per GPU for GPU groups, one for the host.
    expect(await page.$$eval('.chart[data-group="temperature"]', (els) => els.map((e) => e.getAttribute('data-scope')))).toEqual(['gpu0', 'gpu1']);
    expect(await page.$$eval('.chart[data-group="network"]', (els) => els.map((e) => e.getAttribute('data-scope')))).toEqual(['host']);
    expect(pageErrors).toEqual([]);
  }, 200_000);

  test('legends show last / min / max / avg with units without hovering', async () => {
    const temp = await page.$$eval('.chart[data-group="temperature"][data-scope="gpu0"] .legend tbody tr td[data-stat]', (els) =>
      els.map((e) => [e.getAttribute('data-stat'), e.textContent]),
    );
    expect(temp.map(([s]) => s)).toEqual(['last', 'min', 'max', 'avg']);
    for (const [, v] of temp) expect(v).toMatch(/^\d+(\.\d+)? °C$/);
    const [min, max] = ['min', 'max'].map((s) => parseFloat(temp.find(([k]) => k === s)![1]!));
    expect(min!).toBeLessThanOrEqual(max!);
    const power = await page.$$eval('.chart[data-group="power"][data-scope="gpu1"] .legend tbody tr', (rows) => rows.map((r) => r.getAttribute('data-series')));
    expect(power).toEqual(['Power draw', 'Power limit']);
    expect(await page.textContent('.chart[data-group="power"][data-scope="gpu1"] .legend td[data-stat="last"]')).toMatch(/ W$/);
  }, 30_000);

  test('the GPU selector narrows GPU charts to one GPU; host charts stay', async () => {
    await page.click('[data-gpu-select="1"]');
    await page.waitForFunction(() => !document.querySelector('.chart[data-scope="gpu0"]'));
    expect(await page.$$('.chart[data-scope="gpu1"]')).not.toHaveLength(0);
    expect(await page.$$('.chart[data-scope="host"]')).not.toHaveLength(0);
    await page.click('[data-gpu-select="all"]');
    await page.waitForSelector('.chart[data-scope="gpu0"]');
  }, 30_000);

  test("the XID and the throttling are explained in words, on GPU 1's charts only", async () => {
    const want = ['too hot: hardware thermal slowdown', 'GPU has fallen off the bus'];
    const labelsOf = (scope: string) =>
      page.$$eval(`.chart[data-scope="${scope}"] .mark-layer > span`, (els) => els.map((e) => `${e.textContent}\n${e.getAttribute('title')}`).join('\n'));
    await page.waitForFunction(
      (w) => {
        const text = [...document.querySelectorAll('.chart[data-scope="gpu1"] .mark-layer > span')].map((e) => e.getAttribute('title')).join('\n');
        return w.every((x) => text.includes(x));
      },
      want,
      { timeout: 20_000 },
    );
    const gpu0 = await labelsOf('gpu0');
    const host = await labelsOf('host');
    for (const w of want) {
      expect(gpu0).not.toContain(w);
      expect(host).not.toContain(w);
    }
    // The event list says what happened in words, not as identifiers.
    const kinds = await page.$$eval('.events tr td:nth-child(2)', (els) => els.map((e) => e.textContent));
    expect(kinds).toContain('Throttling started');
    expect(kinds).toContain('GPU error (XID)');
    expect(kinds.join()).not.toMatch(/throttle_start|xid/);
    // Labels in one chart never overlap: each starts after the one before ends.
    const boxes = await page.$$eval('.chart[data-scope="gpu1"] .mark-layer', (layers) =>
      layers.map((l) => [...l.children].map((c) => c.getBoundingClientRect()).map((r) => [r.left, r.right])),
    );
    for (const chart of boxes) for (let i = 1; i < chart.length; i++) expect(chart[i]![0]!).toBeGreaterThanOrEqual(chart[i - 1]![1]! - 0.5);
  }, 40_000);

  test('a process command line is cut in the table, whole in its tooltip and after a click', async () => {
    const cell = await page.waitForSelector('.gpu[data-gpu="0"] td.cmd:has-text("train.py")', { timeout: 20_000 });
    expect(await cell.getAttribute('title')).toContain(LONG_ARGS.at(-1)!);
    const cut = await cell.evaluate((e) => e.scrollWidth > e.clientWidth);
    expect(cut).toBe(true);
    await cell.click();
    await page.waitForSelector('.gpu[data-gpu="0"] td.cmd.open');
    expect(await cell.evaluate((e) => e.scrollWidth <= e.clientWidth + 1)).toBe(true);
    await cell.click();
  }, 30_000);

  test('editing an annotation band keeps its end time and colour; it is drawn on every chart as a band', async () => {
    const now = Date.now();
    const r = await fetch(`${agent.url}/v1/events`, {
      method: 'POST',
      ...auth(agent.token),
      body: JSON.stringify({ label: 'warm-up run', t: now - 600_000, end_t: now - 300_000, color: '#16a34a' }),
    });
    expect(r.status).toBe(201);
    const ev = (await r.json()) as { id: string };
    await page.waitForSelector('[data-event="warm-up run"]', { timeout: 15_000 });
    // An annotation has no scope: on GPU and host charts alike.
    await page.waitForFunction(() =>
      ['host', 'gpu0', 'gpu1'].every((sc) =>
        [...document.querySelectorAll(`.chart[data-scope="${sc}"] .mark-layer > span`)].some((e) => e.getAttribute('title')?.includes('warm-up run')),
      ),
    );
    page.once('dialog', (d) => void d.accept('warm-up run 2'));
    await page.click('[data-event="warm-up run"] >> text=Edit');
    await page.waitForSelector('[data-event="warm-up run 2"]', { timeout: 15_000 });
    const all = (await (await fetch(`${agent.url}/v1/events`, auth(agent.token))).json()) as {
      events: { id: string; end_t: number | null; color: string | null }[];
    };
    const edited = all.events.find((e) => e.id === ev.id)!;
    expect(edited.end_t).toBe(now - 300_000);
    expect(edited.color).toBe('#16a34a');
  }, 40_000);

  test('screenshot: a host view with all chart groups (light, 1400 wide, full page)', async () => {
    await page.goto(`${agent.url}/#/e/${id}`);
    await page.waitForSelector('.chart[data-group="custom"] canvas', { timeout: 20_000 });
    // From the top: the sticky navigation bar would otherwise be pictured where the last click scrolled to.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(1500);
    await page.screenshot({ path: join(SHOTS, 'host-view.png'), fullPage: true });
    await page.screenshot({ path: README_SHOT, fullPage: true });
    // The README copy is kept small (a 256-colour palette) where pngquant is installed.
    const pq = Bun.which('pngquant');
    if (pq) Bun.spawnSync([pq, '--force', '--skip-if-larger', '--output', README_SHOT, '256', README_SHOT]);
    expect(pageErrors).toEqual([]);
  }, 30_000);
});
