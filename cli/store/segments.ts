/**
 * Segment files: append-only files of groups, one folder per tier, named by the start of the
 * span they cover (raw 6 h, 1m 7 d, 1h 90 d), so retention and --max-disk drop whole files.
 * Opening scans group directories only (two preads a group); chunks are read on demand.
 * Nothing is opened through a symlink (O_NOFOLLOW), and a torn tail is cut back to the last whole
 * group; a corrupt directory costs its group only (the scan resynchronises on the next magic).
 */
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Tier } from '../../shared/chunk/index.ts';
import { GROUP_MAGIC, GROUP_PREFIX, dirLength, parseDir } from './group.ts';
import { openAppendNoFollow } from './safe-fs.ts';

export const SEGMENT_SPAN_MS: Record<Tier, number> = { raw: 6 * 3_600_000, '1m': 7 * 86_400_000, '1h': 90 * 86_400_000 };
export const TIERS: readonly Tier[] = ['raw', '1m', '1h'];

/** Where a sealed group lives: in a segment file, or (disk full, memory-only) in RAM. */
export interface GroupRef {
  tier: Tier;
  windowStart: number;
  first: number;
  last: number;
  rows: number;
  size: number;
  file: string | null;
  offset: number;
  mem: Uint8Array | null;
}

export interface SegmentFile {
  tier: Tier;
  path: string;
  start: number;
  bytes: number;
  last: number;
}

export function readAt(fd: number, len: number, pos: number, into?: Uint8Array): Uint8Array {
  const b = into ? into.subarray(0, len) : new Uint8Array(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, b, got, len - got, pos + got);
    if (n <= 0) break;
    got += n;
  }
  return got === len ? b : b.subarray(0, got);
}

export const openRead = (path: string) => openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);

/** Scans one segment file; cuts a torn tail. Returns its groups and what it had to skip. */
export function scanSegment(tier: Tier, path: string, warn: (m: string) => void): GroupRef[] {
  const fd = openSync(path, constants.O_RDWR | constants.O_NOFOLLOW);
  const refs: GroupRef[] = [];
  try {
    const size = fstatSync(fd).size;
    let o = 0;
    while (o < size) {
      const prefix = readAt(fd, GROUP_PREFIX, o);
      const dl = dirLength(prefix);
      let parsed: ReturnType<typeof parseDir> | null = null;
      if (dl !== null && o + GROUP_PREFIX + dl + 4 <= size) parsed = parseDir(readAt(fd, GROUP_PREFIX + dl + 4, o));
      if (parsed?.ok && o + parsed.dir.size <= size) {
        const d = parsed.dir;
        refs.push({ tier, windowStart: d.windowStart, first: d.first, last: d.last, rows: d.rows, size: d.size, file: path, offset: o, mem: null });
        o += d.size;
        continue;
      }
      const next = findMagic(fd, o + 1, size);
      if (next < 0) {
        // Nothing valid after this point: a group cut short by a crash (or garbage). Cut it off so
        // the next append starts aligned.
        warn(`${path}: torn or unreadable tail (${size - o} bytes at ${o}) cut`);
        ftruncateSync(fd, o);
        break;
      }
      warn(`${path}: unreadable group at ${o} (${next - o} bytes) skipped`);
      o = next;
    }
  } finally {
    closeSync(fd);
  }
  return refs;
}

function findMagic(fd: number, from: number, size: number): number {
  const CH = 1 << 20;
  for (let pos = from; pos < size; pos += CH - 3) {
    const b = readAt(fd, Math.min(CH, size - pos), pos);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i + 4 <= b.length; i++) {
      if (v.getUint32(i, true) !== GROUP_MAGIC) continue;
      const at = pos + i;
      const dl = dirLength(readAt(fd, GROUP_PREFIX, at));
      if (dl === null) continue;
      const p = parseDir(readAt(fd, GROUP_PREFIX + dl + 4, at));
      if (p.ok && at + p.dir.size <= size) return at;
    }
  }
  return -1;
}

/** Lists a tier's segment files (never following symlinks: a link is reported and left alone). */
export function listSegments(dir: string, tier: Tier, warn: (m: string) => void): SegmentFile[] {
  const d = join(dir, tier);
  let names: string[];
  try {
    names = readdirSync(d);
  } catch {
    return [];
  }
  const out: SegmentFile[] = [];
  for (const name of names) {
    const m = /^(\d+)\.seg$/.exec(name);
    if (!m) continue;
    const path = join(d, name);
    const st = lstatSync(path);
    if (!st.isFile()) {
      warn(`${path}: not a regular file (a symlink?); ignored`);
      continue;
    }
    out.push({ tier, path, start: Number(m[1]), bytes: st.size, last: -Infinity });
  }
  return out.sort((a, b) => a.start - b.start);
}

/** Appends group bytes to the tier's segment for `windowStart`; on failure cuts the partial write. */
export class SegmentWriter {
  #fd: number | null = null;
  #path = '';

  constructor(
    readonly dir: string,
    readonly tier: Tier,
  ) {}

  pathFor(windowStart: number): string {
    const span = SEGMENT_SPAN_MS[this.tier];
    return join(this.dir, this.tier, `${Math.floor(windowStart / span) * span}.seg`);
  }

  /** Returns the offset the group was written at. */
  append(windowStart: number, bytes: Uint8Array): { path: string; offset: number } {
    const path = this.pathFor(windowStart);
    if (path !== this.#path || this.#fd === null) {
      this.close();
      mkdirSync(join(this.dir, this.tier), { recursive: true, mode: 0o700 });
      this.#fd = openAppendNoFollow(path);
      this.#path = path;
    }
    const fd = this.#fd;
    const offset = fstatSync(fd).size;
    try {
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, offset + done);
    } catch (e) {
      try {
        ftruncateSync(fd, offset);
      } catch {
        /* the scan at the next start cuts it */
      }
      throw e;
    }
    return { path, offset };
  }

  close() {
    if (this.#fd !== null) {
      try {
        closeSync(this.#fd);
      } catch {
        /* closing anyway */
      }
      this.#fd = null;
    }
  }
}

export function removeFile(path: string) {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}
export function setAside(path: string, why: string) {
  try {
    renameSync(path, `${path}.${why}-${Date.now()}`);
  } catch {
    /* best effort */
  }
}
