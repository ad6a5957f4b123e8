import { describe, expect, test } from 'bun:test';
import { connect, type Socket } from 'node:net';
import { Hub } from '../../cli/http/hub.ts';
import { SERVER_HARDENING } from '../../cli/http/middleware/errors.ts';

describe('Hub (stream fan-out)', () => {
  test('a client that stops reading is dropped once its queue passes the bound; others keep getting frames', async () => {
    const hub = new Hub({ maxQueuedBytes: 1024 * 1024, heartbeatMs: 60_000 });
    const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response(hub.open([new TextEncoder().encode(': hello\n\n')])) });
    try {
      // Client 1 reads everything; client 2 sends its request and never reads.
      const reader = (await fetch(`http://127.0.0.1:${server.port}/`)).body!.getReader();
      let got = 0;
      const reading = (async () => {
        for (;;) {
          const r = await reader.read();
          if (r.done) break;
          got += r.value.byteLength;
        }
      })();
      const sock = await Bun.connect({ hostname: '127.0.0.1', port: server.port!, socket: { data() {} } });
      sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      sock.pause?.();
      await Bun.sleep(100);
      expect(hub.size).toBe(2);
      const big = 'x'.repeat(32 * 1024);
      const rss0 = process.memoryUsage().rss;
      // Bounded: at most 40 MiB offered (kernel socket buffers absorb a few MiB first).
      for (let i = 0; i < 1280 && hub.size > 1; i++) {
        hub.publish('big', big);
        await Bun.sleep(5);
      }
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
    } finally {
      hub.close();
      server.stop(true);
    }
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

  test('a client that stops reading is dropped once its socket has not drained for stallMs, long before the byte cap', async () => {
    // A byte cap far above what the test offers: only the stall rule can drop the client.
    const hub = new Hub({ maxQueuedBytes: 512 * 1024 * 1024, heartbeatMs: 60_000, stallMs: 1000 });
    const server = Bun.serve({ ...SERVER_HARDENING, hostname: '127.0.0.1', port: 0, fetch: () => new Response(hub.open([])) });
    const socks: Socket[] = [];
    const rawClient = async () => {
      const s = connect(server.port!, '127.0.0.1');
      socks.push(s);
      await new Promise((r) => s.once('connect', r));
      s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      return s;
    };
    try {
      // The stuck client: reads nothing at all, so the kernel's buffers fill and then the queue.
      const stuck = await rawClient();
      stuck.pause();
      // A slow but moving client: reads a little every 100 ms.
      const slow = await rawClient();
      let slowGot = 0;
      slow.on('data', (d) => {
        slowGot += d.length;
        slow.pause();
        setTimeout(() => slow.resume(), 100);
      });
      await Bun.sleep(100);
      expect(hub.size).toBe(2);
      const frame = 'x'.repeat(64 * 1024);
      const t0 = Date.now();
      let offered = 0;
      // Bounded: at most 6 s and 128 MiB offered.
      while (hub.size > 1 && Date.now() - t0 < 6000 && offered < 128 * 1024 * 1024) {
        hub.publish('big', frame);
        offered += frame.length;
        await Bun.sleep(5);
      }
      expect(hub.size).toBe(1);
      expect(hub.dropped).toBe(1);
      expect(offered).toBeLessThan(64 * 1024 * 1024); // dropped on time, not on the 512 MiB cap
      expect(
        stuck.destroyed ||
          (await new Promise((r) => {
            stuck.once('close', () => r(true));
            stuck.resume();
            setTimeout(() => r(false), 2000);
          })),
      ).toBe(true);
      // The slow reader kept its stream and is still getting frames.
      const before = slowGot;
      for (let i = 0; i < 20; i++) {
        hub.publish('small', 'still here');
        await Bun.sleep(20);
      }
      expect(hub.size).toBe(1);
      expect(slowGot).toBeGreaterThan(before);
    } finally {
      for (const s of socks) s.destroy();
      hub.close();
      server.stop(true);
    }
  }, 30_000);
});
