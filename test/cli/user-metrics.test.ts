/**
 * Your own metrics end to end, as a user would use them against a real agent process: a real
 * *.prom file written with write-and-rename, a real curl push, the README's Python example, a
 * real script run by --exec, `gpulse push`; each shows in the stream, history, chunks, export and
 * /metrics. Bad input is reported and changes nothing; a hung command never delays a tick.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeChunk, splitChunks } from '../../shared/chunk/index.ts';
import { auth, BUN, readSse, ROOT, startAgent, tmp, type RunningAgent } from '../helpers.ts';

let a: RunningAgent;
let dir: string;
const tf = () => join(dir, 'textfiles');
const write = (name: string, text: string) => {
  const p = join(tf(), name);
  writeFileSync(p + '.tmp', text);
  renameSync(p + '.tmp', p);
};
const get = (p: string) => fetch(a.url + p, auth(a.token));
const info = async () =>
  (await (await get('/v1/info')).json()) as {
    series: { key: string; scope: string; unit: string; help?: string }[];
    user_metrics: { series: number; textfile: { files: Record<string, unknown>[] }; exec: Record<string, unknown>[] };
  };
const cli = (args: string[], stdin?: string) =>
  Bun.spawnSync([BUN, join(ROOT, 'cli/main.ts'), ...args, '--url', a.url], {
    env: { PATH: process.env.PATH!, HOME: tmp(), GPULSE_TOKEN: a.token },
    stdout: 'pipe',
    stderr: 'pipe',
    ...(stdin !== undefined ? { stdin: new TextEncoder().encode(stdin) } : {}),
  });
async function until<T>(f: () => Promise<T | null | undefined | false>, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await Bun.sleep(100);
  }
}
const latest = async (key: string) => {
  const h = (await (await get(`/v1/history?keys=${key}&limit=1`)).json()) as { series?: Record<string, (number | null)[]> };
  return h.series?.[key]?.[0] ?? null;
};

beforeAll(async () => {
  dir = tmp();
  mkdirSync(tf());
  write('train.prom', '# HELP train_loss Training loss of the current run\n# TYPE train_loss gauge\ntrain_loss{run="42"} 0.0123457\nstep_seconds 1.5\n');
  writeFileSync(join(dir, 'depth'), '7');
  const script = join(dir, 'queue.sh');
  writeFileSync(script, `#!/bin/sh\necho '# TYPE queue_depth gauge'\necho "queue_depth{queue=\\"a\\"} $(cat ${join(dir, 'depth')})"\necho 'queue_ok 1'\n`);
  chmodSync(script, 0o755);
  // `key value` lines whose keys are no Prometheus names, next to a Prometheus line.
  const dotted = join(dir, 'dotted.sh');
  writeFileSync(dotted, `#!/bin/sh\necho 'my.key 5'\necho 'requests-per-sec 12.5'\necho 'plain_ok{a="b"} 1'\n`);
  chmodSync(dotted, 0o755);
  a = await startAgent([
    '--interval',
    '200ms',
    '--gpu',
    'none',
    '--textfile-dir',
    tf(),
    '--exec',
    `queue=${script}`,
    '--exec',
    `dotted=${dotted}`,
    '--exec',
    'hang=sleep 30',
    '--exec',
    'fails=echo oops >&2; exit 3',
    '--exec',
    'garbage=echo "not a metric line"',
    '--exec-interval',
    '1s',
    '--exec-timeout',
    '500ms',
  ]);
});
afterAll(async () => {
  await a?.stop();
});

describe('textfile directory', () => {
  test('a *.prom file: its series with HELP, unit from the _seconds suffix, unrounded values', async () => {
    const i = await until(async () => {
      const x = await info();
      return x.series.some((s) => s.key === 'user.step_seconds') && x;
    });
    expect(i.series.find((s) => s.key === 'user.train_loss.run-42')).toMatchObject({ scope: 'user', help: 'Training loss of the current run', unit: '' });
    expect(i.series.find((s) => s.key === 'user.step_seconds')).toMatchObject({ unit: 's' });
    expect(await until(() => latest('user.train_loss.run-42'))).toBe(0.0123457);
  });
  test('a file rewritten (write and rename) is read again; a new file joins mid-stream with a schema event first', async () => {
    const res = await get('/v1/stream');
    const pending = readSse(
      res,
      (m) => m.some((x, i) => i > 0 && x.event === 'schema' && x.data.includes('user.new_metric')) && m.filter((x) => x.event === 'sample').length > 3,
      8000,
    );
    await Bun.sleep(500);
    write('new.prom', 'new_metric 3.14159265358979\n');
    const msgs = await pending;
    const at = msgs.findIndex((m, i) => i > 0 && m.event === 'schema' && m.data.includes('user.new_metric'));
    expect(at).toBeGreaterThan(0);
    const schema = JSON.parse(msgs[at]!.data) as { series: { key: string }[] };
    const col = schema.series.findIndex((s) => s.key === 'user.new_metric');
    const next = msgs.slice(at + 1).find((m) => m.event === 'sample')!;
    const row = JSON.parse(next.data) as (number | null)[];
    expect(row).toHaveLength(schema.series.length + 1);
    expect(row[col + 1]).toBe(3.14159265358979);
    // every sample before the new schema had the old width
    const before = JSON.parse(msgs[0]!.data) as { series: unknown[] };
    for (const m of msgs.slice(1, at).filter((x) => x.event === 'sample')) expect(JSON.parse(m.data)).toHaveLength(before.series.length + 1);
  });
  test('a bad file is reported with file and line; the others keep working', async () => {
    write('broken.prom', 'ok_line 1\nbad_line{x="1" 2\n');
    const f = await until(async () => (await info()).user_metrics.textfile.files.find((x) => x.file === 'broken.prom' && x.state === 'error'));
    expect(f).toMatchObject({ line: 2 });
    expect(String(f.message)).toContain('bad_line');
    expect(await latest('user.train_loss.run-42')).toBe(0.0123457);
  });
});

describe('push', () => {
  test('a real curl push (Prometheus text), then the value in history, unrounded', async () => {
    const r = Bun.spawnSync(
      ['curl', '-sS', '-H', `Authorization: Bearer ${a.token}`, '--data-binary', 'curl_metric{host="a.b"} 0.000123456789\n', `${a.url}/v1/push`],
      { stdout: 'pipe', stderr: 'pipe' },
    );
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout.toString())).toEqual({ accepted: 1, keys: ['user.curl_metric.host-a~2Eb'] });
    expect(await until(() => latest('user.curl_metric.host-a~2Eb'))).toBe(0.000123456789);
  });
  test("the README's three-line Python example, run as written", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const py = /```python\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(py.trim().split('\n')).toHaveLength(3);
    const r = Bun.spawnSync(['python3', '-c', py], {
      env: { PATH: process.env.PATH!, GPULSE_TOKEN: a.token, GPULSE_URL: a.url },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    expect(r.stderr.toString()).toBe('');
    expect(await until(async () => (await latest('user.step.run-42')) === 99)).toBe(true);
    expect(await latest('user.loss.run-42')).toBe(1 / 100);
  });
  test('gpulse push name=value --label, and --file (stdin)', async () => {
    const r = cli(['push', 'lr=0.0003', 'epoch=2', '--label', 'run=42']);
    expect(r.stderr.toString()).toBe('');
    expect(r.stdout.toString()).toContain('pushed 2 series: user.lr.run-42, user.epoch.run-42');
    const f = cli(['push', '--file', '-'], '# TYPE from_file counter\nfrom_file_total 12\n');
    expect(f.exitCode).toBe(0);
    expect(await until(() => latest('user.lr.run-42'))).toBe(0.0003);
    expect(await until(() => latest('user.from_file_total'))).toBe(12);
    const bad = cli(['push', 'lr=abc']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.toString()).toContain('push: lr: "abc" is not a finite number');
  });
  test('a bad body is a 400 naming the first bad line; nothing of it is stored', async () => {
    const before = (await info()).user_metrics.series;
    const r = await fetch(`${a.url}/v1/push`, { method: 'POST', ...auth(a.token), body: 'fine_one 1\nfine_two 2\nbad one\n' });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: 'body: line 3: bad: bad value "one"', param: 'body' });
    const j = await fetch(`${a.url}/v1/push`, {
      method: 'POST',
      ...auth(a.token, { 'content-type': 'application/json' }),
      body: '{"metrics": {"ok": 1, "no": "x"}}',
    });
    expect(j.status).toBe(400);
    expect(((await j.json()) as { error: string }).error).toBe('body: metrics.no: value must be a finite number');
    expect((await fetch(`${a.url}/v1/push`, { method: 'POST', body: 'x 1\n' })).status).toBe(401);
    await Bun.sleep(500);
    const i = await info();
    expect(i.user_metrics.series).toBe(before);
    expect(i.series.some((s) => s.key === 'user.fine_one' || s.key === 'user.ok')).toBe(false);
  });
});

describe('exec collectors', () => {
  test('a real script: its output becomes series, and follows what the script prints', async () => {
    expect(await until(() => latest('user.queue_depth.queue-a'))).toBe(7);
    writeFileSync(join(dir, 'depth'), '9');
    expect(await until(async () => (await latest('user.queue_depth.queue-a')) === 9)).toBe(true);
  });
  test('`key value` lines with dots and dashes in the key: folded to metric names (`.` and `-` → `_`)', async () => {
    expect(await until(() => latest('user.my_key'))).toBe(5);
    expect(await latest('user.requests_per_sec')).toBe(12.5);
    expect(await latest('user.plain_ok.a-b')).toBe(1);
    const d = (await info()).user_metrics.exec.find((c) => c.name === 'dotted');
    expect(d).toMatchObject({ state: 'ok', series: 3, error: null });
  });
  test('hung, failing and garbage-printing commands: errors in /v1/info, and ticks never wait for them', async () => {
    const e = await until(async () => {
      const x = (await info()).user_metrics.exec;
      return x.every((c) => c.state !== 'pending') && x;
    });
    const by = Object.fromEntries(e.map((c) => [c.name, c]));
    expect(by.queue).toMatchObject({ state: 'ok', series: 2, error: null });
    expect(by.hang).toMatchObject({ state: 'timeout', error: 'timed out after 0.5 s (killed)' });
    expect(by.fails).toMatchObject({ state: 'error', error: 'exited 3: oops' });
    expect(String(by.garbage!.error)).toContain('output line 1');
    const msgs = await readSse(await get('/v1/stream'), (m) => m.filter((x) => x.event === 'sample').length >= 11, 6000);
    const ts = msgs.filter((m) => m.event === 'sample').map((m) => JSON.parse(m.data)[0] as number);
    for (let i = 1; i < ts.length; i++) expect(ts[i]! - ts[i - 1]!).toBe(200);
  });
});

describe('every way out', () => {
  test('history/chunks carry user series losslessly; export csv has their columns; /metrics has them under their names', async () => {
    const bytes = new Uint8Array(await (await get('/v1/history/chunks?keys=user.train_loss.run-42')).arrayBuffer());
    const frames = [...splitChunks(bytes)].filter((f) => 'header' in f);
    expect(frames.length).toBeGreaterThan(0);
    const c = decodeChunk(bytes, frames[0]!.offset);
    expect(c.ok && c.value.tier === 'raw' && [...c.value.v].filter((x) => x === x).every((x) => x === 0.0123457)).toBe(true);
    const csv = cli(['export', '--since', '60']).stdout.toString();
    const [head, ...rows] = csv.trim().split('\n');
    const col = head!.split(',').indexOf('user.train_loss.run-42');
    expect(col).toBeGreaterThan(1);
    expect(rows.at(-1)!.split(',')[col]).toBe('0.0123457');
    const m = await (await get('/metrics')).text();
    expect(m).toContain('# HELP train_loss Training loss of the current run\n# TYPE train_loss gauge\n');
    expect(m).toMatch(/^train_loss\{run="42",Hostname="[^"]+"\} 0\.0123457$/m);
    expect(m).toMatch(/^queue_depth\{queue="a",Hostname="[^"]+"\} 9$/m);
    const promtool = Bun.which('promtool');
    if (promtool) {
      const r = Bun.spawnSync([promtool, 'check', 'metrics'], { stdin: new TextEncoder().encode(m), stdout: 'pipe', stderr: 'pipe' });
      const out = r.stdout.toString() + r.stderr.toString();
      expect(out).not.toMatch(/error|parse/i);
    }
  });
});

describe('the cap', () => {
  test('--max-series: a push past it is a 429 naming the limit; a textfile past it has a warning in /v1/info', async () => {
    const d = tmp();
    mkdirSync(join(d, 'tf'));
    writeFileSync(join(d, 'tf', 'many.prom'), Array.from({ length: 6 }, (_, i) => `f${i} ${i}`).join('\n') + '\n');
    const b = await startAgent(['--interval', '200ms', '--gpu', 'none', '--max-series', '4', '--textfile-dir', join(d, 'tf')], {}, { dir: d });
    try {
      const i = await until(async () => {
        const x = (await (await fetch(b.url + '/v1/info', auth(b.token))).json()) as { user_metrics: { series: number; warnings: string[] } };
        return x.user_metrics.series === 4 && x;
      });
      expect(i.user_metrics.warnings).toEqual(['textfile many.prom: 2 series not taken: --max-series 4 reached']);
      const r = await fetch(b.url + '/v1/push', { method: 'POST', ...auth(b.token), body: 'p 1\n' });
      expect(r.status).toBe(429);
      expect(((await r.json()) as { error: string }).error).toContain('--max-series 4 reached');
    } finally {
      await b.stop();
    }
  });
});
