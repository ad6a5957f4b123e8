/**
 * Your own metrics, three ways in (textfile directory, push, exec collectors), as one catalog
 * source over one registry with one cap. The textfile directory is polled as the tick prepares
 * the catalog, so a new file's series join at that tick.
 */
import type { UserMetricsInfo, PushResult } from '../../shared/wire.ts';
import type { SeriesSource } from '../catalog/source.ts';
import { ExecCollector, type ExecSpec } from './exec.ts';
import { SeriesCache } from './prom-text.ts';
import { parsePush } from './push.ts';
import { UserRegistry } from './registry.ts';
import { TextfileCollector } from './textfile.ts';

export interface UserMetricsOptions {
  maxSeries: number;
  /** A user series with no valid value this long leaves the live catalog. */
  retireMs: number;
  /** A pushed value reads null this long after its last push. */
  pushStaleMs: number;
  textfileDir: string | null;
  exec: ExecSpec[];
  execIntervalMs: number;
  execTimeoutMs: number;
  /** The environment exec commands run with. */
  execEnv?: Record<string, string | undefined>;
}

export type PushOutcome = { kind: 'ok'; result: PushResult } | { kind: 'bad'; message: string } | { kind: 'cap'; message: string };

export class UserMetrics implements SeriesSource {
  readonly registry: UserRegistry;
  readonly textfile: TextfileCollector | null;
  readonly execs: ExecCollector[];
  #pushLast: number | null = null;
  #pushRefusals: string[] = [];
  /** A training loop pushes the same series again and again: their parsed form is kept. */
  #pushCache = new SeriesCache();

  constructor(readonly opts: UserMetricsOptions) {
    this.registry = new UserRegistry({ maxSeries: opts.maxSeries, retireMs: opts.retireMs });
    this.textfile = opts.textfileDir ? new TextfileCollector(opts.textfileDir, this.registry) : null;
    this.execs = opts.exec.map(
      (s) => new ExecCollector(s, this.registry, { intervalMs: opts.execIntervalMs, timeoutMs: opts.execTimeoutMs, env: opts.execEnv }),
    );
  }

  get version(): number {
    return this.registry.version;
  }
  prepare(now: number) {
    this.textfile?.poll(now);
    this.registry.prepare(now);
  }
  defs() {
    return this.registry.defs();
  }
  fill(out: Float64Array, at: number, now: number) {
    this.registry.fill(out, at, now);
  }

  start() {
    for (const e of this.execs) e.start();
  }
  stop() {
    for (const e of this.execs) e.stop();
  }

  /** A push body: taken whole (values sampled at the next tick, last value wins), or refused whole. */
  push(text: string, contentType: string | null, now: number): PushOutcome {
    const r = parsePush(text, contentType, this.#pushCache);
    if (!r.ok) return { kind: 'bad', message: r.message };
    const a = this.registry.apply('push', { kind: 'push' }, r.samples, r.families, now, { validMs: this.opts.pushStaleMs, atomic: true, replace: false });
    if (!a.ok) {
      const message = `--max-series ${a.limit} reached: ${a.held} user series are held and this push adds ${a.added}; nothing was stored`;
      this.#pushRefusals = [...this.#pushRefusals.slice(-9), `push refused at ${new Date(now).toISOString()}: ${message}`];
      return { kind: 'cap', message };
    }
    this.#pushLast = now;
    return { kind: 'ok', result: { accepted: a.keys.length, keys: a.keys } };
  }

  info(): UserMetricsInfo {
    const files = this.textfile?.status() ?? [];
    const execs = this.execs.map((e) => e.status());
    const warnings: string[] = [];
    for (const f of files)
      if (f.state === 'ok' && f.dropped) warnings.push(`textfile ${f.file}: ${f.dropped} series not taken: --max-series ${this.opts.maxSeries} reached`);
    for (const e of execs) if (e.dropped) warnings.push(`exec ${e.name}: ${e.dropped} series not taken: --max-series ${this.opts.maxSeries} reached`);
    const pushSeries = this.registry.defs().filter((d) => d.source.kind === 'push').length;
    return {
      series: this.registry.size,
      max_series: this.opts.maxSeries,
      push: { series: pushSeries, last: this.#pushLast, stale_ms: this.opts.pushStaleMs },
      textfile: this.textfile ? { dir: this.textfile.dir, error: this.textfile.dirError, files } : null,
      exec: execs,
      warnings: [...warnings, ...this.#pushRefusals],
    };
  }
}
