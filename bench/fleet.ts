/**
 * The fleet overview with many live hosts in headless Chromium: main-thread busy time, long tasks
 * and heap while N fake agents (test/fake-agent.ts: 1–8 GPUs each, a sample a second) stream into
 * one app served from a static origin. `--dist` picks the build, so a previous tree's build can be
 * measured back to back on the same machine.
 * `--route '#/alerts'` measures the same fleet with the overview not shown (what the connections,
 * the IndexedDB writes and the alert rules cost without it).
 * usage: bun bench/fleet.ts [--hosts 100] [--seconds 20] [--dist dist/web] [--route '#/']
 */
import { join, resolve } from 'node:path';
import { launchBrowser, SHOTS } from '../test/browser.ts';
import { fleetSpec, startFakeAgent } from '../test/fake-agent.ts';
import { ROOT, tmp } from '../test/helpers.ts';
import { staticApp } from '../test/static-app.ts';
import { arg, cdpWindow } from './stats.ts';

const hosts = Number(arg('hosts', '100'));
const seconds = Number(arg('seconds', '20'));
const dist = resolve(ROOT, arg('dist', 'dist/web'));
const TOKEN = 'bench-token-0123456789abcdef';

const app = staticApp(dist);
const fakes = Array.from({ length: hosts }, (_, i) => startFakeAgent(fleetSpec(i, TOKEN)));
const ctx = await launchBrowser(tmp('gpulse-bench-fleet-'), { viewport: { width: 1400, height: 900 } });
try {
  const page = await ctx.newPage();
  await page.goto(`${app.url}#/`);
  await page.waitForFunction(() => (globalThis as any).gpulse);
  await page.evaluate(
    async ([list, token]) => {
      for (const u of list as string[]) await (globalThis as any).gpulse.addEndpoint(u, token);
    },
    [fakes.map((f) => f.url), TOKEN] as const,
  );
  await page.waitForFunction((k) => document.querySelectorAll('[data-status="live"]').length >= k, hosts, { timeout: 120_000 });
  await page.evaluate((r) => (location.hash = r), arg('route', '#/'));
  await Bun.sleep(5000);
  await page.evaluate(() => {
    const w = globalThis as any;
    w.__long = [];
    w.__loaf = [];
    new PerformanceObserver((l) => w.__long.push(...l.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
    // Long animation frames split a slow frame: before rendering (tasks), rAF callbacks (our render), style and layout.
    new PerformanceObserver((l) =>
      w.__loaf.push(
        ...l.getEntries().map((e: any) => ({
          d: e.duration,
          work: e.renderStart ? e.renderStart - e.startTime : e.duration,
          raf: e.renderStart ? e.styleAndLayoutStart - e.renderStart : 0,
          layout: e.renderStart ? e.startTime + e.duration - e.styleAndLayoutStart : 0,
        })),
      ),
    ).observe({ type: 'long-animation-frame' });
  });
  const w = await cdpWindow(ctx, page, seconds);
  const long = (await page.evaluate(() => (globalThis as any).__long)) as number[];
  const loaf = (await page.evaluate(() => (globalThis as any).__loaf)) as { d: number; work: number; raf: number; layout: number }[];
  const med = (k: 'd' | 'work' | 'raf' | 'layout') => {
    const v = loaf.map((x) => x[k]).sort((a, b) => a - b);
    return v.length ? Math.round(v[v.length >> 1]!) : 0;
  };
  const rows = await page.evaluate(() => document.querySelectorAll('[data-endpoint]').length);
  const busy = w.pct('TaskDuration');
  const script = w.pct('ScriptDuration');
  const layout = w.pct('LayoutDuration', 'RecalcStyleDuration');
  await page.screenshot({ path: join(SHOTS, `bench-fleet-${hosts}.png`) });
  console.log(
    JSON.stringify(
      {
        dist: arg('dist', 'dist/web'),
        route: arg('route', '#/'),
        hosts,
        gpus: fakes.reduce((n, f) => n + f.opts.gpus.length, 0),
        rows,
        seconds,
        main_thread_busy_pct: +busy.toFixed(1),
        script_pct: +script.toFixed(1),
        style_layout_pct: +layout.toFixed(1),
        long_tasks: long.length,
        longest_task_ms: long.length ? Math.round(Math.max(...long)) : 0,
        long_frames: loaf.length,
        long_frame_median_ms: { total: med('d'), tasks: med('work'), raf_render: med('raf'), style_layout_paint: med('layout') },
        js_heap_mib: +((w.end.JSHeapUsedSize ?? 0) / 1048576).toFixed(1),
      },
      null,
      1,
    ),
  );
} finally {
  await ctx.close();
  for (const f of fakes) f.stop();
  app.stop();
}
