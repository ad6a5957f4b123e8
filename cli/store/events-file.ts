/** Events and annotations on disk: one JSON file, replaced whole (temp + rename), debounced. */
import { closeSync, constants, lstatSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentEvent } from '../../shared/wire.ts';

const NAME = 'events.json';

/** Reads saved events; an unreadable file is set aside with a warning, never followed through a symlink. */
export function loadEvents(dir: string, warn: (m: string) => void): AgentEvent[] {
  const path = join(dir, NAME);
  try {
    if (lstatSync(path).isSymbolicLink()) { warn(`${path} is a symlink; ignored`); return []; }
  } catch { return []; }
  try {
    const e = JSON.parse(readFileSync(path, 'utf8'));
    if (!Array.isArray(e)) throw new Error('not an array');
    return e.filter((x) => x && typeof x.id === 'string' && typeof x.t === 'number' && typeof x.label === 'string');
  } catch (e) {
    warn(`events file unreadable (${(e as Error).message}); set aside`);
    try { renameSync(path, `${path}.corrupt-${Date.now()}`); } catch { /* best effort */ }
    return [];
  }
}

export class EventsFile {
  #timer: ReturnType<typeof setTimeout> | null = null;
  constructor(readonly dir: string) {}

  save(events: () => readonly AgentEvent[]) {
    if (this.#timer) return;
    this.#timer = setTimeout(() => { this.#timer = null; this.flush(events()); }, 500);
  }

  /** A fresh temp file (O_EXCL|O_NOFOLLOW: never through a planted link), then rename over the old one. */
  flush(events: readonly AgentEvent[]) {
    if (this.#timer) { clearTimeout(this.#timer); this.#timer = null; }
    const tmp = join(this.dir, `${NAME}.${process.pid}.tmp`);
    try {
      try { unlinkSync(tmp); } catch { /* none left over */ }
      const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try { writeSync(fd, JSON.stringify(events)); } finally { closeSync(fd); }
      renameSync(tmp, join(this.dir, NAME));
    } catch (e) { console.error(`gpulse: events write failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  }
}
