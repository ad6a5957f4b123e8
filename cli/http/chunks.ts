/**
 * GET /v1/history/chunks: the stored chunks of one tier as they are on disk, frames laid end to
 * end (see shared/chunk/FORMAT.md), for a browser to keep without decoding. Streamed a window at a
 * time as the client reads.
 */
import type { Tier } from '../../shared/chunk/index.ts';
import { chunkFrames } from '../store/read.ts';
import type { Store } from '../store/store.ts';
import { badParam } from './errors.ts';
import { ByteWriter } from './byte-writer.ts';
import { pullStream } from './direct-stream.ts';
import { parseKeys, parseRange } from './history.ts';

export const CHUNKS_TYPE = 'application/vnd.gpulse.chunks';
const TIERS: Tier[] = ['raw', '1m', '1h'];

export function chunksResponse(store: Store, q: Record<string, string>, known: (k: string) => boolean, intervalMs: number): Response {
  const { since, until } = parseRange(q);
  const tier = (q.tier ?? 'raw') as Tier;
  if (!TIERS.includes(tier)) throw badParam('tier', 'must be raw, 1m or 1h');
  const keys = parseKeys(q, known);
  const body = pullStream(batched(chunkFrames(store, tier, keys, since ?? -Infinity, until ?? Infinity)));
  return new Response(body, {
    headers: { 'content-type': CHUNKS_TYPE, 'cache-control': 'no-store', 'x-gpulse-interval-ms': String(intervalMs), 'x-gpulse-tier': tier },
  });
}

/** Frames gathered into pieces of about 64 KiB (one write per piece, not per chunk). */
function* batched(frames: Generator<Uint8Array>): Generator<Uint8Array> {
  const w = new ByteWriter();
  for (const f of frames) {
    w.bytes(f);
    if (w.full) yield w.take();
  }
  if (w.pos) yield w.take();
}
