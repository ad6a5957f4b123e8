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

/** Replaces the address (no history entry) and tells the app, which follows `hashchange`. */
function go(hash: string) {
  history.replaceState(null, '', `${location.pathname}${hash}`);
  dispatchEvent(new HashChangeEvent('hashchange'));
}

/**
 * #/add?url=…&token=… (or ?prometheus=…[&token=…]) — the token leaves the address bar at once, the
 * endpoint is checked and added, and the app (already drawn) says what is happening meanwhile.
 */
async function takePairingLink(app: AppState, hash: string): Promise<boolean> {
  const m = /^#\/add\?(.+)$/.exec(hash);
  if (!m) return false;
  const q = new URLSearchParams(m[1]);
  const prom = q.get('prometheus');
  if (prom) {
    // #/add?prometheus=URL[&token=…]: a Prometheus-compatible source; the token leaves the address bar too.
    go('#/');
    try {
      await app.addPrometheus(prom, q.get('token') ?? '', q.get('name') ?? undefined);
    } catch (e) {
      go('#/add');
      app.notice = `That Prometheus link could not be used: ${(e as Error).message}`;
      app.emit();
    }
    return true;
  }
  const url = q.get('url'),
    token = q.get('token');
  if (!url || !token) return false;
  preloadView('#/e/new'); // a pairing link ends on the agent's host view: load it while the agent is asked
  go('#/');
  app.notice = `Checking the agent at ${url}…`;
  app.emit();
  try {
    // Checked like the Add form: a link with a wrong token or a dead address saves nothing and says why.
    const check = await checkAgent(url, token, { pageProtocol: location.protocol });
    if (check.kind !== 'ok') {
      sessionStorage.setItem('gpulse.add.url', url);
      throw new Error(check.message);
    }
    const ep = await app.addEndpoint(check.url, token, q.get('name') ?? undefined, { info: check.info });
    app.notice = null;
    go(`#/e/${ep.id}`);
  } catch (e) {
    go('#/add');
    app.notice = `That pairing link could not be used: ${(e as Error).message}`;
  }
  app.emit();
  return true;
}

async function boot() {
  performance.mark('gpulse:boot'); // the app's own start, for benchmarks (after the scripts are fetched and run)
  preloadView(location.hash);
  const app = new AppState();
  await app.init();
  (globalThis as { gpulse?: AppState }).gpulse = app; // for debugging and tests
  const link = /^#\/add\?/.test(location.hash) ? location.hash : null;
  // The token leaves the address bar before anything is drawn; the app is drawn before the agent is
  // asked, so a pairing link to an agent that does not answer says so while it waits (no blank page).
  if (link) history.replaceState(null, '', `${location.pathname}#/`);
  const sameOrigin = app.order.length === 0 && !link ? await servedByAgent() : false;
  if (sameOrigin && !location.hash) history.replaceState(null, '', `${location.pathname}#/add`);
  render(<App app={app} sameOrigin={sameOrigin} />, document.getElementById('app')!);
  if (link) void takePairingLink(app, link);
  // A pairing link pasted into an open tab is a same-document hash change, not a new load.
  addEventListener('hashchange', () => void takePairingLink(app, location.hash));
  void app.applyRetention();
  setInterval(() => void app.applyRetention(), 3600_000);
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('./sw.js').catch(() => {
      /* no SW (insecure context): the app still works online */
    });
  }
}

void boot();
