/**
 * The series a host view draws. Stored history is read from IndexedDB once per range (and again
 * when stored history changes other than by live rows, or when the live tail no longer reaches
 * back to what was read); on every tick the live tail is added from memory. So a live chart costs
 * no IndexedDB reads per second, and a long range is one read, not one per redraw.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ROLLUP_STEP_MS } from '../../shared/chunk/windows.ts';
import { readSeries, tierFor, withTail, type Series } from '../lib/series.ts';
import type { AppState, EpState } from '../lib/state.ts';

export interface RangeView {
  range: string;
  from?: number;
  to?: number;
}

/** A re-read for a live view at most this often (it only happens when memory no longer covers the gap). */
const REREAD_MS = 30_000;
const NOTHING: Series = { t: new Float64Array(0), cols: new Map() };

export function useRangeSeries(app: AppState, s: EpState | undefined, keys: string[], view: RangeView, span: number): Series | null {
  const live = view.from === undefined || view.to === undefined;
  const interval = s?.schema?.interval_ms ?? 1000;
  const tier = tierFor(live ? span : view.to! - view.from!, interval);
  const [stored, setStored] = useState<{ series: Series; at: number } | null>(null);
  const [tick, setTick] = useState(0);
  const [reread, setReread] = useState(0);
  const keySig = keys.join();
  const readKey = [s?.ep.id, tier, live ? `live:${span}` : `${view.from}-${view.to}`, s?.rev, keySig, reread].join('|');

  useEffect(() => {
    if (!s || !keys.length) return; // nothing to read (a view that no longer needs this read)
    let cancelled = false;
    const to = live ? Date.now() : view.to!;
    const from = live ? to - span : view.from!;
    void readSeries(app.db, s.ep.id, tier, keys, from, to).then((series) => {
      if (cancelled) return;
      setStored({ series, at: Date.now() });
      performance.mark(`gpulse:series:${view.range}:${series.t.length}`);
    });
    return () => {
      cancelled = true;
    };
  }, [readKey]);

  // A hook with no keys does not tick: its owner re-renders (some 80 charts) once per tick, not twice.
  const reading = keys.length > 0;
  useEffect(() => {
    if (!live || !reading) return;
    const t = setInterval(() => setTick((x) => x + 1), span > 3600e3 ? 10_000 : 1000);
    return () => clearInterval(t);
  }, [live, span, reading]);

  // Memory no longer reaches back to the stored end (the tail holds the last hour or so): read again.
  useEffect(() => {
    if (!live || !stored || !s || Date.now() - stored.at < REREAD_MS) return;
    const head = s.tail[0]?.[0] as number | undefined;
    const newest = s.tail[s.tail.length - 1]?.[0] as number | undefined;
    if (head === undefined || newest === undefined) return;
    const st = stored.series.t;
    const storedEnd = st.length ? st[st.length - 1]! : -Infinity;
    const step = tier === 'raw' ? interval : ROLLUP_STEP_MS[tier];
    if (head > storedEnd + step + 3 * interval && head > newest - span) setReread((x) => x + 1);
  }, [tick]);

  // Recomputed on a tick, after a read, when the keys change, and when the tail is first filled or moves (a backfill's recent hour arrives at once).
  const series = useMemo(() => {
    // A view that needs no series (host-charts' first or full read while the other one stands in) reads and lays out nothing.
    if (!s || !keys.length) return null;
    if (!live) return stored?.series ?? null;
    // Before the first read answers (it queues behind a backfill's writes), a live view draws what
    // memory holds: a pairing's recent hour shows as soon as it is fetched, not once it is stored.
    if (!stored && !s.tail.length) return null;
    const to = Date.now();
    return withTail(stored?.series ?? NOTHING, s.tail, s.keys, keys, tier, to - span, Infinity);
  }, [stored, tick, live, s?.tail[0], keySig]);

  // For benchmarks and tests: when a view first shows points, and when it first shows most of its range.
  const shown = useRef({ key: '', first: false, full: false });
  if (series && series.t.length) {
    const m = shown.current;
    if (m.key !== readKey) {
      m.key = readKey;
      m.first = m.full = false;
    }
    const full = series.t.length >= 0.9 * Math.min(span / (tier === 'raw' ? interval : ROLLUP_STEP_MS[tier]), 1e9);
    if (!m.first || (full && !m.full)) {
      performance.mark(`gpulse:shown:${view.range}:${series.t.length}`);
      m.first = true;
      m.full ||= full;
    }
  }
  return series;
}
