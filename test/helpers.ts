/** Test helpers: the fake NVML build, temp dirs, and a real agent process on a free loopback port. */
import { spawnSync, type Subprocess } from 'bun';
import { existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const BUILD = join(ROOT, 'test/.build');
const SRC = join(ROOT, 'test/fake-nvml/fake_nvml.c');
const VARIANTS = { default: [], no_v3: ['-DNO_V3'], cc535: ['-DCC535'], detail: ['-DHAS_DETAIL'] } as const;

/** Path of a fake libnvidia-ml.so variant, compiled if missing or older than its source. */
export function fakeNvml(variant: keyof typeof VARIANTS = 'default'): string {
  mkdirSync(BUILD, { recursive: true });
  const out = join(BUILD, `libnvidia-ml-${variant}.so`);
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(SRC).mtimeMs) return out;
  const r = spawnSync(['cc', '-shared', '-fPIC', '-O1', '-Wall', '-Wextra', '-Werror', ...VARIANTS[variant], '-o', out, SRC]);
  if (r.exitCode !== 0) throw new Error(`building fake NVML (${variant}) failed:\n${r.stderr.toString()}`);
  return out;
}

export const tmp = (prefix = 'gpulse-') => mkdtempSync(join(tmpdir(), prefix));

/** Waits (bounded, polling every 5 ms) for what the event loop has queued: tab messages, lock grants, IndexedDB requests. */
export async function until(cond: () => boolean, what: string, timeoutMs = 2000) {
  for (let i = 0; i < timeoutMs / 5 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}
export const BUN = process.execPath;

/** A loopback port nothing listens on now (the OS picked it): a closed port, or one a server takes a moment later. */
export function freePort(): number {
  const s = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

export interface RunningAgent {
  url: string;
  token: string;
  proc: Subprocess;
  stderr: () => string;
  stop: () => Promise<void>;
  dir: string;
}

/** Starts `gpulse serve` as a subprocess on 127.0.0.1 with a free port; resolves once the banner names the URL. */
export async function startAgent(
  args: string[] = [],
  env: Record<string, string> = {},
  opts: { dir?: string; token?: string; bin?: string[] } = {},
): Promise<RunningAgent> {
  const dir = opts.dir ?? tmp();
  const token = opts.token ?? 'test-token-0123456789abcdef';
  const cmd = opts.bin ?? [BUN, join(ROOT, 'cli/main.ts')];
  const proc = Bun.spawn([...cmd, 'serve', '--port', '0', '--ollama', 'off', '--data-dir', join(dir, 'state'), ...args], {
    env: { PATH: process.env.PATH!, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), GPULSE_TOKEN: token, ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  let err = '';
  const reader = (async () => {
    for await (const c of proc.stderr as ReadableStream<Uint8Array>) err += new TextDecoder().decode(c);
  })();
  const deadline = Date.now() + 15_000;
  let url = '';
  while (!url) {
    const m = /serving (https?:\/\/[^/\s]+)\//.exec(err);
    if (m) url = m[1]!;
    else if (proc.exitCode !== null) throw new Error(`agent exited ${proc.exitCode}: ${err}`);
    else if (Date.now() > deadline) {
      proc.kill();
      throw new Error(`agent did not start: ${err}`);
    } else await Bun.sleep(20);
  }
  return {
    url,
    token,
    proc,
    dir,
    stderr: () => err,
    stop: async () => {
      proc.kill('SIGTERM');
      await proc.exited;
      await reader.catch(() => {});
    },
  };
}

export const auth = (token: string, extra: Record<string, string> = {}) => ({ headers: { authorization: `Bearer ${token}`, ...extra } });

/** Reads SSE messages from a fetch body until `until` says stop or the time runs out. */
export async function readSse(res: Response, until: (msgs: { event: string; data: string; id: string | null }[]) => boolean, timeoutMs = 10_000) {
  const { SseParser } = await import('../shared/sse.ts');
  const parser = new SseParser();
  const msgs: { event: string; data: string; id: string | null }[] = [];
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  const deadline = Date.now() + timeoutMs;
  try {
    while (!until(msgs)) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const r = await Promise.race([reader.read(), Bun.sleep(left).then(() => null)]);
      if (!r || r.done) break;
      msgs.push(...parser.push(dec.decode(r.value, { stream: true })));
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return msgs;
}
