/**
 * Byte-level pieces shared by the import parsers: a chunked sequential reader (read() into one
 * growing buffer), a positional reader for one byte range (a JSON column), number parsing
 * straight from bytes (no string per value), ISO-8601 times, and line numbers for messages.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** A single line or record longer than this is refused (the reader would have to hold all of it). */
export const MAX_RECORD_BYTES = 16 << 20;

/** A file-level problem (cannot read on): names the byte offset; the command adds the line. */
export class FileFormatError extends Error {
  override name = 'FileFormatError';
  constructor(
    message: string,
    readonly offset: number | null = null,
  ) {
    super(message);
  }
}

/**
 * Sequential chunked reader: buf[pos, end) is read but not consumed; `base` is the file offset of
 * buf[0]. Parsers work synchronously on the buffer and call fill() when they run out, keeping the
 * bytes from `keep` on (the start of the line or record being parsed). Each fill is one read()
 * straight into the buffer's free end: a third of the CPU of Bun.file().stream(), whose chunks
 * also had to be copied in.
 */
export class StreamReader {
  buf = new Uint8Array(1 << 20);
  pos = 0;
  end = 0;
  base = 0;
  eof = false;
  #fd: number;
  /** File offset of the next read. */
  #next = 0;
  #size: number;

  constructor(path: string) {
    this.#fd = openSync(path, constants.O_RDONLY);
    this.#size = fstatSync(this.#fd).size;
  }

  /** File offset of buf[i]. */
  at(i: number): number {
    return this.base + i;
  }

  /**
   * Drops buf[0, keep) and reads on into the buffer. Returns false at the end of the file, leaving
   * the buffer and its positions as they were (parsers read on in what they hold).
   */
  async fill(keep = this.pos): Promise<boolean> {
    if (this.eof) return false;
    if (this.#next >= this.#size && this.#next >= (this.#size = fstatSync(this.#fd).size)) {
      this.eof = true;
      return false;
    }
    const tail = this.end - keep;
    if (tail > MAX_RECORD_BYTES) throw new FileFormatError(`a line or record longer than ${MAX_RECORD_BYTES >> 20} MiB`, this.at(keep));
    // A kept tail over half the buffer would leave little room per read: double it first.
    if (tail > this.buf.length >> 1) {
      const b = new Uint8Array(this.buf.length * 2);
      b.set(this.buf.subarray(keep, this.end));
      this.buf = b;
    } else if (keep > 0) this.buf.copyWithin(0, keep, this.end);
    this.base += keep;
    this.pos -= keep;
    this.end = tail;
    // Never read past MAX_RECORD_BYTES + 1 held: the check above then sees an over-long record before the next read.
    const n = readSync(this.#fd, this.buf, tail, Math.min(this.buf.length - tail, MAX_RECORD_BYTES + 1 - tail), this.#next);
    if (n <= 0) {
      this.eof = true;
      return false;
    }
    this.#next += n;
    this.end = tail + n;
    return true;
  }

  close() {
    try {
      closeSync(this.#fd);
    } catch {
      /* closing anyway */
    }
  }
}

/**
 * Positional reader over [start, stop) of a file with its own small buffer: the columnar JSON
 * export is read as one of these per column, side by side, so a row is assembled from every
 * column without holding any column whole.
 */
export class RangeReader {
  buf: Uint8Array;
  pos = 0;
  end = 0;
  /** File offset of buf[0]. */
  base: number;
  #next: number;

  constructor(
    readonly fd: number,
    start: number,
    readonly stop: number,
    size: number,
  ) {
    this.buf = new Uint8Array(size);
    this.base = start;
    this.#next = start;
  }

  get eof(): boolean {
    return this.#next >= this.stop;
  }

  /** Keeps buf[pos, end) and reads on; false when the range is exhausted. */
  fill(): boolean {
    if (this.#next >= this.stop) return false;
    const tail = this.end - this.pos;
    if (this.pos > 0) this.buf.copyWithin(0, this.pos, this.end);
    this.base += this.pos;
    this.pos = 0;
    this.end = tail;
    if (tail >= this.buf.length) {
      const b = new Uint8Array(this.buf.length * 2);
      b.set(this.buf.subarray(0, tail));
      this.buf = b;
    }
    const want = Math.min(this.buf.length - tail, this.stop - this.#next);
    const n = readSync(this.fd, this.buf, tail, want, this.#next);
    if (n <= 0) {
      this.#next = this.stop;
      return false;
    }
    this.#next += n;
    this.end += n;
    return true;
  }
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

function latin1(b: Uint8Array, a: number, e: number): string {
  let s = '';
  for (let i = a; i < e; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** The value of the number scanNumber last read. */
export let scanned = NaN;

/**
 * Reads a decimal number (JSON / JS number syntax, a leading + allowed) from b[a] on, as far as
 * its syntax goes (not past `end`): the index after it, its value in `scanned`, exactly as
 * Number() reads those bytes; -1 when b[a] starts no number (or its exponent has no digits). Up
 * to 15 significant digits and a power of ten up to 22 take the exact fast path (both operands are
 * exact doubles, so one multiply or divide is correctly rounded); anything longer goes through
 * Number().
 */
export function scanNumber(b: Uint8Array, a: number, end: number): number {
  let i = a;
  if (i >= end) return -1;
  let neg = false;
  let c = b[i]!;
  if (c === 45 || c === 43) {
    neg = c === 45;
    if (++i >= end) return -1;
  }
  let m = 0,
    sig = 0,
    exp = 0,
    digits = 0,
    dot = false;
  // Digits, with at most one '.' among them: each digit after it scales the mantissa down by 10.
  for (; i < end; i++) {
    if (b[i] === 46 && !dot) {
      dot = true;
      continue;
    }
    const d = b[i]! - 48;
    if (d < 0 || d > 9) break;
    digits++;
    if (m !== 0 || d !== 0) {
      m = m * 10 + d;
      sig++;
    }
    if (dot) exp--;
  }
  if (digits === 0) return -1;
  if (i < end && (b[i] === 101 || b[i] === 69)) {
    i++;
    let eneg = false;
    if (i < end && (b[i] === 45 || b[i] === 43)) {
      eneg = b[i] === 45;
      i++;
    }
    let x = 0,
      ed = 0;
    for (; i < end; i++) {
      const d = b[i]! - 48;
      if (d < 0 || d > 9) break;
      if (x < 100_000) x = x * 10 + d;
      ed++;
    }
    if (ed === 0) return -1;
    exp += eneg ? -x : x;
  }
  if (sig > 15 || exp > 22 || exp < -22) scanned = Number(latin1(b, a, i));
  else {
    const v = m === 0 ? 0 : exp >= 0 ? m * POW10[exp]! : m / POW10[-exp]!;
    scanned = neg ? -v : v;
  }
  return i;
}

/** The number that is all of b[a, e) (see scanNumber); NaN when the bytes are not exactly a number. */
export function parseNum(b: Uint8Array, a: number, e: number): number {
  return scanNumber(b, a, e) === e ? scanned : NaN;
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * ISO-8601 date-time → epoch ms (fraction beyond ms truncated). No offset = UTC. NaN if malformed.
 * Python's isoformat() ("2024-05-01T12:00:00.123456+00:00", or with a space) and JS
 * toISOString() both read.
 */
export function parseIsoMs(s: string): number {
  const m = ISO_RE.exec(s.trim());
  if (!m) return NaN;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', off] = m;
  const Y = +y!,
    M = +mo!,
    D = +d!,
    hh = +h,
    mm = +mi,
    ss = +sec;
  if (M < 1 || M > 12 || D < 1 || D > 31 || hh > 23 || mm > 59 || ss > 60) return NaN;
  let t = Date.UTC(Y, M - 1, D, hh, mm, ss) + Number((frac + '000').slice(0, 3));
  if (new Date(Date.UTC(Y, M - 1, D)).getUTCDate() !== D) return NaN;
  if (off && off.toUpperCase() !== 'Z') {
    const sign = off[0] === '-' ? -1 : 1;
    const digits = off.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2)),
      om = Number(digits.slice(2) || '0');
    if (oh > 23 || om > 59) return NaN;
    t -= sign * (oh * 60 + om) * 60_000;
  }
  return t;
}

const d2 = (b: Uint8Array, i: number): number => {
  const x = b[i]! - 48,
    y = b[i + 1]! - 48;
  return x >= 0 && x <= 9 && y >= 0 && y <= 9 ? x * 10 + y : -1;
};
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

/**
 * parseIsoMs straight from bytes for the usual full form (YYYY-MM-DDTHH:MM:SS[.frac][Z|±HH[:]MM]),
 * no string made: the per-tick cost of otto files. NaN when it is any other form (the caller
 * falls back to parseIsoMs).
 */
export function isoBytesMs(b: Uint8Array, a: number, e: number): number {
  if (e - a < 19) return NaN;
  const c = d2(b, a),
    y2 = d2(b, a + 2),
    M = d2(b, a + 5),
    D = d2(b, a + 8),
    h = d2(b, a + 11),
    mi = d2(b, a + 14),
    s = d2(b, a + 17);
  if ((c | y2 | M | D | h | mi | s) < 0 || b[a + 4] !== 45 || b[a + 7] !== 45 || (b[a + 10] !== 84 && b[a + 10] !== 32) || b[a + 13] !== 58 || b[a + 16] !== 58)
    return NaN;
  const Y = c * 100 + y2;
  const leap = Y % 4 === 0 && (Y % 100 !== 0 || Y % 400 === 0);
  if (M < 1 || M > 12 || D < 1 || D > MONTH_DAYS[M - 1]! + (M === 2 && leap ? 1 : 0) || h > 23 || mi > 59 || s > 59) return NaN;
  let i = a + 19,
    ms = 0;
  if (i < e && (b[i] === 46 || b[i] === 44)) {
    i++;
    const from = i;
    while (i < e && b[i]! >= 48 && b[i]! <= 57) {
      if (i - from < 3) ms = ms * 10 + b[i]! - 48;
      i++;
    }
    if (i === from) return NaN;
    for (let k = Math.min(i - from, 3); k < 3; k++) ms *= 10;
  }
  let off = 0;
  if (i < e) {
    const sign = b[i];
    if ((sign === 90 || sign === 122) && i + 1 === e) i++;
    else if (sign === 43 || sign === 45) {
      const oh = d2(b, i + 1);
      let j = i + 3;
      if (b[j] === 58) j++;
      const om = d2(b, j);
      if (oh < 0 || om < 0 || oh > 23 || om > 59 || j + 2 !== e) return NaN;
      off = (sign === 45 ? -1 : 1) * (oh * 60 + om) * 60_000;
      i = e;
    } else return NaN;
  }
  return ((daysFromCivil(Y, M, D) * 24 + h) * 60 + mi) * 60_000 + s * 1000 + ms - off;
}

/** Timestamps a few seconds beyond this many (epoch seconds ~ year 5138) are taken as ms. */
const SECONDS_BELOW = 1e11;

/** Epoch seconds or ms (told apart by size) → integer ms, truncated (seconds via µs, so 0.123 s is 123 ms, not 122.99…). */
export const epochToMs = (x: number): number => Math.floor(Math.abs(x) < SECONDS_BELOW ? Math.round(x * 1e6) / 1000 : x);

/** 1-based line of a byte offset (counted on demand, for an error message only). */
export function lineAt(path: string, offset: number): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch {
    return 0;
  }
  const b = new Uint8Array(1 << 20);
  let line = 1,
    pos = 0;
  try {
    while (pos < offset) {
      const n = readSync(fd, b, 0, Math.min(b.length, offset - pos), pos);
      if (n <= 0) break;
      for (let i = 0; i < n; i++) if (b[i] === 10) line++;
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return line;
}

/** Short, printable form of a bad value for a message. */
export function preview(b: Uint8Array, a: number, e: number): string {
  const s = new TextDecoder().decode(b.subarray(a, Math.min(e, a + 40)));
  return JSON.stringify(e - a > 40 ? `${s}…` : s);
}
