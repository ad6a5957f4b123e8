/** `gpulse pair --app` (a link into a hosted copy of the app) and `gpulse mark --end` without a label. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { newestOpen } from '../../cli/commands/client.ts';
import { pairLink } from '../../cli/commands/pair.ts';
import { auth, BUN, ROOT, startAgent, tmp, type RunningAgent } from '../helpers.ts';

const TOKEN = 'abcdefghijklmnop1234';
const run = (args: string[], env: Record<string, string> = {}) =>
  Bun.spawnSync([BUN, join(ROOT, 'cli/main.ts'), ...args], { env: { PATH: process.env.PATH!, HOME: tmp(), GPULSE_TOKEN: TOKEN, ...env } });

describe('pair --app', () => {
  test('the link is built on the app URL as given: a file, a query and a folder without its slash', () => {
    const q = `#/add?url=http%3A%2F%2Fa%3A1&token=t`;
    expect(pairLink('https://h.example/gpulse/index.html', 'http://a:1', 't')).toBe(`https://h.example/gpulse/index.html${q}`);
    expect(pairLink('https://h.example/?x=1', 'http://a:1', 't')).toBe(`https://h.example/?x=1${q}`);
    expect(pairLink('https://h.example/gpulse', 'http://a:1', 't')).toBe(`https://h.example/gpulse/${q}`);
  });
  test('the link opens the hosted app with this agent and its token in the fragment', () => {
    const r = run(['pair', '--url', 'http://gpu1.lan:9740', '--app', 'https://gpulse.example.org/app/']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString().trim()).toBe(`https://gpulse.example.org/app/#/add?url=http%3A%2F%2Fgpu1.lan%3A9740&token=${TOKEN}`);
  });
  test('GPULSE_APP_URL does the same; the flag wins; a pasted fragment is dropped', () => {
    const env = run(['pair', '--url', 'http://gpu2:9740'], { GPULSE_APP_URL: 'http://localhost:8080/#/' });
    expect(env.stdout.toString().trim()).toBe(`http://localhost:8080/#/add?url=http%3A%2F%2Fgpu2%3A9740&token=${TOKEN}`);
    const both = run(['pair', '--url', 'http://gpu2:9740', '--app', 'https://a.example/'], { GPULSE_APP_URL: 'https://b.example/' });
    expect(both.stdout.toString()).toStartWith('https://a.example/#/add?');
  });
  test('without --app the agent serves the app itself (as before)', () => {
    expect(run(['pair', '--url', 'http://gpu3:9740']).stdout.toString().trim()).toBe(`http://gpu3:9740/#/add?url=http%3A%2F%2Fgpu3%3A9740&token=${TOKEN}`);
  });
  test('a bad --app is a usage error naming the flag', () => {
    const r = run(['pair', '--app', 'ftp://x/']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain('--app: must start with http:// or https://');
    expect(run(['pair', '--app', 'not a url']).stderr.toString()).toContain('--app: not a URL');
  });
});

describe('newestOpen', () => {
  const ev = (id: string, t: number, label: string, end_t: number | null = null, source = 'user') => ({ id, t, label, end_t, source });
  test('the newest open user annotation by start time, of the label when one is given', () => {
    const list = [ev('a', 300, 'x'), ev('b', 100, 'y'), ev('c', 400, 'y', 500), ev('d', 350, 'z', null, 'agent')];
    expect(newestOpen(list, null)?.id).toBe('a');
    expect(newestOpen(list, 'y')?.id).toBe('b');
    expect(newestOpen(list, 'z')).toBeUndefined();
    expect(newestOpen([], null)).toBeUndefined();
  });
});

describe('mark --end against a running agent', () => {
  let a: RunningAgent;
  beforeAll(async () => {
    a = await startAgent(['--gpu', 'none', '--no-persist'], {}, { token: TOKEN });
  }, 30_000);
  afterAll(async () => {
    await a?.stop();
  });
  const mark = (...args: string[]) => run(['mark', ...args, '--url', a.url]);
  const events = async () =>
    ((await (await fetch(`${a.url}/v1/events`, auth(TOKEN))).json()) as { events: { id: string; label: string; end_t?: number | null }[] }).events;

  test('without a label it ends the newest open annotation, then the one before, then says there is none', async () => {
    expect(mark('run 1').exitCode).toBe(0);
    await Bun.sleep(5);
    expect(mark('run 2').exitCode).toBe(0);
    const first = mark('--end');
    expect(first.exitCode).toBe(0);
    expect(JSON.parse(first.stdout.toString())).toMatchObject({ label: 'run 2', end_t: expect.any(Number) });
    let open = (await events()).filter((e) => e.end_t == null).map((e) => e.label);
    expect(open).toEqual(['run 1']);
    expect(JSON.parse(mark('--end').stdout.toString()).label).toBe('run 1');
    open = (await events()).filter((e) => e.end_t == null).map((e) => e.label);
    expect(open).toEqual([]);
    const none = mark('--end');
    expect(none.exitCode).not.toBe(0);
    expect(none.stderr.toString()).toContain('no open annotation to end');
  }, 30_000);
  test('with a label it still ends only that label', async () => {
    mark('train');
    mark('eval');
    expect(JSON.parse(mark('train', '--end').stdout.toString()).label).toBe('train');
    expect((await events()).filter((e) => e.end_t == null).map((e) => e.label)).toEqual(['eval']);
  }, 30_000);
  test('a mark without a label or --end is still a usage error', () => {
    const r = mark();
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain('LABEL is required');
  });
});
