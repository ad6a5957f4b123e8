/**
 * The leader tab polls each Prometheus source (web/lib/prom-fleet.ts) and sends every answer as a
 * `prom` tab message, so a source is asked once per interval however many tabs show it (it used to
 * be polled by every tab showing the overview). Followers hold none of this.
 */
import { clipText, type TabMessage } from '../../shared/tab-messages.ts';
import type { Endpoint } from './db.ts';
import type { FleetStore } from './fleet-store.ts';
import { pollFleet } from './prom-fleet.ts';
import { PromClient, type FetchLike } from './prometheus.ts';

export const PROM_POLL_MS = 5000;

export interface PromPollerHost {
  readonly fleet: FleetStore;
  send(m: TabMessage): void;
  /** tests: a fake Prometheus */
  fetch?: FetchLike;
  every?: number;
}

export class PromPoller {
  /** Each running poll loop with the address and token it was started with. */
  #loops = new Map<string, { url: string; token: string; stop: () => void }>();

  constructor(readonly host: PromPollerHost) {}

  /** Matches the poll loops to the endpoint list (any tab may have changed it). */
  sync() {
    for (const [id, l] of this.#loops) {
      const ep = this.host.fleet.get(id)?.ep;
      if (ep?.kind === 'prometheus' && ep.url === l.url && ep.token === l.token) continue;
      l.stop();
      this.#loops.delete(id);
    }
    for (const id of this.host.fleet.order) {
      const ep = this.host.fleet.get(id)?.ep;
      if (ep?.kind === 'prometheus' && !this.#loops.has(id)) this.#loops.set(id, { url: ep.url, token: ep.token, stop: this.#start(ep) });
    }
  }

  stopAll() {
    for (const l of this.#loops.values()) l.stop();
    this.#loops.clear();
  }

  /** One loop: a poll, its answer sent, the next one an interval after this one ended. */
  #start(ep: Endpoint): () => void {
    const client = new PromClient(ep.url, { token: ep.token || undefined, fetch: this.host.fetch });
    const id = ep.id;
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const hosts = await pollFleet(client);
        if (alive) this.host.send({ type: 'prom', id, at: Date.now(), hosts, error: null });
      } catch (e) {
        if (alive) this.host.send({ type: 'prom', id, at: Date.now(), hosts: null, error: clipText((e as Error).message) });
      }
      if (alive) timer = setTimeout(tick, this.host.every ?? PROM_POLL_MS);
    };
    void tick();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }
}
