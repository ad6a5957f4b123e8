/** HistorySync on fake-indexeddb against a fake agent: first-add backfill, the queued rest, a gap, and the fold after them. */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, test } from 'bun:test';
import { encodeChunk, quantize } from '../../shared/chunk/index.ts';
import { rawWindowMs, windowStart } from '../../shared/chunk/windows.ts';
import { CHUNKS, openDb, type DB, type Endpoint } from '../../web/lib/db.ts';
import { backfillKey, HistorySync, type SyncHost } from '../../web/lib/history.ts';
import type { Schema } from '../../shared/wire.ts';
import { DEFAULT_RETENTION } from '../../web/lib/retention.ts';
import { foldKey } from '../../web/lib/rollup.ts';
import { readSeries } from '../../web/lib/series.ts';
import { ChunkWriter } from '../../web/lib/writer.ts';
import { INFO_FIELDS } from '../fixtures/schema.ts';

const KEYS = ['host.cpu.util', 'gpu0.temp'];
const W = rawWindowMs(1000);
const value = (t: number, k: number) => quantize(k ? 40 + ((t / 1000) % 30) : 50 + 40 * Math.sin(t / 600_000));

/** An agent holding raw rows at 1 s from `start` to `newest`; it serves /v1/info and raw chunks (its rollups: none yet). */
function fakeAgent(start: number) {
  // `info`: fields that replace what /v1/info answers (a broken agent).
  const a = { newest: start, requests: [] as string[], info: {} as Record<string, unknown> };
  const frames = (since: number, until: number) => {
    const parts: Uint8Array[] = [];
    for (let ws = windowStart('raw', Math.max(since, start), 1000); ws <= Math.min(until, a.newest); ws += W) {
      for (const key of KEYS) {
        const t: number[] = [];
        for (let x = Math.max(ws, start); x < ws + W && x <= a.newest; x += 1000) t.push(x);
        if (t.length) parts.push(encodeChunk({ tier: 'raw', key, t: Float64Array.from(t), v: Float64Array.from(t, (x) => value(x, KEYS.indexOf(key))) }));
      }
    }
    const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  const schema: Schema = {
    version: '0',
    hostname: 'fake',
    interval_ms: 1000,
    retention_s: 86400,
    capacity: 0,
    provider: 'nvml',
    driver_version: null,
    cuda_version: null,
    host: { cpu_model: null, cores: 1, threads: 1, os: null },
    devices: [],
    series: KEYS.map((key) => ({ key, label: key, unit: '%', scope: 'host' })),
  } as unknown as Schema;
  globalThis.fetch = (async (input: string) => {
    const u = new URL(String(input));
    a.requests.push(u.pathname + u.search);
    if (u.pathname === '/v1/info')
      return Response.json({
        ...schema,
        ...INFO_FIELDS,
        tiers: [
          { tier: 'raw', step_ms: 1000, retention_s: 86400, oldest: start, newest: a.newest },
          { tier: '1m', step_ms: 60000, retention_s: 1, oldest: null, newest: null },
        ],
        ...a.info,
      });
    if (u.pathname === '/v1/history/chunks')
      return new Response(frames(Number(u.searchParams.get('since')), Number(u.searchParams.get('until'))), {
        headers: { 'content-type': 'application/vnd.gpulse.chunks' },
      });
    return new Response('no', { status: 404 });
  }) as unknown as typeof fetch;
  return { a, frames };
}

function host(db: DB, writer: ChunkWriter, now: () => number = Date.now) {
  const ep: Endpoint = { id: 'ep', name: 'fake', url: 'http://agent', token: 't', order: 0, added: 0 };
  const h = { tail: [] as (number | null)[][], storedCount: 0, schema: null as Schema | null, notice: null as string | null };
  const sync: SyncHost = {
    db,
    endpoint: () => ({ ep, schema: h.schema, keys: h.schema ? KEYS : [] }),
    writer: () => writer,
    retentionFor: () => DEFAULT_RETENTION,
    stored: () => {
      h.storedCount++;
    },
    schema: (_id, s) => {
      h.schema = s;
    },
    rows: (_id, _keys, rows) => {
      h.tail.push(...rows);
    },
    get notice() {
      return h.notice;
    },
    set notice(n) {
      h.notice = n;
    },
    emit() {},
  };
  return { h, sync: new HistorySync(sync, now) };
}

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % (6 * 3_600_000));

describe('HistorySync', () => {
  test('first add: the recent hour before the stream starts (and to the tail), the rest queued, then folded', async () => {
    const db = await openDb(`sync-${Math.random()}`);
    const { a, frames } = fakeAgent(T0);
    a.newest = T0 + 3 * 3_600_000 + 123_000; // 3 h and 2 min of history
    const w = new ChunkWriter('ep', 1000);
    const { h, sync } = host(db, w);
    const resumeAt = await sync.resume('ep');
    expect(resumeAt).toBe(a.newest);
    expect(h.schema?.hostname).toBe('fake'); // from /v1/info, before any stream
    expect(h.tail.length).toBe(3600);
    expect(h.tail.at(-1)![0]).toBe(a.newest);
    // The recent part was one request; the rest is queued behind it.
    expect(a.requests.filter((r) => r.startsWith('/v1/history/chunks')).length).toBe(1);
    await sync.serial('ep', async () => {}); // wait for the queue
    expect(await db.get('meta', backfillKey('ep'))).toBeUndefined();
    const s = await readSeries(db, 'ep', 'raw', KEYS, 0, Infinity);
    expect(s.t.length).toBe((a.newest - T0) / 1000 + 1);
    expect(s.cols.get('gpu0.temp')![100]).toBe(value(T0 + 100_000, 1));
    // Stored byte for byte as served.
    const served = frames(0, Infinity);
    const stored = (await db.getAll(CHUNKS)).filter((r) => r.tier === 'raw');
    expect(stored.reduce((n, r) => n + r.bytes.byteLength, 0)).toBe(served.length);
    // Folded up to the window still open (no agent rollups: all of it here).
    expect(await db.get('meta', foldKey('ep'))).toBe(windowStart('raw', a.newest, 1000));
    const m = await readSeries(db, 'ep', '1m', ['host.cpu.util'], 0, Infinity);
    expect(m.t.length).toBe((windowStart('raw', a.newest, 1000) - T0) / 60_000);
  });

  test('an /v1/info just read by the pairing check is used once, not asked again; a stale, second or other-token one is', async () => {
    const db = await openDb(`sync-${Math.random()}`);
    const { a } = fakeAgent(T0);
    a.newest = T0 + 1_800_000;
    let now = 1_000_000;
    const { h, sync } = host(db, new ChunkWriter('ep', 1000), () => now);
    const info = await (await fetch('http://agent/v1/info')).json();
    const hostname = () => h.schema?.hostname; // read through a call: the resets below would narrow h.schema to null
    const infoAsks = () => a.requests.filter((r) => r === '/v1/info').length;
    a.requests.length = 0;
    sync.primeInfo('http://agent', 't', { ...info, hostname: 'primed' });
    now += 9_999;
    expect(await sync.resume('ep')).toBe(a.newest);
    expect(hostname()).toBe('primed');
    expect(infoAsks()).toBe(0);
    expect(a.requests.some((r) => r.startsWith('/v1/history/chunks'))).toBe(true);
    // Used up: the next resume asks the agent.
    await sync.resume('ep');
    expect(infoAsks()).toBe(1);
    // Stale (10 s old): asked again, and the stale answer is not used later either.
    h.schema = null;
    sync.primeInfo('http://agent', 't', { ...info, hostname: 'stale' });
    now += 10_000;
    await sync.resume('ep');
    expect(infoAsks()).toBe(2);
    expect(hostname()).toBe('fake');
    // Read with another token (the endpoint has 't'): never stands in for the agent's answer to 't'.
    h.schema = null;
    sync.primeInfo('http://agent', 'other', { ...info, hostname: 'other token' });
    await sync.resume('ep');
    expect(infoAsks()).toBe(3);
    expect(hostname()).toBe('fake');
    await sync.resume('ep');
    expect(infoAsks()).toBe(4);
  });

  test('a malformed /v1/info (a tier time that is a string): refused with the reason, nothing asked or stored', async () => {
    const db = await openDb(`sync-${Math.random()}`);
    const { a } = fakeAgent(T0);
    a.newest = T0 + 3_600_000;
    a.info = { tiers: [{ tier: 'raw', step_ms: 1000, retention_s: 86400, oldest: T0, newest: 'soon' }] };
    const { h, sync } = host(db, new ChunkWriter('ep', 1000));
    await expect(sync.resume('ep')).rejects.toThrow('agent sent a malformed /v1/info: tiers[0].newest: expected a finite number, got string');
    expect(a.requests).toEqual(['/v1/info']);
    expect(h.schema).toBeNull();
    expect(await db.count(CHUNKS)).toBe(0);
  });

  test("after a long gap: backfilled as chunks, the writer's open window merged, rollups folded with no hole", async () => {
    const db = await openDb(`sync-${Math.random()}`);
    const { a } = fakeAgent(T0);
    a.newest = T0 + 1_800_000 + 10_000; // 30 min 10 s
    const w = new ChunkWriter('ep', 1000);
    const { sync } = host(db, w);
    const first = (await sync.resume('ep'))!;
    await sync.serial('ep', async () => {});
    // Live rows for a while (the stream), some written as segments …
    for (let t = first + 1000; t <= first + 100_000; t += 1000) w.append(t, KEYS, [t, value(t, 0), value(t, 1)]);
    await sync.flush('ep', w, true);
    for (let t = first + 101_000; t <= first + 120_000; t += 1000) w.append(t, KEYS, [t, value(t, 0), value(t, 1)]);
    // … then the network is gone for two hours; the agent kept sampling.
    a.newest = first + 120_000 + 2 * 3_600_000;
    const resumeAt = (await sync.resume('ep'))!;
    expect(resumeAt).toBe(a.newest);
    await sync.serial('ep', async () => {});
    // The stream resumes; the next row closes the writer's (now long past) window and later ones.
    for (let t = a.newest + 1000; t <= a.newest + W; t += 1000) w.append(t, KEYS, [t, value(t, 0), value(t, 1)]);
    await sync.flush('ep', w, true);
    const s = await readSeries(db, 'ep', 'raw', ['gpu0.temp'], 0, Infinity);
    const ts = Array.from(s.t);
    expect(ts.length).toBe((a.newest + W - T0) / 1000 + 1); // every second, once
    expect(ts.every((t, i) => !i || t - ts[i - 1]! === 1000)).toBe(true);
    // No two records of a series overlap.
    const spans = (await db.getAll(CHUNKS))
      .filter((r) => r.tier === 'raw' && r.key === 'gpu0.temp')
      .map((r) => [r.t0, r.t1])
      .sort((x, y) => x[0]! - y[0]!);
    spans.forEach(([t0], i) => {
      if (i) expect(t0).toBeGreaterThan(spans[i - 1]![1]!);
    });
    const fold = (await db.get('meta', foldKey('ep'))) as number;
    const m = await readSeries(db, 'ep', '1m', ['gpu0.temp'], 0, fold - 1);
    expect(m.t.length).toBe((fold - T0) / 60_000); // a bucket for every minute up to the watermark
  });
});
