/**
 * Fan-out for /v1/stream. Each frame is serialized once and the same bytes are enqueued to every
 * client. A client whose queue passes `maxQueuedBytes` (it stopped reading) is dropped, so a slow
 * reader never makes the agent buffer without bound.
 *
 * The queue only grows once the kernel's socket buffers are full, and those can hold several MiB
 * per connection (send buffer plus the peer's receive window) that the queue bound never sees.
 * So a client is also dropped when its socket has not drained for `stallMs`: bytes are waiting in
 * its queue and Bun has taken none of them since the last frame. A reader that is slow but moving
 * keeps its connection; one that stopped holds at most the kernel's buffers for `stallMs`.
 */
import { strictJson, wireNum } from '../../shared/json.ts';

const enc = new TextEncoder();

export interface HubOptions { maxQueuedBytes?: number; heartbeatMs?: number; stallMs?: number }

interface Client {
  ctl: ReadableStreamDefaultController<Uint8Array>;
  closed: boolean;
  /** Room left right after our last enqueue: more room now means Bun wrote some of it to the socket. */
  roomAfter: number;
  /** Since when bytes have waited with no progress (null: draining or empty). */
  stalledSince: number | null;
}

export class Hub {
  #clients = new Set<Client>();
  #maxQueued: number;
  #stallMs: number;
  #timer: ReturnType<typeof setInterval> | null = null;
  dropped = 0;
  static readonly HEARTBEAT = enc.encode(': hb\n\n');

  constructor(opts: HubOptions = {}) {
    this.#maxQueued = opts.maxQueuedBytes ?? 4 << 20;
    this.#stallMs = opts.stallMs ?? 30_000;
    const hb = opts.heartbeatMs ?? 15_000;
    this.#timer = setInterval(() => this.#broadcast(Hub.HEARTBEAT), hb);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  get size(): number { return this.#clients.size; }

  /** Opens a client stream; `prelude` frames (schema, replay) are queued before any live frame. */
  open(prelude: Uint8Array[], onClose?: () => void): ReadableStream<Uint8Array> {
    let client!: Client;
    return new ReadableStream<Uint8Array>(
      {
        start: (ctl) => {
          client = { ctl, closed: false, roomAfter: this.#maxQueued, stalledSince: null };
          for (const p of prelude) ctl.enqueue(p);
          this.#clients.add(client);
        },
        cancel: () => { client.closed = true; this.#clients.delete(client); onClose?.(); },
      },
      // Queue measured in bytes so desiredSize says how far behind the reader is.
      { highWaterMark: this.#maxQueued, size: (chunk?: Uint8Array) => chunk?.byteLength ?? 0 },
    );
  }

  /** Encodes one sample frame once and sends it to every client. */
  publishSample(t: number, values: ArrayLike<number>) { this.#broadcast(encodeSample(t, values)); }
  publish(event: string, data: unknown, id?: string) { this.#broadcast(encodeEvent(event, data, id)); }

  #broadcast(bytes: Uint8Array, now = Date.now()) {
    for (const c of this.#clients) {
      const room = c.ctl.desiredSize ?? 0;
      if (room >= this.#maxQueued || room > c.roomAfter) c.stalledSince = null; // empty, or drained some
      else if (c.stalledSince === null) c.stalledSince = now;
      else if (now - c.stalledSince >= this.#stallMs) { this.#drop(c, 'not draining'); continue; }
      if (room < bytes.byteLength) { this.#drop(c); continue; }
      try { c.ctl.enqueue(bytes); c.roomAfter = room - bytes.byteLength; } catch { this.#drop(c); }
    }
  }

  #drop(c: Client, why = 'client too slow') {
    if (c.closed) return;
    c.closed = true;
    this.#clients.delete(c);
    this.dropped++;
    // error() discards the queued bytes at once, unlike close() which would keep them to deliver.
    try { c.ctl.error(new Error(why)); } catch { /* already errored */ }
  }

  close() {
    if (this.#timer) clearInterval(this.#timer);
    for (const c of this.#clients) { c.closed = true; try { c.ctl.close(); } catch { /* gone */ } }
    this.#clients.clear();
  }
}

export function encodeSample(t: number, values: ArrayLike<number>): Uint8Array {
  let s = `id: ${t}\nevent: sample\ndata: [${t}`;
  for (let i = 0; i < values.length; i++) s += ',' + wireNum(values[i]!);
  return enc.encode(s + ']\n\n');
}

export function encodeEvent(event: string, data: unknown, id?: string): Uint8Array {
  return enc.encode(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${strictJson(data)}\n\n`);
}
