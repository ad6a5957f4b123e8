/** The read-side garbage bound: a collection per CHUNKS_PER_GC decoded chunks across all readers, never back to back. */
import { beforeEach, describe, expect, test } from 'bun:test';
import { chunksRead, resetGuard } from '../../cli/store/memory-guard.ts';

describe('memory guard', () => {
  beforeEach(resetGuard);
  test('one collection once 2048 chunks were read, counted across readers', () => {
    let gcs = 0,
      t = 0;
    const env = { gc: () => gcs++, now: () => (t += 100) };
    for (let i = 0; i < 15; i++) chunksRead(135, env); // 2025 chunks: not yet
    expect(gcs).toBe(0);
    chunksRead(135, env); // two readers' groups interleaved count together
    expect(gcs).toBe(1);
    for (let i = 0; i < 10 * 96; i++) chunksRead(135, env); // ten replays of a day
    // Every 16th group of 135 chunks (the count starts again at each collection): 61 for 976 groups.
    expect(gcs).toBe(Math.floor((16 + 10 * 96) / 16));
  });
  test('never two collections within the minimum gap: the count waits for the clock', () => {
    let gcs = 0;
    const env = { gc: () => gcs++, now: () => 1000 }; // a clock that does not move
    for (let i = 0; i < 100; i++) chunksRead(2048, env);
    expect(gcs).toBe(1);
  });
});
