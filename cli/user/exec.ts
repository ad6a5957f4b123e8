/**
 * `--exec NAME='COMMAND'`: runs COMMAND with /bin/sh every --exec-interval and takes its stdout as
 * Prometheus text (or `key value` lines, which are that format without TYPE lines; a key that is
 * no metric name, `my.key 5`, is folded into one: see toMetricName). It runs apart
 * from the tick: a hung or failing command never delays sampling. The command gets its own process
 * group, killed whole at --exec-timeout, so a child it started cannot hold the pipe open. A run
 * that fails, times out or prints a bad line makes the collector's series read null; the error
 * shows in /v1/info. Runs never overlap.
 */
import type { ExecStatus } from '../../shared/wire.ts';
import { parsePromText, SeriesCache } from './prom-text.ts';
import type { UserRegistry } from './registry.ts';

export interface ExecSpec {
  name: string;
  command: string;
}
export interface ExecOptions {
  intervalMs: number;
  timeoutMs: number;
  env?: Record<string, string | undefined>;
}

/** The agent's environment minus its token: a collector has no business with it. */
export const withoutToken = (env: Record<string, string | undefined>) => Object.fromEntries(Object.entries(env).filter(([k]) => k !== 'GPULSE_TOKEN'));

/** Output past this is cut and the run is an error: a collector should print a few lines. */
export const MAX_EXEC_OUTPUT = 1 << 20;

/** NAME='COMMAND' → spec; a string is the error. NAME is what /v1/info shows. */
export function parseExecSpec(raw: string): ExecSpec | string {
  const eq = raw.indexOf('=');
  if (eq < 1) return `expected NAME=COMMAND, got ${JSON.stringify(raw.slice(0, 60))}`;
  const name = raw.slice(0, eq).trim();
  const command = raw.slice(eq + 1).trim();
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) return `NAME ${JSON.stringify(name)}: letters, digits, _ . - (at most 64)`;
  if (!command) return `${name}: the command is empty`;
  return { name, command };
}

/** Reads a stream up to `max` bytes; stops when cancelled (the timeout) or at the end. */
async function readCapped(stream: ReadableStream<Uint8Array>, max: number, cancel: Promise<void>): Promise<{ text: string; over: boolean }> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let n = 0,
    over = false;
  const stop = cancel.then(() => null);
  try {
    for (;;) {
      const r = await Promise.race([reader.read(), stop]);
      if (!r || r.done) break;
      n += r.value.byteLength;
      if (n > max) {
        over = true;
        break;
      }
      parts.push(r.value);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return { text: Buffer.concat(parts).toString('utf8'), over };
}

export class ExecCollector {
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running = false;
  #stopped = false;
  #status: ExecStatus;
  #cache = new SeriesCache();
  /** The process group of the run in progress, if any (a run is in its own session). */
  #group: number | null = null;

  constructor(
    readonly spec: ExecSpec,
    readonly registry: UserRegistry,
    readonly opts: ExecOptions,
    readonly now: () => number = Date.now,
  ) {
    this.#status = {
      name: spec.name,
      command: spec.command,
      interval_ms: opts.intervalMs,
      timeout_ms: opts.timeoutMs,
      state: 'pending',
      last_run: null,
      duration_ms: null,
      series: 0,
      dropped: 0,
      error: null,
    };
  }

  get owner() {
    return `exec:${this.spec.name}`;
  }
  status(): ExecStatus {
    return { ...this.#status };
  }

  start() {
    const loop = async () => {
      if (this.#stopped) return;
      await this.runOnce();
      if (this.#stopped) return;
      this.#timer = setTimeout(loop, this.opts.intervalMs);
      (this.#timer as { unref?: () => void }).unref?.();
    };
    void loop();
  }

  /** No more runs; one in progress is killed with its children (they would outlive the agent: they are in their own session). */
  stop() {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#group !== null) {
      try {
        process.kill(-this.#group, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  /** One run: spawn, read with the timeout, parse, hand the values to the registry. */
  async runOnce(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    const started = this.now();
    const t0 = performance.now();
    let timedOut = false;
    let release!: () => void;
    const cancelled = new Promise<void>((r) => {
      release = r;
    });
    try {
      const p = Bun.spawn(['/bin/sh', '-c', this.spec.command], {
        stdin: 'ignore',
        stdout: 'pipe',
        stderr: 'pipe',
        detached: true,
        env: this.opts.env ?? withoutToken(process.env),
      });
      this.#group = p.pid;
      void p.exited.then(() => {
        if (this.#group === p.pid) this.#group = null;
      });
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-p.pid, 'SIGKILL');
        } catch {
          p.kill('SIGKILL');
        }
        release();
      }, this.opts.timeoutMs);
      const [out, err] = await Promise.all([readCapped(p.stdout, MAX_EXEC_OUTPUT, cancelled), readCapped(p.stderr, 4096, cancelled)]);
      if (out.over) {
        try {
          process.kill(-p.pid, 'SIGKILL');
        } catch {
          p.kill('SIGKILL');
        }
      }
      const code = timedOut ? null : await Promise.race([p.exited, cancelled.then(() => null)]);
      clearTimeout(timer);
      release();
      const fail = (state: 'error' | 'timeout', error: string) => {
        this.registry.silence(this.owner);
        Object.assign(this.#status, { state, error, series: 0, dropped: 0 });
      };
      if (out.over) fail('error', `printed more than ${MAX_EXEC_OUTPUT >> 20} MiB (killed)`);
      else if (timedOut) fail('timeout', `timed out after ${this.opts.timeoutMs / 1000} s (killed)`);
      else if (code !== 0) fail('error', `exited ${code}${err.text.trim() ? `: ${err.text.trim().split('\n')[0]!.slice(0, 200)}` : ''}`);
      else {
        const r = parsePromText(out.text, this.#cache, { keyValueLines: true });
        if (!r.ok) fail('error', `output line ${r.error.line}: ${r.error.message}`);
        else {
          // Values hold until two runs are missed (a stalled loop), then read null.
          const a = this.registry.apply(this.owner, { kind: 'exec', name: this.spec.name }, r.samples, r.families, this.now(), {
            validMs: 2 * this.opts.intervalMs + this.opts.timeoutMs,
            atomic: false,
            replace: true,
          });
          Object.assign(this.#status, { state: 'ok', error: null, series: a.ok ? a.keys.length : 0, dropped: a.ok ? a.dropped : r.samples.length });
        }
      }
    } catch (e) {
      this.registry.silence(this.owner);
      Object.assign(this.#status, { state: 'error', error: `cannot run: ${(e as Error).message}`, series: 0, dropped: 0 });
    } finally {
      release();
      this.#status.last_run = started;
      this.#status.duration_ms = Math.round(performance.now() - t0);
      this.#running = false;
    }
  }
}
