/**
 * Backfill from the agent's chunk store (GET /v1/history/chunks): the response is frames laid end
 * to end, stored as they arrive (no decode, no re-encode) after each frame's header and CRC check
 * (readHeader). A bad frame is skipped and reported, never stored; a frame whose length field is
 * intact is skipped over, anything else ends the response (nothing after it can be framed).
 *
 * Where a received chunk overlaps what this browser already holds (the window it was in when it
 * lost the stream), the received chunk replaces the local records it covers: the agent holds every
 * row of its span.
 */
import { readHeader, type ChunkHeader, type Tier } from '../../shared/chunk/index.ts';
import type { TierInfo } from '../../shared/wire.ts';
import { unwrap, type IDBPObjectStore } from 'idb';
import { CHUNKS, keyRange, type ChunkRecord, type DB, type GpulseDB } from './db.ts';
import { HttpError } from './live.ts';
import { toRecord } from './records.ts';

export const CHUNKS_TYPE = 'application/vnd.gpulse.chunks';
export type { TierInfo };

/**
 * Frames per transaction, and bytes. Chromium's cost is per record (~0.1–0.2 ms each, mostly IPC),
 * not per transaction, so batches stay small enough that a chart's read queued behind one waits
 * ~0.1 s, not the whole backfill.
 */
const BATCH_RECORDS = 500;
const BATCH_BYTES = 1 << 20;

export interface Framed {
  records: ChunkRecord[];
  bad: string[];
  bytes: number;
}

/** Splits a response body into records of endpoint `ep`, validating every frame (header, CRC). */
export function frameRecords(ep: string, buf: Uint8Array, tier?: Tier): Framed {
  const out: Framed = { records: [], bad: [], bytes: buf.length };
  let off = 0;
  while (off < buf.length) {
    const h = readHeader(buf, off);
    if (!h.ok) {
      out.bad.push(`${h.error.kind} at byte ${off}: ${h.error.message}`);
      // A checksum failure leaves the length field readable: skip that frame and go on.
      const size = h.error.kind === 'checksum' ? new DataView(buf.buffer, buf.byteOffset + off + 3, 4).getUint32(0, true) : 0;
      if (!size) break;
      off += size;
      continue;
    }
    const hd: ChunkHeader = h.value;
    if (tier && hd.tier !== tier) out.bad.push(`${hd.key}: a ${hd.tier} chunk in a ${tier} response`);
    else if (hd.n > 0) out.records.push(toRecord(ep, hd, buf.slice(off, off + hd.size).buffer));
    off += hd.size;
  }
  return out;
}

export interface StoreResult {
  stored: number;
  replaced: number;
}

/**
 * Writes records in batched transactions. `localEnd` per tier is the newest t1 this browser held
 * before: only records starting at or before it can overlap local data and need the covering check.
 */
export async function storeRecords(db: DB, recs: ChunkRecord[], localEnd: Partial<Record<Tier, number | null>>): Promise<StoreResult> {
  const res: StoreResult = { stored: 0, replaced: 0 };
  for (let i = 0; i < recs.length;) {
    let j = i,
      bytes = 0;
    while (j < recs.length && j - i < BATCH_RECORDS && bytes < BATCH_BYTES) bytes += recs[j++]!.bytes.byteLength;
    const tx = db.transaction(CHUNKS, 'readwrite', { durability: 'relaxed' });
    const native = unwrap(tx.store); // no promise per put: a failed one fails the transaction
    const ops: Promise<unknown>[] = [];
    for (let k = i; k < j; k++) {
      const r = recs[k]!;
      const end = localEnd[r.tier];
      if (end != null && r.t0 <= end) ops.push(replaceCovered(tx.store, r, res));
      else {
        native.put(r);
        res.stored++;
      }
    }
    await Promise.all([...ops, tx.done]);
    i = j;
  }
  return res;
}

/** Deletes the local records of r's series that lie inside r's span, then stores r (unless a local record at r's start holds more). */
async function replaceCovered(store: IDBPObjectStore<GpulseDB, ['chunks3'], 'chunks3', 'readwrite'>, r: ChunkRecord, res: StoreResult) {
  let keep = true;
  for (let c = await store.openCursor(keyRange(r.ep, r.tier, r.key, r.t0, r.t1)); c; c = await c.continue()) {
    const v = c.value as ChunkRecord;
    if (v.t1 <= r.t1) {
      void c.delete();
      res.replaced++;
    } else if (v.t0 === r.t0) keep = false;
  }
  if (keep) {
    await store.put(r);
    res.stored++;
  }
}

export interface BackfillPlan {
  tier: Tier;
  since: number;
  until: number;
}

/**
 * A backfill in two steps: the most recent raw hour first (what a view opens on: the chart can be
 * drawn and the stream started after it), then the rollups and the older raw, in the background.
 * The split is at a raw window boundary, so no window is fetched twice. `localEnd` is what this
 * browser held before (per tier): only frames starting at or before it can overlap local records.
 */
export interface BackfillJob {
  recent: BackfillPlan | null;
  later: BackfillPlan[];
  localEnd: Record<Tier, number | null>;
}

export const RECENT_MS = 3_600_000;

export function splitRecent(plans: BackfillPlan[], rawWindow: number, localEnd: Record<Tier, number | null>): BackfillJob {
  const raw = plans.find((p) => p.tier === 'raw');
  const rollups = plans.filter((p) => p.tier !== 'raw');
  if (!raw) return { recent: null, later: rollups, localEnd };
  const cut = Math.floor((raw.until - RECENT_MS) / rawWindow) * rawWindow;
  if (raw.since >= cut) return { recent: raw, later: rollups, localEnd };
  return { recent: { tier: 'raw', since: cut, until: raw.until }, later: [...rollups, { tier: 'raw', since: raw.since, until: cut - 1 }], localEnd };
}

/** Fetches one tier's chunks over [since, until]. */
export async function fetchChunks(url: string, token: string, p: BackfillPlan, fetchImpl: typeof fetch = fetch): Promise<Uint8Array> {
  const res = await fetchImpl(`${url}/v1/history/chunks?tier=${p.tier}&since=${Math.floor(p.since)}&until=${Math.ceil(p.until)}`, {
    headers: { authorization: `Bearer ${token}` },
    cache: 'no-store',
  });
  if (!res.ok) throw new HttpError(res.status, `history chunks: ${res.statusText}`);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith(CHUNKS_TYPE)) throw new Error(`history chunks: unexpected content-type ${type}`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * What to fetch per tier: from this browser's newest data (or, on first contact, from the tier's
 * retention back from the agent's newest) to the agent's newest. Times are the agent's clock, so
 * a skewed clock cannot make the window miss.
 */
export function planBackfill(tiers: readonly TierInfo[], from: Record<Tier, number | null>, retentionMs: Record<Tier, number>): BackfillPlan[] {
  const out: BackfillPlan[] = [];
  for (const ti of tiers) {
    if (ti.newest == null || !(ti.tier in retentionMs)) continue;
    const since = from[ti.tier] ?? ti.newest - retentionMs[ti.tier];
    if (since <= ti.newest) out.push({ tier: ti.tier, since: Math.max(since, ti.oldest ?? since), until: ti.newest });
  }
  return out;
}
