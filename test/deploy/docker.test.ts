/**
 * Builds the image and runs it: only where a Docker daemon answers (a docker client alone is not
 * enough), otherwise skipped with the reason printed. Slow (a full npm ci and build inside).
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { ROOT } from '../helpers.ts';

const DOCKER = Bun.which('docker');
const daemon = DOCKER ? Bun.spawnSync([DOCKER, 'info', '--format', '{{.ServerVersion}}'], { stdout: 'pipe', stderr: 'pipe' }) : null;
const why = !DOCKER ? 'no docker binary' : daemon!.exitCode !== 0 ? `no Docker daemon (${daemon!.stderr.toString().trim().split('\n').at(-1)})` : null;
if (why) console.warn(`docker.test.ts: skipped: ${why}`);

const TAG = `gpulse-test:${process.pid}`;
const TOKEN = 'docker-test-token-0123456789';
const docker = (args: string[], timeout = 60_000) => Bun.spawnSync([DOCKER!, ...args], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe', timeout });
let container: string | null = null;
afterAll(() => {
  if (why) return;
  if (container) docker(['rm', '-f', container]);
  docker(['rmi', '-f', TAG]);
});

describe.skipIf(!!why)('the container image', () => {
  test('builds from the Dockerfile; the binary runs as uid 10001 and answers --version', () => {
    const b = docker(['build', '-t', TAG, '.'], 900_000);
    if (b.exitCode !== 0) throw new Error(b.stderr.toString().slice(-4000));
    expect(docker(['run', '--rm', TAG, '--version']).stdout.toString().trim()).toMatch(/^gpulse \d+\.\d+\.\d+/);
    expect(docker(['run', '--rm', '--entrypoint', 'id', TAG, '-u']).stdout.toString().trim()).toBe('10001');
    const size = Number(docker(['image', 'inspect', TAG, '--format', '{{.Size}}']).stdout.toString());
    expect(size).toBeLessThan(250 * 1024 * 1024);
  }, 900_000);

  test('serves: /healthz, the API with the token, /metrics; the health check turns healthy', async () => {
    const run = docker([
      'run',
      '-d',
      '-e',
      `GPULSE_TOKEN=${TOKEN}`,
      '-p',
      '127.0.0.1::9740',
      '--health-interval=1s',
      TAG,
      'serve',
      '--gpu',
      'none',
      '--ollama',
      'off',
    ]);
    expect(run.exitCode).toBe(0);
    container = run.stdout.toString().trim();
    const port = docker(['port', container, '9740/tcp']).stdout.toString().trim().split(':').at(-1);
    const url = `http://127.0.0.1:${port}`;
    let status = '';
    for (let i = 0; i < 60 && status !== 'ready'; i++) {
      await Bun.sleep(500);
      status = await fetch(url + '/healthz')
        .then((r) => r.json())
        .then(
          (j) => j.status,
          () => '',
        );
    }
    expect(status).toBe('ready');
    expect((await fetch(url + '/v1/info')).status).toBe(401);
    const info = await (await fetch(url + '/v1/info', { headers: { authorization: `Bearer ${TOKEN}` } })).json();
    expect(info.storage.dir).toBe('/var/lib/gpulse/state');
    expect(await (await fetch(url + '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })).text()).toContain('node_cpu_seconds_total');
    let health = '';
    for (let i = 0; i < 30 && health !== 'healthy'; i++) {
      await Bun.sleep(1000);
      health = docker(['inspect', '--format', '{{.State.Health.Status}}', container]).stdout.toString().trim();
    }
    expect(health).toBe('healthy');
  }, 60_000);
});
