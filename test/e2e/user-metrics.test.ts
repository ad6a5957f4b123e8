/**
 * The PWA in Chromium against a real agent: series that join mid-stream (a push, a textfile) show
 * on the host view without a reload and are stored under the new schema; who is on each GPU; GPU
 * memory and utilization by user; the fleet's GPU hours by user.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { HAVE_BROWSER, openPaired, SHOTS } from '../browser.ts';
import { decodeChunk } from '../../shared/chunk/index.ts';
import { auth, fakeNvml, startAgent, tmp, type RunningAgent } from '../helpers.ts';

describe.skipIf(!HAVE_BROWSER)('your metrics and GPU users in the PWA', () => {
  let a: RunningAgent, ctx: BrowserContext, page: Page, worker: ReturnType<typeof Bun.spawn>, dir: string;
  beforeAll(async () => {
    dir = tmp();
    worker = Bun.spawn(['sleep', '600'], { env: { PATH: process.env.PATH!, SLURM_JOB_ID: '77' } });
    writeFileSync(join(dir, 'procs'), `0:${worker.pid}:3072:c:55:20\n`);
    a = await startAgent(
      ['--interval', '500ms', '--gpu', 'nvml', '--textfile-dir', dir],
      { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '1', FAKE_NVML_PROCS_FILE: join(dir, 'procs'), GPULSE_NVML_SLOW_MS: '500' },
      { dir },
    );
    ({ ctx, page } = await openPaired(a, { width: 1300, height: 1600 }));
    page.setDefaultTimeout(15_000);
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    await a?.stop();
    worker?.kill();
  });

  test('a pushed metric and a new textfile appear on the host view without a reload, unrounded; rows are stored under the new keys', async () => {
    await page.goto(`${a.url}/#/`);
    await page.click('[data-endpoint]');
    await page.waitForSelector('.host');
    expect(await page.$('[data-user-series]')).toBeNull();
    const loads = await page.evaluate(() => performance.getEntriesByType('navigation').length);
    const r = await fetch(`${a.url}/v1/push`, { method: 'POST', ...auth(a.token), body: 'loss{run="42"} 0.0123457\n' });
    expect(r.status).toBe(200);
    const cell = await page.waitForSelector('[data-key="user.loss.run-42"] td.num');
    await page.waitForFunction(() => document.querySelector('[data-key="user.loss.run-42"] td.num')?.textContent === '0.0123457');
    expect(await cell.textContent()).toBe('0.0123457');
    writeFileSync(join(dir, '.q.tmp'), '# HELP queue_depth Jobs waiting\nqueue_depth 12\n');
    const { renameSync } = await import('node:fs');
    renameSync(join(dir, '.q.tmp'), join(dir, 'queue.prom'));
    await page.waitForSelector('[data-key="user.queue_depth"]');
    await page.waitForFunction(() => document.querySelectorAll('.user-series .chart canvas').length >= 2);
    expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(loads); // no reload
    // The leader switched keys on the mid-stream schema and stores the new series, unrounded.
    await page.waitForFunction(
      async () => {
        const g = (globalThis as any).gpulse;
        const id = [...g.eps.keys()][0];
        const chunks = await g.db.getAll('chunks3');
        return g.eps.get(id).keys.includes('user.queue_depth') && chunks.some((c: { key: string }) => c.key === 'user.queue_depth');
      },
      undefined,
      { timeout: 20_000 },
    );
    // Its stored raw chunks hold the pushed value exactly (polled: rows reach IndexedDB in batches).
    let values: number[] = [];
    for (let i = 0; i < 40 && !values.length; i++, await Bun.sleep(250)) {
      const frames = await page.evaluate(async () =>
        ((await (globalThis as any).gpulse.db.getAll('chunks3')) as { key: string; tier: string; bytes: ArrayBuffer }[])
          .filter((c) => c.key === 'user.loss.run-42' && c.tier === 'raw')
          .map((c) => Array.from(new Uint8Array(c.bytes))),
      );
      values = frames
        .flatMap((f) => {
          const d = decodeChunk(new Uint8Array(f));
          return d.ok && d.value.tier === 'raw' ? [...d.value.v] : [];
        })
        .filter((v) => v === v);
    }
    expect(values.length).toBeGreaterThan(0);
    expect([...new Set(values)]).toEqual([0.0123457]);
  }, 60_000);

  test('who is on each GPU now, and GPU memory by user over the range', async () => {
    const row = await page.waitForSelector('.who tr[data-gpu="0"]');
    expect(await row.getAttribute('data-user')).toBeTruthy();
    expect(await row.textContent()).toContain('3.0 GiB');
    expect(await row.textContent()).toContain('55 %');
    expect(await row.textContent()).toContain('job 77');
    await page.click('.ranges >> text=5m');
    await page.waitForSelector('[data-chart="memory-by-user"] canvas', { timeout: 45_000 });
  }, 60_000);

  test('GPU utilization by user, stacked next to memory: the process owner, at the SM % the GPU reports for the process', async () => {
    const chart = '[data-chart="utilization-by-user"]';
    await page.waitForSelector(`${chart} canvas`, { timeout: 45_000 });
    // The owner of the fake's process as the agent names it (the same as on "who is on the GPUs").
    const me = (await page.getAttribute('.who tr[data-gpu="0"]', 'data-user')) ?? '';
    expect(me).not.toBe('');
    expect(await page.$$eval(`${chart} .u-legend .u-series:not(:first-child) .u-label`, (l) => l.map((x) => x.textContent).filter(Boolean))).toEqual([me]);
    expect(
      await page.$$eval(`[data-chart="memory-by-user"] .u-legend .u-series:not(:first-child) .u-label`, (l) => l.map((x) => x.textContent).filter(Boolean)),
    ).toEqual([me]);
    // Both charts in one row, utilization to the right of memory.
    const [mem, sm] = await Promise.all(['[data-chart="memory-by-user"]', chart].map((c) => page.locator(c).boundingBox()));
    expect(sm!.y).toBeCloseTo(mem!.y, 0);
    expect(sm!.x).toBeGreaterThan(mem!.x + mem!.width - 1);
    // The newest bucket, under the cursor at the right edge: the fake's 55 % for the process.
    const over = page.locator(`${chart} .u-over`);
    const box = (await over.boundingBox())!;
    await over.hover({ position: { x: box.width - 2, y: box.height / 2 } });
    const legend = () =>
      page.$$eval(`${chart} .u-legend .u-series`, (rows) =>
        rows.map((r) => [r.querySelector('.u-label')?.textContent, r.querySelector('.u-value')?.textContent]),
      );
    for (let i = 0; i < 20 && (await legend())[1]?.[1] !== '55 %'; i++) await page.waitForTimeout(100);
    expect((await legend())[1]).toEqual([me, '55 %']);
    await page.locator('.charts.by-user').screenshot({ path: join(SHOTS, 'gpu-use-by-user.png') });
  }, 60_000);

  test('the fleet overview lists GPU hours by user', async () => {
    await page.goto(`${a.url}/#/`);
    const row = await page.waitForSelector('[data-fleet-accounting] tr[data-user]', { timeout: 20_000 });
    expect(Number((await row.$$eval('td.num', (t) => t.map((x) => x.textContent)))[0])).toBeGreaterThanOrEqual(0);
  }, 30_000);
});
