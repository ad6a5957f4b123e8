import { describe, expect, test } from 'bun:test';
import { Hub } from '../../cli/http/hub.ts';

describe('Hub (stream fan-out)', () => {
  test('a client that stops reading is dropped once its queue passes the bound; others keep getting frames', async () => {
    const hub = new Hub({ maxQueuedBytes: 1024 * 1024, heartbeatMs: 60_000 });
    const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response(hub.open([new TextEncoder().encode(': hello\n\n')])) });
    try {
      // Client 1 reads everything; client 2 sends its request and never reads.
      const reader = (await fetch(`http://127.0.0.1:${server.port}/`)).body!.getReader();
      let got = 0;
      const reading = (async () => { for (;;) { const r = await reader.read(); if (r.done) break; got += r.value.byteLength; } })();
      const sock = await Bun.connect({ hostname: '127.0.0.1', port: server.port!, socket: { data() {} } });
      sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      sock.pause?.();
      await Bun.sleep(100);
      expect(hub.size).toBe(2);
      const big = 'x'.repeat(32 * 1024);
      const rss0 = process.memoryUsage().rss;
      // Bounded: at most 40 MiB offered (kernel socket buffers absorb a few MiB first).
      for (let i = 0; i < 1280 && hub.size > 1; i++) { hub.publish('big', big); await Bun.sleep(5); }
      expect(hub.size).toBe(1);
      expect(hub.dropped).toBe(1);
      expect(process.memoryUsage().rss - rss0).toBeLessThan(64 * 1024 * 1024);
      const before = got;
      hub.publish('small', 'still here');
      await Bun.sleep(100);
      expect(got).toBeGreaterThan(before);
      sock.end();
      await reader.cancel();
      await reading.catch(() => {});
    } finally { hub.close(); server.stop(true); }
  }, 30_000);

  test('one serialization per frame: every client gets the same bytes', async () => {
    const hub = new Hub({ heartbeatMs: 60_000 });
    const streams = [hub.open([]), hub.open([])];
    hub.publishSample(1000, new Float64Array([1.5, NaN, 3]));
    const frames = await Promise.all(streams.map(async (s) => new TextDecoder().decode((await s.getReader().read()).value)));
    expect(frames[0]).toBe('id: 1000\nevent: sample\ndata: [1000,1.5,null,3]\n\n');
    expect(frames[1]).toBe(frames[0]);
    hub.close();
  });
});
