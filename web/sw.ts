/**
 * The service worker: precaches the app shell (hashed list injected at build time), serves
 * navigations network-first with the cached shell as fallback, and never touches agent requests
 * (anything cross-origin or under /v1/, /metrics, /healthz).
 */
declare const PRECACHE: string[];
declare const BUILD_ID: string;
const sw = self as unknown as ServiceWorkerGlobalScope;
const CACHE = `gpulse-shell-${BUILD_ID}`;

sw.addEventListener('install', (e: ExtendableEvent) => {
  e.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(PRECACHE))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (e: ExtendableEvent) => {
  // Old shells are dropped only after the new one is cached; open tabs keep their loaded assets,
  // and hashed asset names mean an old tab never gets a new file under an old name.
  e.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('gpulse-shell-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (e: FetchEvent) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== sw.location.origin || /^\/(v1\/|metrics|healthz)/.test(url.pathname)) return;
  if (e.request.mode === 'navigate') {
    e.respondWith(fetch(e.request).catch(async () => (await caches.match('./index.html', { ignoreSearch: true })) ?? Response.error()));
    return;
  }
  // An exact lookup in our own cache: no ignoreSearch, no scan of every cache in the origin.
  e.respondWith(
    caches
      .open(CACHE)
      .then((c) => c.match(e.request))
      .then((hit) => hit ?? fetch(e.request)),
  );
});
