/** Transport, access, durability, load and hostile input against real agent processes on loopback. */
import { describe, expect, test } from 'bun:test';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auth, fakeNvml, readSse, startAgent, tmp, type RunningAgent } from '../helpers.ts';
import { rawRequest, type RawResponse } from '../raw-http.ts';

function openssl(args: string[], cwd: string) {
  const r = Bun.spawnSync(['openssl', ...args], { cwd, stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr.toString()}`);
}

/** A CA, a server cert for 127.0.0.1/localhost, a client cert from that CA, and one from a stranger CA. */
function makePki() {
  const d = tmp('gpulse-pki-');
  const ca = (name: string) =>
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
      ],
      d,
    );
  const leaf = (name: string, caName: string, ext: string) => {
    openssl(
      ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`],
      d,
    );
    writeFileSync(join(d, `${name}.ext`), ext);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${caName}.pem`,
        '-CAkey',
        `${caName}.key`,
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ],
      d,
    );
  };
  ca('ca');
  ca('stranger');
  leaf('server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  leaf('intruder', 'stranger', 'extendedKeyUsage=clientAuth\n');
  const f = (n: string) => join(d, n);
  const read = (n: string) => readFileSync(f(n), 'utf8');
  return { f, read };
}

describe('TLS and mutual TLS', () => {
  const pki = makePki();
  test('--tls-cert/--tls-key serve HTTPS', async () => {
    const a = await startAgent(['--interval', '200ms', '--gpu', 'none', '--tls-cert', pki.f('server.pem'), '--tls-key', pki.f('server.key')]);
    try {
      expect(a.url).toStartWith('https://');
      const r = await fetch(a.url + '/v1/info', { ...auth(a.token), tls: { ca: pki.read('ca.pem') } });
      expect(r.status).toBe(200);
      await expect(fetch(a.url.replace('https', 'http') + '/healthz')).rejects.toThrow();
    } finally {
      await a.stop();
    }
  });
  /** Only a client certificate from the CA gets through the handshake: none, or another CA's, is refused. */
  async function expectClientCertsChecked(a: RunningAgent) {
    try {
      const ok = await fetch(a.url + '/v1/info', {
        ...auth(a.token),
        tls: { ca: pki.read('ca.pem'), cert: pki.read('client.pem'), key: pki.read('client.key') },
      });
      expect(ok.status).toBe(200);
      await expect(fetch(a.url + '/healthz', { tls: { ca: pki.read('ca.pem') } })).rejects.toThrow();
      await expect(
        fetch(a.url + '/healthz', { tls: { ca: pki.read('ca.pem'), cert: pki.read('intruder.pem'), key: pki.read('intruder.key') } }),
      ).rejects.toThrow();
    } finally {
      await a.stop();
    }
  }
  test('--client-ca refuses clients without a certificate from that CA at the handshake', async () => {
    const a = await startAgent([
      '--interval',
      '200ms',
      '--gpu',
      'none',
      '--tls-cert',
      pki.f('server.pem'),
      '--tls-key',
      pki.f('server.key'),
      '--client-ca',
      pki.f('ca.pem'),
    ]);
    await expectClientCertsChecked(a);
  });
  test("monitor-web's spellings: --certfile, --keyfile, and a --client-capath directory with --client-auth-required", async () => {
    const dir = tmp('gpulse-cadir-');
    writeFileSync(join(dir, 'ca.pem'), pki.read('ca.pem'));
    writeFileSync(join(dir, 'README'), 'not a certificate');
    const a = await startAgent([
      '--interval',
      '200ms',
      '--gpu',
      'none',
      '--certfile',
      pki.f('server.pem'),
      '--keyfile',
      pki.f('server.key'),
      '--client-capath',
      dir,
      '--client-auth-required',
    ]);
    await expectClientCertsChecked(a);
  });
  test('unreadable certificate files stop the start with a clear message', () => {
    const r = Bun.spawnSync(
      [process.execPath, join(import.meta.dir, '../../cli/main.ts'), 'serve', '--port', '0', '--tls-cert', '/nope/cert.pem', '--tls-key', '/nope/key.pem'],
      { env: { PATH: process.env.PATH!, HOME: tmp(), GPULSE_TOKEN: 'x'.repeat(20) }, stderr: 'pipe' },
    );
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toMatch(/--tls-cert: cannot read \/nope\/cert\.pem: ENOENT/);
  });
});

describe('access', () => {
  test('repeated failures from one address → 429 with Retry-After, and the token never shows', async () => {
    const a = await startAgent(['--interval', '500ms', '--gpu', 'none']);
    try {
      const codes: number[] = [];
      for (let i = 0; i < 22; i++) codes.push((await fetch(a.url + '/v1/info', auth('wrong-' + i))).status);
      expect(codes.slice(0, 20).every((c) => c === 401)).toBe(true);
      const r = await fetch(a.url + '/v1/info', auth('wrong-again'));
      expect(r.status).toBe(429);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      // The right token from the same address is never refused by the limiter (hardening-http.test.ts).
      expect((await fetch(a.url + '/v1/info', auth(a.token))).status).toBe(200);
      expect((await fetch(a.url + '/healthz')).status).toBe(200); // health stays open
      expect(a.stderr()).not.toContain(a.token);
    } finally {
      await a.stop();
    }
  });
  test('--allow-origin: allowed origins get CORS headers (preflight too), others none', async () => {
    const a = await startAgent(['--interval', '500ms', '--gpu', 'none', '--allow-origin', 'https://pwa.example', '--allow-origin', 'http://localhost:5173']);
    try {
      const pre = (origin: string) =>
        fetch(a.url + '/v1/info', {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
        });
      expect((await pre('https://pwa.example')).headers.get('access-control-allow-origin')).toBe('https://pwa.example');
      expect((await pre('http://localhost:5173')).headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
      expect((await pre('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
      const ok = await fetch(a.url + '/v1/info', { headers: { origin: 'https://pwa.example', authorization: `Bearer ${a.token}` } });
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://pwa.example');
      expect(ok.headers.get('vary')).toContain('Origin');
      const denied = await fetch(a.url + '/v1/info', { headers: { origin: 'https://evil.example' } });
      expect(denied.status).toBe(401);
      expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await a.stop();
    }
  });
  test('--no-auth on loopback serves the API without a token', async () => {
    const a = await startAgent(['--interval', '500ms', '--gpu', 'none', '--no-auth']);
    try {
      expect((await fetch(a.url + '/v1/info')).status).toBe(200);
      expect(a.stderr()).toContain('auth: OFF');
    } finally {
      await a.stop();
    }
  });
  test('--no-auth on a non-loopback bind is refused at startup', () => {
    const r = Bun.spawnSync([process.execPath, join(import.meta.dir, '../../cli/main.ts'), 'serve', '--no-auth', '--bind', '0.0.0.0'], {
      env: { PATH: process.env.PATH!, HOME: tmp() },
      stderr: 'pipe',
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain('--no-auth');
  });
  test('a world-readable token file stops the agent', () => {
    const f = join(tmp(), 'token');
    writeFileSync(f, 'y'.repeat(40), { mode: 0o644 });
    const r = Bun.spawnSync([process.execPath, join(import.meta.dir, '../../cli/main.ts'), 'serve', '--port', '0', '--token-file', f], {
      env: { PATH: process.env.PATH!, HOME: tmp() },
      stderr: 'pipe',
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toMatch(/readable by group\/others/);
  });
});

describe('durable history', () => {
  test('kill -9 and restart: history and events from before are still served; the stream resumes', async () => {
    const dir = tmp();
    const a = await startAgent(['--interval', '200ms', '--gpu', 'nvml'], { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '1' }, { dir });
    await Bun.sleep(1500);
    await fetch(a.url + '/v1/events', { method: 'POST', body: JSON.stringify({ label: 'before the crash' }), ...auth(a.token) });
    await Bun.sleep(800); // past the events debounce
    const before = await (await fetch(a.url + '/v1/history?keys=gpu0.util', auth(a.token))).json();
    a.proc.kill('SIGKILL');
    await a.proc.exited;
    const b = await startAgent(['--interval', '200ms', '--gpu', 'nvml'], { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '1' }, { dir });
    try {
      expect(b.stderr()).toMatch(/history: \S+ \([1-9]\d* samples, /);
      const after = await (await fetch(b.url + '/v1/history?keys=gpu0.util', auth(b.token))).json();
      const lastBefore = before.t.at(-1);
      expect(after.t).toContain(before.t[0]);
      expect(after.t.filter((t: number) => t <= lastBefore).length).toBeGreaterThanOrEqual(before.t.length - 1); // at most one tick lost
      const events = (await (await fetch(b.url + '/v1/events', auth(b.token))).json()).events;
      expect(events.some((e: { label: string }) => e.label === 'before the crash')).toBe(true);
      const msgs = await readSse(
        await fetch(`${b.url}/v1/stream?since=${before.t[0]}`, auth(b.token)),
        (m) => m.filter((x) => x.event === 'sample').length >= before.t.length,
      );
      const ts = msgs.filter((m) => m.event === 'sample').map((m) => JSON.parse(m.data)[0]);
      expect(ts[0]).toBe(before.t[1]);
    } finally {
      await b.stop();
    }
  }, 30_000);
  test('garbage history files are cut or skipped with a warning; the agent starts and keeps sampling', async () => {
    const dir = tmp();
    const state = join(dir, 'state');
    Bun.spawnSync(['mkdir', '-p', join(state, 'raw')]);
    writeFileSync(join(state, 'wal'), 'garbage that is no log record');
    writeFileSync(join(state, 'raw', '1800000000000.seg'), 'garbage');
    const a = await startAgent(['--interval', '200ms', '--gpu', 'none'], {}, { dir });
    try {
      expect(a.stderr()).toMatch(/warning: .*(torn|unreadable)/);
      expect((await fetch(a.url + '/healthz')).status).toBe(200);
      await Bun.sleep(600);
      const info = await (await fetch(a.url + '/v1/info', auth(a.token))).json();
      expect(info.buffer.count).toBeGreaterThan(0);
      expect(info.storage.state).toBe('ok');
      expect(info.storage.warnings.join(' ')).toMatch(/torn|unreadable/);
    } finally {
      await a.stop();
    }
  });
});

describe('load', () => {
  test('200 concurrent stream clients at 1 s: every client gets every sample, in order', async () => {
    const a = await startAgent(['--interval', '1s', '--gpu', 'nvml'], { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '8' });
    try {
      await Bun.sleep(1200);
      const clients = await Promise.all(Array.from({ length: 200 }, () => fetch(a.url + '/v1/stream', auth(a.token))));
      const results = await Promise.all(clients.map((r) => readSse(r, (m) => m.filter((x) => x.event === 'sample').length >= 4, 8000)));
      const seqs = results.map((m) => m.filter((x) => x.event === 'sample').map((x) => Number(x.id)));
      const start = Math.max(...seqs.map((s) => s[0]!));
      for (const s of seqs) {
        expect(s.length).toBeGreaterThanOrEqual(4);
        for (let i = 1; i < s.length; i++) expect(s[i]! - s[i - 1]!).toBe(1000);
        expect(s).toContain(start);
      }
    } finally {
      await a.stop();
    }
  }, 40_000);
});

describe('hostile input', () => {
  test('a bounded fuzz of the API: no 5xx, clear 4xx JSON errors, no change to stored events, still healthy', async () => {
    const a = await startAgent(['--interval', '200ms', '--gpu', 'nvml'], { GPULSE_NVML_LIB: fakeNvml('default'), FAKE_NVML_GPUS: '2' });
    try {
      let seed = 42;
      const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
      const junk = (n: number) => Array.from({ length: n }, () => String.fromCharCode(1 + Math.floor(rnd() * 0x2ff))).join('');
      const paths = [
        '/v1/info',
        '/v1/snapshot',
        '/v1/history',
        '/v1/stream',
        '/v1/events',
        '/v1/events/u-0',
        '/v1/events/a-0',
        '/metrics',
        '/v1/push',
        '/v1/accounting',
        '/v1/accounting/timeline',
        '/v1/history/chunks',
        '/metrics.json',
        '/history.json',
        '/healthz',
        '/',
        '/index.html',
        '/v1/',
        '/v2/info',
        '/../etc/passwd',
        '/v1/events/%00',
        '/%ff%fe',
        '/v1/history/../../x',
        '//v1//info',
        '/assets/..%2f..%2fsecret',
      ];
      const params = ['since', 'until', 'step', 'limit', 'max_points', 'keys', 'agg', 'by', 'metric', 'tier', 'bucket_seconds', 'max_samples', 'junk'];
      const values = [
        '',
        '-1',
        '0',
        'NaN',
        'Infinity',
        '1e309',
        '9'.repeat(400),
        'abc',
        '1.5',
        '%00',
        '[]',
        '{}',
        'gpu0.util',
        'host.cpu.util,,',
        '∞',
        '0x10',
        ' 5 ',
        '-0',
        'user',
        'job',
        'mem',
        'raw',
        '1h',
        '5s',
      ];
      const bodies = [
        '',
        '{',
        'null',
        '[]',
        '"x"',
        '{"label":123}',
        '{"label":""}',
        '{"label":"x","t":"now"}',
        '{"label":"x","end_t":-5,"t":10}',
        '{"label":"x","color":"javascript:alert(1)"}',
        '{"label":"' + 'x'.repeat(600) + '"}',
        'x'.repeat(20_000),
        '\u0000\u0001',
        // /v1/push: Prometheus text and JSON, good and bad.
        'fuzz_metric 1\n',
        'fuzz_metric{a="b"} NaN\n',
        '# TYPE x counter\n# TYPE x gauge\n',
        'bad name 1\n',
        '{"metrics":{"fuzz_json":2},"labels":{"run":"1"}}',
        '{"metrics":{"fuzz_json":"two"}}',
        '\xff\xfe\x00',
      ];
      const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
      const eventsBefore = (await (await fetch(a.url + '/v1/events', auth(a.token))).json()).events.length;
      const statuses = new Map<number, number>();
      const bad: string[] = [];
      const one = async (withToken: boolean) => {
        const q = Array.from({ length: Math.floor(rnd() * 4) }, () => `${pick(params)}=${encodeURIComponent(rnd() < 0.2 ? junk(8) : pick(values))}`).join('&');
        const method = pick(methods);
        const path = rnd() < 0.1 ? '/' + encodeURIComponent(junk(12)) : pick(paths);
        const headers: Record<string, string> = {};
        if (withToken) headers.authorization = `Bearer ${a.token}`;
        else if (rnd() < 0.5)
          headers.authorization = pick(['Bearer', 'Bearer ', `Bearer ${a.token}x`, 'Basic abc', 'Bearer ' + 'A'.repeat(5000), `bearer\t${a.token.slice(1)}`]);
        if (rnd() < 0.2) headers['last-event-id'] = pick(values.filter((v) => /^[\x20-\x7e]*$/.test(v)));
        if (rnd() < 0.1) headers['content-type'] = pick(['application/json', 'text/plain', 'multipart/form-data; boundary=x']);
        const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? pick(bodies) : undefined;
        const ac = new AbortController();
        const r = await fetch(`${a.url}${path}${q ? '?' + q : ''}`, { method, headers, body, signal: ac.signal }).catch((e) => {
          bad.push(`${method} ${path}: ${e.message}`);
          return null;
        });
        if (!r) return;
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status >= 500) bad.push(`${r.status} ${method} ${path}?${q}`);
        if (r.headers.get('content-type')?.includes('event-stream')) {
          ac.abort();
          return;
        }
        const text = await r.text();
        if (r.status >= 400 && method !== 'HEAD' && method !== 'OPTIONS') {
          try {
            if (typeof JSON.parse(text).error !== 'string') bad.push(`no error field: ${r.status} ${method} ${path}`);
          } catch {
            bad.push(`non-JSON ${r.status} ${method} ${path}: ${text.slice(0, 60)}`);
          }
        }
      };
      // Authenticated garbage first (so the failure limiter does not hide the routes), then anonymous garbage.
      for (const [n, tok] of [
        [2500, true],
        [1000, false],
      ] as const) {
        for (let i = 0; i < n; i += 25) await Promise.all(Array.from({ length: 25 }, () => one(tok)));
      }
      expect(bad).toEqual([]);
      expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
      expect((await fetch(a.url + '/healthz')).status).toBe(200);
      // The limiter locked this address out in the anonymous phase; the store is checked from the file on disk instead.
      await Bun.sleep(700);
      const file = join(a.dir, 'state/events.json');
      const events = (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : []).filter((e: { source: string }) => e.source === 'user');
      expect(events.length).toBe(eventsBefore);
      console.log('fuzz statuses', Object.fromEntries(statuses));
    } finally {
      await a.stop();
    }
  }, 120_000);
});

describe('hostile input over raw sockets', () => {
  test('HTTP/1.0, missing and bad Host, oversized and slow bodies, smuggling pairs: no 5xx, one answer each, nothing smuggled', async () => {
    const a = await startAgent(['--interval', '200ms', '--gpu', 'none']);
    try {
      const port = Number(new URL(a.url).port);
      const T = `Authorization: Bearer ${a.token}\r\n`;
      const H = 'Host: 127.0.0.1\r\n';
      const smuggled = (n: number) =>
        `POST /v1/events HTTP/1.1\r\n${H}${T}Content-Type: application/json\r\nContent-Length: ${21 + String(n).length}\r\n\r\n{"label":"smuggled ${n}"}`;
      type Case = { name: string; parts: Parameters<typeof rawRequest>[1]; expect?: number[]; noAnswerOk?: boolean; waitMs?: number };
      const cases: Case[] = [
        { name: 'HTTP/1.0 without Host', parts: ['GET /v1/info HTTP/1.0\r\n\r\n'], expect: [400] },
        { name: 'HTTP/1.0 with Host and token', parts: [`GET /v1/info HTTP/1.0\r\n${H}${T}\r\n`], expect: [200] },
        { name: 'HTTP/1.1 without Host', parts: ['GET /healthz HTTP/1.1\r\n\r\n'], expect: [400] },
        ...[
          'evil.example',
          'evil.example:9740',
          '',
          'a b',
          '[::1',
          '127.0.0.1:99999',
          'x'.repeat(5000),
          '127.0.0.1\r\nHost: evil.example',
          'évil.example',
          '127.0.0.1/../x',
        ].map((h): Case => ({
          name: `bad Host ${JSON.stringify(h.slice(0, 30))}`,
          parts: [`GET /v1/info HTTP/1.1\r\nHost: ${h}\r\n${T}\r\n`],
          expect: [400, 421, 431],
        })),
        // Each endpoint that reads a body, with a body it accepts sent in two parts, and one cut short.
        ...[
          { path: '/v1/events', slow: ['{"label"', ':"slow"}'], ok: 201, cut: '{"label":' },
          { path: '/v1/push', slow: ['raw_slow', ' 1\n'], ok: 200, cut: 'raw_cut 1' },
        ].flatMap(({ path, slow, ok, cut }): Case[] => [
          {
            name: `${path}: oversized by Content-Length (headers only)`,
            parts: [`POST ${path} HTTP/1.1\r\n${H}${T}Content-Length: ${100 << 20}\r\n\r\n`],
            expect: [413],
          },
          {
            name: `${path}: oversized chunked body`,
            parts: [
              `POST ${path} HTTP/1.1\r\n${H}${T}Transfer-Encoding: chunked\r\n\r\n`,
              ...Array.from({ length: 40 }, () => `8000\r\n${'x'.repeat(0x8000)}\r\n`),
            ],
            expect: [413],
          },
          {
            name: `${path}: slow but complete body`,
            parts: [`POST ${path} HTTP/1.1\r\n${H}${T}Content-Length: ${Buffer.byteLength(slow.join(''))}\r\n\r\n`, slow[0]!, { pauseMs: 150 }, slow[1]!],
            expect: [ok],
          },
          {
            name: `${path}: body cut off mid-way`,
            parts: [`POST ${path} HTTP/1.1\r\n${H}${T}Content-Length: 100\r\n\r\n`, cut],
            noAnswerOk: true,
            waitMs: 800,
          },
        ]),
        {
          name: 'oversized anonymous body',
          parts: [`POST /v1/events HTTP/1.1\r\n${H}Content-Length: ${1 << 20}\r\n\r\n`, { filler: 1 << 20 }],
          expect: [401, 429],
        },
        {
          name: 'PATCH an event: oversized body',
          parts: [`PATCH /v1/events/u-1 HTTP/1.1\r\n${H}${T}Content-Length: ${1 << 20}\r\n\r\n`],
          expect: [413],
        },
        {
          name: 'PATCH an event: body cut off mid-way',
          parts: [`PATCH /v1/events/u-1 HTTP/1.1\r\n${H}${T}Content-Length: 100\r\n\r\n`, '{"color":'],
          noAnswerOk: true,
          waitMs: 800,
        },
        ...['/v1/accounting', '/v1/accounting/timeline?metric=sm', '/v1/history/chunks?tier=raw', '/metrics.json', '/history.json?limit=5'].map(
          (path): Case => ({
            name: `GET ${path} over HTTP/1.0`,
            parts: [`GET ${path} HTTP/1.0\r\n${H}${T}\r\n`],
            expect: [200],
          }),
        ),
        ...['/v1/accounting?by=nope', '/v1/accounting/timeline?max_points=0', '/v1/history/chunks?tier=2h', '/history.json?limit=-1'].map((path): Case => ({
          name: `GET ${path}`,
          parts: [`GET ${path} HTTP/1.1\r\n${H}${T}\r\n`],
          expect: [400],
        })),
        {
          name: 'smuggling: Content-Length then Transfer-Encoding',
          parts: [`POST /v1/events HTTP/1.1\r\n${H}${T}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled(1)}`],
          expect: [400],
        },
        {
          name: 'smuggling: Transfer-Encoding then Content-Length',
          parts: [`POST /v1/events HTTP/1.1\r\n${H}${T}Transfer-Encoding: chunked\r\nContent-Length: 200\r\n\r\n0\r\n\r\n${smuggled(2)}`],
          expect: [400],
        },
        {
          name: 'smuggling: two Content-Lengths',
          parts: [`POST /v1/events HTTP/1.1\r\n${H}${T}Content-Length: 0\r\nContent-Length: ${smuggled(3).length}\r\n\r\n${smuggled(3)}`],
          expect: [400],
        },
        {
          name: 'smuggling: obfuscated Transfer-Encoding',
          parts: [`POST /v1/events HTTP/1.1\r\n${H}${T}Content-Length: 5\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${smuggled(4)}`],
          expect: [400, 501],
        },
        {
          name: 'smuggling: Transfer-Encoding with a space before the colon',
          parts: [`POST /v1/events HTTP/1.1\r\n${H}${T}Content-Length: 5\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n${smuggled(5)}`],
          expect: [400],
        },
        {
          name: 'smuggling: chunked, identity',
          parts: [`POST /v1/events HTTP/1.1\r\n${H}${T}Transfer-Encoding: chunked, identity\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${smuggled(6)}`],
          expect: [400, 501],
        },
      ];
      const results: { c: Case; r: RawResponse }[] = [];
      // Bounded: every case three times, ten at a time, each with its own deadline.
      const queue = [...cases, ...cases, ...cases];
      // A smuggling case reads until the server closes, to see any second answer; the others stop at the first.
      while (queue.length)
        await Promise.all(
          queue.splice(0, 10).map(async (c) => results.push({ c, r: await rawRequest(port, c.parts, c.waitMs ?? 6000, c.name.startsWith('smuggling')) })),
        );
      const problems: string[] = [];
      for (const { c, r } of results) {
        if (r.status >= 500) problems.push(`${c.name}: ${r.status}`);
        if (r.status === 0 && !c.noAnswerOk) problems.push(`${c.name}: no answer`);
        if (r.status && c.expect && !c.expect.includes(r.status)) problems.push(`${c.name}: ${r.status}, wanted ${c.expect.join('/')}`);
        // Never a second answer on one connection: a smuggled request must not be parsed as its own.
        if (c.name.startsWith('smuggling') && r.responses > 1) problems.push(`${c.name}: ${r.responses} answers`);
        // Our errors are small JSON; Bun's own parser refusals (400/431 before our code runs) have no body at all.
        if (r.status >= 400 && r.body.length) {
          try {
            if (typeof JSON.parse(r.body).error !== 'string') throw 0;
          } catch {
            problems.push(`${c.name}: non-JSON ${r.status} ${r.body.slice(0, 60)}`);
          }
        }
        if (r.raw.length > 64 * 1024) problems.push(`${c.name}: ${r.raw.length} bytes back`);
      }
      expect(problems).toEqual([]);
      expect((await fetch(a.url + '/healthz')).status).toBe(200);
      const events = (await (await fetch(a.url + '/v1/events', auth(a.token))).json()).events as { label: string }[];
      expect(events.filter((e) => e.label.startsWith('smuggled'))).toEqual([]);
      expect(events.filter((e) => e.label === 'slow')).toHaveLength(3);
      // The slow push was stored; the one cut off was not.
      expect((await fetch(a.url + '/v1/history?keys=user.raw_slow', auth(a.token))).status).toBe(200);
      expect((await fetch(a.url + '/v1/history?keys=user.raw_cut', auth(a.token))).status).toBe(400);
      expect(a.stderr()).not.toMatch(/unhandled error|internal error|TypeError/);
    } finally {
      await a.stop();
    }
  }, 90_000);
});
