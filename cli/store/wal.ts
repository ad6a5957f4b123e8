/**
 * Write-ahead log of the open raw window, so `kill -9` loses at most the tick being written.
 * Records: u32 payloadLen | u8 type | payload | u32 crc32(type + payload)
 *   type 1 keys: JSON array of series keys (the columns of the rows that follow)
 *   type 2 row:  f64 t | f64 value per key (NaN = null)
 * A tick is one write() of a preallocated buffer into the page cache. Sealing a window truncates
 * the log; a failed write (disk full) is cut back to the last whole record so the log never holds
 * a misaligned tail, and the log is rewritten from memory once writes succeed again.
 *
 * With batchBytes (`gpulse import`: rows arrive far faster than ticks, and a write per row was
 * most of an otto import's time) whole records gather in memory and go out in one write once
 * that many bytes are waiting, or at flush()/close(). A kill then loses the rows of the last
 * unwritten batch, never part of a record; rerunning the import stores them.
 */
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { crc32 } from '../../shared/chunk/crc32.ts';
import { sameKeys } from '../../shared/series-key.ts';

const KEYS = 1,
  ROW = 2;
const enc = new TextEncoder();

export interface WalContents {
  rows: { keys: string[]; t: number; values: Float64Array }[];
  warnings: string[];
  validBytes: number;
}

export class Wal {
  #fd: number;
  #size = 0;
  #buf = new Uint8Array(0);
  #view = new DataView(this.#buf.buffer);
  #keys: readonly string[] = [];
  /** Whole records not yet written (batchBytes > 0 only): #pending[0, #pendingLen). */
  #pending: Uint8Array;
  #pendingLen = 0;

  private constructor(
    fd: number,
    size: number,
    readonly batchBytes: number,
  ) {
    this.#fd = fd;
    this.#size = size;
    this.#pending = new Uint8Array(batchBytes > 0 ? batchBytes : 0);
  }

  /**
   * Opens (creating, never through a symlink) and reads what a previous run left; cuts a torn or
   * corrupt tail. batchBytes > 0 batches the writes (see above); 0 writes each record at once.
   */
  static open(path: string, batchBytes = 0): { wal: Wal; contents: WalContents } {
    if (!(batchBytes >= 0 && Number.isInteger(batchBytes))) throw new RangeError(`write-ahead log batch: ${batchBytes} is not a byte count`);
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    const contents = readAll(fd);
    if (contents.validBytes < fstatSync(fd).size) ftruncateSync(fd, contents.validBytes);
    return { wal: new Wal(fd, contents.validBytes, batchBytes), contents };
  }

  /** Columns of the rows that follow; written as a keys record when they change. */
  setKeys(keys: readonly string[]) {
    if (sameKeys(keys, this.#keys)) return;
    this.#keys = [...keys];
    this.#buf = new Uint8Array(4 + 1 + 8 + 8 * keys.length + 4);
    this.#view = new DataView(this.#buf.buffer);
    this.#write(frame(KEYS, enc.encode(JSON.stringify(keys))));
  }

  /** One row in key order. Throws on a failed write (after cutting any partial record). */
  append(t: number, values: ArrayLike<number>) {
    const v = this.#view;
    const n = this.#keys.length;
    v.setUint32(0, 8 + 8 * n, true);
    v.setUint8(4, ROW);
    v.setFloat64(5, t, true);
    for (let i = 0; i < n; i++) v.setFloat64(13 + 8 * i, values[i] ?? NaN, true);
    v.setUint32(13 + 8 * n, crc32(this.#buf.subarray(4, 13 + 8 * n)), true);
    this.#write(this.#buf);
  }

  /** One whole record: written now, or (batching) queued, writing the queue first when it is full. */
  #write(b: Uint8Array) {
    if (!this.batchBytes) return this.#writeNow(b);
    if (this.#pendingLen + b.length > this.#pending.length) {
      this.flush();
      if (b.length > this.#pending.length) return this.#writeNow(b);
    }
    this.#pending.set(b, this.#pendingLen);
    this.#pendingLen += b.length;
    if (this.#pendingLen === this.#pending.length) this.flush();
  }

  /** Writes the queued records (batching); throws as a direct write does, the queue dropped. */
  flush() {
    const n = this.#pendingLen;
    if (!n) return;
    this.#pendingLen = 0;
    this.#writeNow(this.#pending.subarray(0, n));
  }

  #writeNow(b: Uint8Array) {
    try {
      let done = 0;
      while (done < b.length) done += writeSync(this.#fd, b, done, b.length - done, this.#size + done);
      this.#size += b.length;
    } catch (e) {
      try {
        ftruncateSync(this.#fd, this.#size);
      } catch {
        /* the next rewrite starts from zero anyway */
      }
      throw e;
    }
  }

  /** Empties the log (after its rows were sealed), keeping the keys record. */
  reset() {
    this.#pendingLen = 0;
    ftruncateSync(this.#fd, 0);
    this.#size = 0;
    const keys = this.#keys;
    this.#keys = [];
    this.setKeys(keys);
  }

  /** Empties the log entirely; the next setKeys writes a keys record again. */
  resetAll() {
    this.#pendingLen = 0;
    ftruncateSync(this.#fd, 0);
    this.#size = 0;
    this.#keys = [];
  }

  /** Bytes of the log, queued records included. */
  get size() {
    return this.#size + this.#pendingLen;
  }
  /** Writes what is queued (a failure is the caller's to report), then closes. */
  close() {
    try {
      this.flush();
    } finally {
      try {
        closeSync(this.#fd);
      } catch {
        /* closing anyway */
      }
    }
  }
}

function frame(type: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(4 + 1 + payload.length + 4);
  const v = new DataView(b.buffer);
  v.setUint32(0, payload.length, true);
  v.setUint8(4, type);
  b.set(payload, 5);
  v.setUint32(5 + payload.length, crc32(b.subarray(4, 5 + payload.length)), true);
  return b;
}

function readAll(fd: number): WalContents {
  const size = fstatSync(fd).size;
  const buf = new Uint8Array(size);
  let got = 0;
  while (got < size) {
    const n = readSync(fd, buf, got, size - got, got);
    if (n <= 0) break;
    got += n;
  }
  const v = new DataView(buf.buffer);
  const rows: WalContents['rows'] = [];
  const warnings: string[] = [];
  let keys: string[] | null = null;
  let o = 0;
  let skipped = 0;
  while (o + 9 <= got) {
    const len = v.getUint32(o, true);
    const type = v.getUint8(o + 4);
    if (len > 64 << 20 || o + 9 + len > got) {
      warnings.push(`write-ahead log: torn last record (${got - o} bytes) cut`);
      break;
    }
    if (v.getUint32(o + 5 + len, true) !== crc32(buf.subarray(o + 4, o + 5 + len))) {
      // The length is plausible, so the next record is where it says: lose this one only.
      skipped++;
      o += 9 + len;
      continue;
    }
    if (type === KEYS) {
      try {
        const k = JSON.parse(new TextDecoder().decode(buf.subarray(o + 5, o + 5 + len)));
        if (Array.isArray(k) && k.every((x) => typeof x === 'string')) keys = k;
      } catch {
        keys = null;
      }
    } else if (type === ROW && keys && len === 8 + 8 * keys.length) {
      const values = new Float64Array(keys.length);
      for (let i = 0; i < keys.length; i++) values[i] = v.getFloat64(o + 13 + 8 * i, true);
      rows.push({ keys, t: v.getFloat64(o + 5, true), values });
    } else skipped++;
    o += 9 + len;
  }
  if (o < got && !warnings.length) warnings.push(`write-ahead log: torn last record (${got - o} bytes) cut`);
  if (skipped) warnings.push(`write-ahead log: ${skipped} corrupt record(s) skipped`);
  return { rows, warnings, validBytes: o };
}
