/** CLI output through pipes: everything arrives, or the command says why not and fails. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { historyCsv } from '../../shared/export.ts';
import { auth, BUN, ROOT, startAgent, tmp, type RunningAgent } from '../helpers.ts';

describe('gpulse export through pipes', () => {
  let a: RunningAgent;
  let range = '';
  let want = '';
  beforeAll(async () => {
    // An hour of synthetic rows at 1 s: about half a megabyte of CSV, far past a pipe's buffer.
    a = await startAgent(['--interval', '1s', '--retention', '1h', '--gpu', 'none'], { GPULSE_BENCH_FILL: '1h' });
    const all = await (await fetch(a.url + '/v1/history', auth(a.token))).json();
    const since = all.t[0],
      until = all.t[all.t.length - 10];
    range = `--since ${since} --until ${until}`;
    want = historyCsv(await (await fetch(`${a.url}/v1/history?since=${since}&until=${until}`, auth(a.token))).json());
    expect(want.length).toBeGreaterThan(400_000);
  });
  afterAll(async () => {
    await a?.stop();
  });
  const sh = (pipeline: string) => {
    const r = Bun.spawnSync(['bash', '-c', pipeline], {
      env: { PATH: process.env.PATH!, HOME: tmp(), GPULSE_TOKEN: a.token, GPULSE_URL: a.url, GPULSE: `${BUN} ${join(ROOT, 'cli/main.ts')}` },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
  };

  test('into a pipe and into a slow reader: every byte arrives, exit 0', () => {
    const fast = sh(`$GPULSE export ${range} | cat; exit \${PIPESTATUS[0]}`);
    expect(fast.code).toBe(0);
    expect(fast.out.length).toBe(want.length);
    expect(fast.out).toBe(want);
    const slow = sh(`$GPULSE export ${range} | (sleep 1; cat); exit \${PIPESTATUS[0]}`);
    expect(slow.code).toBe(0);
    expect(slow.out).toBe(want);
  }, 20_000);

  test('--format json into a pipe is complete JSON', () => {
    const r = sh(`$GPULSE export ${range} --format json | cat; exit \${PIPESTATUS[0]}`);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).history.t.length).toBeGreaterThan(3000);
  }, 20_000);

  test('| head: the reader leaving ends export quietly with 141, like cat', () => {
    const r = sh(`$GPULSE export ${range} | head -c 100 >/dev/null; exit \${PIPESTATUS[0]}`);
    expect(r.code).toBe(141);
    expect(r.err).toBe('');
  }, 20_000);

  test('a full disk is a non-zero exit with a message naming the error', () => {
    const r = sh(`$GPULSE export ${range} > /dev/full`);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^gpulse: cannot write to stdout: ENOSPC/);
  }, 20_000);
});
