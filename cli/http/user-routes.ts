/**
 * POST /v1/push (your own metrics) and GET /v1/accounting (GPU use by user, container, job,
 * command): thin HTTP layers over cli/user and cli/accounting.
 */
import type { Hono } from 'hono';
import { strictJson } from '../../shared/json.ts';
import { ACCOUNTING_BY, type AccountingBy } from '../../shared/wire.ts';
import { accountingTimeline, computeAccounting, type AccountingQuery } from '../accounting/compute.ts';
import type { Agent } from '../agent.ts';
import { ApiError, badParam } from './errors.ts';
import { num, parseRange } from './history.ts';

/** Largest push body: a push is a handful of lines per step, and this bounds what one request can make the agent parse. */
export const MAX_PUSH_BYTES = 1 << 20;

const json = (body: unknown, status = 200) =>
  new Response(strictJson(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } });

/** A push body is text; bytes that are not UTF-8 are refused rather than replaced. */
async function utf8Body(req: Request): Promise<string> {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(await req.arrayBuffer());
  } catch {
    throw badParam('body', 'not UTF-8 text');
  }
}

export function userRoutes(app: Hono, agent: Agent) {
  app.post('/v1/push', async (c) => {
    // Size and deadline were checked by the bodyLimit app.ts mounts on this path (MAX_PUSH_BYTES).
    const text = await utf8Body(c.req.raw);
    const r = agent.user.push(text, c.req.header('content-type') ?? null, Date.now());
    if (r.kind === 'bad') throw badParam('body', r.message);
    if (r.kind === 'cap') throw new ApiError(429, `max_series: ${r.message}`, 'max_series');
    return json(r.result);
  });

  /** since/until/by as both accounting routes read them; the tier from how far back `since` is. */
  const accountingQuery = (q: Record<string, string>): AccountingQuery => {
    const { since, until } = parseRange(q);
    const by = (q.by ?? 'user') as AccountingBy;
    if (!ACCOUNTING_BY.includes(by)) throw badParam('by', `must be one of ${ACCOUNTING_BY.join(', ')}`);
    const now = Date.now();
    const s = since ?? agent.store.span('1h').oldest ?? agent.store.span('1m').oldest ?? now;
    // The 1-minute tier while it covers `since`; the 1-hour tier past its retention.
    const tier = s >= now - agent.store.opts.retentionMs['1m'] ? '1m' : '1h';
    return { since: s, until: until ?? now, by, tier, intervalMs: agent.opts.intervalMs, gpus: agent.gpu.devices.map((d) => d.index) };
  };
  const records = (q: AccountingQuery) => agent.processIndex.overlapping(q.since - 120_000, q.until);

  app.get('/v1/accounting', (c) => {
    const q = accountingQuery(c.req.query());
    return json(computeAccounting(agent.store, records(q), q));
  });

  app.get('/v1/accounting/timeline', (c) => {
    const raw = c.req.query();
    const q = accountingQuery(raw);
    const metric = raw.metric ?? 'mem';
    if (metric !== 'mem' && metric !== 'sm') throw badParam('metric', 'must be mem or sm');
    const maxPoints = num(raw, 'max_points', true, true) ?? 360;
    if (maxPoints > 10_000) throw badParam('max_points', 'must be at most 10000');
    // An hour or less reads raw samples (minute buckets would be a handful of points), while the raw tier holds `since`.
    const short = q.until - q.since <= 3_600_000 && q.since >= Date.now() - agent.store.opts.retentionMs.raw;
    return json(accountingTimeline(agent.store, records(q), { ...q, tier: short ? 'raw' : q.tier, metric, maxPoints }));
  });
}
