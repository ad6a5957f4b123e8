/**
 * A Prometheus-compatible HTTP API client (Prometheus, VictoriaMetrics, Thanos Query): instant and
 * range queries against /api/v1/query and /api/v1/query_range, their JSON parsed into typed series
 * with "NaN"/"+Inf"/"-Inf" strings mapped to null, and every failure a PromError with a reason the
 * UI can show (unreachable or blocked by CORS, 401/403, HTTP error, an answer that is not the API's).
 */

export type PromLabels = Record<string, string>;
/** One instant-vector element: labels, the sample's time (seconds) and value (null when not finite). */
export interface PromSample {
  labels: PromLabels;
  t: number;
  v: number | null;
}
/** One range-vector series: labels, times (seconds) and values, same length. */
export interface PromSeries {
  labels: PromLabels;
  t: number[];
  v: (number | null)[];
}
export type PromErrorKind = 'unreachable' | 'unauthorized' | 'http' | 'bad-answer' | 'query';

export class PromError extends Error {
  constructor(
    readonly kind: PromErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'PromError';
  }
}

/** The part of fetch the client uses (a fake in tests). */
export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

export interface PromOptions {
  /** Sent as `Authorization: Bearer …` when set. */
  token?: string;
  fetch?: FetchLike;
  timeoutMs?: number;
}

/** A sample value string as the API writes it: a finite number or null ("NaN", "+Inf", garbage). */
export function promValue(s: unknown): number | null {
  if (typeof s !== 'string' && typeof s !== 'number') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

function labelsOf(m: unknown): PromLabels {
  const out: PromLabels = {};
  if (m && typeof m === 'object') for (const [k, v] of Object.entries(m)) if (typeof v === 'string') out[k] = v;
  return out;
}

function pair(p: unknown): [number, number | null] {
  if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'number')
    throw new PromError('bad-answer', 'not a Prometheus answer: a sample is not [time, "value"]');
  return [p[0], promValue(p[1])];
}

/** Parse /api/v1/query's `data` (a vector or scalar) into samples. */
export function parseVector(data: unknown): PromSample[] {
  const d = data as { resultType?: unknown; result?: unknown };
  if (!d || typeof d !== 'object' || !('result' in d)) throw new PromError('bad-answer', 'not a Prometheus answer: no data.result');
  if (d.resultType === 'scalar') {
    const [t, v] = pair(d.result);
    return [{ labels: {}, t, v }];
  }
  if (d.resultType !== 'vector' || !Array.isArray(d.result)) throw new PromError('bad-answer', `expected a vector, got ${String(d.resultType)}`);
  return d.result.map((r: { metric?: unknown; value?: unknown }) => {
    const [t, v] = pair(r?.value);
    return { labels: labelsOf(r.metric), t, v };
  });
}

/** Parse /api/v1/query_range's `data` (a matrix) into series. */
export function parseMatrix(data: unknown): PromSeries[] {
  const d = data as { resultType?: unknown; result?: unknown };
  if (!d || typeof d !== 'object' || d.resultType !== 'matrix' || !Array.isArray(d.result))
    throw new PromError('bad-answer', `expected a matrix, got ${String(d?.resultType)}`);
  return d.result.map((r: { metric?: unknown; values?: unknown }) => {
    if (!Array.isArray(r?.values)) throw new PromError('bad-answer', 'not a Prometheus answer: a series has no values');
    const t: number[] = [],
      v: (number | null)[] = [];
    for (const p of r.values) {
      const [ti, vi] = pair(p);
      t.push(ti);
      v.push(vi);
    }
    return { labels: labelsOf(r.metric), t, v };
  });
}

export class PromClient {
  readonly base: string;
  private readonly f: FetchLike;
  constructor(
    base: string,
    private readonly opts: PromOptions = {},
  ) {
    this.base = base.replace(/\/+$/, '');
    this.f = opts.fetch ?? ((url, init) => fetch(url, init));
  }

  private async get(path: string, params: Record<string, string>): Promise<unknown> {
    const url = `${this.base}${path}?${new URLSearchParams(params)}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    let res: Response;
    try {
      res = await this.f(url, { headers, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000) });
    } catch (e) {
      const why = (e as Error)?.name === 'TimeoutError' ? 'timed out' : 'unreachable, or blocked by CORS (start the server with its CORS origin flag)';
      throw new PromError('unreachable', `${this.base}: ${why}`);
    }
    if (res.status === 401 || res.status === 403)
      throw new PromError('unauthorized', `${this.base}: ${res.status} ${res.status === 401 ? 'unauthorized (check the bearer token)' : 'forbidden'}`);
    let body: { status?: unknown; data?: unknown; error?: unknown; errorType?: unknown };
    try {
      body = await res.json();
    } catch {
      throw new PromError(res.ok ? 'bad-answer' : 'http', `${this.base}: HTTP ${res.status}, and the answer is not JSON (is this a Prometheus API base URL?)`);
    }
    if (body?.status === 'error')
      throw new PromError(res.ok ? 'query' : 'http', `${this.base}: ${String(body.errorType ?? 'error')}: ${String(body.error ?? '')}`);
    if (!res.ok) throw new PromError('http', `${this.base}: HTTP ${res.status}`);
    if (body?.status !== 'success') throw new PromError('bad-answer', `${this.base}: not a Prometheus answer (no "status": "success")`);
    return body.data;
  }

  /** An instant query (at `time` seconds, default now). */
  async instant(query: string, time?: number): Promise<PromSample[]> {
    return parseVector(await this.get('/api/v1/query', time === undefined ? { query } : { query, time: String(time) }));
  }

  /** Raw samples: an instant query of a range selector (`up{…}[5m]`), answered as a matrix. */
  async samples(query: string): Promise<PromSeries[]> {
    return parseMatrix(await this.get('/api/v1/query', { query }));
  }

  /** A range query: start/end in seconds, step in seconds. */
  async range(query: string, start: number, end: number, step: number): Promise<PromSeries[]> {
    return parseMatrix(await this.get('/api/v1/query_range', { query, start: String(start), end: String(end), step: String(step) }));
  }
}
