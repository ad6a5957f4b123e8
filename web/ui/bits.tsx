/** Small presentational pieces: status badge, bars, formatted numbers; and useAnswer for what a view asks an agent. */
import { useEffect, useState } from 'preact/hooks';
import { fmtAgo } from '../../shared/format.ts';
import type { EndpointStatus } from '../lib/live.ts';

export const COLORS = {
  util: '#3b82f6',
  mem: '#8b5cf6',
  membw: '#14b8a6',
  power: '#f97316',
  temp: '#ef4444',
  fan: '#6b7280',
  clock: '#22c55e',
  cpu: '#3b82f6',
  ram: '#8b5cf6',
} as const;

const STATUS_TEXT: Record<EndpointStatus['kind'], string> = {
  connecting: 'connecting',
  live: 'live',
  stale: 'stale',
  offline: 'offline',
  unauthorized: 'unauthorized',
  error: 'error',
};

/** `lastSeen`: when the endpoint last sent a sample (EpState.lastSeen), said while it is not live. */
export function StatusBadge({ status, lastSeen }: { status: EndpointStatus; lastSeen?: number | null }) {
  let detail = '';
  const seen = status.kind !== 'live' && lastSeen ? `last seen ${fmtAgo(lastSeen)}` : '';
  if (status.kind === 'offline' || status.kind === 'error') {
    const s = Math.max(0, Math.round((status.retryAt - Date.now()) / 1000));
    detail = `${status.kind === 'error' ? status.message + ' — ' : ''}retrying in ${s} s (attempt ${status.attempt + 1})`;
  }
  if (status.kind === 'unauthorized') detail = 'the token was rejected';
  return (
    <span class={`badge st-${status.kind}`} title={[seen, detail].filter(Boolean).join(' · ')} data-status={status.kind}>
      {STATUS_TEXT[status.kind]}
      {/* Before the retry detail: a narrow tile cuts the badge's end. */}
      {seen && <small data-last-seen={lastSeen}> · {seen}</small>}
      {detail && <small> · {detail}</small>}
    </span>
  );
}

export function Bar({
  label,
  value,
  max = 100,
  color,
  text,
  title,
}: {
  label: string;
  value: number | null | undefined;
  max?: number | null;
  color: string;
  text: string;
  title?: string;
}) {
  const pct = value == null || !max ? 0 : Math.max(0, Math.min(100, (value / max) * 100));
  return (
    <div class="bar" title={title ?? text}>
      <span class="bar-label">{label}</span>
      <span class="bar-track">
        <span class="bar-fill" style={{ transform: `scaleX(${pct / 100})`, background: color }} />
      </span>
      <span class="bar-text num">{value == null ? 'N/A' : text}</span>
    </div>
  );
}

export const shortName = (n: string) => n.replace(/^NVIDIA\s+/, '').replace(/^AMD\s+/, '');

/**
 * What `ask` answered, asked again when `deps` change (null: ask nothing); `err` is why the latest
 * ask failed, shown beside the previous answer, which stays. An answer to an older ask is dropped.
 */
export function useAnswer<T>(ask: (() => Promise<T>) | null, deps: unknown[]): { value: T | null; err: string } {
  const [value, setValue] = useState<T | null>(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    if (!ask) return;
    let cancelled = false;
    ask().then(
      (v) => {
        if (cancelled) return;
        setValue(v);
        setErr('');
      },
      (e) => {
        if (!cancelled) setErr((e as Error).message);
      },
    );
    return () => {
      cancelled = true;
    };
  }, deps);
  return { value, err };
}
