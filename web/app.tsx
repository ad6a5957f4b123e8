/** The shell: hash routes (#/, #/e/:id?range=, #/p/:id/:instance?range=, #/add?url=&token=, #/settings), keyboard, notices. */
import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import type { AppState } from './lib/state.ts';
import type { View } from './ui/host.tsx';
import { Overview } from './ui/overview.tsx';
import { parsePromRoute, type PromRoute } from './lib/prom-route.ts';
import { RANGES, rangeViewOf } from './lib/ranges.ts';
import { lazyView } from './ui/lazy.tsx';

// Loaded on first use: the overview is what opens first, and it needs none of these (nor uPlot).
const HostView = lazyView(() => import('./ui/host.tsx').then((m) => m.HostView));
const PromHostView = lazyView(() => import('./ui/prom-host.tsx').then((m) => m.PromHostView));
const AlertsView = lazyView(() => import('./ui/alerts.tsx').then((m) => m.AlertsView));
const AddForm = lazyView(() => import('./ui/add.tsx').then((m) => m.AddForm));
const Settings = lazyView(() => import('./ui/settings.tsx').then((m) => m.Settings));

/** The view a page opens on starts loading at once, beside the app's own start (main.tsx). */
export function preloadView(hash: string) {
  const r = parseRoute(hash);
  ({ host: HostView, prom: PromHostView, alerts: AlertsView, add: AddForm, settings: Settings, overview: null })[r.name]?.preload();
}

type Route =
  | { name: 'overview' }
  | { name: 'host'; id: string; view: View }
  | { name: 'add' }
  | { name: 'alerts' }
  | { name: 'settings'; fix?: string }
  | { name: 'prom'; r: PromRoute };

export function parseRoute(hash: string): Route {
  const [path, query = ''] = hash.replace(/^#/, '').split('?');
  const q = new URLSearchParams(query);
  const m = /^\/e\/([\w-]+)$/.exec(path ?? '');
  if (m) return { name: 'host', id: m[1]!, view: rangeViewOf(q, '') };
  const p = parsePromRoute(path ?? '', q);
  if (p) return { name: 'prom', r: p };
  if (path === '/add') return { name: 'add' };
  if (path === '/alerts') return { name: 'alerts' };
  if (path === '/settings') return { name: 'settings', fix: q.get('fix') ?? undefined };
  return { name: 'overview' };
}

export function App({ app, sameOrigin }: { app: AppState; sameOrigin: boolean }) {
  const [, force] = useState(0);
  const [hash, setHash] = useState(location.hash);
  // Layout effects: attached within render(), so a change made right after it (a pairing link's) is seen.
  useLayoutEffect(() => app.subscribe(() => force((x) => x + 1)), []);
  useLayoutEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const navigate = (h: string) => {
    location.hash = h;
  };
  const route = parseRoute(hash);

  useEffect(() => {
    const key = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement)?.tagName === 'INPUT') {
        if (e.key === 'Escape') (e.target as HTMLElement).blur();
        return;
      }
      if (e.key === 'Escape') navigate('#/');
      else if (e.key === '/') {
        e.preventDefault();
        document.getElementById('filter')?.focus();
      } else if (route.name === 'host' && /^[1-9]$/.test(e.key)) navigate(`#/e/${route.id}?range=${RANGES[Number(e.key) - 1]![0]}`);
    };
    addEventListener('keydown', key);
    return () => removeEventListener('keydown', key);
  }, [hash]);

  const firing = app.alerts.firingCount();
  const setView = (id: string) => (v: View) => navigate(`#/e/${id}?range=${v.range}${v.from ? `&from=${v.from}&to=${v.to}` : ''}`);
  return (
    <>
      <header class="top">
        <a href="#/" class="logo">
          gpulse
        </a>
        <nav>
          <a href="#/">Overview</a>
          <a href="#/alerts">Alerts{firing > 0 && <b class="warn"> ({firing})</b>}</a>
          <a href="#/add">Add</a>
          <a href="#/settings">Settings</a>
        </nav>
        <span class="spacer" />
        {/* Only once the election says so: every tab starts 'pending' (the leader used to flash "follower tab"). */}
        {app.role === 'follower' && (
          <span class="muted small" title="another tab holds the connections and writes history; this one shows what it sends">
            follower tab
          </span>
        )}
      </header>
      {app.notice && (
        <div class="notice" role="status">
          {app.notice}{' '}
          <button
            onClick={() => {
              app.notice = null;
              app.emit();
            }}
          >
            dismiss
          </button>
        </div>
      )}
      <main>
        {route.name === 'overview' && <Overview app={app} />}
        {route.name === 'host' && <HostView app={app} id={route.id} view={route.view} setView={setView(route.id)} />}
        {route.name === 'prom' && <PromHostView app={app} route={route.r} />}
        {route.name === 'alerts' && <AlertsView app={app} />}
        {route.name === 'add' && <AddForm app={app} navigate={navigate} sameOrigin={sameOrigin} />}
        {route.name === 'settings' && <Settings app={app} fix={route.fix} />}
      </main>
    </>
  );
}
