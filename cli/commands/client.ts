/** Talking to a running agent: `mark` and `export`. */
import { parseDuration } from '../../shared/duration.ts';
import { exportDoc, historyCsv } from '../../shared/export.ts';
import type { History } from '../../shared/wire.ts';
import { UsageError, type ParsedValue } from '../args.ts';
import { writeAll } from '../output.ts';
import { loadToken } from '../token.ts';

export function target(flags: Record<string, ParsedValue>) {
  const url = (flags.url as string | undefined) ?? process.env.GPULSE_URL ?? `http://127.0.0.1:${(flags.port as number) ?? 9740}`;
  if (!/^https?:\/\//.test(url)) throw new UsageError(`--url: must start with http:// or https://, got ${JSON.stringify(url)}`);
  return { url: url.replace(/\/$/, ''), token: loadToken((flags['token-file'] as string) ?? null).token };
}

export async function call(url: string, token: string, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });
  } catch (e) {
    throw new Error(`cannot reach ${new URL(url).origin}: ${(e as Error).message}`);
  }
  if (!res.ok)
    throw new Error(`${new URL(url).pathname}: HTTP ${res.status}: ${((await res.json().catch(() => ({}))) as { error?: string }).error ?? res.statusText}`);
  return res;
}

/**
 * `gpulse mark LABEL [--end]`: a point annotation; with --end, closes the newest open one of that
 * label, or without a label the newest open one of any label (the usual "start … end" pair).
 */
export async function mark(positionals: string[], flags: Record<string, ParsedValue>) {
  const label = positionals.join(' ').trim();
  if (!label && !flags.end) throw new UsageError('mark: LABEL is required, e.g. gpulse mark "run 42 start" (or gpulse mark --end to end the newest open one)');
  const { url, token } = target(flags);
  if (flags.end) {
    const { events } = (await (await call(`${url}/v1/events`, token)).json()) as { events: MarkEvent[] };
    const open = newestOpen(events, label || null);
    if (!open) throw new Error(label ? `no open annotation labelled ${JSON.stringify(label)}` : 'no open annotation to end');
    const ev = await (
      await call(`${url}/v1/events/${open.id}`, token, { method: 'PUT', body: JSON.stringify({ label: open.label, end_t: Date.now() }) })
    ).json();
    await writeAll(JSON.stringify(ev) + '\n');
    return;
  }
  const ev = await (
    await call(`${url}/v1/events`, token, { method: 'POST', body: JSON.stringify({ label, ...(flags.color ? { color: flags.color } : {}) }) })
  ).json();
  await writeAll(JSON.stringify(ev) + '\n');
}

interface MarkEvent {
  id: string;
  t: number;
  label: string;
  source: string;
  end_t?: number | null;
}

/** The user's newest open annotation (of `label`, when given): newest by start time, not list order. */
export function newestOpen(events: MarkEvent[], label: string | null): MarkEvent | undefined {
  let best: MarkEvent | undefined;
  for (const e of events) if (e.source === 'user' && e.end_t == null && (label === null || e.label === label) && (!best || e.t >= best.t)) best = e;
  return best;
}

/** Accepts epoch ms, ISO dates, or a duration meaning "that long ago" (e.g. 1h). */
export function parseTime(flag: string, raw: string, now = Date.now()): number {
  if (/^\d{10,}$/.test(raw)) return Number(raw);
  const d = parseDuration(raw);
  if (d !== null) return now - d;
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new UsageError(`--${flag}: not a time: ${JSON.stringify(raw)} (epoch ms, ISO date, or a duration like 2h)`);
  return t;
}

export async function exportHistory(flags: Record<string, ParsedValue>) {
  const format = (flags.format as string | undefined) ?? 'csv';
  if (format !== 'csv' && format !== 'json') throw new UsageError(`--format: must be csv or json, got ${JSON.stringify(format)}`);
  const { url, token } = target(flags);
  const q = new URLSearchParams();
  if (flags.since) q.set('since', String(parseTime('since', flags.since as string)));
  if (flags.until) q.set('until', String(parseTime('until', flags.until as string)));
  const hist = (await (await call(`${url}/v1/history?${q}`, token)).json()) as History;
  if (format === 'json') {
    const [info, ev] = await Promise.all([
      call(`${url}/v1/info`, token).then((r) => r.json()),
      call(`${url}/v1/events?${q.has('since') ? `since=${q.get('since')}` : ''}`, token).then((r) => r.json()),
    ]);
    await writeAll(JSON.stringify(exportDoc(info, hist, (ev as { events: unknown[] }).events)) + '\n');
    return;
  }
  await writeAll(historyCsv(hist));
}
