/**
 * One connection per endpoint (held by the leader tab): fetch + streaming body (EventSource cannot
 * send Authorization), SSE parsing, reconnect with backoff, resume from the last stored sample so
 * the agent replays the gap. History itself is backfilled by the caller's resumeFrom (as chunks,
 * web/lib/backfill.ts); only for an agent without chunk history (resumeFrom → null) does this
 * fetch the JSON /v1/history and deliver it as rows.
 */
import type { EndpointStatus } from '../../shared/tab-messages.ts';
import type { AgentEvent, Schema, SnapshotExtras } from '../../shared/wire.ts';
import { SseLimitError, SseParser, type SseLimits } from '../../shared/sse.ts';
import { validateHistory, validateRow, validateSchema, validateSnapshotExtras, validateStreamEvent } from '../../shared/validate.ts';
import { backoffMs } from './backoff.ts';

/** Re-exported for the views that import them from here; both are defined in shared/. */
export type { EndpointStatus, Schema };

export interface LiveHandlers {
  status(s: EndpointStatus): void;
  schema(s: Schema): void;
  /** Rows in time order (live ones, or the agent's replay of a gap). */
  rows(keys: string[], rows: (number | null)[][]): void;
  snapshot(extras: SnapshotExtras): void;
  event(e: AgentEvent & { op?: 'add' | 'update' | 'delete' }): void;
}

export interface LiveOptions {
  url: string;
  token: string;
  /** The time to resume the stream after (0: no replay), or null: nothing stored, backfill from /v1/history. */
  resumeFrom: () => Promise<number | null>;
  fetchImpl?: typeof fetch;
  /** A frame larger than this is skipped, the connection kept. */
  maxFrameBytes?: number;
  /** Past these the agent is broken or hostile: the connection is dropped with an error status (shared/sse.ts). */
  sseLimits?: SseLimits;
}

/** A frame is trusted only if it is an array of finite numbers or nulls, of the schema's width (shared/validate.ts). */
export const validRow = (row: unknown, width: number): row is (number | null)[] => validateRow(row, width).ok;
/** Thin wrapper over shared/validate.ts, kept for existing callers. */
export const validSchema = (s: unknown): s is Schema => validateSchema(s).ok;

/** The agent sent something that is not what wire.ts says: shown as the endpoint's error, retried with backoff. */
export class ProtocolError extends Error {}

export class LiveConnection {
  #abort: AbortController | null = null;
  #stopped = false;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #staleTimer: ReturnType<typeof setInterval> | null = null;
  #schema: Schema | null = null;
  /** The schema's keys, one array per schema: consumers see the same list again (and compare it by identity) every frame. */
  #keys: string[] = [];
  #lastT = 0;
  #status: EndpointStatus = { kind: 'connecting', attempt: 0 };

  constructor(
    readonly opts: LiveOptions,
    readonly on: LiveHandlers,
  ) {}

  start() {
    this.#stopped = false;
    void this.#connect();
    this.#staleTimer = setInterval(() => this.#checkStale(), 1000);
  }

  stop() {
    this.#stopped = true;
    this.#abort?.abort();
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#staleTimer) clearInterval(this.#staleTimer);
  }

  /** Reconnect now (e.g. the browser came back online, or the user fixed the token). */
  kick() {
    if (this.#timer) clearTimeout(this.#timer);
    this.#abort?.abort();
    this.#attempt = 0;
    void this.#connect();
  }

  #set(s: EndpointStatus) {
    this.#status = s;
    this.on.status(s);
  }

  #checkStale() {
    const s = this.#status;
    if (s.kind === 'live' && this.#schema && Date.now() - s.lastT > 3 * this.#schema.interval_ms + 1000) this.#set({ kind: 'stale', lastT: s.lastT });
  }

  #headers(): Record<string, string> {
    return { authorization: `Bearer ${this.opts.token}` };
  }

  async #connect() {
    if (this.#stopped) return;
    this.#abort?.abort();
    const abort = (this.#abort = new AbortController());
    const f = this.opts.fetchImpl ?? fetch;
    const base = this.opts.url.replace(/\/$/, '');
    this.#set({ kind: 'connecting', attempt: this.#attempt });
    try {
      let since = await this.opts.resumeFrom();
      if (since === null) since = await this.#backfill(base, abort.signal);
      const res = await f(`${base}/v1/stream${since ? `?since=${since}` : ''}`, { headers: this.#headers(), signal: abort.signal, cache: 'no-store' });
      if (res.status === 401) {
        this.#set({ kind: 'unauthorized' });
        return;
      }
      if (!res.ok || !res.body) throw new HttpError(res.status, await errorText(res));
      await this.#read(res.body, abort.signal);
      if (!this.#stopped && !abort.signal.aborted) throw new Error('stream ended');
    } catch (e) {
      if (this.#stopped || abort.signal.aborted) return;
      const err = e as Error;
      // A rejected token will not fix itself: say so and wait for the user (kick() retries).
      if (err instanceof HttpError && err.status === 401) {
        this.#set({ kind: 'unauthorized' });
        return;
      }
      const attempt = this.#attempt++;
      const retryAt = Date.now() + backoffMs(attempt);
      const msg = describe(err);
      if (err instanceof HttpError || err instanceof ProtocolError) this.#set({ kind: 'error', message: msg, retryAt, attempt });
      else this.#set({ kind: 'offline', retryAt, attempt, message: msg });
      this.#timer = setTimeout(() => void this.#connect(), retryAt - Date.now());
    }
  }

  /** First contact: the agent's whole buffer, columnar, in one request. Returns the newest time. */
  async #backfill(base: string, signal: AbortSignal): Promise<number | null> {
    const f = this.opts.fetchImpl ?? fetch;
    const res = await f(`${base}/v1/history`, { headers: this.#headers(), signal, cache: 'no-store' });
    if (res.status === 401) throw new HttpError(401, 'unauthorized');
    if (!res.ok) throw new HttpError(res.status, await errorText(res));
    const checked = validateHistory(await res.json().catch(() => undefined));
    if (!checked.ok) throw new ProtocolError(`agent sent malformed history: ${checked.reason}`);
    const h = checked.value;
    const keys = Object.keys(h.series);
    const rows: (number | null)[][] = [];
    for (let i = 0; i < h.t.length; i++) {
      const row: (number | null)[] = [h.t[i]!];
      for (const k of keys) row.push(h.series[k]![i]!);
      rows.push(row);
    }
    if (rows.length) this.on.rows(keys, rows);
    return h.t.length ? h.t[h.t.length - 1]! : null;
  }

  async #read(body: ReadableStream<Uint8Array>, signal: AbortSignal) {
    const parser = new SseParser(this.opts.sseLimits);
    const dec = new TextDecoder();
    const reader = body.getReader();
    try {
      await this.#readFrames(reader, parser, dec, signal);
    } catch (e) {
      // Stop the bytes at the source: an endless line must not keep arriving while we wait to retry.
      void reader.cancel().catch(() => {});
      if (e instanceof SseLimitError) throw new ProtocolError(`agent sent ${e.message}`);
      throw e;
    }
  }

  async #readFrames(reader: ReadableStreamDefaultReader<Uint8Array>, parser: SseParser, dec: TextDecoder, signal: AbortSignal) {
    const max = this.opts.maxFrameBytes ?? 8 << 20;
    let batch: (number | null)[][] = [];
    const flush = () => {
      if (batch.length && this.#schema) {
        this.on.rows(this.#keys, batch);
        batch = [];
      }
    };
    while (!signal.aborted) {
      const r = await reader.read();
      if (r.done) break;
      for (const m of parser.push(dec.decode(r.value, { stream: true }))) {
        if (m.data.length > max) continue; // a huge frame is dropped, not parsed
        let data: unknown;
        try {
          data = JSON.parse(m.data);
        } catch {
          continue;
        }
        if (m.event === 'schema') {
          // Nothing of a bad schema reaches the app (or IndexedDB): the endpoint shows the reason instead.
          const s = validateSchema(data);
          if (!s.ok) throw new ProtocolError(`agent sent a malformed schema: ${s.reason}`);
          flush();
          this.#schema = s.value;
          this.#keys = s.value.series.map((x) => x.key);
          this.on.schema(s.value);
        } else if (m.event === 'sample') {
          const r = this.#schema ? validateRow(data, this.#schema.series.length) : null;
          if (!r?.ok || r.value[0]! <= this.#lastT) continue;
          this.#lastT = r.value[0]!;
          batch.push(r.value);
        } else if (m.event === 'snapshot') {
          // Bad extras or events are dropped frame by frame, like bad samples; the next good one replaces them.
          const x = validateSnapshotExtras(data);
          if (x.ok) this.on.snapshot(x.value);
        } else if (m.event === 'event') {
          const e = validateStreamEvent(data);
          if (e.ok) this.on.event(e.value);
        }
      }
      // Everything parsed from one network chunk goes out as one batch; replays arrive as one big chunk.
      if (batch.length) {
        flush();
        this.#attempt = 0;
        this.#set({ kind: 'live', lastT: Date.now() });
      }
    }
  }
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(`HTTP ${status}: ${message}`);
  }
}

async function errorText(res: Response): Promise<string> {
  try {
    const j = await res.json();
    return typeof j?.error === 'string' ? j.error : res.statusText;
  } catch {
    return res.statusText;
  }
}

/** Turns browser network errors into something a person can act on. */
export function describe(err: Error): string {
  const m = err.message || String(err);
  if (/local network|loopback|address space|ERR_BLOCKED_BY_LOCAL_NETWORK/i.test(m))
    return 'the browser blocked the connection (local network permission): allow it in the site settings';
  if (/mixed content/i.test(m)) return 'blocked as mixed content: open the PWA from the agent itself or over http://localhost, or serve the agent over https';
  if (/Failed to fetch|NetworkError|Load failed|ECONNREFUSED/i.test(m)) return 'agent unreachable';
  return m;
}
