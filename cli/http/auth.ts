/**
 * Bearer auth with a constant-time compare and a per-client failure limiter: after `maxFailures`
 * bad attempts inside `windowMs`, that address's bad attempts get 429 with Retry-After until the
 * window ends. The right token is checked first and always passes: the limiter is keyed by address,
 * and anyone sharing the address (a NAT, a proxy, another user on the box) could otherwise lock the
 * real clients out. Guessing stays hopeless with a 256-bit token; the limiter keeps noise down and
 * tells a misconfigured client to back off.
 * The token is never echoed, logged or put in an error body.
 */
import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors.ts';

export interface AuthOptions {
  token: string;
  clientAddress: (req: Request) => string;
  maxFailures?: number;
  windowMs?: number;
}

export function bearerAuth(opts: AuthOptions): MiddlewareHandler {
  const want = Buffer.from(opts.token);
  const maxFailures = opts.maxFailures ?? 20;
  const windowMs = opts.windowMs ?? 60_000;
  const failures = new Map<string, { n: number; reset: number }>();

  return async function bearerAuth(c, next) {
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m && safeEqual(Buffer.from(m[1]!), want)) return next();
    const addr = opts.clientAddress(c.req.raw);
    const now = Date.now();
    const f = failures.get(addr);
    if (f && f.reset <= now) failures.delete(addr);
    else if (f && f.n >= maxFailures) {
      throw new ApiError(429, 'too many failed authentication attempts', undefined, { 'Retry-After': String(Math.ceil((f.reset - now) / 1000)) });
    }
    const entry = failures.get(addr) ?? { n: 0, reset: now + windowMs };
    entry.n++;
    failures.set(addr, entry);
    // Bound the table: an attacker rotating addresses must not grow it forever.
    if (failures.size > 10_000) failures.delete(failures.keys().next().value!);
    throw new ApiError(401, m ? 'invalid token' : 'missing bearer token', undefined, {
      'WWW-Authenticate': m ? 'Bearer realm="gpulse", error="invalid_token"' : 'Bearer realm="gpulse"',
    });
  };
}

/** Constant-time for equal lengths; a length mismatch compares against itself so timing does not reveal the length either. */
function safeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(b, b);
    return false;
  }
  return timingSafeEqual(a, b);
}
