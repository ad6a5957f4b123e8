/** Authenticated calls from the PWA to an agent's API (the stream has its own client in live.ts). */
import type { Endpoint } from './db.ts';

export function agentFetch(ep: Pick<Endpoint, 'url' | 'token'>, path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  return fetch(`${ep.url}${path}`, {
    method: init.method ?? 'GET',
    cache: 'no-store',
    headers: { authorization: `Bearer ${ep.token}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}
