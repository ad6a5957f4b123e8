/** Wall-clock steps: cadence never depends on the wall clock being sane; stamps stay strictly increasing. */
import { describe, expect, test } from 'bun:test';
import { noGpu } from '../../cli/gpu/provider.ts';
import { Sampler } from '../../cli/sample/sampler.ts';

const host = { cpus: 1, sample() {}, disks: () => [], freqMhz: () => null, close() {} };

function sampler(now: () => number) {
  const stamps: number[] = [];
  const s = new Sampler({ intervalMs: 100, host, gpu: noGpu, onSample: (t) => stamps.push(t), now });
  return { s, stamps };
}

describe('wall clock steps', () => {
  test('a step back keeps sampling (ticks go on) but publishes nothing until the clock passes the last stamp', async () => {
    let offset = 0;
    const { s, stamps } = sampler(() => Date.now() + offset);
    s.start();
    try {
      await Bun.sleep(450);
      expect(stamps.length).toBeGreaterThanOrEqual(2);
      offset = -3_600_000; // NTP (or a person) sets the clock back an hour
      await Bun.sleep(150); // the tick already scheduled before the step may still land
      const before = stamps.length;
      const ticks = s.ticks;
      await Bun.sleep(450);
      expect(s.ticks).toBeGreaterThan(ticks + 1); // sampling did not stop for an hour
      expect(stamps.length).toBe(before); // nothing stamped in the past
      // The gap shrinks as real time passes (3600 s at the step, 3599 s half a second later).
      const behind = Number(/clock: wall clock is (\d+) s behind/.exec(s.collectorError ?? '')?.[1]);
      expect(behind).toBeGreaterThanOrEqual(3590);
      expect(behind).toBeLessThanOrEqual(3600);
      offset = 0;
      await Bun.sleep(350);
      expect(stamps.length).toBeGreaterThan(before);
      expect(s.collectorError).toBeNull();
      for (let i = 1; i < stamps.length; i++) expect(stamps[i]!).toBeGreaterThan(stamps[i - 1]!);
    } finally {
      s.stop();
    }
  });

  test('a step forward leaves a gap, never a freeze: stamps follow the new time at once', async () => {
    let offset = 0;
    const { s, stamps } = sampler(() => Date.now() + offset);
    s.start();
    try {
      await Bun.sleep(350);
      offset = 86_400_000;
      await Bun.sleep(350);
      const last = stamps.at(-1)!;
      expect(last).toBeGreaterThan(Date.now() + 86_400_000 - 1000);
      for (let i = 1; i < stamps.length; i++) expect(stamps[i]! - stamps[i - 1]!).toBeGreaterThan(0);
    } finally {
      s.stop();
    }
  });

  test('stamps stay aligned to the interval', async () => {
    const { s, stamps } = sampler(() => Date.now());
    s.start();
    await Bun.sleep(350);
    s.stop();
    for (const t of stamps) expect(t % 100).toBe(0);
  });
});
