/**
 * Fan-out for /v1/stream. Each frame is serialized once and the same bytes are enqueued to every
 * client. A client whose queue passes `maxQueuedBytes` (it stopped reading) is dropped, so a slow
 * reader never makes the agent buffer without bound.
 */
import { strictJson, wireNum } from '../../shared/json.ts';
import { Pacer } from './pace.ts';

const enc = new TextEncoder();

export interface HubOptions { maxQueuedBytes?: number; heartbeatMs?: number }

/** Where a client's frames go: a queued stream (live only) or a direct one (replay, then live). */
interface Client {
  /** Hands over one frame; false when the client has fallen too far behind. */
  send(b: Uint8Array): boolean;
  /** Ends the stream with an error (dropped) or normally (agent stopping). */
  end(dropped: boolean): void;
  closed: boolean;
  /** While a replay is being written, live frames wait here (bounded like the queue) and follow it. */
  pending: Uint8Array[] | null;
  pendingBytes: number;
}

/** Bun's direct stream controller: write() buffers, flush() resolves once the socket took the bytes. */
interface DirectController { write(b: Uint8Array): number | Promise<number>; flush(): number | Promise<number>; close(): void; end?(): void }

export class Hub {
  #clients = new Set<Client>();
  #maxQueued: number;
  #timer: ReturnType<typeof setInterval> | null = null;
  dropped = 0;
  static readonly HEARTBEAT = enc.encode(': hb\n\n');

  constructor(opts: HubOptions = {}) {
    this.#maxQueued = opts.maxQueuedBytes ?? 4 << 20;
    const hb = opts.heartbeatMs ?? 15_000;
    this.#timer = setInterval(() => this.#broadcast(Hub.HEARTBEAT), hb);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  get size(): number { return this.#clients.size; }

  /**
   * Opens a client stream: `prelude` frames (schema), then, when given, the frames of `replay`
   * (each written and flushed before the next is asked for, so the iterator may reuse its buffer)
   * written only as fast as the socket takes them (a direct stream: Bun reads a queued stream
   * eagerly into its own buffers, so a slow reader would make it hold the whole history), then live
   * frames, those that arrived during the replay first.
   */
  open(prelude: Uint8Array[], onClose?: () => void, replay?: Iterator<Uint8Array>): ReadableStream<Uint8Array> {
    if (replay) return this.#openDirect(prelude, replay, onClose);
    let client!: Client;
    return new ReadableStream<Uint8Array>(
      {
        start: (ctl) => {
          client = {
            closed: false, pending: null, pendingBytes: 0,
            send: (b) => { if ((ctl.desiredSize ?? 0) < b.byteLength) return false; ctl.enqueue(b); return true; },
            // error() discards the queued bytes at once, unlike close() which would keep them to deliver.
            end: (dropped) => { try { if (dropped) ctl.error(new Error('client too slow')); else ctl.close(); } catch { /* gone */ } },
          };
          for (const p of prelude) ctl.enqueue(p);
          this.#clients.add(client);
        },
        cancel: () => { client.closed = true; this.#clients.delete(client); onClose?.(); },
      },
      // Queue measured in bytes so desiredSize says how far behind the reader is.
      { highWaterMark: this.#maxQueued, size: (chunk?: Uint8Array) => chunk?.byteLength ?? 0 },
    );
  }

  #openDirect(prelude: Uint8Array[], replay: Iterator<Uint8Array>, onClose?: () => void): ReadableStream<Uint8Array> {
    const max = this.#maxQueued;
    let client: Client | null = null;
    let finish: () => void = () => {};
    const done = new Promise<void>((r) => { finish = r; });
    const gone = () => {
      if (!client || client.closed) return;
      client.closed = true;
      this.#clients.delete(client);
      replay.return?.(undefined);
      finish();
      onClose?.();
    };
    return new ReadableStream({
      type: 'direct',
      pull: async (ctl: DirectController) => {
        let unflushed = 0, flushing = false;
        const c: Client = (client = {
          closed: false, pending: [], pendingBytes: 0,
          send: (b) => {
            if (unflushed > max) return false;
            try { ctl.write(b); } catch { gone(); return true; }
            unflushed += b.byteLength;
            if (!flushing) {
              flushing = true;
              void Promise.resolve(ctl.flush()).then(() => { unflushed = 0; flushing = false; }, gone);
            }
            return true;
          },
          end: (dropped) => { try { ctl.close(); } catch { /* gone */ } if (dropped) gone(); finish(); },
        });
        this.#clients.add(c);
        try {
          for (const p of prelude) await ctl.write(p);
          const pace = new Pacer();
          for (let r = replay.next(); !r.done && !c.closed; r = replay.next()) {
            await ctl.write(r.value);
            await ctl.flush();
            await pace.turn();
          }
          const live = c.pending ?? [];
          c.pending = null;
          for (const b of live) c.send(b);
          await done; // live frames arrive through send() until the client goes or is dropped
        } catch { gone(); }
      },
      cancel: () => gone(),
    } as unknown as UnderlyingDefaultSource<Uint8Array>);
  }

  /** Encodes one sample frame once and sends it to every client. */
  publishSample(t: number, values: ArrayLike<number>) { this.#broadcast(encodeSample(t, values)); }
  publish(event: string, data: unknown, id?: string) { this.#broadcast(encodeEvent(event, data, id)); }

  #broadcast(bytes: Uint8Array) {
    for (const c of this.#clients) {
      if (c.pending) {
        c.pendingBytes += bytes.byteLength;
        if (c.pendingBytes > this.#maxQueued) this.#drop(c); else c.pending.push(bytes);
        continue;
      }
      let ok = false;
      try { ok = c.send(bytes); } catch { ok = false; }
      if (!ok) this.#drop(c);
    }
  }

  #drop(c: Client) {
    if (c.closed) return;
    c.closed = true;
    this.#clients.delete(c);
    this.dropped++;
    c.end(true);
  }

  close() {
    if (this.#timer) clearInterval(this.#timer);
    for (const c of this.#clients) { c.closed = true; c.end(false); }
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
