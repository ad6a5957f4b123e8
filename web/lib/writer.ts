/**
 * Live rows → stored raw chunks, cut at the agent's windows (shared/chunk/windows.ts) so the same
 * rows give the same bytes on both sides. The open window lives in memory (a time column shared
 * by all keys plus one value column per key, values quantized as the agent quantizes them). Every
 * few seconds the rows since the previous write go out as one small segment per key; the window,
 * once closed, replaces its segments with one whole chunk per key. One transaction per flush.
 *
 * A window this writer did not see from its start (the first after a reload or leader handover,
 * one a backfill wrote into, or the rest of one after a catalog change) is merged on close with
 * what is already stored for it, so no other writer's rows are ever deleted.
 */
import { isExactKey } from '../../shared/catalog.ts';
import { sameKeys } from '../../shared/series-key.ts';
import { quantize } from '../../shared/chunk/index.ts';
import { rawWindowMs, windowStart } from '../../shared/chunk/windows.ts';
import { unwrap, type IDBPTransaction } from 'idb';
import { CHUNKS, keyRange, type ChunkRecord, type DB, type GpulseDB } from './db.ts';
import { decodeRun, encodeRecord, mergeRuns, type Run } from './records.ts';

interface Win {
  ws: number;
  we: number;
  keys: readonly string[];
  /** the caller's keys array last seen equal to `keys` (an identity check per row, not a compare) */
  seen: readonly string[];
  t: Float64Array;
  cols: Float64Array[];
  len: number;
  /** rows [0, flushed) are already stored as segments */
  flushed: number;
  /** stored rows of this window may exist that this writer does not hold: merge on close */
  merge: boolean;
}

export interface FlushResult {
  records: number;
  /** windows closed and written by this flush */
  closed: number;
}

export class ChunkWriter {
  #interval: number;
  #open: Win | null = null;
  #closed: Win[] = [];
  #lastT = -Infinity;
  #foreignUpTo = -Infinity;
  /** End of the last window closed (and so complete as far as this writer knows). */
  #closedUpTo: number | null = null;

  constructor(
    readonly ep: string,
    intervalMs = 1000,
  ) {
    this.#interval = intervalMs;
  }

  /** The agent's sampling interval sets the raw window; a change closes the open window. */
  setInterval(ms: number) {
    if (!(ms > 0) || ms === this.#interval) return;
    this.#close();
    this.#interval = ms;
  }

  /**
   * Appends one row: values are row[offset + k] for keys[k] (the stream's rows start with the time,
   * so no per-row slice). Rows must come in time order; older ones are ignored.
   */
  append(t: number, keys: readonly string[], row: ArrayLike<number | null>, offset = 1) {
    if (!(t > this.#lastT) || !Number.isInteger(t)) return;
    let o = this.#open;
    if (o && keys !== o.seen) {
      if (sameKeys(keys, o.keys)) o.seen = keys;
      else {
        this.#close();
        o = null;
      }
    }
    if (o && t >= o.we) {
      this.#close();
      o = null;
    }
    if (!o) o = this.#start(t, keys);
    if (o.len === o.t.length) grow(o);
    const i = o.len;
    o.t[i] = t;
    for (let k = 0; k < o.cols.length; k++) {
      const x = row[offset + k];
      // User series are kept unrounded, as the agent keeps them.
      o.cols[k]![i] = x == null ? NaN : isExactKey(o.keys[k]!) ? x : quantize(x);
    }
    o.len = i + 1;
    this.#lastT = t;
  }

  /** Stored rows up to `t` came from elsewhere (a backfill): windows reaching back to them merge on close. */
  markForeign(t: number) {
    this.#foreignUpTo = Math.max(this.#foreignUpTo, t);
    if (this.#open && this.#open.ws <= t) this.#open.merge = true;
  }

  /** Closes the open window now (an import's last rows: no later row will close it). */
  closeAll() {
    this.#close();
  }

  #start(t: number, keys: readonly string[]): Win {
    const ws = windowStart('raw', t, this.#interval);
    const w = rawWindowMs(this.#interval);
    const cap = Math.min(4096, Math.ceil(w / this.#interval) + 8);
    const merge = this.#lastT === -Infinity || this.#lastT >= ws || this.#foreignUpTo >= ws;
    const o: Win = {
      ws,
      we: ws + w,
      keys: [...keys],
      seen: keys,
      t: new Float64Array(cap),
      cols: keys.map(() => new Float64Array(cap)),
      len: 0,
      flushed: 0,
      merge,
    };
    this.#open = o;
    return o;
  }

  #close() {
    const o = this.#open;
    if (o && o.len) {
      this.#closed.push(o);
      this.#closedUpTo = o.we;
    }
    this.#open = null;
  }

  /**
   * Writes closed windows whole and (with `segments`) the open window's new rows as segments, in
   * one transaction. On failure (quota) nothing is lost: the same work is queued for the next flush.
   * Requests go to the native store: per-request promises would double the main-thread cost of a
   * put, and a failed request fails the transaction anyway.
   */
  async flush(db: DB, segments = true): Promise<FlushResult> {
    const closed = this.#closed;
    const o = segments ? this.#open : null;
    const segFrom = o ? o.flushed : 0;
    const segTo = o ? o.len : 0;
    if (!closed.length && segTo <= segFrom) return { records: 0, closed: 0 };
    this.#closed = [];
    if (o) o.flushed = segTo;
    // Encoding is done before the transaction where it can be: only merges need reads first.
    const puts: ChunkRecord[] = [];
    if (o && segTo > segFrom) {
      const t = o.t.subarray(segFrom, segTo);
      o.keys.forEach((key, k) => puts.push(encodeRecord(this.ep, { tier: 'raw', key, t, v: o.cols[k]!.subarray(segFrom, segTo) })));
    }
    let tx: IDBPTransaction<GpulseDB, ['chunks3'], 'readwrite'> | null = null;
    try {
      tx = db.transaction(CHUNKS, 'readwrite', { durability: 'relaxed' });
      const store = tx.store;
      const native = unwrap(store);
      for (const c of closed) {
        // Read after the requests already queued: a window closed twice (a catalog change) sees its first part.
        const reads = c.merge ? await Promise.all(c.keys.map((k) => store.getAll(keyRange(this.ep, 'raw', k, c.ws, c.we - 1)))) : null;
        const t = c.t.subarray(0, c.len);
        c.keys.forEach((key, k) => {
          let run: Run = { t, v: c.cols[k]!.subarray(0, c.len) };
          // The stored records first, this window's rows last: on a shared time, memory wins.
          if (reads) run = mergeRuns([decodeRun(reads[k]!), run]);
          // Requests in one transaction run in order: drop the window's segments, then write it whole
          // (no delete when nothing is stored there: an import writes whole windows only).
          if (c.flushed || reads?.[k]!.length) native.delete(keyRange(this.ep, 'raw', key, c.ws, c.we - 1));
          native.put(encodeRecord(this.ep, { tier: 'raw', key, t: run.t, v: run.v }));
        });
      }
      for (const p of puts) native.put(p);
      await tx.done;
    } catch (e) {
      try {
        tx?.abort();
      } catch {
        /* already finished */
      }
      this.#closed = closed.concat(this.#closed);
      if (o) o.flushed = Math.min(o.flushed, segFrom);
      throw e;
    }
    return { records: puts.length + closed.reduce((s, c) => s + c.keys.length, 0), closed: closed.length };
  }

  /** Drops closed windows that could not be written (storage full for good); returns their rows. */
  discardClosed(): number {
    const n = this.#closed.reduce((s, c) => s + c.len, 0);
    this.#closed = [];
    return n;
  }

  /** Time of the newest row this writer holds (written or not); null before the first. */
  get lastT(): number | null {
    return this.#lastT === -Infinity ? null : this.#lastT;
  }

  /**
   * Where folding may go up to: the start of the open window, or with none open the end of the
   * last closed one (never further: a backfill may have stored a newer window that is still open).
   */
  get foldHorizon(): number | null {
    return this.#open ? this.#open.ws : this.#closedUpTo;
  }

  /** Rows held in memory but not yet written (for "what would a crash lose"). */
  get pending(): number {
    return this.#closed.reduce((s, c) => s + c.len, 0) + (this.#open ? this.#open.len - this.#open.flushed : 0);
  }
}

function grow(o: Win) {
  const n = o.t.length * 2;
  const t = new Float64Array(n);
  t.set(o.t);
  o.t = t;
  o.cols = o.cols.map((c) => {
    const x = new Float64Array(n);
    x.set(c);
    return x;
  });
}
