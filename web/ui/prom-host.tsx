/**
 * One host of a Prometheus source (#/p/:endpointId/:instance?range=&from=&to=&q=): GPU and host
 * charts over the chosen range from query_range, with the step fit to the chart width, polled
 * again while the range is live; a chart whose query fails shows the server's reason in place.
 * Nothing is stored: the Prometheus server is the history.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { AlignedData } from 'uplot';
import { customPanel, expand, loadPanel, PANELS, promQuote, type PanelDef, type PanelLine, type PanelState } from '../lib/prom-panels.ts';
import { DEFAULT_SCRAPE_S, rangeQuery, scrapeIntervalOf, type RangeQuery } from '../lib/prom-range.ts';
import { PromClient, type PromLabels } from '../lib/prometheus.ts';
import { promHostHash, type PromRoute } from '../lib/prom-route.ts';
import type { AppState } from '../lib/state.ts';
import { Chart, seriesColor, type ChartSeries } from './chart.tsx';
import { RANGES } from './host.tsx';
import { PROM_POLL_MS } from '../lib/prom-poller.ts';
import type { RangeView } from './use-series.ts';

const stateKey = (p: PanelDef) => `${p.id}\u0000${p.queries.map((q) => q.expr).join('\u0000')}`;

/** The plot width of one chart column, in 50 px buckets (a resize by a few pixels asks nothing again). */
function useChartWidth() {
  const ref = useRef<HTMLDivElement>(null);
  const [w, setW] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => {
      // The grid's first column, less the card's padding and the 60 px y axis the Chart gives itself.
      const col = parseFloat(getComputedStyle(el).gridTemplateColumns) || el.clientWidth;
      setW(Math.max(100, Math.floor((col - 80) / 50) * 50));
    };
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, w] as const;
}

/** Once per host: its scrape interval (the step's floor) and the labels that name it. */
function useHostFacts(client: PromClient | null, instance: string) {
  const [facts, setFacts] = useState<{ scrape: number; uname: PromLabels; hostname: string } | null>(null);
  useEffect(() => {
    if (!client) return;
    let alive = true;
    const sel = `{instance="${promQuote(instance)}"}`;
    let retry: ReturnType<typeof setTimeout> | undefined;
    // A target scraped for the first time has too few samples to tell its interval: the default
    // (15 s) stands in, and the question is asked again until the samples are there.
    const ask = (): Promise<number> =>
      client.samples(`up${sel}[5m]`).then(
        (r) => {
          const known = r.some((x) => x.t.length >= 3);
          if (!known)
            retry = setTimeout(() => void ask().then((scrape) => alive && setFacts((f) => (f && f.scrape !== scrape ? { ...f, scrape } : f))), PROM_POLL_MS);
          return scrapeIntervalOf(r);
        },
        () => DEFAULT_SCRAPE_S,
      );
    void Promise.all([
      ask(),
      client.instant(`node_uname_info${sel}`).then(
        (r) => r[0]?.labels ?? {},
        () => ({}),
      ),
      client.instant(`DCGM_FI_DEV_GPU_UTIL${sel}`).then(
        (r) => r.find((x) => x.labels.Hostname)?.labels.Hostname ?? '',
        () => '',
      ),
    ]).then(([scrape, uname, hostname]) => alive && setFacts({ scrape, uname, hostname }));
    return () => {
      alive = false;
      clearTimeout(retry);
    };
  }, [client, instance]);
  return facts;
}

export function PromHostView({ app, route }: { app: AppState; route: PromRoute }) {
  const s = app.eps.get(route.id);
  const { instance, view } = route;
  const span = RANGES.find(([k]) => k === view.range)?.[1] ?? 3600e3;
  const live = view.from === undefined;
  const url = s?.ep.kind === 'prometheus' ? s.ep.url : '';
  const client = useMemo(() => (url ? new PromClient(url, { token: s?.ep.token || undefined, timeoutMs: 30_000 }) : null), [url, s?.ep.token]);
  const facts = useHostFacts(client, instance);
  const [chartsRef, width] = useChartWidth();
  const panels = useMemo<PanelDef[]>(() => [...PANELS, ...(route.q ? [customPanel(route.q)] : [])], [route.q]);
  // Keyed by chart and query, so a changed custom query starts from "loading", not from the old answer;
  // each keeps the window it answered (the previous range stays drawn until the new one is in).
  const [states, setStates] = useState<Record<string, { st: PanelState; q: RangeQuery; xr: [number, number] }>>({});
  const [shown, setShown] = useState<{ q: RangeQuery; xr: [number, number] } | null>(null);

  // Read at each refresh, not a reason to restart: a scrollbar coming and going changes the width by a
  // few pixels, and restarting on it cancelled every answer in flight (the charts froze under load).
  const widthNow = useRef(width);
  widthNow.current = width;
  const hasWidth = width > 0;
  useEffect(() => {
    if (!client || !facts || !hasWidth) return;
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      const to = view.to ?? Date.now();
      const from = view.from ?? to - span;
      const q = rangeQuery(from, to, widthNow.current, facts.scrape);
      // Each chart as soon as its own answer is in, so one slow or failing query holds up no other.
      await Promise.all(
        panels.map((p) =>
          loadPanel(client, p, instance, q, facts.scrape).then((st) => {
            if (alive) setStates((prev) => ({ ...prev, [stateKey(p)]: { st, q, xr: [from, to] } }));
          }),
        ),
      );
      if (!alive) return;
      setShown({ q, xr: [from, to] });
      if (live) timer = setTimeout(run, Math.max(PROM_POLL_MS, q.step * 1000));
    };
    void run();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [client, facts, instance, view.range, view.from, view.to, hasWidth, panels]);

  if (!s || !url)
    return (
      <p>
        Unknown Prometheus source. <a href="#/">Back to the overview</a>
      </p>
    );
  const go = (v: RangeView, q = route.q) => {
    location.hash = promHostHash(route.id, instance, v, q);
  };
  const name = facts?.hostname || facts?.uname.nodename || instance;
  const gpuUtil = states[stateKey(PANELS[0]!)]?.st;
  const noGpu = gpuUtil?.kind === 'ok' && !gpuUtil.lines.length;
  const xr: [number, number] = shown?.xr ?? [view.from ?? Date.now() - span, view.to ?? Date.now()];
  const sync = `prom-${route.id}-${instance}`;
  return (
    <section class="host prom-host" data-instance={instance}>
      <header class="host-head">
        <h2>{name}</h2>
        <span class="badge st-live">Prometheus</span>
        <span class="muted small">
          {instance}
          {facts?.uname.release ? ` · ${facts.uname.sysname ?? ''} ${facts.uname.release} ${facts.uname.machine ?? ''}` : ''} · via {s.ep.name}
          {s.ep.name !== url ? ` (${url})` : ''}
        </span>
        <span class="spacer" />
        <span class="muted small" data-step={shown?.q.step} data-scrape={facts?.scrape}>
          {shown ? `step ${shown.q.step} s · scrape ${facts!.scrape} s · ${width} px` : 'loading…'}
        </span>
      </header>
      <nav class="ranges">
        {RANGES.map(([k]) => (
          <button class={k === view.range && live ? 'on' : ''} onClick={() => go({ range: k })}>
            {k}
          </button>
        ))}
        {!live && (
          <button class="on" onClick={() => go({ range: view.range })}>
            zoomed · back to live
          </button>
        )}
      </nav>
      <div class="charts" ref={chartsRef}>
        {panels
          .filter((p) => !(p.gpu && noGpu))
          .map((p) => (
            <PromPanel
              key={p.id}
              p={p}
              st={states[stateKey(p)]?.st ?? { kind: 'loading' }}
              answered={states[stateKey(p)]?.q}
              instance={instance}
              q={shown?.q}
              scrape={facts?.scrape}
              sync={sync}
              xr={states[stateKey(p)]?.xr ?? xr}
              onZoom={(a, b) => go({ range: view.range, from: a, to: b })}
              onReset={() => go({ range: view.range })}
            />
          ))}
      </div>
      <CustomQuery value={route.q} onSet={(q) => go(view, q)} />
    </section>
  );
}

interface PanelProps {
  p: PanelDef;
  st: PanelState;
  instance: string;
  q?: RangeQuery;
  /** the window the shown state answers */
  answered?: RangeQuery;
  scrape?: number;
  sync: string;
  xr: [number, number];
  onZoom: (a: number, b: number) => void;
  onReset: () => void;
}

const NO_LINES: PanelLine[] = [];

/** One chart, or in its place why it has nothing to draw (the server's error, or no series for this host). */
function PromPanel({ p, st, instance, q, answered, scrape, sync, xr, onZoom, onReset }: PanelProps) {
  const lines = st.kind === 'ok' ? st.lines : NO_LINES;
  const series: ChartSeries[] = useMemo(() => lines.map((l, i) => ({ label: l.label, color: seriesColor(i) })), [lines]);
  const data = useMemo(() => (st.kind === 'ok' ? [st.x, ...st.lines.map((l) => l.y)] : [[]]) as unknown as AlignedData, [st]);
  const shownExpr = q && scrape ? p.queries.map((pq) => expand(pq.expr, instance, q, scrape)).join('\n') : p.queries.map((pq) => pq.expr).join('\n');
  return (
    <div class="prom-panel" data-panel={p.id} data-state={st.kind} data-points={st.kind === 'ok' ? st.points : 0} data-end={answered?.end} title={shownExpr}>
      <Chart title={p.title} unit={p.unit} series={series} data={data} syncKey={sync} xRange={xr} yMax={p.yMax} onZoom={onZoom} onReset={onReset} />
      {st.kind === 'error' && (
        <p class="chart-msg warn" role="alert" data-chart-error>
          {st.message}
        </p>
      )}
      {st.kind === 'ok' && !st.lines.length && <p class="chart-msg muted">no series for this host in this range</p>}
      {st.kind === 'loading' && <p class="chart-msg muted">loading…</p>}
    </div>
  );
}

/** A chart of any PromQL for this host; `$instance` and `$__rate_interval` are filled in. */
function CustomQuery({ value, onSet }: { value: string; onSet: (q: string) => void }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  return (
    <form
      class="annotate prom-query"
      onSubmit={(e) => {
        e.preventDefault();
        onSet(text.trim());
      }}
    >
      <input
        name="promql"
        placeholder='Chart a PromQL query, e.g. rate(node_context_switches_total{instance="$instance"}[$__rate_interval])'
        value={text}
        onInput={(e) => setText((e.target as HTMLInputElement).value)}
      />
      <button>Chart it</button>
      {value && (
        <button type="button" onClick={() => onSet('')}>
          Remove
        </button>
      )}
    </form>
  );
}
