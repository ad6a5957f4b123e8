/**
 * The history engine in Chromium against real agents: backfill from /v1/history/chunks stored
 * byte for byte, reload keeps it, a leader handover and a reload leave no rollup gap (the
 * browser's rollups and sealed raw chunks equal the agent's), and a v2 database migrates on upgrade.
 */
import { HAVE_BROWSER, launchBrowser, pairingLink, SHOTS } from '../browser.ts';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { decodeChunk, splitChunks, type ChunkHeader, type RollupChunk } from '../../shared/chunk/index.ts';
import { windowStart } from '../../shared/chunk/windows.ts';
import { auth, fakeNvml, startAgent, tmp, type RunningAgent } from '../helpers.ts';

const GPU_ENV = (n: number) => ({
  GPULSE_NVML_LIB: fakeNvml('default'),
  FAKE_NVML_GPUS: String(n),
  FAKE_NVML_NAMES: 'NVIDIA H100 80GB HBM3,NVIDIA H100 80GB HBM3',
});

/** The agent's chunks of one tier, as frames keyed "key@t0". */
async function agentFrames(a: RunningAgent, tier: string, q = ''): Promise<Map<string, { h: ChunkHeader; bytes: Uint8Array }>> {
  const res = await fetch(`${a.url}/v1/history/chunks?tier=${tier}${q}`, auth(a.token));
  expect(res.headers.get('content-type')).toBe('application/vnd.gpulse.chunks');
  const buf = new Uint8Array(await res.arrayBuffer());
  const out = new Map<string, { h: ChunkHeader; bytes: Uint8Array }>();
  for (const f of splitChunks(buf)) {
    if ('error' in f) throw new Error(f.error.message);
    out.set(`${f.header.key}@${f.header.t0}`, { h: f.header, bytes: buf.slice(f.offset, f.offset + f.header.size) });
  }
  return out;
}

/** The browser's records of one tier, as "key@t0" → bytes (base64 across the page boundary). */
async function browserRecords(p: Page, tier: string): Promise<Map<string, Uint8Array>> {
  const recs: [string, string][] = await p.evaluate(async (tier) => {
    const app = (globalThis as any).gpulse;
    const all = (await app.db.getAll('chunks3')).filter((r: any) => r.tier === tier && r.ep === app.order[0]);
    const b64 = (b: ArrayBuffer) => {
      let s = '';
      const u = new Uint8Array(b);
      for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]!);
      return btoa(s);
    };
    return all.map((r: any) => [`${r.key}@${r.t0}`, b64(r.bytes)]);
  }, tier);
  return new Map(recs.map(([k, b]) => [k, new Uint8Array(Buffer.from(b, 'base64'))]));
}

const marks = (p: Page, prefix: string): Promise<string[]> =>
  p.evaluate(
    (x) =>
      performance
        .getEntriesByType('mark')
        .map((m) => m.name)
        .filter((n) => n.startsWith(x)),
    prefix,
  );
const watermark = (p: Page): Promise<number | undefined> =>
  p.evaluate(async () => {
    const app = (globalThis as any).gpulse;
    return app.db.get('meta', `fold:${app.order[0]}`);
  });
/** Waits (polling from here: the predicate reads IndexedDB) until the fold watermark moves past `w`. */
async function watermarkPast(p: Page, w: number, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const now = (await watermark(p)) ?? 0;
    if (now > w) return now;
    if (Date.now() > end) throw new Error(`fold watermark still ${now}, not past ${w}`);
    await Bun.sleep(500);
  }
}

const pageErrors: string[] = [];
const watch = (p: Page) => {
  p.on('pageerror', (e) => pageErrors.push(`${e.message}\n${e.stack ?? ''}`));
  return p;
};

describe.skipIf(!HAVE_BROWSER)('history engine in Chromium', () => {
  let agent: RunningAgent;
  let ctx: BrowserContext;
  let page: Page;
  let id = '';
  beforeAll(async () => {
    // A day and a bit of synthetic history: four sealed 6-hour 1-minute windows, ~100 sealed raw windows.
    agent = await startAgent(['--interval', '1s', '--gpu', 'nvml', '--hostname', 'dgx-07'], { ...GPU_ENV(2), GPULSE_BENCH_FILL: '25h' });
    ctx = await launchBrowser(tmp('gpulse-history-'), { viewport: { width: 1400, height: 1000 } });
    page = watch(await ctx.newPage());
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    await agent?.stop();
  });

  test("pairing backfills from /v1/history/chunks: every sealed chunk stored with exactly the agent's bytes", async () => {
    await page.goto(pairingLink(agent));
    await page.waitForSelector('[data-status="live"]', { timeout: 30_000 });
    await page.waitForFunction(() => performance.getEntriesByType('mark').some((m) => m.name.startsWith('gpulse:backfill:')), null, { timeout: 120_000 });
    id = await page.evaluate(() => (globalThis as any).gpulse.order[0]);
    const info = await (await fetch(`${agent.url}/v1/info`, auth(agent.token))).json();
    const interval = info.interval_ms as number;
    for (const tier of ['raw', '1m'] as const) {
      const theirs = await agentFrames(agent, tier);
      const ours = await browserRecords(page, tier);
      // Sealed: windows before the one the agent (and so the browser) still appends to.
      const open = windowStart(tier, info.tiers.find((x: any) => x.tier === tier).newest, interval);
      let compared = 0;
      for (const [k, f] of theirs) {
        if (f.h.t0 >= open) continue;
        expect(ours.get(k)).toEqual(f.bytes as Uint8Array<ArrayBuffer>);
        compared++;
      }
      expect(compared).toBeGreaterThan(tier === 'raw' ? 90 * 45 : 3 * 45);
    }
    // A day of raw samples, readable.
    const n = await page.evaluate(async (id) => (await (globalThis as any).gpulse.readHistory(id, 'raw', ['gpu0.util'])).t.length, id);
    expect(n).toBeGreaterThan(25 * 3600 - 60);
  }, 180_000);

  test('a reload keeps the history and does not backfill it again', async () => {
    const before = await page.evaluate(async () => await (globalThis as any).gpulse.db.count('chunks3'));
    await page.reload();
    await page.waitForSelector('[data-status="live"]', { timeout: 30_000 });
    await page.waitForTimeout(1000);
    expect(await marks(page, 'gpulse:backfill-recent')).toEqual([]);
    const after = await page.evaluate(async () => await (globalThis as any).gpulse.db.count('chunks3'));
    expect(after).toBeGreaterThanOrEqual(before);
  }, 60_000);

  test('screenshots: a day of history (1-minute tier) and a live hour, light and dark', async () => {
    for (const [range, min] of [
      ['24h', 1000],
      ['1h', 3000],
    ] as const) {
      await page.goto(`${agent.url}/#/e/${id}?range=${range}`);
      await page.waitForFunction(
        ([r, n]) => performance.getEntriesByType('mark').some((m) => m.name.startsWith(`gpulse:shown:${r}:`) && Number(m.name.split(':')[3]) >= (n as number)),
        [range, min],
        { timeout: 30_000 },
      );
      await page.waitForTimeout(1200);
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        await page.waitForTimeout(300);
        await page.screenshot({ path: join(SHOTS, `history-${range}-${scheme}.png`), fullPage: true });
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
  }, 60_000);

  test('no uncaught errors in any page', () => expect(pageErrors).toEqual([]));
});

describe.skipIf(!HAVE_BROWSER)('rollups across a leader handover and a reload', () => {
  // 100 ms: raw windows of one minute, so windows close while the test watches.
  let agent: RunningAgent;
  let ctx: BrowserContext;
  beforeAll(async () => {
    agent = await startAgent(['--interval', '100ms', '--gpu', 'nvml'], GPU_ENV(1));
    ctx = await launchBrowser(tmp('gpulse-handover-'), { viewport: { width: 1200, height: 900 } });
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    await agent?.stop();
  });

  test("no gap: the browser's 1-minute rollups and sealed raw chunks equal the agent's", async () => {
    const leader = watch(await ctx.newPage());
    await leader.goto(pairingLink(agent));
    await leader.waitForSelector('[data-status="live"]', { timeout: 30_000 });
    const hash = new URL(leader.url()).hash;
    const follower = watch(await ctx.newPage());
    await follower.goto(`${agent.url}/${hash}`);
    await follower.waitForSelector('text=follower tab');
    await leader.waitForTimeout(3000); // mid-window, with segments written and rows buffered
    await leader.close();
    await follower.waitForFunction(() => !document.querySelector('header.top')?.textContent?.includes('follower tab'), null, { timeout: 15_000 });
    // The new leader closes the window the old one started (merging its segments) and folds it.
    const w1 = await watermarkPast(follower, (await watermark(follower)) ?? 0, 90_000);
    // Reload mid-window: a fresh writer, and a fold from the stored watermark.
    await follower.waitForTimeout(20_000);
    await follower.reload();
    await follower.waitForSelector('[data-status="live"]', { timeout: 30_000 });
    const w2 = await watermarkPast(follower, w1, 90_000);

    // Every 1-minute bucket before the watermark, for every series: the agent's avg/min/max/count, no bucket missing.
    const theirs = await agentFrames(agent, '1m');
    const ours = await follower.evaluate(async (w) => {
      const app = (globalThis as any).gpulse;
      const s = app.eps.get(app.order[0]);
      const out: Record<string, number[][]> = {};
      for (const k of s.keys as string[]) {
        const h = await app.readHistory(app.order[0], '1m', [k], -Infinity, w - 1);
        out[k] = [
          Array.from(h.t),
          Array.from(h.cols.get(k), (v: number) => (v === v ? v : null)),
          Array.from(h.min.get(k), (v: number) => (v === v ? v : null)),
          Array.from(h.max.get(k), (v: number) => (v === v ? v : null)),
        ] as number[][];
      }
      return out;
    }, w2);
    let buckets = 0;
    for (const [, f] of theirs) {
      const d = decodeChunk(f.bytes);
      if (!d.ok) throw new Error(d.error.message);
      const c = d.value as RollupChunk;
      const o = ours[c.key]!;
      expect(o).toBeDefined();
      const nn = (v: number) => (v === v ? v : null);
      for (let i = 0; i < c.t.length; i++) {
        if (c.t[i]! >= w2) break;
        const j = o[0]!.indexOf(c.t[i]!);
        expect(j).toBeGreaterThanOrEqual(0); // no gap
        expect([o[1]![j], o[2]![j], o[3]![j]] as (number | null)[]).toEqual([nn(c.avg[i]!), nn(c.min[i]!), nn(c.max[i]!)]);
        buckets++;
      }
    }
    const series = new Set([...theirs.values()].map((f) => f.h.key)).size;
    expect(series).toBeGreaterThan(20);
    expect(buckets).toBeGreaterThanOrEqual(2 * series); // at least two minutes of every series

    // Raw windows sealed before the watermark: the same bytes on both sides, although the browser
    // built them from segments of two leaders and a reload.
    const raw = await agentFrames(agent, 'raw');
    const mine = await browserRecords(follower, 'raw');
    let sealed = 0;
    for (const [k, f] of raw) {
      if (f.h.t0 >= w2) continue; // windows the browser has closed (the watermark is the start of its open one)
      expect(mine.get(k)).toEqual(f.bytes as Uint8Array<ArrayBuffer>);
      sealed++;
    }
    expect(sealed).toBeGreaterThan(0);
    expect(pageErrors).toEqual([]);
  }, 300_000);
});

describe.skipIf(!HAVE_BROWSER)('upgrade from a v2 database', () => {
  let agent: RunningAgent;
  let ctx: BrowserContext;
  beforeAll(async () => {
    agent = await startAgent(['--interval', '1s', '--gpu', 'none']);
    ctx = await launchBrowser(tmp('gpulse-v2-'), { viewport: { width: 1200, height: 900 } });
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    await agent?.stop();
  });

  test('a v2 database with two hours of history: reloaded with the new app, every sample is there', async () => {
    const page = watch(await ctx.newPage());
    // A page of the same origin that is not the app, so the old database can be made as v2 left it.
    await page.goto(`${agent.url}/manifest.webmanifest`);
    const made = await page.evaluate(async () => {
      const db: IDBDatabase = await new Promise((res, rej) => {
        const r = indexedDB.open('gpulse', 2);
        r.onupgradeneeded = () => {
          const d = r.result;
          d.createObjectStore('endpoints', { keyPath: 'id' });
          d.createObjectStore('chunks', { keyPath: ['ep', 'tier', 't0'] }).createIndex('byEnd', ['ep', 'tier', 't1']);
          d.createObjectStore('meta');
          d.createObjectStore('events', { keyPath: ['ep', 'id'] }).createIndex('byTime', ['ep', 't']);
          d.createObjectStore('alerts', { keyPath: 'id' });
        };
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      const keys = ['host.cpu.util', 'host.mem.used', 'host.mem.total'];
      const now = Math.floor(Date.now() / 1000) * 1000;
      const start = now - 7200_000;
      const tx = db.transaction(['endpoints', 'chunks', 'meta'], 'readwrite');
      tx.objectStore('endpoints').put({
        id: 'v2-box',
        name: 'old box (import)',
        url: 'http://import.invalid/v2',
        token: '',
        order: 0,
        added: start,
        readOnly: true,
      });
      tx.objectStore('meta').put(
        {
          version: '0.1.0',
          hostname: 'old-box',
          interval_ms: 1000,
          retention_s: 86400,
          capacity: 86400,
          provider: 'none',
          driver_version: null,
          cuda_version: null,
          host: { cpu_model: null, cores: 2, threads: 2, os: null },
          devices: [],
          series: keys.map((key) => ({ key, label: key, unit: key === 'host.cpu.util' ? '%' : 'B', scope: 'host' })),
        },
        'schema:v2-box',
      );
      let rows = 0;
      // v2 cut 10-minute windows (the last one as segments) and folded each closed window into 1-minute rollups.
      for (let a = start; a < now; a += 600_000) {
        const n = Math.min(600, (now - a) / 1000);
        const segs =
          a + 600_000 >= now
            ? [
                [0, 100],
                [100, n],
              ]
            : [[0, n]];
        for (const [i0, i1] of segs) {
          const t = Float64Array.from({ length: i1! - i0! }, (_, i) => a + (i0! + i) * 1000);
          tx.objectStore('chunks').put({
            ep: 'v2-box',
            tier: 'raw',
            t0: t[0],
            t1: t[t.length - 1],
            keys,
            t,
            v: [Float32Array.from(t, (x) => 50 + 40 * Math.sin(x / 300_000)), Float32Array.from(t, () => 8.5e9), Float32Array.from(t, () => 3.2e10)],
          });
          rows += t.length;
        }
        const m = Float64Array.from({ length: 10 }, (_, i) => a + i * 60_000);
        tx.objectStore('chunks').put({
          ep: 'v2-box',
          tier: '1m',
          t0: m[0],
          t1: m[9],
          keys,
          t: m,
          v: keys.map(() => new Float32Array(10).fill(50)),
          min: keys.map(() => new Float32Array(10).fill(10)),
          max: keys.map(() => new Float32Array(10).fill(90)),
        });
      }
      await new Promise((r) => {
        tx.oncomplete = r;
      });
      db.close();
      return { rows, start };
    });
    expect(made.rows).toBe(7200);
    await page.goto(`${agent.url}/#/e/v2-box?range=3h`);
    await page.waitForSelector('.chart canvas', { timeout: 30_000 });
    const after = await page.evaluate(async (start) => {
      const app = (globalThis as any).gpulse;
      const s = await app.readHistory('v2-box', 'raw', ['host.cpu.util', 'host.mem.used']);
      const m = await app.readHistory('v2-box', '1m', ['host.cpu.util']);
      const f32 = new Float32Array(1);
      const want = (x: number) => {
        f32[0] = 50 + 40 * Math.sin(x / 300_000);
        return f32[0];
      };
      let worst = 0;
      for (let i = 0; i < s.t.length; i++) worst = Math.max(worst, Math.abs(s.cols.get('host.cpu.util')[i] - want(s.t[i])));
      return {
        version: app.db.version,
        stores: [...app.db.objectStoreNames],
        n: s.t.length,
        first: s.t[0] - start,
        worst,
        mem: s.cols.get('host.mem.used')[5],
        minutes: m.t.length,
      };
    }, made.start);
    expect(after.version).toBe(3);
    expect(after.stores).not.toContain('chunks');
    expect(after.n).toBe(7200);
    expect(after.first).toBe(0);
    expect(after.worst).toBeLessThanOrEqual(0.005); // Float32 values at the wire's precision (2 decimals under 100)
    expect(after.mem).toBe(Math.fround(8.5e9)); // what v2's Float32 held
    expect(after.minutes).toBeGreaterThanOrEqual(120);
    await page.screenshot({ path: join(SHOTS, 'migrated-v2.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
