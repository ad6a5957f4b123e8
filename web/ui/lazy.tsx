/**
 * Views loaded when first opened (code splitting): the overview ships in the first script; the host
 * view (with uPlot), the Prometheus host page, alerts, settings and the add form come as their own
 * chunks, which the service worker precaches all the same, so offline they open as before.
 */
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export function lazyView<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  let pending: Promise<ComponentType<P>> | null = null;
  return function LazyView(props: P) {
    const [view, setView] = useState<{ C: ComponentType<P> } | { error: string } | null>(() => (loaded ? { C: loaded } : null));
    useEffect(() => {
      if (view) return;
      let live = true;
      // A failed load (an update removed the old chunk, or offline before the SW cached it) may be retried.
      pending ??= load().then(
        (C) => (loaded = C),
        (e) => {
          pending = null;
          throw e;
        },
      );
      pending.then(
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
  };
}
