/**
 * History on disk as one append-only file of fixed-size records:
 *   [t: f64][values: f32 × N][crc32: u32]
 * with the column keys in a JSON header file beside it. A tick costs one write() of a preallocated
 * buffer into the page cache, so `kill -9` loses nothing already written; a torn tail or a record
 * whose CRC fails is skipped with a warning, and an unreadable header sets the files aside.
 * When the file holds twice the ring's capacity it is rewritten from the ring (tmp + rename).
 */
import { closeSync, existsSync, fstatSync, renameSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentEvent } from '../../shared/wire.ts';
import { Ring } from './ring.ts';
import { ensurePrivateDir, openAppendNoFollow, openTempFile, readFileNoFollow, writeFileAtomic } from './safe-fs.ts';

const HEADER = 'history.json';
const DATA = 'history.bin';
const EVENTS = 'events.json';

export interface LoadResult { ring: Ring | null; events: AgentEvent[]; warnings: string[]; skipped: number }

const recordSize = (n: number) => 8 + 4 * n + 4;

export class HistoryFile {
  #fd: number | null = null;
  #buf: Buffer;
  #view: DataView;
  #records = 0;
  #eventsTimer: ReturnType<typeof setTimeout> | null = null;
  writeErrors = 0;

  constructor(readonly dir: string, readonly keys: readonly string[], readonly capacity: number) {
    this.#buf = Buffer.alloc(recordSize(keys.length));
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  }

  /** Reads what a previous run left; returns a ring shaped for `keys` (or null when there was nothing). */
  static load(dir: string, keys: readonly string[], capacity: number, log: (m: string) => void): LoadResult {
    const warnings: string[] = [];
    const warn = (m: string) => { warnings.push(m); log(m); };
    let events: AgentEvent[] = [];
    try {
      if (existsSync(join(dir, EVENTS))) {
        const e = JSON.parse(readFileNoFollow(join(dir, EVENTS)).toString('utf8'));
        if (!Array.isArray(e)) throw new Error('not an array');
        events = e.filter((x) => x && typeof x.id === 'string' && typeof x.t === 'number' && typeof x.label === 'string');
      }
    } catch (e) { warn(`events file unreadable (${(e as Error).message}); set aside`); setAside(dir, EVENTS); }
    if (!existsSync(join(dir, HEADER)) || !existsSync(join(dir, DATA))) return { ring: null, events, warnings, skipped: 0 };
    let oldKeys: string[];
    try {
      const h = JSON.parse(readFileNoFollow(join(dir, HEADER)).toString('utf8'));
      if (h.version !== 1 || !Array.isArray(h.keys) || !h.keys.every((k: unknown) => typeof k === 'string')) throw new Error('bad header');
      oldKeys = h.keys;
    } catch (e) {
      warn(`history header unreadable (${(e as Error).message}); history set aside`);
      setAside(dir, HEADER); setAside(dir, DATA);
      return { ring: null, events, warnings, skipped: 0 };
    }
    let data: Buffer;
    try { data = readFileNoFollow(join(dir, DATA)); } catch (e) {
      warn(`history file unreadable (${(e as Error).message}); history set aside`);
      setAside(dir, HEADER); setAside(dir, DATA);
      return { ring: null, events, warnings, skipped: 0 };
    }
    const size = recordSize(oldKeys.length);
    const n = Math.floor(data.length / size);
    if (data.length % size) warn(`history file has a torn last record (${data.length % size} bytes); ignored`);
    const old = new Ring(Math.max(1, Math.min(n, capacity)), oldKeys);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const row = new Float64Array(oldKeys.length);
    let skipped = 0;
    for (let i = Math.max(0, n - capacity * 2); i < n; i++) {
      const o = i * size;
      if (view.getUint32(o + size - 4, true) !== crc32(data.subarray(o, o + size - 4))) { skipped++; continue; }
      const t = view.getFloat64(o, true);
      for (let c = 0; c < oldKeys.length; c++) row[c] = view.getFloat32(o + 8 + 4 * c, true);
      old.push(t, row);
    }
    if (skipped) warn(`history file: ${skipped} corrupt record(s) skipped`);
    return { ring: old.reshape(keys, capacity), events, warnings, skipped };
  }

  /** Starts a fresh file holding the ring's current rows (also how compaction works). */
  rewrite(ring: Ring) {
    // Never through a planted link: see safe-fs.ts.
    ensurePrivateDir(this.dir);
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
    const tmp = openTempFile(this.dir, DATA);
    try {
      const row = new Float64Array(this.keys.length);
      for (let i = 0; i < ring.count; i++) { this.#encode(ring.row(i, row), row); writeSync(tmp.fd, this.#buf); }
    } catch (e) { tmp.discard(); throw e; }
    writeFileAtomic(this.dir, HEADER, JSON.stringify({ version: 1, keys: this.keys }), 0o600, { fsync: false });
    tmp.commit({ fsync: false });
    this.#fd = openAppendNoFollow(join(this.dir, DATA), 0o600);
    this.#records = ring.count;
  }

  append(t: number, values: ArrayLike<number>, ring: Ring) {
    if (this.#fd === null) return;
    try {
      this.#encode(t, values);
      writeSync(this.#fd, this.#buf);
      if (++this.#records >= this.capacity * 2) this.rewrite(ring);
    } catch (e) {
      // A full disk must not take the agent down: keep serving from memory and count the failures.
      if (this.writeErrors++ === 0) console.error(`gpulse: history write failed: ${(e as Error).message}`);
    }
  }

  #encode(t: number, values: ArrayLike<number>) {
    const v = this.#view;
    v.setFloat64(0, t, true);
    for (let c = 0; c < this.keys.length; c++) v.setFloat32(8 + 4 * c, values[c] ?? NaN, true);
    v.setUint32(this.#buf.length - 4, crc32(this.#buf.subarray(0, this.#buf.length - 4)), true);
  }

  /** Events change rarely: write the whole list, debounced, atomically. */
  saveEvents(events: readonly AgentEvent[]) {
    if (this.#eventsTimer) return;
    this.#eventsTimer = setTimeout(() => { this.#eventsTimer = null; this.flushEvents(events); }, 500);
  }
  flushEvents(events: readonly AgentEvent[]) {
    try {
      ensurePrivateDir(this.dir);
      writeFileAtomic(this.dir, EVENTS, JSON.stringify(events), 0o600, { fsync: false });
    } catch (e) { console.error(`gpulse: events write failed: ${(e as Error).message}`); }
  }

  close(events?: readonly AgentEvent[]) {
    if (this.#eventsTimer) { clearTimeout(this.#eventsTimer); this.#eventsTimer = null; }
    if (events) this.flushEvents(events);
    if (this.#fd !== null) { try { const st = fstatSync(this.#fd); ftruncateSync(this.#fd, st.size - (st.size % this.#buf.length)); closeSync(this.#fd); } catch { /* closing anyway */ } }
    this.#fd = null;
  }
}

function setAside(dir: string, name: string) {
  try { if (existsSync(join(dir, name))) renameSync(join(dir, name), join(dir, `${name}.corrupt-${Date.now()}`)); } catch { /* best effort */ }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; t[n] = c >>> 0; }
  return t;
})();

export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
