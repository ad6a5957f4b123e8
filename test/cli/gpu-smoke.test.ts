/**
 * scripts/gpu-smoke.sh is for machines with a real GPU; here its mechanics are checked with the
 * fake nvidia-smi on both sides (gpulse's nvidia-smi provider against the same fake as reference):
 * it passes when they agree, fails naming the field when the reference disagrees, and says why it
 * cannot run without nvidia-smi.
 */
import { describe, expect, test } from 'bun:test';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUN, ROOT, tmp } from '../helpers.ts';

const FAKE_BIN = join(ROOT, 'test/fixtures/bin');
const run = (env: Record<string, string>) =>
  Bun.spawnSync([join(ROOT, 'scripts/gpu-smoke.sh'), BUN, join(ROOT, 'cli/main.ts')], {
    env: { PATH: `${FAKE_BIN}:${process.env.PATH}`, HOME: tmp(), GPULSE_SMOKE_GPU: 'nvidia-smi', GPULSE_SMOKE_SECONDS: '3', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
    timeout: 60_000,
  });

describe.skipIf(!Bun.which('python3'))('scripts/gpu-smoke.sh', () => {
  test('passes when gpulse and nvidia-smi agree (snapshot and a stream)', () => {
    const r = run({});
    const out = r.stdout.toString();
    expect(out).toContain('gpu-smoke: PASS');
    expect(Number(/(\d+) comparisons/.exec(out)![1])).toBeGreaterThan(30);
    expect(r.exitCode).toBe(0);
  }, 60_000);

  test('fails, naming the field, when the reference reads 10 °C hotter', () => {
    const dir = tmp();
    const wrapper = join(dir, 'hot-smi');
    // Column 6 of the script's query is temperature.gpu.
    // A shell loop, not awk: mawk buffers its input and would hold the -lms rows back.
    writeFileSync(
      wrapper,
      `#!/usr/bin/env bash\n"${FAKE_BIN}/nvidia-smi" "$@" | while IFS= read -r line; do IFS=',' read -ra f <<< "$line"; f[5]=" $(( \${f[5]} + 10 ))"; (IFS=','; echo "\${f[*]}"); done\n`,
    );
    chmodSync(wrapper, 0o755);
    const r = run({ NVIDIA_SMI: wrapper });
    const out = r.stdout.toString();
    expect(r.exitCode).toBe(1);
    expect(out).toContain('gpu-smoke: FAIL');
    expect(out).toMatch(/FAIL GPU 0 snapshot temperature °C: gpulse 55\.00 vs nvidia-smi 65\.00 \(tolerance ±3\.00\)/);
    expect(out).toMatch(/FAIL GPU 1 minute mean temperature °C/);
  }, 60_000);

  test('without nvidia-smi it says why and exits 2', () => {
    const r = Bun.spawnSync([join(ROOT, 'scripts/gpu-smoke.sh'), BUN, join(ROOT, 'cli/main.ts')], {
      env: { PATH: '/usr/bin:/bin', HOME: tmp() },
      stdout: 'pipe',
    });
    expect(r.exitCode).toBe(2);
    expect(r.stdout.toString()).toContain('nvidia-smi not found: run this on a machine with an NVIDIA GPU');
  });
});
