/** shared/sse.ts caps: a line or a message that never ends is refused before it grows past the cap. */
import { describe, expect, test } from 'bun:test';
import { SseLimitError, SseParser } from '../../shared/sse.ts';
import { LiveConnection, type EndpointStatus } from '../../web/lib/live.ts';
import { minimalSchema } from '../fixtures/schema.ts';

describe('SseParser limits', () => {
  test('a line that never ends: refused at the chunk that would pass maxLine, before appending it', () => {
    const p = new SseParser({ maxLine: 64 * 1024 });
    p.push('data: ');
    let pushed = 6;
    const kib = 'x'.repeat(1024);
    let err: unknown = null;
    for (let i = 0; i < 1000 && !err; i++) {
      try {
        p.push(kib);
        pushed += 1024;
      } catch (e) {
        err = e;
      }
    }
    expect(err).toBeInstanceOf(SseLimitError);
    expect((err as Error).message).toBe('an SSE line longer than 64 KiB');
    expect(pushed).toBeLessThanOrEqual(64 * 1024); // what was accepted never passed the cap
  });
  test('one huge chunk holding a long line, ended or not, is refused too', () => {
    expect(() => new SseParser({ maxLine: 1000 }).push(`data: ${'x'.repeat(2000)}\n\n`)).toThrow(SseLimitError);
    expect(() => new SseParser({ maxLine: 1000 }).push(`: ok\n\ndata: ${'x'.repeat(2000)}`)).toThrow(SseLimitError);
    expect(() => new SseParser({ maxLine: 1000 }).push(`data: 1\n\ndata: ${'x'.repeat(2000)}\ndata: 2\n\n`)).toThrow(SseLimitError);
  });
  test('a message whose data lines never end in a blank line: refused past maxFrame', () => {
    const p = new SseParser({ maxLine: 1024, maxFrame: 10 * 1024 });
    expect(() => {
      for (let i = 0; i < 1000; i++) p.push(`data: ${'y'.repeat(100)}\n`);
    }).toThrow('an SSE frame longer than 10 KiB');
  });
  test('under the limits nothing changes: messages, CRLF, split chunks, defaults of 16 MiB', () => {
    const p = new SseParser({ maxLine: 100, maxFrame: 100 });
    expect([...p.push('event: a\r\ndata: 1\r\n'), ...p.push('data: 2\r\n\r'), ...p.push('\n')]).toEqual([{ event: 'a', data: '1\n2', id: null }]);
    const d = new SseParser();
    expect(d.maxLine).toBe(16 * 1024 * 1024);
    expect(d.push(`data: ${'z'.repeat(10 * 1024 * 1024)}\n\n`)[0]!.data.length).toBe(10 * 1024 * 1024);
  });
});

describe('LiveConnection with an endless SSE line', () => {
  test('drops the connection (the body is cancelled) and shows the endpoint as an error naming the limit', async () => {
    const enc = new TextEncoder();
    let sent = 0,
      cancelled = false;
    const schema = minimalSchema();
    const fetchImpl = (async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(enc.encode(`event: schema\ndata: ${JSON.stringify(schema)}\n\nid: 1\nevent: sample\ndata: [`));
          },
          // Bounded: at most 64 MiB, far past the 1 MiB cap under test.
          pull(c) {
            if (sent < 64 << 20) {
              c.enqueue(enc.encode('1,'.repeat(32 * 1024)));
              sent += 64 * 1024;
            }
          },
          cancel() {
            cancelled = true;
          },
        }),
      )) as unknown as typeof fetch;
    const statuses: EndpointStatus[] = [];
    const c = new LiveConnection(
      { url: 'http://agent', token: 't', resumeFrom: async () => 1, fetchImpl, sseLimits: { maxLine: 1 << 20 } },
      {
        status: (s) => statuses.push(s),
        schema() {},
        rows() {},
        snapshot() {},
        event() {},
      },
    );
    c.start();
    for (let i = 0; i < 100 && !statuses.some((s) => s.kind === 'error'); i++) await Bun.sleep(20);
    c.stop();
    const err = statuses.find((s) => s.kind === 'error') as { message: string };
    expect(err.message).toBe('agent sent an SSE line longer than 1 MiB');
    expect(cancelled).toBe(true);
    expect(sent).toBeLessThan(4 << 20);
  });
});
