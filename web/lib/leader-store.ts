/**
 * Which tab owns the agent connections. One tab is the leader (Web Locks): it holds one connection
 * per endpoint and is the only writer to IndexedDB; it fans everything out to the other tabs on a
 * BroadcastChannel, so history is never written twice and the browser's six-connections-per-host
 * limit is not eaten by tabs. When the leader closes, the browser hands the lock to the next tab,
 * which resumes from what is stored.
 *
 * The role starts `pending` and is known once the lock manager answers: a tab is not called a
 * follower before it is one (that label used to flash in every new leader's header).
 */
import { parseTabMessage, TAB_CHANNEL, type TabMessage } from '../../shared/tab-messages.ts';

export type Role = 'pending' | 'leader' | 'follower';
/** How long a message for the other tabs may wait to go out with others. */
export const TAB_BATCH_MS = 50;
/** Messages per postMessage at most (a receiver reads no more from one). */
const MAX_BATCH = 10_000;
export const LEADER_LOCK = 'gpulse-leader';

/** The part of BroadcastChannel used here (a test can pass its own). */
export interface Channel {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(m: unknown): void;
  close(): void;
}

export interface LeaderOptions {
  /** navigator.locks; absent (an old browser): this tab leads alone. */
  locks?: Pick<LockManager, 'request'>;
  channel?: Channel | null;
  /** A message, sent here (`local`) or received from another tab and checked. */
  onMessage(m: TabMessage, local: boolean): void;
  /** This tab just became the leader: connect, write, evaluate. */
  onLeader(): void;
  /** The role changed (for the header). */
  onRole?(role: Role): void;
}

export class LeaderStore {
  role: Role = 'pending';
  /** Messages from other tabs that failed the check (a different build of the app, or a bug). */
  dropped = 0;
  #chan: Channel | null = null;
  #release: (() => void) | null = null;
  #closed = false;
  /** Messages for the other tabs, posted together (TAB_BATCH_MS). */
  #out: TabMessage[] = [];
  #outTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(readonly opts: LeaderOptions) {}

  get leader() {
    return this.role === 'leader';
  }

  /**
   * Listens to the other tabs, then asks for the lock: leader at once when it is free, otherwise
   * follower until it is handed over. (Called once this tab's stores are loaded: a message cannot
   * arrive before there is state to apply it to.)
   */
  start() {
    const { channel } = this.opts;
    this.#chan = channel === undefined ? (typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel(TAB_CHANNEL) : null) : channel;
    if (this.#chan)
      this.#chan.onmessage = (e) => {
        // A batch (this build), or one message (an older build during an update).
        const all: unknown[] = Array.isArray(e.data) ? e.data.slice(0, MAX_BATCH) : [e.data];
        for (const d of all) {
          const m = parseTabMessage(d);
          if (m) this.opts.onMessage(m, false);
          else this.dropped++;
        }
      };
    // A closing tab posts what it holds (an endpoint added just before, a silence asked for).
    if (this.#chan && typeof addEventListener === 'function') addEventListener('pagehide', () => this.#postQueued());
    const locks = this.opts.locks;
    if (!locks) {
      this.#lead();
      return;
    }
    // Held for the tab's life (the promise never settles until close()); the browser frees it when the tab goes.
    const hold = () => {
      this.#lead();
      return new Promise<void>((resolve) => (this.#release = resolve));
    };
    void locks.request(LEADER_LOCK, { ifAvailable: true }, (lock) => {
      if (lock) return hold();
      if (this.#closed) return;
      this.#setRole('follower');
      // Queued behind the leader; granted when it closes.
      void locks.request(LEADER_LOCK, () => (this.#closed ? undefined : hold()));
    });
  }

  /** Applies `m` here and tells the other tabs. */
  send(m: TabMessage) {
    this.opts.onMessage(m, true);
    this.post(m);
  }

  /**
   * Tells only the other tabs (this one already did the work). Messages go out together, in order,
   * once per TAB_BATCH_MS: a hundred agents' frames (they sample on the same clock second) are one
   * postMessage, not a hundred (each one cost ~0.3 ms of the leader's main thread).
   */
  post(m: TabMessage) {
    if (!this.#chan) return;
    this.#out.push(m);
    // A hidden leader's timers are throttled (up to a minute in Chrome): the visible followers would
    // freeze behind them, so a hidden tab posts at once.
    if (typeof document !== 'undefined' && document.hidden) this.#postQueued();
    else this.#outTimer ??= setTimeout(() => this.#postQueued(), TAB_BATCH_MS);
  }

  #postQueued() {
    if (this.#outTimer) clearTimeout(this.#outTimer);
    this.#outTimer = null;
    if (!this.#out.length) return;
    const batch = this.#out;
    this.#out = [];
    for (let i = 0; i < batch.length; i += MAX_BATCH) this.#chan?.postMessage(batch.slice(i, i + MAX_BATCH));
  }

  /** Leaves the election and the channel (tests; a closing tab loses both anyway). */
  close() {
    this.#postQueued();
    this.#closed = true;
    this.#chan?.close();
    this.#chan = null;
    this.#release?.();
    this.#release = null;
  }

  #lead() {
    if (this.#closed) return;
    this.#setRole('leader');
    this.opts.onLeader();
  }

  #setRole(r: Role) {
    this.role = r;
    this.opts.onRole?.(r);
  }
}
