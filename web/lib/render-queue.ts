/**
 * Many SSE rows become one render: at most one per animation frame, at most four a second, and
 * less often as the fleet grows (samples from 50 agents arrive spread over each second, and
 * painting 50 tiles on each would cost more than the news is worth: 1 s at 50 endpoints).
 */
export class RenderQueue {
  #subs = new Set<() => void>();
  #queued = false;
  #lastRender = 0;
  #waiting: ReturnType<typeof setTimeout> | null = null;

  /** `size`: how many endpoints there are (the slot between renders grows with it). */
  constructor(readonly size: () => number) {}

  subscribe(fn: () => void) {
    this.#subs.add(fn);
    return () => this.#subs.delete(fn);
  }

  /** Urgent: history a view is waiting for (a backfill's recent hour) is drawn the next frame, not the next slot. */
  emit(urgent = false) {
    const frame = () => (typeof requestAnimationFrame !== 'undefined' && !document.hidden ? requestAnimationFrame(run) : run());
    const run = () => {
      this.#queued = false;
      this.#waiting = null;
      this.#lastRender = performance.now();
      for (const f of this.#subs) f();
    };
    if (urgent && this.#waiting) {
      clearTimeout(this.#waiting);
      this.#waiting = null;
      frame();
      return;
    }
    if (this.#queued) return;
    this.#queued = true;
    const gap = Math.min(1000, Math.max(250, this.size() * 20));
    const wait = urgent ? 0 : Math.max(0, gap - (performance.now() - this.#lastRender));
    if (wait > 0) this.#waiting = setTimeout(frame, wait);
    else frame();
  }
}
