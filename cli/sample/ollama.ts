/**
 * Ollama's running models from /api/ps, polled on its own slow cadence (never inside a tick).
 * When Ollama is down or slow nothing breaks: the list is empty and polling backs off to 60 s.
 */
import type { OllamaModel } from '../../shared/wire.ts';

export interface OllamaPoller {
  stop(): void;
  poll(): Promise<OllamaModel[] | null>;
}

export function parseOllamaPs(body: unknown): OllamaModel[] {
  const models = (body as { models?: unknown })?.models;
  if (!Array.isArray(models)) throw new Error('unexpected /api/ps answer: no models array');
  return models.slice(0, 256).map((m: Record<string, unknown>) => ({
    name: typeof m.name === 'string' ? m.name : typeof m.model === 'string' ? m.model : '?',
    size: typeof m.size === 'number' ? m.size : null,
    vram: typeof m.size_vram === 'number' ? m.size_vram : null,
    expires_at: typeof m.expires_at === 'string' ? m.expires_at : null,
  }));
}

export function startOllama(baseUrl: string, onModels: (m: OllamaModel[], error: string | null) => void, everyMs = 5000): OllamaPoller {
  let delay = everyMs;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  const url = new URL('/api/ps', baseUrl).toString();
  const poll = async (): Promise<OllamaModel[] | null> => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1500) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const models = parseOllamaPs(await res.json());
      delay = everyMs;
      onModels(models, null);
      return models;
    } catch (e) {
      delay = Math.min(60_000, delay * 2);
      onModels([], (e as Error).message);
      return null;
    }
  };
  const loop = async () => {
    await poll();
    if (!stopped) {
      timer = setTimeout(loop, delay);
      (timer as { unref?: () => void }).unref?.();
    }
  };
  void loop();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    poll,
  };
}
