/** The address of a Prometheus source's host page: #/p/:endpointId/:instance?range=&from=&to=&q= */
import type { RangeView } from '../ui/use-series.ts';
import { rangeViewOf } from './ranges.ts';

export interface PromRoute {
  id: string;
  instance: string;
  view: RangeView;
  /** the user's own PromQL chart, if any */
  q: string;
}

/** `#/p/:id/:instance` (instance URI-encoded: it holds a colon and maybe slashes); null for any other path. */
export function parsePromRoute(path: string, q: URLSearchParams): PromRoute | null {
  const m = /^\/p\/([\w-]+)\/([^/]+)$/.exec(path);
  if (!m) return null;
  let instance: string;
  try {
    instance = decodeURIComponent(m[2]!);
  } catch {
    return null;
  }
  return { id: m[1]!, instance, view: rangeViewOf(q, '1h'), q: q.get('q') ?? '' };
}

export function promHostHash(id: string, instance: string, view: RangeView = { range: '1h' }, q = ''): string {
  const p = new URLSearchParams({ range: view.range });
  if (view.from !== undefined && view.to !== undefined) {
    p.set('from', String(Math.round(view.from)));
    p.set('to', String(Math.round(view.to)));
  }
  if (q) p.set('q', q);
  return `#/p/${id}/${encodeURIComponent(instance)}?${p}`;
}
