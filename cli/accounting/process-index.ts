/**
 * The accounting document's index: every GPU process that had series, with who it belonged to and
 * when it ran, so accounting still knows whose `proc.*` series are whose after they left the live
 * catalog and after a restart. Persisted as `processes.json` in the data dir (replaced whole: temp
 * file + rename, at most every few seconds), pruned with the longest history tier's retention.
 */
import { closeSync, constants, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessOwner } from '../../shared/catalog.ts';

export interface ProcessRecord extends ProcessOwner {
  /** `gpu<N>.<pid>-<start s>`: the middle of its series keys (`proc.<id>.mem`, …). */
  id: string;
  gpu: number;
  pid: number;
  uid: number | null;
  /** First and last time it was seen on the GPU (ms); last moves while it runs. */
  first: number;
  last: number;
}

const FILE = 'processes.json';
const MAX_RECORDS = 100_000;

export class ProcessIndex {
  #records = new Map<string, ProcessRecord>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  warnings: string[] = [];

  private constructor(
    readonly dir: string | null,
    readonly saveDelayMs: number,
  ) {}

  /** Loads the index of a data dir (null: memory only). An unreadable file starts an empty index with a warning. */
  static open(dir: string | null, saveDelayMs = 5000): ProcessIndex {
    const x = new ProcessIndex(dir, saveDelayMs);
    if (!dir) return x;
    let text: string;
    try {
      text = readFileSync(join(dir, FILE), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        x.warnings.push(`${FILE}: unreadable (${(e as NodeJS.ErrnoException).code}); accounting starts without older processes`);
      return x;
    }
    try {
      const doc = JSON.parse(text) as { processes?: unknown };
      for (const r of Array.isArray(doc.processes) ? doc.processes : []) if (validRecord(r)) x.#records.set(r.id, r);
    } catch {
      x.warnings.push(`${FILE}: not valid JSON; accounting starts without older processes`);
    }
    return x;
  }

  get size(): number {
    return this.#records.size;
  }
  get(id: string): ProcessRecord | undefined {
    return this.#records.get(id);
  }
  all(): ProcessRecord[] {
    return [...this.#records.values()];
  }

  /** Records that ran during [from, to]. */
  overlapping(from: number, to: number): ProcessRecord[] {
    return this.all().filter((r) => r.first <= to && r.last >= from);
  }

  /** A new process, or one seen again: its last-seen time moves (saved later, not at every tick). */
  upsert(r: ProcessRecord) {
    const old = this.#records.get(r.id);
    this.#records.set(r.id, old ? { ...old, last: Math.max(old.last, r.last) } : r);
    if (!old) this.#schedule();
    if (this.#records.size > MAX_RECORDS) this.#records.delete(this.#records.keys().next().value!);
  }

  seen(id: string, t: number) {
    const r = this.#records.get(id);
    if (r && t > r.last) {
      r.last = t;
      this.#schedule();
    }
  }

  /** Drops processes whose last sighting is older than `before` (their history is gone too). */
  prune(before: number) {
    let n = 0;
    for (const [id, r] of this.#records)
      if (r.last < before) {
        this.#records.delete(id);
        n++;
      }
    if (n) this.#schedule();
  }

  #schedule() {
    if (!this.dir || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush();
    }, this.saveDelayMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Writes the index now (temp file + rename, never through a symlink). */
  flush() {
    if (!this.dir) return;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const tmp = join(this.dir, `${FILE}.tmp`);
    try {
      try {
        unlinkSync(tmp);
      } catch {
        /* none */
      }
      const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        writeSync(fd, JSON.stringify({ version: 1, processes: this.all() }));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, join(this.dir, FILE));
    } catch (e) {
      const m = `${FILE}: write failed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); accounting keeps it in memory`;
      if (!this.warnings.includes(m)) this.warnings.push(m);
    }
  }
}

const str = (v: unknown) => v === null || typeof v === 'string';
function validRecord(r: unknown): r is ProcessRecord {
  const o = r as ProcessRecord;
  return (
    !!o &&
    typeof o.id === 'string' &&
    /^gpu\d+\.\d+-\d+$/.test(o.id) &&
    Number.isInteger(o.gpu) &&
    Number.isInteger(o.pid) &&
    Number.isFinite(o.first) &&
    Number.isFinite(o.last) &&
    (o.uid === null || Number.isInteger(o.uid)) &&
    str(o.user) &&
    str(o.command) &&
    str(o.container) &&
    str(o.pod) &&
    str(o.namespace) &&
    str(o.job)
  );
}
