/**
 * `--textfile-dir DIR`: node_exporter's textfile convention. Every `*.prom` file in DIR (not
 * hidden, not in subdirectories) is Prometheus text; each tick the directory is listed and each
 * file stat'ed, and only a file whose mtime, size or inode changed is read again.
 *
 * A half-written file is never taken: writers should write a temp file and rename it into place
 * (atomic), and a file read while it changes (size or mtime differ after the read, or the text
 * does not end in a newline, as the format requires) is left for the next tick with its previous
 * values kept. A bad file is reported with its line and contributes nothing; the others go on.
 */
import { readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { TextfileStatus } from '../../shared/wire.ts';
import { parsePromText, SeriesCache } from './prom-text.ts';
import type { UserRegistry } from './registry.ts';

/** A textfile is meant to be small; past this it is an error, not something to parse each change. */
export const MAX_TEXTFILE_BYTES = 1 << 20;

interface Seen {
  mtimeMs: number;
  size: number;
  ino: number;
  status: TextfileStatus;
}

export class TextfileCollector {
  #files = new Map<string, Seen>();
  #caches = new Map<string, SeriesCache>();
  #dirMtime = NaN;
  #listedAt = 0;
  #names: string[] = [];
  dirError: string | null = null;

  constructor(
    readonly dir: string,
    readonly registry: UserRegistry,
  ) {}

  static owner(file: string) {
    return `textfile:${file}`;
  }

  status(): TextfileStatus[] {
    return [...this.#files.values()].map((f) => f.status).sort((a, b) => a.file.localeCompare(b.file));
  }

  /** One cheap pass: list, stat, read what changed. */
  poll(now: number) {
    let names: string[];
    try {
      // The listing changes only with the directory's mtime (a create, rename or delete): stat it, list it when it
      // moved, and every 5 s anyway (a filesystem with coarse mtimes can hide a second change within one tick).
      const m = statSync(this.dir).mtimeMs;
      if (m !== this.#dirMtime || now - this.#listedAt >= 5000) {
        this.#listedAt = now;
        // Sorted: the catalog order of a directory's series does not depend on the filesystem.
        this.#names = readdirSync(this.dir)
          .filter((n) => n.endsWith('.prom') && !n.startsWith('.'))
          .sort();
        this.#dirMtime = m;
      }
      names = this.#names;
      this.dirError = null;
    } catch (e) {
      this.dirError = `${this.dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
      names = [];
      this.#dirMtime = NaN;
    }
    const present = new Set(names);
    for (const [name] of this.#files) {
      if (present.has(name)) continue;
      this.#files.delete(name);
      this.#caches.delete(name);
      this.registry.silence(TextfileCollector.owner(name));
    }
    for (const name of names) this.#check(name, now);
  }

  #check(name: string, now: number) {
    const path = join(this.dir, name);
    let st: Stats;
    try {
      st = statSync(path);
    } catch {
      return;
    } // removed between list and stat: next pass
    if (!st.isFile()) return;
    const prev = this.#files.get(name);
    if (prev && prev.mtimeMs === st.mtimeMs && prev.size === st.size && prev.ino === st.ino) return;
    const owner = TextfileCollector.owner(name);
    const mark = (status: TextfileStatus) => this.#files.set(name, { mtimeMs: st.mtimeMs, size: st.size, ino: st.ino, status });
    if (st.size > MAX_TEXTFILE_BYTES) {
      this.registry.silence(owner);
      mark({ file: name, mtime: Math.round(st.mtimeMs), state: 'error', line: null, message: `larger than ${MAX_TEXTFILE_BYTES >> 20} MiB` });
      return;
    }
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return;
    }
    let after: Stats;
    try {
      after = statSync(path);
    } catch {
      return;
    }
    // Changed under us, or cut short: a writer is busy. Keep the old values; look again next tick.
    if (after.mtimeMs !== st.mtimeMs || after.size !== st.size || Buffer.byteLength(text) !== st.size || (text.length > 0 && !text.endsWith('\n'))) {
      this.#files.set(name, {
        mtimeMs: NaN,
        size: -1,
        ino: -1,
        status: {
          file: name,
          mtime: Math.round(st.mtimeMs),
          state: 'incomplete',
          message: 'being written (no final newline, or it changed while read): kept the previous values; write a temp file and rename it',
        },
      });
      return;
    }
    let cache = this.#caches.get(name);
    if (!cache) this.#caches.set(name, (cache = new SeriesCache()));
    const r = parsePromText(text, cache);
    if (!r.ok) {
      this.registry.silence(owner);
      mark({ file: name, mtime: Math.round(st.mtimeMs), state: 'error', line: r.error.line, message: r.error.message });
      return;
    }
    const a = this.registry.apply(owner, { kind: 'textfile', file: name }, r.samples, r.families, now, { validMs: Infinity, atomic: false, replace: true });
    const dropped = a.ok ? a.dropped : r.samples.length;
    mark({ file: name, mtime: Math.round(st.mtimeMs), state: 'ok', series: a.ok ? a.keys.length : 0, dropped });
  }
}
