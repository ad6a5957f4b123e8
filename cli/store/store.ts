/**
 * The history of record: tiered, compressed, on disk, with only the open windows in RAM.
 *
 *   append(row) ─► WAL (one write per tick) + RawHead + 1m/1h RollupHeads
 *   window boundary ─► each head encodes one chunk per series ─► one group appended to its
 *                      tier's segment file ─► WAL truncated
 *
 * Disk full / read-only / unwritable: sampling and serving go on; sealed groups wait in RAM
 * (bounded), the state shows in info(), and writing resumes (pending groups first, then the WAL
 * rewritten from memory) when space returns. Nothing is created or opened through a symlink.
 */
import { closeSync, constants, lstatSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ChunkBuffers, decodeChunk, type Chunk, type Tier } from '../../shared/chunk/index.ts';
import { ROLLUP_STEP_MS, windowStart } from '../../shared/chunk/windows.ts';
import { sameKeys } from '../../shared/series-key.ts';
import { encodeGroup, parseDir, type GroupDir } from './group.ts';
import { RawHead, RollupHead, type Sealed } from './heads.ts';
import { TIERS, SegmentWriter, listSegments, openRead, readAt, removeFile, scanSegment, type GroupRef } from './segments.ts';
import { ensurePrivateDir } from './safe-fs.ts';
import { Wal } from './wal.ts';
import { chunksRead } from './memory-guard.ts';

export interface StoreOptions {
  /** null: memory only (--no-persist). */
  dir: string | null;
  intervalMs: number;
  retentionMs: Record<Tier, number>;
  maxDiskBytes: number;
  /**
   * Write-ahead log batching (Wal's batchBytes): 0, the agent's, writes every row as it comes;
   * `gpulse import` batches, as a killed import loses only rows a rerun stores again.
   */
  walBatchBytes?: number;
  /** Sealed groups kept in RAM when they cannot go to disk; oldest raw goes first past this. */
  memoryCapBytes?: number;
  now?: () => number;
  log?: (m: string) => void;
}

export type StorageState = { kind: 'ok' } | { kind: 'memory_only'; reason: string } | { kind: 'disk_full' | 'write_error'; since: number; message: string };

export class StoreLockedError extends Error {
  override name = 'StoreLockedError';
}

/** A future-dated record further ahead than this (wall clock was wrong last run) is set aside. */
export const FUTURE_SLACK_MS = 5_000;
const RETRY_MS = 5_000;

export class Store {
  readonly raw: RawHead;
  readonly m1 = new RollupHead('1m');
  readonly h1 = new RollupHead('1h');
  readonly refs: Record<Tier, GroupRef[]> = { raw: [], '1m': [], '1h': [] };
  readonly warnings: string[] = [];
  state: StorageState = { kind: 'ok' };
  /** Rows refused because their time was not after the newest stored one. */
  refused = 0;
  lostGroups = 0;
  #wal: Wal | null = null;
  #writers: Partial<Record<Tier, SegmentWriter>> = {};
  #keys: string[] = [];
  #rawMap = new Int32Array(0);
  #m1Map = new Int32Array(0);
  #h1Map = new Int32Array(0);
  #lastT = -Infinity;
  #lastRetry = 0;
  #lastRetention = 0;
  #dirCache = new Map<GroupRef, GroupDir>();
  #fds = new Map<string, number>();
  #warned = new Set<string>();
  #lockPath: string | null = null;
  readonly now: () => number;
  readonly log: (m: string) => void;

  private constructor(readonly opts: StoreOptions) {
    this.raw = new RawHead(opts.intervalMs);
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
  }

  /** Opens (or creates) the store; throws StoreLockedError when a live process holds the directory. */
  static open(opts: StoreOptions): Store {
    const s = new Store(opts);
    if (!opts.dir) s.state = { kind: 'memory_only', reason: '--no-persist' };
    else s.#openDir(opts.dir);
    return s;
  }

  warn(m: string) {
    if (this.#warned.has(m)) return;
    this.#warned.add(m);
    this.warnings.push(m);
    if (this.warnings.length > 100) this.warnings.shift();
    this.log(m);
  }

  #openDir(dir: string) {
    try {
      ensurePrivateDir(dir, { warn: (m) => this.warn(m) });
      this.#lockPath = acquireLock(dir);
    } catch (e) {
      if (e instanceof StoreLockedError) throw e;
      this.state = { kind: 'memory_only', reason: `data dir ${dir} unusable (${errText(e)})` };
      this.warn(`history kept in memory only: ${this.state.reason}`);
      return;
    }
    const now = this.now();
    for (const tier of TIERS) {
      const refs: GroupRef[] = [];
      for (const f of listSegments(dir, tier, (m) => this.warn(m))) {
        try {
          refs.push(...scanSegment(tier, f.path, (m) => this.warn(m)));
        } catch (e) {
          this.warn(`${f.path}: unreadable (${errText(e)}); ignored`);
        }
      }
      const future = refs.filter((r) => r.first > now + FUTURE_SLACK_MS);
      if (future.length) this.warn(`${tier}: ${future.length} future-dated group(s) ignored (the clock was ahead when they were written)`);
      this.refs[tier] = refs.filter((r) => r.first <= now + FUTURE_SLACK_MS).sort((a, b) => a.first - b.first);
    }
    let walRows: { keys: string[]; t: number; values: Float64Array }[] = [];
    try {
      const { wal, contents } = Wal.open(join(dir, 'wal'), this.opts.walBatchBytes);
      this.#wal = wal;
      for (const w of contents.warnings) this.warn(w);
      walRows = contents.rows;
    } catch (e) {
      this.state = { kind: 'write_error', since: now, message: errText(e) };
      this.warn(`write-ahead log unusable (${errText(e)}): history is kept in memory until it can be written`);
    }
    const sealedRaw = this.#sealedUntil('raw');
    const future = walRows.filter((r) => r.t > now + FUTURE_SLACK_MS).length;
    if (future) this.warn(`write-ahead log: ${future} future-dated row(s) ignored`);
    walRows = walRows.filter((r) => r.t > sealedRaw && r.t <= now + FUTURE_SLACK_MS);
    const resume = Number.isFinite(sealedRaw) ? sealedRaw : walRows[0]?.t;
    if (resume !== undefined) this.#rebuildRollups(resume);
    this.#lastT = Math.max(this.#lastT, sealedRaw);
    // Replaying through append() seals any window the rows close and rewrites the log as it goes.
    this.#wal?.resetAll();
    for (const r of walRows) {
      this.setKeys(r.keys);
      this.append(r.t, r.values);
    }
    // The log was emptied above: with batched writes (an import) the replayed rows must reach the
    // disk now, or a kill before the first batch is full would lose rows the agent had logged.
    this.#flushWal();
    this.#enforceRetention(true);
  }

  #flushWal() {
    try {
      this.#wal?.flush();
    } catch (e) {
      this.#writeFailed(e);
    }
  }

  #sealedUntil(tier: Tier): number {
    let m = -Infinity;
    for (const r of this.refs[tier]) if (r.last > m) m = r.last;
    return m;
  }

  /**
   * The rollup heads are not logged: they are rebuilt from the tier below, for the windows that
   * hold `resume` (the newest sealed raw row), from whatever that tier has not sealed yet.
   */
  #rebuildRollups(resume: number) {
    const m1End = this.#sealedUntil('1m') + ROLLUP_STEP_MS['1m'];
    const h1End = this.#sealedUntil('1h') + ROLLUP_STEP_MS['1h'];
    const w1m = windowStart('1m', resume, 0);
    const w1h = windowStart('1h', resume, 0);
    // 1 h head, part one: sealed 1 m buckets not yet in a sealed 1 h bucket.
    const fromBuckets = Math.max(w1h, h1End);
    // Each group is read whole into one buffer and decoded into arrays, both reused group after
    // group: a read and fresh arrays per chunk made hours of groups into megabytes of garbage,
    // which set the agent's peak RSS at start.
    const scratch = { buf: new Uint8Array(0) };
    const bufs: ChunkBuffers[] = [];
    const decodeAll = (ref: GroupRef, keys: string[]) => {
      while (bufs.length < keys.length) bufs.push(new ChunkBuffers());
      return this.groupChunks(ref, keys, bufs, scratch);
    };
    for (const ref of this.groups('1m', fromBuckets, Number.isFinite(m1End) ? m1End - 1 : -Infinity)) {
      const keys = [...(this.dir(ref)?.chunks.keys() ?? [])];
      const chunks = decodeAll(ref, keys);
      const t = chunks.find((c) => c)?.t;
      if (!t) continue;
      this.h1.setKeys(keys);
      const cols = keys.map((k) => this.h1.cols.index.get(k)!);
      // Bucket by bucket across series: the head takes buckets in time order.
      for (let i = 0; i < t.length; i++) {
        if (t[i]! < fromBuckets) continue;
        chunks.forEach((c, j) => {
          if (c && c.tier !== 'raw') this.h1.addBucket(t[i]!, cols[j]!, c.avg[i]!, c.min[i]!, c.max[i]!, c.count[i]!);
        });
      }
    }
    // Then raw rows: into the 1 m head past its sealed buckets, into the 1 h head past both.
    const m1From = Math.max(w1m, Number.isFinite(m1End) ? m1End : -Infinity);
    const h1From = Math.max(w1h, Number.isFinite(h1End) ? h1End : -Infinity, Number.isFinite(m1End) ? m1End : -Infinity);
    const from = Math.min(m1From, h1From);
    for (const ref of this.groups('raw', from, Infinity)) {
      const keys = [...(this.dir(ref)?.chunks.keys() ?? [])];
      const cols = decodeAll(ref, keys);
      const t = cols.find((c) => c)?.t;
      if (!t) continue;
      this.m1.setKeys(keys);
      this.h1.setKeys(keys);
      const m1 = columnMap(this.m1, keys);
      const h1 = columnMap(this.h1, keys);
      const row = new Float64Array(keys.length);
      for (let i = 0; i < t.length; i++) {
        for (let j = 0; j < keys.length; j++) {
          const c = cols[j];
          row[j] = c && c.tier === 'raw' ? c.v[i]! : NaN;
        }
        if (t[i]! >= m1From) this.m1.addRow(t[i]!, row, m1);
        if (t[i]! >= h1From) this.h1.addRow(t[i]!, row, h1);
      }
    }
  }

  get keys(): readonly string[] {
    return this.#keys;
  }
  get lastT(): number | null {
    return Number.isFinite(this.#lastT) ? this.#lastT : null;
  }

  /** The columns of the rows that follow (a catalog change adds series; old ones read NaN). */
  setKeys(keys: readonly string[]) {
    if (sameKeys(keys, this.#keys)) return;
    this.#keys = [...keys];
    this.raw.setKeys(keys);
    this.m1.setKeys(keys);
    this.h1.setKeys(keys);
    this.#rawMap = columnMap(this.raw, keys);
    this.#m1Map = columnMap(this.m1, keys);
    this.#h1Map = columnMap(this.h1, keys);
    try {
      this.#wal?.setKeys(keys);
    } catch (e) {
      this.#writeFailed(e);
    }
  }

  /** After a seal: heads forget series that left the catalog, and the column maps follow. */
  #dropRetired() {
    const keep = new Set(this.#keys);
    if (this.raw.retain(keep)) this.#rawMap = columnMap(this.raw, this.#keys);
    if (this.m1.retain(keep)) this.#m1Map = columnMap(this.m1, this.#keys);
    if (this.h1.retain(keep)) this.#h1Map = columnMap(this.h1, this.#keys);
  }

  /** Appends one row (values in setKeys order). Returns false, storing nothing, unless t is after the newest row. */
  append(t: number, values: ArrayLike<number>): boolean {
    if (!(t > this.#lastT)) {
      this.refused++;
      return false;
    }
    let sealed = false;
    for (const h of this.#heads()) if (h.closes(t)) sealed = this.#seal(h);
    if (sealed) this.#dropRetired();
    this.raw.append(t, values, this.#rawMap);
    this.m1.addRow(t, values, this.#m1Map);
    this.h1.addRow(t, values, this.#h1Map);
    this.#lastT = t;
    if (this.#wal && this.state.kind === 'ok') {
      try {
        if (sealed) this.#wal.reset();
        this.#wal.append(t, values);
      } catch (e) {
        this.#writeFailed(e);
      }
    }
    const now = this.now();
    if (this.state.kind !== 'ok' && this.state.kind !== 'memory_only' && now - this.#lastRetry >= RETRY_MS) {
      this.#lastRetry = now;
      this.#retry();
    }
    if (sealed || now - this.#lastRetention > 3_600_000) this.#enforceRetention(false);
    return true;
  }

  #heads(): (RawHead | RollupHead)[] {
    return [this.raw, this.m1, this.h1];
  }

  /** Writes a head's window as a group and empties the head. */
  #seal(h: RawHead | RollupHead): true {
    this.#persist(h.encode());
    h.reset();
    return true;
  }

  #writerFor(tier: Tier): SegmentWriter {
    return (this.#writers[tier] ??= new SegmentWriter(this.opts.dir!, tier));
  }

  #persist(s: Sealed) {
    if (!s.rows) return;
    const bytes = encodeGroup(s.tier, s.windowStart, s.first, s.last, s.rows, s.chunks);
    const ref: GroupRef = {
      tier: s.tier,
      windowStart: s.windowStart,
      first: s.first,
      last: s.last,
      rows: s.rows,
      size: bytes.length,
      file: null,
      offset: 0,
      mem: bytes,
    };
    if (this.state.kind === 'ok' && this.opts.dir) {
      try {
        const at = this.#writerFor(s.tier).append(s.windowStart, bytes);
        Object.assign(ref, { file: at.path, offset: at.offset, mem: null });
      } catch (e) {
        this.#writeFailed(e);
      }
    }
    this.refs[s.tier].push(ref);
    if (ref.mem) this.#capMemory();
  }

  #writeFailed(e: unknown) {
    const code = (e as NodeJS.ErrnoException).code;
    if (this.state.kind === 'ok') {
      this.state = { kind: code === 'ENOSPC' || code === 'EDQUOT' ? 'disk_full' : 'write_error', since: this.now(), message: errText(e) };
      this.warn(`history write failed (${errText(e)}): sampling and serving go on from memory; writing resumes when it can`);
    }
    this.#lastRetry = this.now();
  }

  /** Writes what waited in RAM, oldest first, then the log from the open window. */
  #retry() {
    if (!this.opts.dir) return;
    try {
      for (const tier of TIERS) {
        for (const ref of this.refs[tier]) {
          if (!ref.mem) continue;
          const at = this.#writerFor(tier).append(ref.windowStart, ref.mem);
          Object.assign(ref, { file: at.path, offset: at.offset, mem: null });
        }
      }
      if (!this.#wal) this.#wal = Wal.open(join(this.opts.dir, 'wal'), this.opts.walBatchBytes).wal;
      this.#wal.resetAll();
      this.#wal.setKeys(this.#keys);
      const h = this.raw;
      const row = new Float64Array(this.#keys.length);
      for (let i = 0; i < h.n; i++) {
        for (let j = 0; j < row.length; j++) row[j] = h.v[this.#rawMap[j]!]![i]!;
        this.#wal.append(h.t[i]!, row);
      }
      this.#wal.flush();
      this.log('gpulse: history writes resumed');
      this.state = { kind: 'ok' };
    } catch (e) {
      const s = this.state;
      if (s.kind !== 'ok' && s.kind !== 'memory_only') s.message = errText(e);
    }
  }

  /** Groups that could not be written are compressed, but still bounded: oldest raw goes first. */
  #capMemory() {
    const cap = this.opts.memoryCapBytes ?? 32 << 20;
    let held = 0;
    for (const tier of TIERS) for (const r of this.refs[tier]) if (r.mem) held += r.size;
    for (const tier of TIERS) {
      const list = this.refs[tier];
      // Never the newest group of a tier: it may be all a restart has to rebuild the rollups from.
      for (let i = 0; held > cap && i < list.length - 1;) {
        const r = list[i]!;
        if (!r.mem) {
          i++;
          continue;
        }
        held -= r.size;
        list.splice(i, 1);
        this.lostGroups++;
      }
    }
    if (this.lostGroups) this.warn('history: the memory for windows that could not be written is full; the oldest raw windows are being dropped');
  }

  #enforceRetention(atOpen: boolean) {
    const now = this.now();
    this.#lastRetention = now;
    const r = this.opts.retentionMs;
    // Never drop rows a rollup head still has to be rebuilt from after a restart.
    const cutoff: Record<Tier, number> = {
      raw: Math.min(now - r.raw, Number.isNaN(this.m1.windowStart) ? Infinity : this.m1.windowStart),
      '1m': Math.min(now - r['1m'], Number.isNaN(this.h1.windowStart) ? Infinity : this.h1.windowStart),
      '1h': now - r['1h'],
    };
    const files = this.files();
    for (const f of files) if (f.last < cutoff[f.tier]) this.#dropFile(f.tier, f.path);
    for (const tier of TIERS) this.refs[tier] = this.refs[tier].filter((x) => x.file !== null || x.last >= cutoff[tier]);
    // --max-disk: oldest file of the lowest tier first; a tier's newest file is kept. The total is
    // what retention left, not the list above: files it just removed no longer take any disk.
    let total = this.diskBytes;
    if (total <= this.opts.maxDiskBytes) return;
    for (const tier of TIERS) {
      const own = this.files().filter((f) => f.tier === tier);
      for (let i = 0; i < own.length - 1 && total > this.opts.maxDiskBytes; i++) {
        this.#dropFile(tier, own[i]!.path);
        total -= own[i]!.bytes;
        if (!atOpen) this.log(`gpulse: --max-disk reached: dropped ${own[i]!.path}`);
      }
    }
  }

  #dropFile(tier: Tier, path: string) {
    const fd = this.#fds.get(path);
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* gone */
      }
      this.#fds.delete(path);
    }
    removeFile(path);
    this.refs[tier] = this.refs[tier].filter((r) => r.file !== path);
  }

  /** Segment files with their size and newest row. */
  files(): { tier: Tier; path: string; bytes: number; last: number }[] {
    const m = new Map<string, { tier: Tier; path: string; bytes: number; last: number }>();
    for (const tier of TIERS) {
      for (const r of this.refs[tier]) {
        if (!r.file) continue;
        const f = m.get(r.file) ?? { tier, path: r.file, bytes: 0, last: -Infinity };
        f.bytes += r.size;
        f.last = Math.max(f.last, r.last);
        m.set(r.file, f);
      }
    }
    return [...m.values()].sort((a, b) => a.last - b.last);
  }

  get diskBytes(): number {
    return this.files().reduce((s, f) => s + f.bytes, 0) + (this.#wal?.size ?? 0);
  }

  /** Sealed groups of a tier overlapping [from, to], oldest first. */
  groups(tier: Tier, from: number, to: number): GroupRef[] {
    return this.refs[tier].filter((r) => r.last >= from && r.first <= to);
  }

  /** `into`: read into the front of this buffer (at least `len` long) instead of a new one. */
  #bytes(ref: GroupRef, offset: number, len: number, into?: Uint8Array): Uint8Array | null {
    if (ref.mem) return ref.mem.subarray(offset, offset + len);
    try {
      let fd = this.#fds.get(ref.file!);
      if (fd === undefined) {
        if (this.#fds.size >= 32) {
          const [p, old] = this.#fds.entries().next().value!;
          closeSync(old);
          this.#fds.delete(p);
        }
        fd = openRead(ref.file!);
        this.#fds.set(ref.file!, fd);
      }
      const b = readAt(fd, len, ref.offset + offset, into);
      return b.length === len ? b : null;
    } catch (e) {
      this.warn(`${ref.file}: read failed (${errText(e)})`);
      return null;
    }
  }

  /**
   * A whole group's bytes, read into `scratch.buf` (grown as needed, reused by the caller); null if
   * unreadable.
   */
  #groupBytes(ref: GroupRef, scratch: { buf: Uint8Array }): Uint8Array | null {
    if (ref.mem) return ref.mem.subarray(0, ref.size);
    if (scratch.buf.length < ref.size) scratch.buf = new Uint8Array(Math.max(ref.size, 2 * scratch.buf.length));
    const b = this.#bytes(ref, 0, ref.size, scratch.buf);
    return b && b.length === ref.size ? b : null;
  }

  /**
   * The chunks of `keys` in one group, each decoded into `bufs[j]` (absent or corrupt: null), for
   * the readers that go group after group (rollup rebuild, replay, export). When most of the
   * group's series are asked for, the group is read whole into `scratch.buf` (one read into a
   * buffer reused group after group) instead of one read and one fresh buffer per chunk. The
   * chunks count towards the memory guard.
   */
  groupChunks(ref: GroupRef, keys: readonly string[], bufs: readonly ChunkBuffers[], scratch: { buf: Uint8Array }): (Chunk | null)[] {
    chunksRead(keys.length);
    const most = keys.length * 2 >= (this.dir(ref)?.chunks.size ?? Infinity);
    const whole = most ? this.#groupBytes(ref, scratch) : null;
    return keys.map((k, j) => this.#decode(ref, k, bufs[j], whole));
  }

  /** A group's directory (cached: reads ask for many keys of the same groups). */
  dir(ref: GroupRef): GroupDir | null {
    const hit = this.#dirCache.get(ref);
    if (hit) {
      this.#dirCache.delete(ref);
      this.#dirCache.set(ref, hit);
      return hit;
    }
    const head = this.#bytes(ref, 0, 8);
    if (!head) return null;
    const dl = new DataView(head.buffer, head.byteOffset).getUint32(4, true);
    const b = dl < ref.size ? this.#bytes(ref, 0, 8 + dl + 4) : null;
    const p = b ? parseDir(b) : null;
    if (!p?.ok) {
      this.warn(`${ref.file ?? 'memory'}: group at ${ref.offset} unreadable`);
      return null;
    }
    this.#dirCache.set(ref, p.dir);
    if (this.#dirCache.size > 512) this.#dirCache.delete(this.#dirCache.keys().next().value!);
    return p.dir;
  }

  /** One chunk's bytes as stored (what /v1/history/chunks sends). */
  chunkBytes(ref: GroupRef, key: string): Uint8Array | null {
    const at = this.dir(ref)?.chunks.get(key);
    return at ? this.#bytes(ref, at[0], at[1]) : null;
  }

  /** One chunk decoded (into `into`'s arrays when given); a corrupt chunk is reported once and read as absent. */
  chunk(ref: GroupRef, key: string, into?: ChunkBuffers): Chunk | null {
    return this.#decode(ref, key, into, null);
  }

  /** chunk(), its bytes cut from `whole` (the group's bytes, already read) when given. */
  #decode(ref: GroupRef, key: string, into: ChunkBuffers | undefined, whole: Uint8Array | null): Chunk | null {
    const at = whole ? this.dir(ref)?.chunks.get(key) : undefined;
    const b = at && whole!.length >= at[0] + at[1] ? whole!.subarray(at[0], at[0] + at[1]) : this.chunkBytes(ref, key);
    if (!b) return null;
    const d = decodeChunk(b, 0, into);
    if (d.ok) return d.value;
    this.warn(`corrupt chunk ${JSON.stringify(key)} in ${ref.file ?? 'memory'} at ${ref.offset} (${d.error.kind}): that chunk is skipped`);
    return null;
  }

  /** Drops every cached descriptor and directory (tests that corrupt files under a live store). */
  dropCaches() {
    for (const fd of this.#fds.values())
      try {
        closeSync(fd);
      } catch {
        /* gone */
      }
    this.#fds.clear();
    this.#dirCache.clear();
  }

  /** Seals whatever the open windows hold (import's last step; the agent leaves them to the log). */
  flushAll() {
    for (const h of this.#heads()) if (h.n) this.#seal(h);
    try {
      this.#wal?.resetAll();
    } catch (e) {
      this.#writeFailed(e);
    }
  }

  /** Oldest and newest time per tier (sealed and open). */
  span(tier: Tier): { oldest: number | null; newest: number | null } {
    const refs = this.refs[tier];
    const head = tier === 'raw' ? this.raw : tier === '1m' ? this.m1 : this.h1;
    const oldest = refs.length ? refs[0]!.first : head.first;
    const newest = head.last ?? (refs.length ? Math.max(...refs.slice(-4).map((r) => r.last)) : null);
    return { oldest: oldest ?? null, newest: newest ?? null };
  }

  get rawRows(): number {
    return this.refs.raw.reduce((s, r) => s + r.rows, 0) + this.raw.n;
  }

  close() {
    for (const w of Object.values(this.#writers)) w?.close();
    try {
      this.#wal?.close();
    } catch (e) {
      // Batched rows that did not reach the log: the state says the history is not all on disk.
      this.#writeFailed(e);
    }
    this.dropCaches();
    if (this.#lockPath) {
      try {
        unlinkSync(this.#lockPath);
      } catch {
        /* gone */
      }
      this.#lockPath = null;
    }
  }
}

/** Where each of `keys` sits among a head's columns. */
const columnMap = (h: RawHead | RollupHead, keys: readonly string[]) => Int32Array.from(keys, (k) => h.cols.index.get(k)!);

const errText = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/**
 * LOCK holds the owner's pid: a second agent, or `gpulse import`, refuses the directory while that
 * process lives; a lock left by a dead process is taken over.
 */
export function acquireLock(dir: string): string {
  const path = join(dir, 'LOCK');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return path;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = lockOwner(dir);
      if (owner !== null && owner !== process.pid && alive(owner))
        throw new StoreLockedError(`${dir} is in use by process ${owner} (a running gpulse agent?); stop it first`);
      unlinkSync(path);
    }
  }
  throw new Error('could not take the lock');
}

export function lockOwner(dir: string): number | null {
  try {
    if (lstatSync(join(dir, 'LOCK')).isSymbolicLink()) return null;
    const pid = Number(readFileSync(join(dir, 'LOCK'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
