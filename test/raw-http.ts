/** Raw HTTP/1.x over a TCP socket, for requests fetch() will not send (no Host, HTTP/1.0, smuggling pairs, slow bodies). */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  raw: string;
  responses: number;
}

/** Parses what came back: the first status line, its headers and body, and how many responses the bytes hold. */
export function parseRaw(raw: string): RawResponse {
  const m = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(raw);
  const headEnd = raw.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of raw
    .slice(0, headEnd < 0 ? raw.length : headEnd)
    .split('\r\n')
    .slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const len = Number(headers['content-length'] ?? NaN);
  const rest = headEnd < 0 ? '' : raw.slice(headEnd + 4);
  return {
    status: m ? Number(m[1]) : 0,
    headers,
    body: Number.isFinite(len) ? rest.slice(0, len) : rest,
    raw,
    responses: (raw.match(/^HTTP\/1\.[01] \d{3}/gm) ?? []).length,
  };
}

/**
 * Sends `parts` in order (strings or byte counts of filler, with optional pauses between them) and
 * collects what comes back until the first response is complete (or, with `all`, until the server
 * closes), or `timeoutMs` passes. Bounded in time and bytes.
 */
export function rawRequest(port: number, parts: (string | { filler: number } | { pauseMs: number })[], timeoutMs = 3000, all = false): Promise<RawResponse> {
  return new Promise((resolve) => {
    const sock: Socket = connect(port, '127.0.0.1');
    let out = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(parseRaw(out));
    };
    const timer = setTimeout(finish, timeoutMs);
    sock.on('data', (d) => {
      if (out.length < 1 << 20) out += d.toString('latin1');
      if (all) return;
      const r = parseRaw(out);
      const len = Number(r.headers['content-length'] ?? NaN);
      if (out.includes('\r\n\r\n') && Number.isFinite(len) && Buffer.byteLength(r.body, 'latin1') >= len) finish();
    });
    sock.on('close', finish);
    sock.on('error', () => finish());
    sock.on('connect', async () => {
      for (const p of parts) {
        if (done || sock.destroyed) return;
        if (typeof p === 'string') sock.write(p);
        else if ('pauseMs' in p) await Bun.sleep(p.pauseMs);
        else {
          const chunk = Buffer.alloc(64 * 1024, 0x78);
          for (let left = p.filler; left > 0 && !done && !sock.destroyed; left -= chunk.length) {
            if (!sock.write(left >= chunk.length ? chunk : chunk.subarray(0, left))) {
              await new Promise<void>((r) => {
                const go = () => {
                  sock.off('drain', go);
                  sock.off('close', go);
                  r();
                };
                sock.on('drain', go);
                sock.on('close', go);
              });
            }
          }
        }
      }
    });
  });
}
