/**
 * shared/chunk in Chromium: the PWA runs the same module, so frames written by the agent (Bun/JSC)
 * must decode bit-exactly in the browser (V8), and the browser must write the very same bytes.
 * The module is bundled for the browser and imported into a blank page.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, launchBrowser } from '../browser.ts';
import { ROOT, tmp } from '../helpers.ts';
import { type Chunk, decodeChunk, encodeChunk, quantize } from '../../shared/chunk/index.ts';

/** Hex of every float64's bit pattern: compares values bit-exactly across the page boundary. */
function bitsHex(cols: Float64Array[]): string {
  let s = '';
  for (const c of cols) s += Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('hex') + '|';
  return s;
}
const columns = (c: Chunk) => (c.tier === 'raw' ? [c.t, c.v] : [c.t, c.avg, c.min, c.max, c.count]);

function sampleChunks(): Chunk[] {
  let seed = 99;
  const r = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const n = 900,
    T0 = 1_767_225_600_000;
  const t = Float64Array.from({ length: n }, (_, i) => T0 + i * 1000);
  const jitter = Float64Array.from({ length: n }, (_, i) => T0 + i * 1000 + Math.floor(r() * 7));
  const mk = (key: string, v: Float64Array, tt = t): Chunk => ({ tier: 'raw', key, t: tt, v });
  let e = 3.6e8;
  const out: Chunk[] = [
    mk(
      'gpu0.power',
      Float64Array.from({ length: n }, () => quantize(560 + r() * 50)),
    ),
    mk(
      'gpu0.mem.used',
      Float64Array.from({ length: n }, (_, i) => 8e10 - 2 ** 20 * Math.floor(i / 50)),
    ),
    mk(
      'gpu0.energy',
      Float64Array.from({ length: n }, () => (e += 600 + Math.floor(r() * 30))),
    ),
    mk(
      'train.loss',
      Float64Array.from({ length: n }, (_, i) => 2 * Math.exp(-i / 300) + r() * 1e-3),
      jitter,
    ),
    mk(
      'weird',
      Float64Array.from({ length: n }, (_, i) => [Infinity, -Infinity, -0, 5e-324, 1e308, NaN, 1 / 3][i % 7]!),
    ),
    mk(
      'gaps',
      Float64Array.from({ length: n }, (_, i) => (i % 10 < 3 ? NaN : i % 4)),
    ),
    mk(
      'big',
      Float64Array.from({ length: n }, () => Math.floor(r() * 2 ** 49) * (r() < 0.5 ? -1 : 1)),
    ),
    mk('ключ.°C', new Float64Array(n).fill(NaN)),
  ];
  const m = 120;
  const bt = Float64Array.from({ length: m }, (_, i) => T0 + 60_000 * (i + (i > 50 ? 30 : 0)));
  const count = Float64Array.from({ length: m }, (_, i) => (i % 17 === 3 ? 0 : 60));
  out.push({
    tier: '1m',
    key: 'gpu0.temp',
    t: bt,
    count,
    avg: count.map((c) => (c ? 40 + r() : NaN)),
    min: count.map((c) => (c ? 39 : NaN)),
    max: count.map((c) => (c ? quantize(41 + r() * 3) : NaN)),
  });
  return out;
}

describe.skipIf(!existsSync(CHROMIUM))('chunk codec in Chromium', () => {
  let ctx: BrowserContext, page: Page;
  beforeAll(async () => {
    const built = await Bun.build({ entrypoints: [join(ROOT, 'shared/chunk/index.ts')], target: 'browser', format: 'esm' });
    if (!built.success) throw new Error(built.logs.join('\n'));
    const code = await built.outputs[0]!.text();
    ctx = await launchBrowser(tmp('gpulse-chunk-'));
    page = await ctx.newPage();
    await page.evaluate(async (src) => {
      const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
      (globalThis as unknown as { codec: unknown }).codec = await import(url);
    }, code);
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
  });

  test('frames from Bun decode bit-exactly in Chromium, and Chromium re-encodes the same bytes', async () => {
    const chunks = sampleChunks();
    const frames = chunks.map(encodeChunk);
    const results = await page.evaluate(
      (fs: number[][]) => {
        type C = typeof import('../../shared/chunk/index.ts');
        const codec = (globalThis as unknown as { codec: C }).codec;
        return fs.map((f) => {
          const d = codec.decodeChunk(new Uint8Array(f));
          if (!d.ok) return { error: d.error.kind };
          const c = d.value;
          const cols = c.tier === 'raw' ? [c.t, c.v] : [c.t, c.avg, c.min, c.max, c.count];
          let hex = '';
          for (const col of cols)
            hex += Array.from(new Uint8Array(col.buffer, col.byteOffset, col.byteLength), (b) => b.toString(16).padStart(2, '0')).join('') + '|';
          return { key: c.key, tier: c.tier, hex, again: Array.from(codec.encodeChunk(c)) };
        });
      },
      frames.map((f) => Array.from(f)),
    );
    expect(results.length).toBe(chunks.length);
    results.forEach((res, i) => {
      const local = decodeChunk(frames[i]!);
      if (!local.ok || 'error' in res) throw new Error(`chunk ${i} failed: ${JSON.stringify(res)}`);
      expect(res.key).toBe(chunks[i]!.key);
      expect(res.tier).toBe(chunks[i]!.tier);
      expect(res.hex).toBe(bitsHex(columns(local.value))); // same bits as Bun's own decode
      expect(res.again).toEqual(Array.from(frames[i]!)); // deterministic format: V8 writes what JSC wrote
    });
  }, 60_000);

  test('hostile input is a typed error in Chromium too', async () => {
    const frame = Array.from(encodeChunk(sampleChunks()[0]!));
    const kinds = await page.evaluate((f: number[]) => {
      type C = typeof import('../../shared/chunk/index.ts');
      const codec = (globalThis as unknown as { codec: C }).codec;
      const out: string[] = [];
      for (let k = 0; k < f.length; k += 7) {
        const d = codec.decodeChunk(new Uint8Array(f.slice(0, k)));
        out.push(d.ok ? 'ok' : d.error.kind);
      }
      const b = new Uint8Array(f);
      b[20]! ^= 4;
      const d = codec.decodeChunk(b);
      out.push(d.ok ? 'ok' : d.error.kind);
      return out;
    }, frame);
    expect(kinds.slice(0, -1).every((k) => k === 'truncated')).toBe(true);
    expect(kinds[kinds.length - 1]).toBe('checksum');
  }, 30_000);
});
