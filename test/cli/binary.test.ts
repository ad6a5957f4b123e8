/** The single-file executable, as a user runs it: no Bun on PATH, PWA embedded, NVML through the embedded worker. */
import { beforeAll, describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { auth, BUN, fakeNvml, ROOT, startAgent, tmp } from '../helpers.ts';

const BIN = join(ROOT, 'test/.build/gpulse');
const haveWeb = existsSync(join(ROOT, 'dist/web/index.html'));
const ENV = () => ({
  PATH: '/usr/bin:/bin',
  HOME: tmp(),
  GPULSE_TOKEN: 'binary-test-token-0123456789',
  GPULSE_NVML_LIB: fakeNvml('default'),
  FAKE_NVML_GPUS: '3',
});

describe.skipIf(!haveWeb)('dist/gpulse', () => {
  beforeAll(() => {
    const r = Bun.spawnSync([BUN, join(ROOT, 'scripts/build-bin.ts'), '--outfile', BIN], { stdout: 'pipe', stderr: 'pipe' });
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  }, 120_000);

  test('--version and a bad flag (exit 2), without bun or node on PATH', () => {
    const v = Bun.spawnSync([BIN, '--version'], { env: ENV() });
    expect(v.stdout.toString()).toMatch(/^gpulse \d+\.\d+\.\d+\n$/);
    const bad = Bun.spawnSync([BIN, 'serve', '--port', 'x'], { env: ENV() });
    expect(bad.exitCode).toBe(2);
  });
  test('snapshot --json reads the fake NVML through the embedded worker', () => {
    const r = Bun.spawnSync([BIN, 'snapshot', '--json', '--ollama', 'off'], { env: ENV() });
    const s = JSON.parse(r.stdout.toString());
    expect(s.gpus).toHaveLength(3);
    expect(s.gpus[2]).toMatchObject({ index: 2, name: 'NVIDIA H100 80GB HBM3', mem_total: 85899345920, power_limit_w: 700 });
    expect(s.host.memory.total).toBeGreaterThan(0);
  });
  test('finds libnvidia-ml.so.1 by its bare name through the dynamic loader, as on a GPU box', () => {
    const dir = tmp();
    Bun.spawnSync(['cp', fakeNvml('default'), join(dir, 'libnvidia-ml.so.1')]);
    const { GPULSE_NVML_LIB: _unused, ...env } = ENV();
    const r = Bun.spawnSync([BIN, 'snapshot', '--json', '--ollama', 'off'], { env: { ...env, LD_LIBRARY_PATH: dir }, cwd: '/' });
    expect(JSON.parse(r.stdout.toString()).gpus).toHaveLength(3);
    const none = Bun.spawnSync([BIN, 'snapshot', '--ollama', 'off'], { env, cwd: '/' });
    // CI installs NVIDIA's real library (libnvidia-ml1) without a driver: then the loader finds it and init says why.
    const real = /libnvidia-ml\.so\.1 /.test(Bun.spawnSync(['/sbin/ldconfig', '-p']).stdout.toString());
    expect(none.stdout.toString()).toContain(
      real
        ? 'nvml: nvmlInit_v2: DRIVER_NOT_LOADED'
        : 'nvml: cannot load NVML (libnvidia-ml.so.1 not found; libnvidia-ml.so not found: is the NVIDIA driver installed?)',
    );
  });
  test('snapshot prints a readable table', () => {
    const out = Bun.spawnSync([BIN, 'snapshot', '--ollama', 'off'], { env: ENV() }).stdout.toString();
    expect(out).toMatch(/\[0\] NVIDIA H100 80GB HBM3\s+\|\s+\d+ °C\s+\d+ %\s+\|\s+[\d.]+ GiB \/ 80\.0 GiB \|\s+\d+ W \/ 700 W/);
  });
  test('serve: the API and the embedded PWA with its security headers', async () => {
    const env = ENV();
    const a = await startAgent(['--interval', '200ms'], env, { bin: [BIN], token: env.GPULSE_TOKEN });
    try {
      const info = await (await fetch(a.url + '/v1/info', auth(a.token))).json();
      expect(info.provider).toBe('nvml');
      expect(info.devices).toHaveLength(3);
      const page = await fetch(a.url + '/');
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="app">');
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(page.headers.get('x-content-type-options')).toBe('nosniff');
      expect((await fetch(a.url + '/sw.js')).headers.get('content-type')).toContain('javascript');
      for (const p of ['/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/assets/', '/assets/../index.html.bak', '/.git/config']) {
        const r = await fetch(a.url + p);
        expect([404, 401]).toContain(r.status);
        expect(await r.text()).not.toContain('root:');
      }
    } finally {
      await a.stop();
    }
  }, 30_000);
  test('service: the install line copies this executable', () => {
    const out = Bun.spawnSync([BIN, 'service'], { env: ENV() }).stdout.toString();
    expect(out).toContain(`# Install: sudo install -m 0755 ${BIN} /usr/local/bin/gpulse && gpulse service`);
    expect(out).not.toContain('npm run build');
  });
});
