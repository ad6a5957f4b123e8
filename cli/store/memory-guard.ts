/**
 * A bound on the garbage that big reads leave behind. Decoding a chunk leaves a few small objects
 * (header, views, result: ~12 per chunk), and JSC lets a 3 MB heap grow well past them before it
 * collects: one replay of a day (96 groups × 135 chunks) raised the agent's RSS by ~18 MB, ten at
 * once by ~47 MB. Readers report the chunks they decode; every CHUNKS_PER_GC of them (all readers
 * together) a full collection runs (~3 ms on this heap, ~1 % of the read), at most every
 * MIN_GAP_MS. Measured: ten concurrent replays of a day then add about a third as much.
 */
const CHUNKS_PER_GC = 2048;
const MIN_GAP_MS = 20;

let chunks = 0,
  lastGc = -Infinity;

export interface GuardEnv {
  gc: () => void;
  now: () => number;
}

const processEnv: GuardEnv = { gc: () => Bun.gc(true), now: () => performance.now() };

/** `n` chunks decoded by a streamed reader. `env` is for tests. */
export function chunksRead(n: number, env: GuardEnv = processEnv): void {
  chunks += n;
  if (chunks < CHUNKS_PER_GC) return;
  const now = env.now();
  if (now - lastGc < MIN_GAP_MS) return;
  chunks = 0;
  lastGc = now;
  env.gc();
}

/** Forgets the guard's state (tests). */
export function resetGuard() {
  chunks = 0;
  lastGc = -Infinity;
}
