/**
 * Without a token (--no-auth), the browser's Origin is the only thing between the agent and every
 * web page the user visits: a page may read a cross-origin response when CORS allows it, and with
 * `Access-Control-Allow-Origin: *` plus Private Network Access every page could. So under --no-auth
 * only these origins may use the API: the agent's own (the PWA it serves), loopback origins (a PWA
 * served from http://localhost) and the --allow-origin list. Anything else is a 403 naming the
 * origin, before CORS headers or routes. A request without Origin (curl, Prometheus, the CLI, a
 * same-origin GET) passes: a browser sends Origin on every cross-origin request it lets a page read.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.ts';

export interface OriginCheckOptions {
  allowOrigins: readonly string[];
  tls: boolean;
}

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

export function isLoopbackOrigin(origin: string): boolean {
  try {
    const u = new URL(origin);
    return (u.protocol === 'http:' || u.protocol === 'https:') && LOOPBACK_HOST.test(u.hostname);
  } catch {
    return false;
  }
}

/** Same scheme, host and port as the request itself (the Host header has already been checked). */
export function isSameOrigin(origin: string, c: Context, tls: boolean): boolean {
  const host = c.req.header('host');
  return !!host && origin.toLowerCase() === `${tls ? 'https' : 'http'}://${host.toLowerCase()}`;
}

/** Decides one origin: returned to the CORS middleware so headers and refusals agree. */
export function originAllowedWithoutToken(origin: string, c: Context, opts: OriginCheckOptions): boolean {
  return opts.allowOrigins.includes(origin) || isSameOrigin(origin, c, opts.tls) || isLoopbackOrigin(origin);
}

export function originCheck(opts: OriginCheckOptions): MiddlewareHandler {
  return async function originCheck(c, next) {
    const origin = c.req.header('origin');
    if (origin !== undefined && !originAllowedWithoutToken(origin, c, opts)) {
      throw new ApiError(
        403,
        `origin ${JSON.stringify(origin.slice(0, 200))} may not use an agent running with --no-auth (allowed: its own origin, loopback, --allow-origin)`,
        'origin',
      );
    }
    return next();
  };
}
