/**
 * ASCII text written straight into a reused byte buffer: numbers at the wire's precision
 * (shared/json.ts wireNum) without a string per value. Big streamed answers (history, replays)
 * write millions of numbers; building them as strings made ten concurrent reads allocate
 * hundreds of MB of garbage before the collector caught up.
 */
import { wireNum } from '../../shared/json.ts';

const enc = new TextEncoder();
const DIGITS = new Uint8Array(24);

export class ByteWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(readonly size = 64 * 1024) {
    this.buf = new Uint8Array(size + 4096);
  }

  /** Full enough to hand out. */
  get full(): boolean {
    return this.pos >= this.size;
  }

  /** The bytes written so far; valid until the next write after reset(). */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    this.pos = 0;
    return out;
  }

  #room(n: number) {
    if (this.pos + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }

  /** ASCII (or any short string: encoded). */
  str(s: string) {
    this.#room(s.length * 3);
    let ascii = true;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 127) {
        ascii = false;
        break;
      }
      this.buf[this.pos + i] = c;
    }
    if (ascii) {
      this.pos += s.length;
      return;
    }
    const b = enc.encode(s);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  bytes(b: Uint8Array) {
    this.#room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  byte(c: number) {
    this.#room(1);
    this.buf[this.pos++] = c;
  }

  /** A non-negative integer below 2^53. */
  #int(n: number) {
    let k = 0;
    do {
      DIGITS[k++] = 48 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
    this.#room(k);
    while (k > 0) this.buf[this.pos++] = DIGITS[--k]!;
  }

  /** A value as JSON at the wire's precision: null for NaN/±Infinity, as JSON.stringify(wireNum(v)) would write it. */
  num(v: number) {
    const w = wireNum(v);
    if (w === null) {
      this.str('null');
      return;
    }
    const a = Math.abs(w);
    if (a >= 1e15) {
      this.str(String(w));
      return;
    }
    if (w < 0) this.byte(45);
    if (Number.isInteger(a)) {
      this.#int(a);
      return;
    }
    // At most two decimals (wireNum): whole part, then the hundredths without trailing zeros.
    const cents = Math.round(a * 100);
    this.#int(Math.floor(cents / 100));
    const f = cents % 100;
    this.byte(46);
    this.byte(48 + Math.floor(f / 10));
    if (f % 10) this.byte(48 + (f % 10));
  }

  /** A value at full float64 precision (user series): the shortest form that reads back the same; null when not finite. */
  exact(v: number) {
    if (Number.isFinite(v)) this.str(String(v));
    else this.str('null');
  }

  /** A whole number (a timestamp). */
  whole(t: number) {
    if (!Number.isInteger(t) || Math.abs(t) >= 2 ** 53) this.str(String(t));
    else if (t < 0) {
      this.byte(45);
      this.#int(-t);
    } else this.#int(t);
  }
}
