/** Files written where someone else may have planted links: the helpers, the agent's data dir, the token. */
import { describe, expect, test } from 'bun:test';
import { chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, openAppendNoFollow, readFileNoFollow, SafeFsError, writeFileAtomic } from '../../cli/store/safe-fs.ts';
import { closeSync, writeSync } from 'node:fs';
import { loadToken } from '../../cli/token.ts';
import { auth, BUN, ROOT, startAgent, tmp } from '../helpers.ts';

/** A file the attacker wants overwritten (think /etc/shadow), outside the directory. */
function victim(content = 'root:secret:19000::::::\n') {
  const f = join(tmp('gpulse-victim-'), 'shadow');
  writeFileSync(f, content, { mode: 0o600 });
  return { path: f, intact: () => readFileSync(f, 'utf8') === content };
}
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

describe('safe-fs helpers', () => {
  test('writeFileAtomic replaces a planted link instead of writing through it; mode 0600', () => {
    const v = victim();
    const dir = tmp();
    symlinkSync(v.path, join(dir, 'events.json'));
    writeFileAtomic(dir, 'events.json', '[]');
    expect(v.intact()).toBe(true);
    const st = lstatSync(join(dir, 'events.json'));
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'events.json'), 'utf8')).toBe('[]');
  });
  test('links planted at the old predictable temp names are never followed', () => {
    const v = victim();
    const dir = tmp();
    for (const n of ['events.json.tmp', 'history.bin.tmp', `token.${process.pid}.tmp`, `.events.json.${process.pid}.tmp`]) symlinkSync(v.path, join(dir, n));
    writeFileAtomic(dir, 'events.json', '[1]');
    writeFileAtomic(dir, 'token', 'x'.repeat(40));
    expect(v.intact()).toBe(true);
  });
  test('openAppendNoFollow refuses links, hard links and FIFOs, naming the path; a regular file is opened 0600', () => {
    const v = victim();
    const dir = tmp();
    symlinkSync(v.path, join(dir, 'history.bin'));
    expect(() => openAppendNoFollow(join(dir, 'history.bin'))).toThrow(/history\.bin is a symbolic link; refusing to write through it/);
    if (statSync(v.path).dev === statSync(dir).dev) {
      linkSync(v.path, join(dir, 'hard.bin'));
      expect(() => openAppendNoFollow(join(dir, 'hard.bin'))).toThrow(/has 2 hard links/);
    }
    expect(Bun.spawnSync(['mkfifo', join(dir, 'fifo')]).exitCode).toBe(0);
    expect(() => openAppendNoFollow(join(dir, 'fifo'))).toThrow(SafeFsError);
    expect(v.intact()).toBe(true);
    const fd = openAppendNoFollow(join(dir, 'ok.bin'));
    writeSync(fd, 'abc');
    closeSync(fd);
    expect(statSync(join(dir, 'ok.bin')).mode & 0o777).toBe(0o600);
    expect(readFileNoFollow(join(dir, 'ok.bin')).toString()).toBe('abc');
    expect(() => readFileNoFollow(join(dir, 'history.bin'))).toThrow(/symbolic link/);
  });
  test('ensurePrivateDir: creates 0700, refuses a linked dir, tightens a loose one it owns, leaves sticky dirs alone', () => {
    const base = tmp();
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    ensurePrivateDir(join(base, 'a/b/state'), { warn });
    expect(statSync(join(base, 'a/b/state')).mode & 0o777).toBe(0o700);
    mkdirSync(join(base, 'real'));
    symlinkSync(join(base, 'real'), join(base, 'linked'));
    expect(() => ensurePrivateDir(join(base, 'linked'), { warn })).toThrow(/linked is a symbolic link; refusing/);
    mkdirSync(join(base, 'loose'), { mode: 0o777 });
    chmodSync(join(base, 'loose'), 0o777);
    ensurePrivateDir(join(base, 'loose'), { warn });
    expect(statSync(join(base, 'loose')).mode & 0o777).toBe(0o700);
    expect(warnings.at(-1)).toMatch(/loose was mode 777; tightened to 700/);
    mkdirSync(join(base, 'shared'));
    chmodSync(join(base, 'shared'), 0o1777);
    ensurePrivateDir(join(base, 'shared'), { warn });
    expect(statSync(join(base, 'shared')).mode & 0o7777).toBe(0o1777);
    expect(warnings.at(-1)).toMatch(/shared is mode 777: others can read or replace/);
    writeFileSync(join(base, 'file'), '');
    expect(() => ensurePrivateDir(join(base, 'file'), { warn })).toThrow(/not a directory/);
  });
  test.skipIf(!isRoot)('ensurePrivateDir warns about a directory another user owns', () => {
    const d = join(tmp(), 'theirs');
    mkdirSync(d, { mode: 0o700 });
    chownSync(d, NOBODY, NOBODY);
    const warnings: string[] = [];
    ensurePrivateDir(d, { warn: (m) => warnings.push(m) });
    expect(warnings[0]).toMatch(/belongs to uid 65534/);
  });
});

describe('the agent never writes through links in its data dir', () => {
  test('log, segment, lock and events planted as links to outside files: the files are untouched', async () => {
    const dir = tmp();
    const state = join(dir, 'state');
    mkdirSync(join(state, 'raw'), { recursive: true, mode: 0o700 });
    const seg = `${Math.floor(Date.now() / 21_600_000) * 21_600_000}.seg`;
    const v = { wal: victim('wal'), seg: victim('seg'), events: victim('events'), lock: victim('lock') };
    symlinkSync(v.wal.path, join(state, 'wal'));
    symlinkSync(v.seg.path, join(state, 'raw', seg));
    symlinkSync(v.events.path, join(state, 'events.json'));
    symlinkSync(v.lock.path, join(state, 'LOCK'));
    const a = await startAgent(['--interval', '200ms', '--gpu', 'none'], {}, { dir });
    try {
      await fetch(a.url + '/v1/events', { method: 'POST', body: JSON.stringify({ label: 'mark' }), ...auth(a.token) });
      await Bun.sleep(1200); // ticks appended, events debounce flushed
      const info = await (await fetch(a.url + '/v1/info', auth(a.token))).json();
      expect(info.storage.warnings.join(' ')).toMatch(/symlink|symbolic link|ELOOP/);
    } finally {
      await a.stop();
    }
    for (const x of Object.values(v)) expect(x.intact()).toBe(true);
    expect(lstatSync(join(state, 'events.json')).isFile()).toBe(true); // replaced by rename, never written through
    expect(JSON.parse(readFileSync(join(state, 'events.json'), 'utf8')).some((e: { label: string }) => e.label === 'mark')).toBe(true);
  }, 20_000);
  test('a data dir that is itself a link: the agent keeps history in memory only and says why', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'elsewhere'));
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'state'));
    const a = await startAgent(['--interval', '200ms', '--gpu', 'none'], {}, { dir });
    try {
      expect(a.stderr()).toMatch(/memory only .*state is a symbolic link; refusing/);
      expect(readdirSync(join(dir, 'elsewhere'))).toEqual([]);
    } finally {
      await a.stop();
    }
  });
});

describe('the token file', () => {
  const cli = (args: string[], env: Record<string, string>) =>
    Bun.spawnSync([BUN, join(ROOT, 'cli/main.ts'), ...args], { env: { PATH: process.env.PATH!, HOME: tmp(), ...env }, stderr: 'pipe', stdout: 'pipe' });

  test('a dangling link planted at the token path is replaced, not written through', () => {
    const cfg = tmp();
    const v = join(tmp(), 'authorized_keys');
    mkdirSync(join(cfg, 'gpulse'), { mode: 0o700 });
    symlinkSync(v, join(cfg, 'gpulse/token'));
    const r = cli(['token'], { XDG_CONFIG_HOME: cfg });
    expect(r.exitCode).toBe(0);
    expect(existsSync(v)).toBe(false);
    expect(lstatSync(join(cfg, 'gpulse/token')).isFile()).toBe(true);
  });
  test('read through a link (Kubernetes secret layout) when the target is private; refused when it is not', () => {
    const d = tmp();
    mkdirSync(join(d, '..2026_01_01'), { mode: 0o700 });
    writeFileSync(join(d, '..2026_01_01/token'), 'k8s-secret-token-0123456789\n', { mode: 0o600 });
    symlinkSync('..2026_01_01', join(d, '..data'));
    symlinkSync('..data/token', join(d, 'token'));
    expect(loadToken(join(d, 'token'), {}).token).toBe('k8s-secret-token-0123456789');
    chmodSync(join(d, '..2026_01_01/token'), 0o644);
    expect(() => loadToken(join(d, 'token'), {})).toThrow(/readable by group\/others/);
    if (isRoot) {
      chmodSync(join(d, '..2026_01_01/token'), 0o600);
      chownSync(join(d, '..2026_01_01/token'), NOBODY, NOBODY);
      expect(() => loadToken(join(d, 'token'), {})).toThrow(/belongs to uid 65534/);
    }
  });
  test('pair, mark and export with no token say so and how to make one, and create nothing', () => {
    for (const args of [['pair'], ['mark', 'run 1'], ['export']]) {
      const cfg = tmp();
      const r = cli(args, { XDG_CONFIG_HOME: cfg });
      expect(r.exitCode).toBe(1);
      expect(r.stderr.toString()).toMatch(
        /no agent token at .*gpulse\/token: the agent creates it when it first starts \(gpulse serve\), or create one now with `gpulse token`/,
      );
      expect(existsSync(join(cfg, 'gpulse'))).toBe(false);
      expect(r.stdout.toString()).toBe('');
    }
  });
});
