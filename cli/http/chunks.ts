/**
 * GET /v1/history/chunks: the stored chunks of one tier as they are on disk, frames laid end to
 * end (see shared/chunk/FORMAT.md), for a browser to keep without decoding. Streamed a window at a
 * time as the client reads.
 */
import type { Tier } from '../../shared/chunk/index.ts';
import { chunkFrames } from '../store/read.ts';
import type { Store } from '../store/store.ts';
import { badParam } from './errors.ts';
import { parseKeys, parseRange } from './history.ts';

export const CHUNKS_TYPE = 'application/vnd.gpulse.chunks';
const TIERS: Tier[] = ['raw', '1m', '1h'];

export function chunksResponse(store: Store, q: Record<string, string>, known: (k: string) => boolean, intervalMs: number): Response {
  const { since, until } = parseRange(q);
  const tier = (q.tier ?? 'raw') as Tier;
  if (!TIERS.includes(tier)) throw badParam('tier', 'must be raw, 1m or 1h');
  const keys = parseKeys(q, known);
  const it = chunkFrames(store, tier, keys, since ?? -Infinity, until ?? Infinity);
  const body = new ReadableStream<Uint8Array>({
    pull(ctl) {
      // About 64 KiB per pull: one window of a few hundred series.
      let n = 0;
      while (n < 64 * 1024) {
        const r = it.next();
        if (r.done) { ctl.close(); return; }
        ctl.enqueue(r.value); n += r.value.byteLength;
      }
    },
    cancel() { it.return(undefined); },
  }, { highWaterMark: 0 });
  return new Response(body, { headers: { 'content-type': CHUNKS_TYPE, 'cache-control': 'no-store', 'x-gpulse-interval-ms': String(intervalMs), 'x-gpulse-tier': tier } });
}
