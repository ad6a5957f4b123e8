/**
 * The PWA in headless Chromium: 24 h backfill, IndexedDB write cost per sample and bytes per
 * endpoint-day, cold open of a 24 h host view with 8 GPUs, switching to 30 d, and main-thread busy
 * time and heap with 1, 10 and 50 live endpoints (each a real agent on loopback).
 */
import { launchBrowser } from '../test/browser.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { fakeNvml, ROOT, startAgent, tmp, type RunningAgent } from '../test/helpers.ts';
import { summary } from './stats.ts';

const out: Record<string, unknown> = {};
const gz = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.js')).reduce((s, f) => s + Bun.gzipSync(readFileSync(join(dir, f))).length, 0);
out.js_gzip_kib = +(gz(join(ROOT, 'dist/web/assets')) / 1024).toFixed(1);

const onlyFleet = process.argv.includes('--fleet-only');
if (!onlyFleet) {
const big = await startAgent(['--no-persist', '--interval', '1s', '--gpu', 'nvml'], { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '8', GPULSE_BENCH_FILL: '1' }, { dir: tmp() });
const ctx = await launchBrowser(tmp('gpulse-prof-'), { viewport: { width: 1400, height: 1000 } });
let page = await ctx.newPage();
const rowsStored = (p: Page) => p.evaluate(async () => (await (globalThis as any).gpulse.db.getAll('chunks')).filter((c: any) => c.tier === 'raw').reduce((s: number, c: any) => s + c.t.length, 0));
const usage = (p: Page) => p.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);

// Backfill 24 h (86 400 rows × 135 series) from the agent on first add.
await page.goto(`${big.url}/#/`);
await page.waitForFunction(() => (globalThis as any).gpulse);
const u0 = await usage(page);
let t0 = performance.now();
await page.goto(`${big.url}/#/add?url=${encodeURIComponent(big.url)}&token=${big.token}`);
for (;;) { if ((await rowsStored(page)) >= 86_000) break; await Bun.sleep(250); }
out.backfill_24h_ms = Math.round(performance.now() - t0);
console.error('backfill done', out.backfill_24h_ms);
await page.evaluate(() => (globalThis as any).gpulse.flush());
await Bun.sleep(3000);
out.idb_bytes_per_endpoint_day_mib = +(((await usage(page)) - u0) / 1048576).toFixed(1);

// Write cost per sample, amortized: a day of rows through the same writer and batched transactions.
out.idb_write_us_per_sample = await page.evaluate(async () => {
  const app = (globalThis as any).gpulse;
  const s = app.eps.get(app.order[0]);
  const keys = s.keys as string[];
  const n = 86_400;
  const rows = Array.from({ length: n }, (_, i) => [1_700_000_000_000 + i * 1000, ...keys.map((_k, j) => (i + j) % 100)]);
  const ep = await app.addEndpoint(`bench:${Math.random()}`, '', 'bench', true);
  const t = performance.now();
  await app.importRows(ep, keys, rows, null);
  const us = ((performance.now() - t) * 1000) / n;
  await app.removeEndpoint(ep.id);
  return +us.toFixed(2);
});

// Cold open of the 24 h host view, then switch to 30 d.
const id = await page.evaluate(() => (globalThis as any).gpulse.order[0]);
const cold: number[] = [];
const to30: number[] = [];
for (let i = 0; i < 3; i++) {
  await page.close();
  page = await ctx.newPage();
  t0 = performance.now();
  await page.goto(`${big.url}/#/e/${id}?range=24h`);
  await page.waitForFunction(() => performance.getEntriesByType('mark').some((m) => m.name.startsWith('gpulse:series:24h:') && Number(m.name.split(':')[3]) > 1000), null, { timeout: 60_000 });
  await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length >= 9);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  cold.push(performance.now() - t0);
  t0 = performance.now();
  await page.click('.ranges >> text=30d');
  await page.waitForFunction(() => performance.getEntriesByType('mark').some((m) => m.name.startsWith('gpulse:series:30d:')), null, { timeout: 60_000 });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  to30.push(performance.now() - t0);
}
out.cold_open_24h_8gpu_render_ms = summary(cold, 0);
out.cold_open_points = await page.evaluate(() => performance.getEntriesByType('mark').filter((m) => m.name.startsWith('gpulse:series:30d:')).map((m) => m.name).at(-1));
console.error('cold open done');
out.switch_to_30d_ms = summary(to30, 0);
await page.screenshot({ path: join(ROOT, 'test/.build/screens/bench-30d.png'), fullPage: true });
await ctx.close();
await big.stop();
}

// Main-thread busy time and heap with N live endpoints on the overview.
const agents: RunningAgent[] = [];
if (!process.argv.includes('--no-fleet'))
for (const n of [1, 10, 50]) {
  while (agents.length < n) agents.push(await startAgent(['--no-persist', '--interval', '1s', '--gpu', 'nvml'], { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '2' }, { dir: tmp() }));
  const c = await launchBrowser(tmp('gpulse-fleet-'), { viewport: { width: 1400, height: 1000 } });
  const p = await c.newPage();
  await p.goto(`${agents[0]!.url}/#/`);
  await p.waitForFunction(() => (globalThis as any).gpulse);
  for (const a of agents.slice(0, n)) await p.evaluate(([u, t]) => (globalThis as any).gpulse.addEndpoint(u, t), [a.url, a.token]);
  await p.waitForFunction((k) => document.querySelectorAll('[data-status="live"]').length >= k, n, { timeout: 60_000 });
  await Bun.sleep(5000);
  const cdp = await c.newCDPSession(p);
  await cdp.send('Performance.enable');
  const m = async () => Object.fromEntries(((await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] }).metrics.map((x) => [x.name, x.value]));
  const a0 = await m(); const w0 = performance.now();
  await Bun.sleep(20_000);
  const a1 = await m(); const w1 = performance.now();
  out[`main_thread_busy_pct_${n}_endpoints`] = +((((a1.TaskDuration ?? 0) - (a0.TaskDuration ?? 0)) / ((w1 - w0) / 1000)) * 100).toFixed(1);
  out[`js_heap_mib_${n}_endpoints`] = +((a1.JSHeapUsedSize ?? 0) / 1048576).toFixed(1);
  if (n === 50) await p.screenshot({ path: join(ROOT, 'test/.build/screens/bench-fleet-50.png') });
  await c.close();
}
for (const a of agents) await a.stop();
console.log(JSON.stringify(out, null, 1));
