/**
 * Fan-out for /v1/stream. Each frame is serialized once and the same bytes are handed to every
 * client. A client whose queue passes `maxQueuedBytes` (it stopped reading) is dropped, so a slow
 * reader never makes the agent buffer without bound.
 *
 * The queue only grows once the kernel's socket buffers are full, and those can hold several MiB
 * per connection (send buffer plus the peer's receive window) that the queue bound never sees.
 * So a client is also dropped when its socket has not drained for `stallMs`: bytes are waiting
 * and none of them were taken since they started waiting. A reader that is slow but moving keeps
 * its connection; one that stopped holds at most the kernel's buffers for `stallMs`.
 */
import { strictJson } from '../../shared/json.ts';
import { ByteWriter } from './byte-writer.ts';
import { writePaced, type DirectController } from './direct-stream.ts';

const enc = new TextEncoder();

export interface HubOptions {
  maxQueuedBytes?: number;
  heartbeatMs?: number;
  stallMs?: number;
}

/** Where a client's frames go: a queued stream (live only) or a direct one (replay, then live). */
interface Client {
  /** Hands over one frame; a reason when the client must be dropped instead. */
  send(b: Uint8Array, now: number): null | 'client too slow' | 'not draining';
  /** Ends the stream with an error (dropped) or normally (agent stopping). */
  end(why: string | null): void;
  closed: boolean;
  /** While a replay is being written, live frames wait here (bounded like the queue) and follow it. */
  pending: Uint8Array[] | null;
  pendingBytes: number;
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

  get size(): number {
    return this.#clients.size;
  }

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
    const max = this.#maxQueued,
      stallMs = this.#stallMs;
    return new ReadableStream<Uint8Array>(
      {
        start: (ctl) => {
          // Room left right after our last enqueue: more room now means Bun wrote some to the socket.
          let roomAfter = max;
          let stalledSince: number | null = null;
          client = {
            closed: false,
            pending: null,
            pendingBytes: 0,
            send: (b, now) => {
              const room = ctl.desiredSize ?? 0;
              if (room >= max || room > roomAfter)
                stalledSince = null; // empty, or drained some
              else if (stalledSince === null) stalledSince = now;
              else if (now - stalledSince >= stallMs) return 'not draining';
              if (room < b.byteLength) return 'client too slow';
              ctl.enqueue(b);
              roomAfter = room - b.byteLength;
              return null;
            },
            // error() discards the queued bytes at once, unlike close() which would keep them to deliver.
            end: (why) => {
              try {
                if (why) ctl.error(new Error(why));
                else ctl.close();
              } catch {
                /* gone */
              }
            },
          };
          for (const p of prelude) ctl.enqueue(p);
          this.#clients.add(client);
        },
        cancel: () => {
          client.closed = true;
          this.#clients.delete(client);
          onClose?.();
        },
      },
      // Queue measured in bytes so desiredSize says how far behind the reader is.
      { highWaterMark: max, size: (chunk?: Uint8Array) => chunk?.byteLength ?? 0 },
    );
  }

  #openDirect(prelude: Uint8Array[], replay: Iterator<Uint8Array>, onClose?: () => void): ReadableStream<Uint8Array> {
    const max = this.#maxQueued,
      stallMs = this.#stallMs;
    let client: Client | null = null;
    let finish: () => void = () => {};
    const done = new Promise<void>((r) => {
      finish = r;
    });
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
        // Bytes written since the last flush settled, and since when (the stall clock).
        let unflushed = 0,
          flushing = false,
          waitingSince: number | null = null;
        const c: Client = (client = {
          closed: false,
          pending: [],
          pendingBytes: 0,
          send: (b, now) => {
            if (waitingSince !== null && now - waitingSince >= stallMs) return 'not draining';
            if (unflushed > max) return 'client too slow';
            try {
              ctl.write(b);
            } catch {
              gone();
              return null;
            }
            unflushed += b.byteLength;
            if (!flushing) {
              flushing = true;
              waitingSince = now;
              void Promise.resolve(ctl.flush()).then(() => {
                unflushed = 0;
                flushing = false;
                waitingSince = null;
              }, gone);
            }
            return null;
          },
          end: (why) => {
            try {
              ctl.close();
            } catch {
              /* gone */
            }
            if (why) gone();
            finish();
          },
        });
        this.#clients.add(c);
        try {
          for (const p of prelude) await ctl.write(p);
          await writePaced(ctl, replay, () => c.closed);
          const live = c.pending ?? [];
          c.pending = null;
          const now = Date.now();
          for (const b of live) if (c.send(b, now)) break;
          await done; // live frames arrive through send() until the client goes or is dropped
        } catch {
          gone();
        }
      },
      cancel: () => gone(),
    } as unknown as UnderlyingDefaultSource<Uint8Array>);
  }

  /** Encodes one sample frame once and sends it to every client. */
  publishSample(t: number, values: ArrayLike<number>, exact?: ArrayLike<number>) {
    this.#broadcast(encodeSample(t, values, exact));
  }
  publish(event: string, data: unknown, id?: string) {
    this.#broadcast(encodeEvent(event, data, id));
  }

  #broadcast(bytes: Uint8Array, now = Date.now()) {
    for (const c of this.#clients) {
      if (c.pending) {
        c.pendingBytes += bytes.byteLength;
        if (c.pendingBytes > this.#maxQueued) this.#drop(c, 'client too slow');
        else c.pending.push(bytes);
        continue;
      }
      let why: string | null;
      try {
        why = c.send(bytes, now);
      } catch {
        why = 'client too slow';
      }
      if (why) this.#drop(c, why);
    }
  }

  #drop(c: Client, why: string) {
    if (c.closed) return;
    c.closed = true;
    this.#clients.delete(c);
    this.dropped++;
    c.end(why);
  }

  close() {
    if (this.#timer) clearInterval(this.#timer);
    for (const c of this.#clients) {
      c.closed = true;
      c.end(null);
    }
    this.#clients.clear();
  }
}

const frame = new ByteWriter(16 * 1024);
/**
 * A sample frame; columns marked in `exact` (user series) are sent unrounded, the rest through
 * wireNum. Written into one reused buffer (digits, not a string per value: a frame is built every
 * tick with every series), then copied out once.
 */
export function encodeSample(t: number, values: ArrayLike<number>, exact?: ArrayLike<number | boolean>): Uint8Array {
  writeSample(frame, t, values, exact);
  return frame.take().slice();
}

/** Appends one `sample` frame to `w` (the live tick and the stream replay write the same bytes). */
export function writeSample(w: ByteWriter, t: number, values: ArrayLike<number>, exact?: ArrayLike<number | boolean>) {
  w.str('id: ');
  w.whole(t);
  w.str('\nevent: sample\ndata: [');
  w.whole(t);
  for (let i = 0; i < values.length; i++) {
    w.byte(44);
    if (exact?.[i]) w.exact(values[i]!);
    else w.num(values[i]!);
  }
  w.str(']\n\n');
}

/** A value as JSON at full float64 precision (shortest round-trip form); null when not finite. */
export const exactNum = (v: number): string => (Number.isFinite(v) ? String(v) : 'null');

export function encodeEvent(event: string, data: unknown, id?: string): Uint8Array {
  return enc.encode(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${strictJson(data)}\n\n`);
}
