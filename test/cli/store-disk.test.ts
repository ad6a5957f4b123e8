/**
 * The store on a real, really full disk: a small tmpfs (needs root to mount; skipped with a
 * printed reason otherwise), a ballast file that eats the space, then the space given back.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rowBatches } from '../../cli/store/read.ts';
import { Store } from '../../cli/store/store.ts';
import { auth, fakeNvml, startAgent, tmp } from '../helpers.ts';

const T0 = 1_800_000_000_000;
const DAY = 86_400_000;
const mounts: string[] = [];

function tmpfs(size: string): string | null {
  if (process.getuid?.() !== 0) return null;
  const dir = tmp('gpulse-tmpfs-');
  const r = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  if (r.exitCode !== 0) return null;
  mounts.push(dir);
  return dir;
}
afterAll(() => {
  for (const m of mounts) Bun.spawnSync(['umount', '-l', m]);
});

const why = process.getuid?.() !== 0 ? 'not root: cannot mount a tmpfs' : null;
if (why) console.log(`store-disk tests skipped: ${why}`);

describe.skipIf(!!why)('a full disk', () => {
  // Also with the import's batched log: the open window the retry rewrites into the log must reach the disk at once.
  for (const walBatchBytes of [0, 64 << 10])
    test(`sampling and serving go on from memory; writing resumes when space returns, nothing lost or misaligned${walBatchBytes ? ' (batched log)' : ''}`, () => {
      const mnt = tmpfs('1m');
      if (!mnt) {
        console.log('skipped: mount -t tmpfs failed');
        return;
      }
      const dir = join(mnt, 'state');
      let now = T0 + DAY;
      const open = () =>
        Store.open({
          dir,
          intervalMs: 1000,
          retentionMs: { raw: 14 * DAY, '1m': 90 * DAY, '1h': 730 * DAY },
          maxDiskBytes: 1 << 30,
          now: () => now,
          walBatchBytes,
        });
      const s = open();
      const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
      s.setKeys(keys);
      const ballast = join(mnt, 'ballast');
      writeFileSync(ballast, Buffer.alloc(900 * 1024));
      const row = new Float64Array(keys.length);
      const put = (from: number, n: number) => {
        for (let i = from; i < from + n; i++) {
          row.fill(i % 97).forEach((_, k) => (row[k] = (i * (k + 1)) % 1000));
          expect(s.append(T0 + i * 1000, row)).toBe(true);
        }
      };
      put(0, 3000); // the log fills the disk within a few hundred rows; three windows seal meanwhile
      expect(s.state.kind).toBe('disk_full');
      expect(s.warnings.join(' ')).toMatch(/history write failed \(ENOSPC\)/);
      const held = [...rowBatches(s, keys, -Infinity, Infinity)].reduce((n, b) => n + b.t.length, 0);
      expect(held).toBe(3000); // everything still served
      unlinkSync(ballast);
      now += 10_000; // past the retry delay
      put(3000, 10);
      expect(s.state.kind).toBe('ok');
      // A crash now (no close) and a restart: every row, in order, no torn or misaligned record.
      const back = open();
      const t: number[] = [];
      const v: number[] = [];
      for (const b of rowBatches(back, keys, -Infinity, Infinity)) {
        t.push(...b.t);
        v.push(...b.cols[3]!);
      }
      // A batched log may lose only what was appended after the retry and not yet written (up to 10 rows here).
      if (walBatchBytes) expect(t.length).toBeGreaterThanOrEqual(3000);
      else expect(t.length).toBe(3010);
      for (let i = 0; i < t.length; i++) {
        expect(t[i]).toBe(T0 + i * 1000);
        expect(v[i]).toBe((i * 4) % 1000);
      }
      expect(back.warnings).toEqual([]);
    });

  test('a read-only data dir: the agent starts memory-only, says so in the banner and /v1/info, and serves', async () => {
    const mnt = tmpfs('1m');
    if (!mnt) {
      console.log('skipped: mount -t tmpfs failed');
      return;
    }
    const home = tmp();
    mkdirSync(join(mnt, 'state'), { mode: 0o700 });
    expect(Bun.spawnSync(['mount', '-o', 'remount,ro', mnt]).exitCode).toBe(0);
    const a = await startAgent(
      ['--interval', '200ms', '--gpu', 'nvml', '--data-dir', join(mnt, 'state')],
      { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '1' },
      { dir: home },
    );
    try {
      expect(a.stderr()).toMatch(/history: memory only \(data dir .* unusable \(EROFS\)\)/);
      await Bun.sleep(700);
      const info = await (await fetch(a.url + '/v1/info', auth(a.token))).json();
      expect(info.storage.state).toBe('memory_only');
      expect(info.buffer.count).toBeGreaterThan(0);
    } finally {
      await a.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('an agent whose disk fills reports disk_full in /v1/info, keeps streaming, and resumes writing', async () => {
    const mnt = tmpfs('512k');
    if (!mnt) {
      console.log('skipped: mount -t tmpfs failed');
      return;
    }
    const ballast = join(mnt, 'ballast');
    writeFileSync(ballast, Buffer.alloc(500 * 1024));
    const a = await startAgent(
      ['--interval', '100ms', '--gpu', 'nvml', '--data-dir', join(mnt, 'state')],
      { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '8' },
      { dir: tmp() },
    );
    try {
      const info = async () => (await fetch(a.url + '/v1/info', auth(a.token))).json();
      let i = await info();
      for (let k = 0; k < 100 && i.storage.state === 'ok'; k++) {
        await Bun.sleep(100);
        i = await info();
      }
      expect(i.storage.state).toBe('disk_full');
      const before = i.buffer.count;
      await Bun.sleep(500);
      expect((await info()).buffer.count).toBeGreaterThan(before); // still sampling
      unlinkSync(ballast);
      for (let k = 0; k < 100 && i.storage.state !== 'ok'; k++) {
        await Bun.sleep(100);
        i = await info();
      }
      expect(i.storage.state).toBe('ok');
      expect(a.stderr()).toMatch(/history writes resumed/);
    } finally {
      await a.stop();
    }
  }, 30_000);
});
