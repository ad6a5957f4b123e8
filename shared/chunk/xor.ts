/**
 * `xor`: Gorilla float64 compression (Pelkonen et al., VLDB 2015; Prometheus tsdb/chunkenc/xor.go),
 * for values that are not short decimals (a training loss, 1/3, ±Infinity, subnormals). Lossless for
 * every bit pattern. Each value is XOR-ed with the previous one; neighbouring floats share sign,
 * exponent and top mantissa bits, so the XOR has long runs of leading/trailing zeros and only the
 * "meaningful" middle bits are stored.
 *
 * JS has no 64-bit integers outside BigInt, so the XOR works on the two 32-bit halves of the double
 * (read through a Float64Array/Uint32Array alias) and the leading/trailing-zero counts combine
 * Math.clz32 of each half.
 *
 * Per value after the first (64 raw bits, high half first):
 *   '0'                        same as the previous value
 *   '10' + bits                XOR fits the previous window: its 64−lead−trail meaningful bits
 *   '11' + lead:5 + sig:6 + bits   new window: lead leading zeros (capped at 31), sig meaningful bits (64 → 0)
 */
import { type BitReader, type BitWriter, bitsAt, window32 } from './bits.ts';

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Which Uint32 of the alias holds the sign/exponent half depends on the platform's byte order.
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const HI = LITTLE ? 1 : 0;
const LO = LITTLE ? 0 : 1;

/** Trailing zeros of a non-zero uint32. */
const ctz = (x: number): number => 31 - Math.clz32(x & -x);

/**
 * Reusing the previous window costs 2 + its width; a new one 2 + 11 + the exact width. Prometheus
 * always reuses when the XOR fits; we open a new window when the old one wastes more than the
 * 11-bit header (a value jump that narrowed the window would otherwise tax every later value).
 */
const NEW_WINDOW_BITS = 11;

export class XorAppender {
  #w: BitWriter | null = null;
  #n = 0;
  #hi = 0;
  #lo = 0;
  #lead = -1; // -1: no window yet
  #trail = 0;

  /** Starts a new stream on `w` (at its current bit position). */
  reset(w: BitWriter): this {
    this.#w = w;
    this.#n = 0;
    this.#lead = -1;
    this.#trail = 0;
    return this;
  }

  get length(): number {
    return this.#n;
  }

  append(v: number): void {
    const w = this.#w!;
    f64[0] = v;
    const hi = u32[HI]!,
      lo = u32[LO]!;
    if (this.#n++ === 0) {
      w.writeBits(hi, 32);
      w.writeBits(lo, 32);
    } else {
      const xh = (hi ^ this.#hi) >>> 0,
        xl = (lo ^ this.#lo) >>> 0;
      if (xh === 0 && xl === 0) w.writeBit(0);
      else {
        let lead = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
        const trail = xl !== 0 ? ctz(xl) : 32 + ctz(xh);
        if (lead > 31) lead = 31; // 5-bit field
        const pl = this.#lead,
          pt = this.#trail;
        if (pl >= 0 && lead >= pl && trail >= pt && lead - pl + (trail - pt) <= NEW_WINDOW_BITS) {
          w.writeBits(0b10, 2);
          writeMeaningful(w, xh, xl, pl, pt);
        } else {
          const sig = 64 - lead - trail;
          w.writeBits((0b11 << 11) | (lead << 6) | (sig & 63), 13);
          writeMeaningful(w, xh, xl, lead, trail);
          this.#lead = lead;
          this.#trail = trail;
        }
      }
    }
    this.#hi = hi;
    this.#lo = lo;
  }
}

/** Writes bits [lead, 64−trail) of the 64-bit value xh:xl, most significant first. */
function writeMeaningful(w: BitWriter, xh: number, xl: number, lead: number, trail: number): void {
  const sig = 64 - lead - trail;
  let h: number, l: number;
  if (trail >= 32) {
    h = 0;
    l = xh >>> (trail - 32);
  } else if (trail === 0) {
    h = xh;
    l = xl;
  } else {
    h = xh >>> trail;
    l = ((xl >>> trail) | (xh << (32 - trail))) >>> 0;
  }
  if (sig > 32) {
    w.writeBits(h, sig - 32);
    w.writeBits(l, 32);
  } else w.writeBits(l, sig);
}

/** Reads an xor stream, one value per next(); a malformed window marks the reader bad. */
export class XorIterator {
  #r: BitReader | null = null;
  #n = 0;
  #hi = 0;
  #lo = 0;
  #lead = -1;
  #trail = 0;

  reset(r: BitReader): this {
    this.#r = r;
    this.#n = 0;
    this.#lead = -1;
    this.#trail = 0;
    return this;
  }

  /** Decodes the next to − from values into out[from, to); state and bit position in locals, end checked once. */
  readRun(out: Float64Array, from: number, to: number): void {
    const r = this.#r!;
    const buf = r.buf;
    let pos = r.pos,
      n = this.#n,
      hi = this.#hi,
      lo = this.#lo,
      lead = this.#lead,
      trail = this.#trail;
    for (let k = from; k < to; k++) {
      if (n++ === 0) {
        hi = window32(buf, pos) >>> 0;
        lo = window32(buf, pos + 32) >>> 0;
        pos += 64;
      } else {
        const c = window32(buf, pos) >>> 30; // the two control bits
        if (c < 2)
          pos += 1; // '0': unchanged
        else {
          pos += 2;
          if (c === 3) {
            const h = window32(buf, pos) >>> 21; // lead:5 sig:6
            pos += 11;
            lead = h >>> 6;
            trail = 64 - lead - (h & 63 || 64);
            if (trail < 0) {
              r.bad = true;
              lead = 0;
              trail = 0;
            }
          } else if (lead < 0) {
            r.bad = true;
            lead = 0;
            trail = 0;
          } // reuse with no window yet
          const sig = 64 - lead - trail;
          let h = 0,
            l: number;
          if (sig > 32) {
            h = bitsAt(buf, pos, sig - 32);
            l = window32(buf, pos + sig - 32) >>> 0;
          } else l = bitsAt(buf, pos, sig);
          pos += sig;
          // Shift h:l left by trail and XOR into the previous value.
          if (trail >= 32) hi ^= l << (trail - 32);
          else if (trail === 0) {
            hi ^= h;
            lo ^= l;
          } else {
            hi ^= (h << trail) | (l >>> (32 - trail));
            lo ^= l << trail;
          }
          hi >>>= 0;
          lo >>>= 0;
        }
      }
      u32[HI] = hi;
      u32[LO] = lo;
      out[k] = f64[0]!;
    }
    this.#n = n;
    this.#hi = hi;
    this.#lo = lo;
    this.#lead = lead;
    this.#trail = trail;
    r.pos = pos;
    r.checkEnd();
  }

  next(): number {
    this.readRun(one, 0, 1);
    return one[0]!;
  }
}

const one = new Float64Array(1);
