/**
 * Big answers as Bun "direct" streams, written only as fast as the socket takes them. A plain
 * pull stream is read eagerly by the server, so a slow client would make it buffer the whole
 * answer; a direct stream's flush() waits until the bytes are taken.
 *
 * The write loop is `await write(); await flush()`. When the socket keeps up those promises are
 * already settled and the loop only ever yields to microtasks, so timers (the sampler's tick)
 * would wait until the whole answer is written: the loop hands the event loop a macrotask turn
 * every few milliseconds of work.
 */

/** Bun's direct stream controller: write() buffers, flush() resolves once the socket took the bytes. */
export interface DirectController {
  write(b: Uint8Array): number | Promise<number>;
  flush(): number | Promise<number>;
  close(): void;
}

const TURN_MS = 8;

/**
 * Writes every piece of `it`, flushing each before the next is asked for (so the iterator may
 * reuse its buffer), until it ends or `stopped()` says so.
 */
export async function writePaced(ctl: DirectController, it: Iterator<Uint8Array>, stopped: () => boolean = () => false): Promise<void> {
  let since = performance.now();
  for (let r = it.next(); !r.done && !stopped(); r = it.next()) {
    await ctl.write(r.value);
    await ctl.flush();
    if (performance.now() - since >= TURN_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      since = performance.now();
    }
  }
}

/** A generator of pieces as a response body. */
export function pullStream(it: Generator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream({
    type: 'direct',
    async pull(ctl: DirectController) {
      try {
        await writePaced(ctl, it);
      } finally {
        it.return(undefined);
      }
      ctl.close();
    },
  } as unknown as UnderlyingDefaultSource<Uint8Array>);
}
