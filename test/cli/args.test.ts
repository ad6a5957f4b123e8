import { describe, expect, test } from 'bun:test';
import { statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, serveConfig, UsageError } from '../../cli/args.ts';
import { loadToken } from '../../cli/token.ts';
import { BUN, ROOT, tmp } from '../helpers.ts';

const cfg = (argv: string[], env: Record<string, string> = {}) => serveConfig(parseArgs(argv, env).flags, { hostname: 'h', dataDir: '/d' });

describe('flags', () => {
  test('defaults follow the contract', () => {
    const c = cfg([]);
    expect(c).toMatchObject({
      bind: '127.0.0.1',
      port: 9740,
      intervalMs: 1000,
      retentionMs: 14 * 86_400_000,
      retention1mMs: 90 * 86_400_000,
      retention1hMs: 730 * 86_400_000,
      maxDiskBytes: 1024 ** 3,
      gpu: 'auto',
      ollama: 'http://127.0.0.1:11434',
      dataDir: '/d',
      noAuth: false,
    });
  });
  test('env GPULSE_<FLAG> applies and the flag wins', () => {
    expect(cfg([], { GPULSE_PORT: '1234', GPULSE_INTERVAL: '500ms' })).toMatchObject({ port: 1234, intervalMs: 500 });
    expect(cfg(['--port', '99'], { GPULSE_PORT: '1234' }).port).toBe(99);
  });
  test('--flag=value, repeatable --allow-origin, --ollama off', () => {
    const c = cfg(['--interval=0.1s', '--allow-origin', 'https://a.example', '--allow-origin=http://b:8080', '--ollama', 'off']);
    expect(c.intervalMs).toBe(100);
    expect(c.allowOrigins).toEqual(['https://a.example', 'http://b:8080']);
    expect(c.ollama).toBeNull();
  });
  test.each([
    [['--port', 'abc'], '--port'],
    [['--port', '70000'], '--port'],
    [['--interval', '50ms'], '--interval'],
    [['--interval', 'soon'], '--interval'],
    [['--retention', '0'], '--retention'],
    [['--gpu', 'cuda'], '--gpu'],
    [['--bogus'], '--bogus'],
    [['--port'], '--port'],
    [['--no-auth', '--bind', '0.0.0.0'], '--no-auth'],
    [['--tls-cert', 'c.pem'], '--tls-key'],
    [['--tls-key', 'k.pem'], '--tls-cert'],
    [['--client-ca', 'ca.pem'], '--client-ca'],
    [['--allow-origin', 'https://x/path'], '--allow-origin'],
    [['-x', '1'], '-x'],
    [['--max-disk', 'lots'], '--max-disk'],
    [['--max-disk', '1MB'], '--max-disk'],
    [['--max-disk', '5 parsecs'], '--max-disk'],
    [['--retention-1m', '10s'], '--retention-1m'],
    [['--retention-1h', '30m'], '--retention-1h'],
    [['--host-root', 'host'], '--host-root'],
  ])('%p is a usage error naming %p', (argv, name) => {
    expect(() => cfg(argv)).toThrow(UsageError);
    expect(() => cfg(argv)).toThrow(name);
  });
  test('sizes take decimal and binary units', () => {
    expect(cfg(['--max-disk', '500MB']).maxDiskBytes).toBe(500e6);
    expect(cfg(['--max-disk=2GiB']).maxDiskBytes).toBe(2 * 1024 ** 3);
    expect(cfg([], { GPULSE_MAX_DISK: '64mib' }).maxDiskBytes).toBe(64 * 1024 ** 2);
    expect(cfg(['--retention', '30d', '--retention-1m', '365d', '--retention-1h', '5h'])).toMatchObject({
      retentionMs: 30 * 86_400_000,
      retention1mMs: 365 * 86_400_000,
      retention1hMs: 5 * 3_600_000,
    });
  });
  test('--no-auth is allowed on loopback', () => expect(cfg(['--no-auth', '--bind', '127.0.0.1']).noAuth).toBe(true));
  test('a bad env value names the variable', () => expect(() => cfg([], { GPULSE_INTERVAL: 'x' })).toThrow('GPULSE_INTERVAL'));
});

describe('nvitop monitor-web flags are aliases with the same meanings', () => {
  test('long aliases: --bind-address, --host, --certfile, --keyfile, --client-cafile', () => {
    const c = cfg([
      '--bind-address',
      '0.0.0.0',
      '--host',
      'gpu-7',
      '--certfile',
      'c.pem',
      '--keyfile=k.pem',
      '--client-cafile',
      'ca.pem',
      '--client-auth-required',
    ]);
    expect(c).toMatchObject({ bind: '0.0.0.0', hostname: 'gpu-7', tlsCert: 'c.pem', tlsKey: 'k.pem', clientCa: 'ca.pem', clientCaPath: null });
  });
  test('short flags -B, -H, -p, spelled apart, joined or with =', () => {
    expect(cfg(['-B', '0.0.0.0', '-H', 'gpu-7', '-p', '5555'])).toMatchObject({ bind: '0.0.0.0', hostname: 'gpu-7', port: 5555 });
    expect(cfg(['-p5555']).port).toBe(5555);
    expect(cfg(['-p=5556']).port).toBe(5556);
  });
  test('durations as monitor-web writes them: bare seconds, 30min, 12 hours, 1d', () => {
    expect(cfg(['--interval', '0.25', '--retention', '600']).retentionMs).toBe(600_000);
    expect(cfg(['--retention', '30min']).retentionMs).toBe(1_800_000);
    expect(cfg(['--retention', '12 hours']).retentionMs).toBe(12 * 3_600_000);
    expect(cfg(['--retention', '2days', '--interval', '5']).intervalMs).toBe(5000);
  });
  test('--client-capath with --client-auth-required; the flag alone is refused', () => {
    expect(cfg(['--certfile', 'c', '--keyfile', 'k', '--client-capath', '/etc/ca.d', '--client-auth-required']).clientCaPath).toBe('/etc/ca.d');
    expect(() => cfg(['--certfile', 'c', '--keyfile', 'k', '--client-auth-required'])).toThrow('--client-auth-required');
    expect(() => cfg(['--client-capath', '/etc/ca.d'])).toThrow('--client-capath: requires --tls-cert');
  });
  test('errors name the flag as typed', () => {
    expect(() => cfg(['-p', 'abc'])).toThrow(/^-p: invalid port/);
    expect(() => cfg(['--bind-address'])).toThrow('--bind-address: missing value');
    expect(() => cfg(['-Z'])).toThrow(/unknown flag -Z .*-B, -H, -p/);
  });
  test('an alias applies only where the command has the target and no flag of that name', () => {
    expect(parseArgs(['import', '--host', 'a']).flags).toEqual({ host: 'a' });
    expect(parseArgs(['pair', '-p', '1234']).flags).toEqual({ port: 1234 });
    expect(() => parseArgs(['token', '-p', '1'])).toThrow(UsageError);
    expect(() => parseArgs(['token', '--host', 'x'])).toThrow('unknown flag --host for token');
  });
});

describe('readCaDir (--client-capath)', () => {
  test('collects PEM certificates from the files of a directory, deduplicated; none is an error naming the flag', async () => {
    const { readCaDir } = await import('../../cli/tls-ca-dir.ts');
    const d = tmp();
    const pem = (n: string) => `-----BEGIN CERTIFICATE-----\n${n}\n-----END CERTIFICATE-----\n`;
    writeFileSync(join(d, 'a.pem'), pem('AAA') + pem('BBB'));
    writeFileSync(join(d, 'b.crt'), pem('AAA'));
    writeFileSync(join(d, 'notes.txt'), 'not a cert');
    expect(readCaDir(d)).toHaveLength(2);
    expect(() => readCaDir(tmp())).toThrow('--client-capath: no PEM certificates in');
    expect(() => readCaDir('/nonexistent/ca')).toThrow('--client-capath: cannot read /nonexistent/ca: ENOENT');
  });
});

describe('the binary', () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    Bun.spawnSync([BUN, join(ROOT, 'cli/main.ts'), ...args], { env: { PATH: process.env.PATH!, HOME: tmp(), ...env } });
  test('bad flags exit 2 with one line naming the flag', () => {
    const r = run(['serve', '--interval', 'fast']);
    expect(r.exitCode).toBe(2);
    const err = r.stderr.toString().trim();
    expect(err.split('\n')).toHaveLength(1);
    expect(err).toContain('--interval');
  });
  test('unknown command exits 2', () => expect(run(['frobnicate']).exitCode).toBe(2));
  test('--version and --help exit 0', () => {
    expect(run(['--version']).stdout.toString()).toMatch(/^gpulse \d+\.\d+\.\d+/);
    expect(run(['--help']).stdout.toString()).toContain('snapshot');
  });
  test('token: created 0600 with 256 bits, stable, and rotated on request', () => {
    const home = tmp();
    const env = { XDG_CONFIG_HOME: join(home, 'cfg') };
    const a = run(['token'], env).stdout.toString().trim();
    expect(Buffer.from(a, 'base64url').length).toBe(32);
    const file = join(home, 'cfg/gpulse/token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(run(['token'], env).stdout.toString().trim()).toBe(a);
    const b = run(['token', '--rotate'], env).stdout.toString().trim();
    expect(b).not.toBe(a);
    expect(run(['token'], env).stdout.toString().trim()).toBe(b);
  });
  test('pair prints a link with the agent URL and token in the fragment', () => {
    const home = tmp();
    const out = run(['pair', '--url', 'http://gpu1.local:9740'], { XDG_CONFIG_HOME: home, GPULSE_TOKEN: 'abcdefghijklmnop1234' }).stdout.toString().trim();
    expect(out).toBe('http://gpu1.local:9740/#/add?url=http%3A%2F%2Fgpu1.local%3A9740&token=abcdefghijklmnop1234');
  });
  test('a world-readable token file is refused', () => {
    const f = join(tmp(), 'tok');
    writeFileSync(f, 'x'.repeat(40));
    chmodSync(f, 0o644);
    expect(() => loadToken(f, {})).toThrow(/chmod 600/);
  });
});

describe.skipIf(!Bun.which('script'))('on an interactive terminal', () => {
  const tty = (cmd: string, env: Record<string, string>) =>
    Bun.spawnSync(['script', '-qec', cmd, '/dev/null'], { env: { PATH: process.env.PATH!, HOME: tmp(), ...env } }).stdout.toString();
  test('pair prints a QR code under the link', () => {
    const out = tty(`${BUN} ${join(ROOT, 'cli/main.ts')} pair --url http://gpu1:9740`, { GPULSE_TOKEN: 'abcdefghijklmnop1234' });
    expect(out).toContain('#/add?url=http%3A%2F%2Fgpu1%3A9740&token=abcdefghijklmnop1234');
    expect(out.split('\n').filter((l) => l.includes('█')).length).toBeGreaterThan(10);
  });
  test('the serve banner shows the pairing link only when stderr is a terminal', () => {
    const out = tty(`timeout 2 ${BUN} ${join(ROOT, 'cli/main.ts')} serve --port 0 --gpu none --no-persist --ollama off`, {
      GPULSE_TOKEN: 'abcdefghijklmnop1234',
    });
    expect(out).toMatch(/pair a browser: http:\/\/127\.0\.0\.1:\d+\/#\/add\?url=.*token=abcdefghijklmnop1234/);
  });
});

describe('--allowed-host', () => {
  test('defaults: loopback names and the bind address; on all interfaces also the machine name and --hostname', () => {
    expect(cfg([]).allowedHosts.sort()).toEqual(['127.0.0.1', '[::1]', 'localhost']);
    expect(cfg(['--bind', '::1']).allowedHosts).toContain('[::1]');
    const all = cfg(['--bind', '0.0.0.0', '--hostname', 'gpu-7.lab.example']).allowedHosts;
    for (const n of ['localhost', 'h', 'h.local', 'gpu-7.lab.example', 'gpu-7', 'gpu-7.local']) expect(all).toContain(n);
    expect(cfg(['--allowed-host', 'a.example', '--allowed-host', 'b.example']).allowedHosts).toEqual(
      expect.arrayContaining(['a.example', 'b.example', 'localhost']),
    );
    expect(cfg([], { GPULSE_ALLOWED_HOST: 'c.example' }).allowedHosts).toContain('c.example');
  });
  test.each([['http://a.example'], ['a.example:9740'], ['a.example/x'], ['a b']])('%p is a usage error naming --allowed-host', (v) => {
    expect(() => cfg(['--allowed-host', v])).toThrow('--allowed-host');
  });
});
