/**
 * Last-resort error answers. Every failure, wherever it happens, is a small JSON body with no
 * stack, no source path and no echo of the request: the same shape as ApiError's {"error"}.
 *
 * Two layers need this: Hono's onError (a handler threw) and Bun.serve's `error` option (something
 * threw outside Hono, including inside onError itself). Bun's `development` mode, on by default
 * unless NODE_ENV=production, otherwise answers with a 51 KB HTML page that quotes our source.
 */
import { strictJson } from '../../../shared/json.ts';

export const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(strictJson(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

/** The path of a request for logs and 404 messages, without throwing on a relative URL (HTTP/1.0 without Host). */
export function safePath(req: Request): string {
  const u = req.url;
  const start = u.startsWith('/') ? 0 : u.indexOf('/', u.indexOf('://') + 3);
  if (start < 0) return '/';
  const end = u.search(/[?#]/);
  // Control characters and overlong paths are cut so a log line stays one short line.
  return u
    .slice(start, end > start ? end : undefined)
    .replace(/[\x00-\x1f\x7f]/g, '?')
    .slice(0, 200);
}

/** For Bun.serve({ error }): never rethrows, never shows the error to the client. */
export function serverErrorResponse(err: unknown): Response {
  try {
    console.error(`gpulse: unhandled error: ${(err as Error)?.message ?? String(err)}`);
  } catch {
    /* logging must not fail the answer */
  }
  return jsonResponse({ error: 'internal error' }, 500);
}

/**
 * Options every Bun.serve of the agent gets: production error pages and our JSON fallback.
 * Spread into Bun.serve({ ...SERVER_HARDENING, fetch, ... }).
 */
export const SERVER_HARDENING = { development: false, error: serverErrorResponse } as const;
