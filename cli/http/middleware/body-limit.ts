/**
 * Request bodies are bounded before they are buffered: a Content-Length over the limit is refused
 * without reading a byte, and a chunked body is counted as it streams in and cut off at the limit
 * (413 naming it). The whole body must also arrive within `timeoutMs` (408), so a client dripping
 * one byte at a time cannot hold a request open for hours. Mount it after auth, so an
 * unauthenticated request is refused before its body is read at all.
 *
 * Like hono's bodyLimit, the handler then finds the checked bytes in c.req.raw as usual.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.ts';

export interface BodyLimitOptions {
  maxBytes: number;
  timeoutMs?: number;
}

const describeLimit = (n: number) =>
  n % (1 << 20) === 0 ? `${n / (1 << 20)} MiB (${n} bytes)` : n % 1024 === 0 ? `${n / 1024} KiB (${n} bytes)` : `${n} bytes`;

export function bodyLimit(opts: BodyLimitOptions): MiddlewareHandler {
  const { maxBytes } = opts;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  // No `Connection: close`: closing on a client still uploading resets the connection, and the
  // client may lose this answer with it. Bun reads and discards the rest of the body instead.
  const tooLarge = () => new ApiError(413, `body: larger than the ${describeLimit(maxBytes)} limit`, 'body');
  return async function bodyLimit(c, next) {
    const req = c.req.raw;
    if (!req.body) return next();
    const cl = req.headers.get('content-length');
    if (cl !== null && !req.headers.has('transfer-encoding')) {
      if (!/^\d+$/.test(cl)) throw new ApiError(400, 'Content-Length: not a byte count', 'content-length');
      if (Number(cl) > maxBytes) throw tooLarge();
    }
    const reader = req.body.getReader();
    const parts: Uint8Array[] = [];
    let size = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      for (;;) {
        const r = await Promise.race([reader.read(), deadline]);
        if (r === 'timeout') throw new ApiError(408, `body: not received within ${timeoutMs / 1000} s`, 'body');
        if (r.done) break;
        size += r.value.byteLength;
        if (size > maxBytes) throw tooLarge();
        parts.push(r.value);
      }
    } catch (e) {
      reader.cancel().catch(() => {});
      if (e instanceof ApiError) throw e;
      throw new ApiError(400, 'body: the connection failed while it was being sent', 'body');
    } finally {
      clearTimeout(timer);
    }
    const body = new Uint8Array(size);
    let o = 0;
    for (const p of parts) {
      body.set(p, o);
      o += p.byteLength;
    }
    c.req.raw = new Request(req, { body });
    return next();
  };
}
