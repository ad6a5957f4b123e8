/**
 * Prometheus as a PWA data source, end to end: two agents (fake NVML, public /metrics), a real
 * Prometheus on loopback scraping both every second with CORS open, and the PWA in headless
 * Chromium adding that Prometheus by a #/add?prometheus= link: both hosts and their GPUs show, with values;
 * a host's page draws its history from query_range, and a broken query says why on its chart.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { HAVE_BROWSER, launchBrowser, SHOTS } from '../browser.ts';
import { fakeNvml, startAgent, tmp, type RunningAgent } from '../helpers.ts';
import { PROMETHEUS, startPrometheus, type RunningPrometheus } from '../prometheus.ts';

const SKIP = !HAVE_BROWSER ? 'no Chromium or no built PWA (dist/web)' : !PROMETHEUS ? 'no prometheus binary on PATH' : '';
if (SKIP) console.log(`prometheus-source: skipped: ${SKIP}`);

const gpuEnv = (n: number, names: string) => ({ GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: String(n), FAKE_NVML_NAMES: names });

describe.skipIf(!!SKIP)('PWA with a Prometheus source', () => {
  const dir = tmp('gpulse-promsrc-');
  let a: RunningAgent, b: RunningAgent;
  let prom: RunningPrometheus | undefined;
  let promUrl = '';
  let ctx: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    a = await startAgent(['--interval', '500ms', '--hostname', 'gpu-a', '--metrics-public'], gpuEnv(2, 'NVIDIA H100 80GB HBM3,NVIDIA A100-SXM4-40GB'), {
      dir: tmp(),
    });
    b = await startAgent(['--interval', '500ms', '--hostname', 'gpu-b', '--metrics-public'], gpuEnv(1, 'NVIDIA L4'), { dir: tmp() });
    prom = startPrometheus([new URL(a.url).host, new URL(b.url).host], { args: ['--web.cors.origin=.*'] });
    promUrl = prom.url;
    // Wait until Prometheus has scraped both agents' GPUs.
    for (let i = 0; i < 60; i++) {
      const r = await fetch(`${promUrl}/api/v1/query?query=DCGM_FI_DEV_GPU_UTIL`).catch(() => null);
      if (r?.ok && (await r.json()).data.result.length >= 3) break;
      await Bun.sleep(500);
    }
    ctx = await launchBrowser(join(dir, 'profile'), { viewport: { width: 1400, height: 1000 } });
    page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  }, 60_000);

  afterAll(async () => {
    await ctx?.close();
    await prom?.stop();
    await a?.stop();
    await b?.stop();
  });

  test('#/add?prometheus= adds it, drops the token, and shows both hosts and their GPUs with values', async () => {
    await page.goto(`${a.url}/#/add?prometheus=${encodeURIComponent(promUrl)}&token=prom-secret-token`);
    await page.waitForSelector('[data-prometheus] [data-status="live"]', { timeout: 20_000 });
    expect(page.url()).not.toContain('prom-secret-token');
    expect(page.url()).not.toContain('prometheus=');
    // Both hosts, named by their GPUs' Hostname label (the agents' --hostname), each with its GPUs and filled-in values.
    await page
      .waitForFunction(
        () => {
          const t = (n: string) => document.querySelector(`[data-prom-host="${n}"]`)?.textContent ?? '';
          return /\d+(\.\d+)? ?%/.test(t('gpu-a')) && /°C/.test(t('gpu-b')) && !/CPU\s*—/.test(t('gpu-a'));
        },
        undefined,
        { timeout: 30_000 },
      )
      .catch(async (e) => {
        console.log('prometheus-source: tiles:', await page.locator('.tile').allTextContents());
        throw e;
      });
    const hostA = await page.textContent('[data-prom-host="gpu-a"]');
    const hostB = await page.textContent('[data-prom-host="gpu-b"]');
    console.log(`prometheus-source: gpu-a: ${hostA}\nprometheus-source: gpu-b: ${hostB}`);
    expect(await page.locator('[data-prom-host="gpu-a"] .gpu-row').count()).toBe(2);
    expect(await page.locator('[data-prom-host="gpu-b"] .gpu-row').count()).toBe(1);
    expect(hostA).toContain('H100 80GB HBM3');
    expect(hostA).toContain('A100-SXM4-40GB');
    expect(hostB).toContain('L4');
    for (const t of [hostA!, hostB!]) {
      expect(t).toMatch(/\d+(\.\d+)? ?°C/);
      expect(t).toMatch(/\d+(\.\d+)? ?W/);
      expect(t).toMatch(/GiB \/ [\d.]+ GiB/);
    }
    // Stored as a Prometheus endpoint with its token, and no stream was opened to it.
    const eps = await page.evaluate(() =>
      [...(globalThis as any).gpulse.eps.values()].map((s: any) => ({ kind: s.ep.kind, url: s.ep.url, token: s.ep.token })),
    );
    expect(eps).toEqual([{ kind: 'prometheus', url: promUrl, token: 'prom-secret-token' }]);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  const PANELS = ['gpu-util', 'gpu-mem', 'gpu-temp', 'gpu-power', 'cpu', 'mem', 'net', 'disk'];
  const points = () =>
    page.evaluate(() =>
      Object.fromEntries([...document.querySelectorAll<HTMLElement>('[data-panel]')].map((e) => [e.dataset.panel, Number(e.dataset.points)])),
    );

  test('a host tile opens its history: every chart holds points from query_range over the last minutes', async () => {
    await page.goto(`${a.url}/#/`);
    await page.click('[data-prom-host="gpu-a"] a', { timeout: 20_000 });
    await page.waitForSelector('.prom-host h2');
    expect(decodeURIComponent(page.url())).toContain(`/p/`);
    expect(decodeURIComponent(page.url())).toContain(new URL(a.url).host);
    await page.click('nav.ranges button:text-is("5m")');
    // A few scrapes at 1 s are enough for every chart, counters (rate) included.
    await page
      .waitForFunction((ids) => ids.every((id) => Number(document.querySelector<HTMLElement>(`[data-panel="${id}"]`)?.dataset.points) >= 3), PANELS, {
        timeout: 30_000,
      })
      .catch(async (e) => {
        console.log('prometheus-source: chart points:', await points(), await page.locator('.prom-panel').allTextContents());
        throw e;
      });
    expect(await page.textContent('.prom-host h2')).toBe('gpu-a');
    const step = Number(await page.getAttribute('[data-step]', 'data-step'));
    expect(await page.getAttribute('[data-scrape]', 'data-scrape')).toBe('1');
    // 5 min over a chart a few hundred pixels wide, at a 1 s scrape: a 1 s step.
    expect(step).toBe(1);
    // Two GPUs on gpu-a: a line each, named by the DCGM labels.
    const legend = await page.locator('[data-panel="gpu-util"] table.legend').textContent();
    expect(legend).toContain('GPU 0 · H100 80GB HBM3');
    expect(legend).toContain('GPU 1 · A100-SXM4-40GB');
    console.log('prometheus-source: live 5m points per chart:', JSON.stringify(await points()));
    await page.screenshot({ path: join(SHOTS, 'prom-host.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  test('a zoomed window: its points are the ones Prometheus answers for that window', async () => {
    const asked: string[] = [];
    const onReq = (r: { url(): string }) => r.url().includes('/api/v1/query_range') && asked.push(r.url());
    page.on('request', onReq);
    const to = Date.now() - 2000,
      from = to - 60_000;
    const hash = new URL(page.url()).hash.replace(/\?.*/, '');
    await page.goto(`${a.url}/${hash}?range=5m&from=${from}&to=${to}`);
    await page.waitForFunction(
      (end) => {
        const e = document.querySelector<HTMLElement>('[data-panel="gpu-util"]')?.dataset;
        return e?.state === 'ok' && Number(e.end) === end;
      },
      to / 1000,
      { timeout: 20_000 },
    );
    page.off('request', onReq);
    const util = asked.find(
      (u) => new URL(u).searchParams.get('query')!.startsWith('DCGM_FI_DEV_GPU_UTIL') && Number(new URL(u).searchParams.get('end')) === to / 1000,
    )!;
    expect(util).toBeDefined();
    const u = new URL(util);
    expect(Number(u.searchParams.get('start'))).toBeLessThanOrEqual(from / 1000);
    expect(Number(u.searchParams.get('end'))).toBe(to / 1000);
    // The same request from here: the chart holds exactly the non-null values Prometheus returns.
    const body = (await (await fetch(util)).json()) as { data: { result: { values: [number, string][] }[] } };
    const expected = body.data.result.reduce((n, r) => n + r.values.filter(([, v]) => Number.isFinite(Number(v))).length, 0);
    expect(body.data.result.length).toBe(2);
    expect(expected).toBeGreaterThanOrEqual(4); // two GPUs, a few scrapes each (Prometheus started seconds ago)
    expect((await points())['gpu-util']).toBe(expected);
    expect(pageErrors).toEqual([]);
  }, 30_000);

  test('a broken query shows the server reason on its chart (400 parse error, 422 execution error); the other charts stay', async () => {
    for (const [query, reason] of [
      ['sum(rate(DCGM_FI_DEV_GPU_UTIL{instance="$instance"}[1m])', /bad_data: .*parse error/],
      [
        'DCGM_FI_DEV_GPU_UTIL{instance="$instance"} + on (instance) DCGM_FI_DEV_GPU_UTIL{instance="$instance"}',
        /execution: .*many-to-many matching not allowed/,
      ],
    ] as const) {
      await page.fill('input[name="promql"]', query);
      await page.click('.prom-query button:text-is("Chart it")');
      const err = page.locator('[data-panel="custom"] [data-chart-error]', { hasText: reason });
      await err.waitFor({ timeout: 20_000 });
      const text = (await err.textContent())!;
      console.log(`prometheus-source: custom chart error: ${text}`);
      expect(text).toMatch(reason);
      expect(await page.getAttribute('[data-panel="gpu-util"]', 'data-state')).toBe('ok');
      await page.locator('[data-panel="custom"]').screenshot({ path: join(SHOTS, `prom-host-error-${reason.source.slice(0, 5).replace(/\W/g, '')}.png`) });
    }
    expect(pageErrors).toEqual([]);
  }, 60_000);

  test('the Add form takes a Prometheus without a token; one that cannot be reached says why on its tile', async () => {
    await page.goto(`${a.url}/#/add`);
    await page.selectOption('select[name="kind"]', 'prometheus');
    await page.fill('input[name="url"]', 'http://127.0.0.1:9/');
    await page.fill('input[name="name"]', 'nowhere');
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-endpoint="nowhere"] [data-status="error"]', { timeout: 20_000 });
    expect(await page.textContent('[data-endpoint="nowhere"]')).toContain('unreachable, or blocked by CORS');
    // The working source is still live next to it.
    expect(await page.locator('[data-prom-host="gpu-a"]').count()).toBe(1);
    expect(pageErrors).toEqual([]);
  }, 30_000);
});
