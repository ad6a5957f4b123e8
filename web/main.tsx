/** Boot: open IndexedDB, take a pairing link out of the address bar, render, register the service worker. */
import { render } from 'preact';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { App, preloadView } from './app.tsx';
import { checkAgent } from './lib/agent-check.ts';
import { AppState } from './lib/state.ts';

/** Opened from an agent, /v1/info answers 401 with a gpulse realm: offer that agent. */
async function servedByAgent(): Promise<boolean> {
  if (!/^https?:$/.test(location.protocol)) return false;
  try {
    const r = await fetch('/v1/info', { cache: 'no-store' });
    return (r.status === 401 && /gpulse/.test(r.headers.get('www-authenticate') ?? '')) || r.ok;
  } catch {
    return false;
  }
}

/** #/add?url=…&token=… (or ?prometheus=…[&token=…]) — add the endpoint, then drop the token from the address bar and history. */
async function takePairingLink(app: AppState): Promise<boolean> {
  const m = /^#\/add\?(.+)$/.exec(location.hash);
  if (!m) return false;
  const q = new URLSearchParams(m[1]);
  const prom = q.get('prometheus');
  if (prom) {
    // #/add?prometheus=URL[&token=…]: a Prometheus-compatible source; the token leaves the address bar too.
    try {
      await app.addPrometheus(prom, q.get('token') ?? '', q.get('name') ?? undefined);
      history.replaceState(null, '', `${location.pathname}#/`);
    } catch (e) {
      history.replaceState(null, '', `${location.pathname}#/add`);
      app.notice = `That Prometheus link could not be used: ${(e as Error).message}`;
      app.emit();
    }
    return true;
  }
  const url = q.get('url'),
    token = q.get('token');
  if (!url || !token) return false;
  preloadView('#/e/new'); // a pairing link ends on the agent's host view: load it while the agent is asked
  try {
    // Checked like the Add form: a link with a wrong token or a dead address saves nothing and says why.
    const check = await checkAgent(url, token, { pageProtocol: location.protocol });
    if (check.kind !== 'ok') {
      sessionStorage.setItem('gpulse.add.url', url);
      throw new Error(check.message);
    }
    const ep = await app.addEndpoint(check.url, token, q.get('name') ?? undefined);
    history.replaceState(null, '', `${location.pathname}#/e/${ep.id}`);
  } catch (e) {
    history.replaceState(null, '', `${location.pathname}#/add`);
    app.notice = `That pairing link could not be used: ${(e as Error).message}`;
    app.emit();
  }
  return true;
}

async function boot() {
  performance.mark('gpulse:boot'); // the app's own start, for benchmarks (after the scripts are fetched and run)
  preloadView(location.hash);
  const app = new AppState();
  await app.init();
  (globalThis as { gpulse?: AppState }).gpulse = app; // for debugging and tests
  await takePairingLink(app);
  // A pairing link pasted into an open tab is a same-document hash change, not a new load.
  addEventListener(
    'hashchange',
    () =>
      void takePairingLink(app).then((added) => {
        if (added) dispatchEvent(new HashChangeEvent('hashchange'));
      }),
  );
  const sameOrigin = app.order.length === 0 ? await servedByAgent() : false;
  if (sameOrigin && !location.hash) history.replaceState(null, '', `${location.pathname}#/add`);
  render(<App app={app} sameOrigin={sameOrigin} />, document.getElementById('app')!);
  void app.applyRetention();
  setInterval(() => void app.applyRetention(), 3600_000);
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('./sw.js').catch(() => {
      /* no SW (insecure context): the app still works online */
    });
  }
}

void boot();
