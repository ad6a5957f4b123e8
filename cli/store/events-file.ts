/** Events and annotations on disk: one JSON file, replaced whole (temp file + rename, never through a link), debounced. */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentEvent } from '../../shared/wire.ts';
import { readFileNoFollow, writeFileAtomic } from './safe-fs.ts';

const NAME = 'events.json';

/** Reads saved events; an unreadable file (or a link planted in its place) is set aside with a warning. */
export function loadEvents(dir: string, warn: (m: string) => void): AgentEvent[] {
  const path = join(dir, NAME);
  let text: string;
  try {
    text = readFileNoFollow(path).toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    warn(`${path}: ${(e as Error).message}; ignored`);
    return [];
  }
  try {
    const e = JSON.parse(text);
    if (!Array.isArray(e)) throw new Error('not an array');
    return e.filter((x) => x && typeof x.id === 'string' && typeof x.t === 'number' && typeof x.label === 'string');
  } catch (e) {
    warn(`events file unreadable (${(e as Error).message}); set aside`);
    try {
      renameSync(path, `${path}.corrupt-${Date.now()}`);
    } catch {
      /* best effort */
    }
    return [];
  }
}

export class EventsFile {
  #timer: ReturnType<typeof setTimeout> | null = null;
  constructor(readonly dir: string) {}

  save(events: () => readonly AgentEvent[]) {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush(events());
    }, 500);
  }

  flush(events: readonly AgentEvent[]) {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    try {
      writeFileAtomic(this.dir, NAME, JSON.stringify(events));
    } catch (e) {
      console.error(`gpulse: events write failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
}
