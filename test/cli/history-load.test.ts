/**
 * Big answers are streamed: ten concurrent full-range reads of every raw series (and ten stream
 * replays) must not grow the agent without bound or make the sampler miss a tick. The bound here
 * is generous (48 MiB) so that noise does not fail it; it catches an answer built in memory
 * (hundreds of MiB), not a miss of the 32 MB target, whose measured figures are in BENCHMARKS.md.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { auth, BUN, fakeNvml, readSse, ROOT, startAgent, type RunningAgent } from '../helpers.ts';

let a: RunningAgent;
const rss = () => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${a.proc.pid}/status`, 'latin1'));
  if (!m) throw new Error(`agent gone (${a.proc.exitCode ?? a.proc.signalCode}): ${a.stderr().slice(-2000)}`);
  return Number(m[1]) / 1024;
};

beforeAll(async () => {
  a = await startAgent(
    ['--interval', '1s', '--gpu', 'nvml'],
    { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '8', GPULSE_BENCH_FILL: '6h' },
    { bin: [BUN, '--smol', join(ROOT, 'cli/main.ts')] },
  );
  await Bun.sleep(2500);
}, 60_000);
afterAll(async () => {
  await a?.stop();
});

/** Watches RSS and the live stream's ids while `work` runs. */
async function watched(work: () => Promise<unknown>) {
  Bun.gc(true);
  const base = rss();
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 25);
  const live = fetch(`${a.url}/v1/stream`, auth(a.token));
  const started = Date.now();
  await work();
  const elapsed = Date.now() - started;
  clearInterval(timer);
  const msgs = await readSse(await live, () => false, 1200);
  const ids = msgs.filter((m) => m.event === 'sample').map((m) => Number(m.id));
  return { growth: peak - base, elapsed, ids };
}

/** The live stream's ids are one interval apart: the sampler missed no tick while the work ran. */
function expectNoMissedTick(ids: number[]) {
  expect(ids.length).toBeGreaterThan(1);
  for (let i = 1; i < ids.length; i++) expect(ids[i]! - ids[i - 1]!).toBe(1000);
}

/** Generous: growth past it means an answer is being built in memory (see the header). */
const GROWTH_BOUND_MIB = 48;

describe('bounded memory for big answers', () => {
  test('ten concurrent full-range raw /v1/history reads of every series: RSS growth under the 48 MiB unbounded-growth bound, no missed tick', async () => {
    const info = await (await fetch(`${a.url}/v1/info`, auth(a.token))).json();
    expect(info.buffer.count).toBeGreaterThan(6 * 3600 - 10);
    let bytes = 0;
    const { growth, ids } = await watched(() =>
      Promise.all(
        Array.from({ length: 10 }, async () => {
          const r = await fetch(`${a.url}/v1/history`, auth(a.token));
          for await (const c of r.body as unknown as AsyncIterable<Uint8Array>) bytes += c.byteLength;
        }),
      ),
    );
    console.log(`10 × full raw history: ${(bytes / 1e6).toFixed(0)} MB sent, RSS +${growth.toFixed(1)} MiB`);
    expect(bytes).toBeGreaterThan(10 * 6 * 3600 * info.series.length);
    // The target is 32 MB; measured 28–29 MiB here (BENCHMARKS.md): the bound leaves noise room.
    expect(growth).toBeLessThanOrEqual(GROWTH_BOUND_MIB);
    expectNoMissedTick(ids);
  }, 60_000);

  test('ten concurrent stream replays of the whole history: every row once, in order, RSS growth under the 48 MiB bound, no missed tick', async () => {
    const since = Date.now() - 6 * 3_600_000 - 60_000;
    const counts: number[] = [];
    const { growth, ids } = await watched(() =>
      Promise.all(
        Array.from({ length: 10 }, async () => {
          const r = await fetch(`${a.url}/v1/stream?since=${since}`, auth(a.token));
          const reader = r.body!.getReader();
          const dec = new TextDecoder();
          let n = 0,
            last = 0,
            buf = '',
            ordered = true;
          while (n < 6 * 3600) {
            const x = await reader.read();
            if (x.done) break;
            buf += dec.decode(x.value, { stream: true });
            let i;
            while ((i = buf.indexOf('\n\n')) >= 0) {
              const m = /^id: (\d+)\nevent: sample/.exec(buf.slice(0, i));
              if (m) {
                const t = Number(m[1]);
                if (t <= last) ordered = false;
                last = t;
                n++;
              }
              buf = buf.slice(i + 2);
            }
          }
          await reader.cancel();
          expect(ordered).toBe(true);
          counts.push(n);
        }),
      ),
    );
    console.log(`10 × replay of 6 h: RSS +${growth.toFixed(1)} MiB`);
    for (const n of counts) expect(n).toBeGreaterThanOrEqual(6 * 3600);
    // The target is 32 MB; measured 24 MiB here (137 MiB when Bun buffered the replay and
    // each chunk decoded into fresh arrays): the bound leaves noise room.
    expect(growth).toBeLessThanOrEqual(GROWTH_BOUND_MIB);
    expectNoMissedTick(ids);
  }, 60_000);
});
