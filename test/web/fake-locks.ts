/**
 * The part of the Web Locks API the leader election uses (exclusive locks, `ifAvailable`, FIFO
 * queue), in memory: Bun has no navigator.locks. A lock is held until its callback's promise settles.
 */
type Callback = (lock: { name: string } | null) => unknown;

export class FakeLocks {
  #held = new Set<string>();
  #queue = new Map<string, (() => void)[]>();

  request(name: string, a: { ifAvailable?: boolean } | Callback, b?: Callback): Promise<unknown> {
    const opts = typeof a === 'function' ? {} : a;
    const cb = (typeof a === 'function' ? a : b)!;
    if (this.#held.has(name)) {
      if (opts.ifAvailable) return Promise.resolve(cb(null));
      return new Promise((resolve) => {
        const q = this.#queue.get(name) ?? [];
        q.push(() => resolve(this.#grant(name, cb)));
        this.#queue.set(name, q);
      });
    }
    return this.#grant(name, cb);
  }

  #grant(name: string, cb: Callback): Promise<unknown> {
    this.#held.add(name);
    const done = Promise.resolve(cb({ name }));
    void done.finally(() => {
      this.#held.delete(name);
      this.#queue.get(name)?.shift()?.();
    });
    return done;
  }
}
