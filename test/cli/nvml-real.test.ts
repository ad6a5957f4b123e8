/**
 * The binding against NVIDIA's real libnvidia-ml.so.1 (Debian's non-free libnvidia-ml1, which
 * .ci/run installs): every symbol the binding declares must resolve in it, and on a machine with
 * no NVIDIA driver, init must take the clear DRIVER_NOT_LOADED path. Skipped, saying why, when the
 * library is not installed.
 */
import { describe, expect, test } from 'bun:test';
import { dlopen } from 'bun:ffi';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OPTIONAL, REQUIRED } from '../../cli/gpu/nvml/symbols.ts';
import { BUN, ROOT, tmp } from '../helpers.ts';

/** Where the dynamic loader finds libnvidia-ml.so.1 (ldconfig's cache), or null. */
function realNvml(): string | null {
  const r = Bun.spawnSync(['/sbin/ldconfig', '-p'], { stdout: 'pipe', stderr: 'ignore' });
  const m = /^\s*libnvidia-ml\.so\.1 \([^)]*\) => (\S+)$/m.exec(r.stdout?.toString() ?? '');
  return m && existsSync(m[1]!) ? m[1]! : null;
}

const LIB = realNvml();
const DRIVER = existsSync('/proc/driver/nvidia/version');
if (!LIB)
  console.warn('nvml-real.test.ts: skipped: libnvidia-ml.so.1 is not installed (Debian: apt-get install libnvidia-ml1 from non-free; .ci/run does this)');

describe.skipIf(!LIB)(`NVIDIA's real libnvidia-ml.so.1 (${LIB})`, () => {
  test('every symbol the binding declares (required and optional) resolves', () => {
    const missing: string[] = [];
    for (const [name, def] of Object.entries({ ...REQUIRED, ...OPTIONAL })) {
      try {
        dlopen(LIB!, { [name]: def }).close();
      } catch {
        missing.push(name);
      }
    }
    expect(missing).toEqual([]);
    expect(Object.keys(REQUIRED).length + Object.keys(OPTIONAL).length).toBeGreaterThanOrEqual(40);
  });

  test.skipIf(DRIVER)('without a driver, init is the clear DRIVER_NOT_LOADED error, by path and by bare name', () => {
    for (const lib of [LIB!, 'libnvidia-ml.so.1']) {
      const r = Bun.spawnSync([BUN, join(ROOT, 'test/cli/nvml-probe.ts'), lib], { env: { PATH: process.env.PATH! } });
      expect(JSON.parse(r.stdout.toString().trim())).toEqual({ ok: false, error: 'nvmlInit_v2: DRIVER_NOT_LOADED' });
    }
  });

  test.skipIf(DRIVER)('the agent passes NVML over with that reason and goes on', () => {
    const r = Bun.spawnSync([BUN, join(ROOT, 'cli/main.ts'), 'snapshot', '--gpu', 'nvml', '--ollama', 'off'], { env: { PATH: '/usr/bin:/bin', HOME: tmp() } });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toContain('nvml: nvmlInit_v2: DRIVER_NOT_LOADED');
  });

  test.skipIf(!DRIVER)('with a driver loaded, init succeeds and devices are listed', () => {
    const r = Bun.spawnSync([BUN, join(ROOT, 'test/cli/nvml-probe.ts'), LIB!, '1'], { env: { PATH: process.env.PATH! } });
    const p = JSON.parse(r.stdout.toString().trim());
    expect(p.ok).toBe(true);
    expect(p.devices.length).toBeGreaterThan(0);
  });
});
