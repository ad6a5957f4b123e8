/** createApp(agent, opts): the Hono app. No listen() here, so tests can call app.request(). */
import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import type { Agent } from '../agent.ts';
import { bearerAuth } from './auth.ts';
import { ApiError, badParam } from './errors.ts';
import { chunksResponse } from './chunks.ts';
import { parseEventPatch, parseNewEvent } from './event-body.ts';
import { pullStream } from './direct-stream.ts';
import { historyStream, parseHistoryQuery, planHistory } from './history.ts';
import { bodyLimit } from './middleware/body-limit.ts';
import { jsonResponse, safePath } from './middleware/errors.ts';
import { defaultAllowedHosts, hostCheck } from './middleware/host-check.ts';
import { originAllowedWithoutToken, originCheck } from './middleware/origin-check.ts';
import { renderMetrics } from './metrics.ts';
import { MAX_PUSH_BYTES, userRoutes } from './user-routes.ts';
import { compatHistoryBytes, parseCompatHistoryQuery } from './nvitop/history.ts';
import { metricsJson } from './nvitop/metrics.ts';
import { staticWeb, type WebAssets } from './web.ts';

export interface AppOptions {
  /** null = --no-auth. */
  token: string | null;
  allowOrigins: string[];
  /** Host header names served (IP literals always are); default: loopback names only. */
  allowedHosts?: string[];
  /** Served over TLS: what the agent's own origin looks like (https://…). */
  tls?: boolean;
  metricsPublic?: boolean;
  web?: WebAssets | null;
  clientAddress?: (req: Request) => string;
  /** Bun's server, for per-request idle timeouts on streams. */
  server?: () => { timeout(req: Request, seconds: number): void } | null;
}

const json = jsonResponse;

export function createApp(agent: Agent, opts: AppOptions) {
  const app = new Hono();
  // One decision for both the cors middleware and error responses (which skip its after-hook).
  // Without a token, `*` would hand the API to every web page: only origins the origin check let through are named.
  const noAuth = opts.token === null;
  const originOpts = { allowOrigins: opts.allowOrigins, tls: !!opts.tls };
  const allowedOrigin = (origin: string, c: Context): string | null =>
    noAuth
      ? originAllowedWithoutToken(origin, c, originOpts)
        ? origin
        : null
      : opts.allowOrigins.length === 0
        ? '*'
        : opts.allowOrigins.includes(origin)
          ? origin
          : null;

  app.onError((err, c) => {
    if (err instanceof ApiError)
      return json({ error: err.message, ...(err.param ? { param: err.param } : {}) }, err.status, {
        ...err.headers,
        ...(isRefusal(err) ? {} : corsHeaders(c)),
      });
    console.error(`gpulse: ${c.req.method} ${safePath(c.req.raw)}: ${(err as Error).message}`);
    return json({ error: 'internal error' }, 500);
  });
  app.notFound((c) => json({ error: `no route ${c.req.method} ${safePath(c.req.raw)}` }, 404));

  function corsHeaders(c: Context): Record<string, string> {
    const origin = c.req.header('origin');
    const allowed = origin ? allowedOrigin(origin, c) : null;
    return !allowed ? {} : allowed === '*' ? { 'Access-Control-Allow-Origin': '*' } : { 'Access-Control-Allow-Origin': allowed, Vary: 'Origin' };
  }

  // Host first (DNS rebinding), then, without a token, Origin; both before CORS answers a preflight.
  app.use('*', hostCheck({ allowed: opts.allowedHosts ?? defaultAllowedHosts('127.0.0.1', []) }));
  if (noAuth) app.use('*', originCheck(originOpts));
  // CORS next so preflights are answered before auth; never with credentials (bearer only).
  app.use('*', async (c, next) => {
    await next();
    if (c.req.method === 'OPTIONS' && c.req.header('access-control-request-private-network') === 'true') {
      c.res.headers.set('Access-Control-Allow-Private-Network', 'true');
    }
  });
  app.use(
    '*',
    cors({
      origin: !noAuth && opts.allowOrigins.length === 0 ? '*' : (origin, c) => allowedOrigin(origin, c),
      allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      allowHeaders: ['Authorization', 'Last-Event-ID', 'Content-Type'],
      exposeHeaders: ['Retry-After'],
      maxAge: 7200,
    }),
  );

  app.get('/healthz', (c) => json({ status: agent.sampler.status() }));

  const auth = opts.token === null ? null : bearerAuth({ token: opts.token, clientAddress: opts.clientAddress ?? (() => 'local') });
  const guard = (path: string) => {
    if (auth) app.use(path, auth);
  };
  guard('/v1/*');
  if (!opts.metricsPublic) guard('/metrics');
  // nvitop monitor-web's JSON endpoints carry the same data as /v1: always behind the token.
  guard('/metrics.json');
  guard('/history.json');
  // Only event writes and pushes take a body. Bounded before it is buffered, and after auth so an anonymous body is never read.
  app.use('/v1/events/*', bodyLimit({ maxBytes: MAX_BODY_BYTES }));
  app.use('/v1/push', bodyLimit({ maxBytes: MAX_PUSH_BYTES }));

  app.get('/v1/info', () => json(agent.info()));
  app.get('/v1/snapshot', () => json(agent.snapshot()));

  // Any key history holds, including series that have left the live catalog (a process that ended).
  const known = (k: string) => agent.knows(k);
  app.get('/v1/history', (c) => {
    const q = parseHistoryQuery(c.req.query(), known);
    const plan = planHistory(agent.store, q, agent.opts.intervalMs);
    return new Response(historyStream(agent.store, plan, q.agg === 'minmax'), {
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-gpulse-tier': plan.tier },
    });
  });
  app.get('/v1/history/chunks', (c) => chunksResponse(agent.store, c.req.query(), known, agent.opts.intervalMs));

  app.get('/v1/stream', (c) => {
    const raw = c.req.query('since') ?? c.req.header('last-event-id');
    let since: number | null = null;
    if (raw !== undefined && raw !== '') {
      since = Number(raw);
      if (!Number.isFinite(since)) throw badParam(c.req.query('since') !== undefined ? 'since' : 'Last-Event-ID', 'must be a millisecond timestamp');
    }
    // Bun closes connections quiet for 10 s; heartbeats are 15 s apart, so lift the limit for streams.
    opts.server?.()?.timeout(c.req.raw, 0);
    const body = agent.openStream(since);
    return new Response(body, {
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' },
    });
  });

  app.get('/v1/events', (c) => {
    const s = c.req.query('since');
    let since = -Infinity;
    if (s !== undefined) {
      if (!/^-?\d+(\.\d+)?$/.test(s)) throw badParam('since', 'must be a millisecond timestamp');
      since = Number(s);
    }
    return json({ events: agent.events.since(since) });
  });
  app.post('/v1/events', async (c) => {
    const ev = agent.events.add({ ...parseNewEvent(await c.req.text()), source: 'user' });
    // Never a 201 for an event that is not kept: the budget is full of annotations newer than this one.
    if (!ev) throw new ApiError(409, `annotation not kept: ${agent.events.budgets.user} newer annotations are stored; delete some first`, 't');
    return json(ev, 201);
  });
  // PUT and PATCH both change only the fields given (see event-body.ts).
  app.on(['PUT', 'PATCH'], '/v1/events/:id', async (c) => {
    const r = agent.events.update(c.req.param('id'), parseEventPatch(await c.req.text()));
    if (r === 'not_found') throw new ApiError(404, 'no such event', 'id');
    if (r === 'read_only') throw new ApiError(403, 'agent events cannot be edited', 'id');
    if (r === 'end_before_start') throw badParam('end_t', 'must not be before t');
    return json(r);
  });
  app.delete('/v1/events/:id', (c) => {
    const r = agent.events.remove(c.req.param('id'));
    if (r === 'not_found') throw new ApiError(404, 'no such event', 'id');
    if (r === 'read_only') throw new ApiError(403, 'agent events cannot be deleted', 'id');
    return json({ deleted: r.id });
  });

  userRoutes(app, agent);

  app.get('/metrics', () => new Response(renderMetrics(agent), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } }));
  app.get('/metrics.json', () => json(metricsJson(agent)));
  app.get('/history.json', (c) => {
    const q = parseCompatHistoryQuery(c.req.query());
    return new Response(pullStream(compatHistoryBytes(agent, q)), {
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    });
  });

  if (opts.web) staticWeb(app, opts.web);
  return app;
}

/** A refused Host or Origin gets no CORS headers: the page that sent it must not read the answer. */
const isRefusal = (err: ApiError) => err.param === 'host' || err.param === 'origin';

/** Event bodies are a label (≤ 500 characters) and a few numbers: 16 KiB is generous. */
export const MAX_BODY_BYTES = 16_384;
