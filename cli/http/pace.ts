/**
 * Big answers are written in a loop of `await write(); await flush()`. When the socket keeps up,
 * those promises are already settled and the loop only ever yields to microtasks, so timers (the
 * sampler's tick) would wait until the whole answer is written. A Pacer hands the event loop a
 * macrotask turn every few milliseconds of work.
 */
export class Pacer {
  #since = performance.now();
  constructor(readonly budgetMs = 8) {}

  /** Resolves at once while within budget; past it, after one turn of the event loop. */
  async turn(): Promise<void> {
    if (performance.now() - this.#since < this.budgetMs) return;
    await new Promise<void>((r) => setImmediate(r));
    this.#since = performance.now();
  }
}
