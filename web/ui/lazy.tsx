/**
 * Views loaded when first opened (code splitting): the overview ships in the first script; the host
 * view (with uPlot), the Prometheus host page, alerts, settings and the add form come as their own
 * chunks, which the service worker precaches all the same, so offline they open as before.
 */
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export type LazyView<P> = ComponentType<P> & { /** start loading now (the page opens on this view) */ preload(): void };

export function lazyView<P extends object>(load: () => Promise<ComponentType<P>>): LazyView<P> {
  let loaded: ComponentType<P> | null = null;
  let pending: Promise<ComponentType<P>> | null = null;
  const start = () =>
    (pending ??= load().then(
      (C) => (loaded = C),
      (e) => {
        pending = null;
        throw e;
      },
    ));
  function LazyView(props: P) {
    const [view, setView] = useState<{ C: ComponentType<P> } | { error: string } | null>(() => (loaded ? { C: loaded } : null));
    useEffect(() => {
      if (view) return;
      let live = true;
      // A failed load (an update removed the old chunk, or offline before the SW cached it) may be retried.
      start().then(
        (C) => live && setView({ C }),
        (e: Error) => live && setView({ error: e.message }),
      );
      return () => {
        live = false;
      };
    }, []);
    if (!view) return <p class="muted">loading…</p>;
    if ('error' in view) return <p class="warn">This view could not be loaded ({view.error}): reload the page.</p>;
    return <view.C {...props} />;
  }
  return Object.assign(LazyView, { preload: () => void start().catch(() => {}) });
}
