/**
 * `dec`: decimal-scaled integers. Monitoring values are mostly integers or numbers with one or two
 * decimals (quantize() guarantees it for built-in series), so v × 10^e is an exact integer for a
 * small e; storing that integer's residuals bit-packed costs a few bits where a float64 XOR costs
 * dozens (the mantissa of 0.1 is a repeating binary fraction, so XOR sees noise).
 *
 * Two layers, each an appender/iterator pair:
 *  - the integer stream (encodeInts / IntIterator), also used for irregular timestamp deltas;
 *  - the decimal stream (DecAppender / DecIterator) = one exponent byte + an integer stream.
 * The byte-exact layout is in FORMAT.md ("Integer stream", "dec").
 */
import { bitLength, bitsAt, type BitReader, type BitWriter, unzigzag, varintSize, window32, zigzag } from './bits.ts';

/** Exact powers of ten 10^0 … 10^9 (all exactly representable doubles). */
export const POW10: readonly number[] = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
/** Largest decimal exponent tried: beyond 9 decimals a value is effectively full precision (xor is better). */
export const MAX_EXP = 9;
/** Scaled integers must stay below this in magnitude so that second-order residuals, zigzagged, stay exact (< 2^53). */
export const MAX_DEC_INT = 2 ** 50;

/** Which differences are stored: 0 the values, 1 deltas, 2 delta-of-deltas (orders 0 and 1 minus a reference). */
type Order = 0 | 1 | 2;
/** Escape: '1' + 6-bit length + the bits. The widest residual is 53 bits, so 6 bits always suffice. */
const ESC_LEN_BITS = 6;

/** Smallest e in 0..9 with Math.round(v·10^e)/10^e === v and |v·10^e| < 2^50, or -1 (NaN, ±Infinity, too big, too precise). */
export function decExponent(v: number, from = 0): number {
  if (!(v > -MAX_DEC_INT && v < MAX_DEC_INT)) return -1;
  for (let e = from; e <= MAX_EXP; e++) {
    const p = POW10[e]!;
    const x = Math.round(v * p);
    if (x / p === v && x > -MAX_DEC_INT && x < MAX_DEC_INT) return e;
  }
  return -1;
}

/** a mod b for non-negative integers below 2^53, b > 0: integer % when both fit 31 bits (a double fmod costs ~40 ns in JSC). */
const mod = (a: number, b: number): number => (a < 0x80000000 && b < 0x80000000 ? (a | 0) % (b | 0) : a % b);

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = mod(a, b);
    a = b;
    b = t;
  } // Euclid; fmod is exact below 2^53
  return a;
}

/**
 * GCD of |d[0..len)| (1 when all are zero). Why this is enough for every residual set: for a ref that
 * is a member of D, gcd{D_i − ref} = gcd of D's consecutive differences, so order 0 needs the GCD of
 * the deltas and orders 1 and 2 the GCD of the delta-of-deltas, whichever reference is chosen.
 */
function gcdOf(d: Float64Array, len: number): number {
  let g = 0;
  for (let i = 0; i < len && g !== 1; i++) {
    const a = Math.abs(d[i]!);
    if (g === 0 || mod(a, g) !== 0) g = gcd(g, a); // usually g already divides a: no Euclid
  }
  return g === 0 ? 1 : g;
}

/**
 * The member of d[0..len) nearest the midrange: residuals against it are about half the spread, and
 * since it is a member, d[i] − ref keeps every common divisor of the values (the GCD step still works).
 */
function reference(d: Float64Array, len: number): number {
  let lo = d[0]!,
    hi = lo;
  for (let i = 1; i < len; i++) {
    const v = d[i]!;
    if (v < lo) lo = v;
    else if (v > hi) hi = v;
  }
  const mid = lo / 2 + hi / 2;
  let best = lo,
    dist = Infinity;
  for (let i = 0; i < len; i++) {
    const e = Math.abs(d[i]! - mid);
    if (e < dist) {
      dist = e;
      best = d[i]!;
    }
  }
  return best;
}

// Scratch (single-threaded, non-reentrant: no allocation per chunk once grown).
const hist = new Float64Array(64);
let diffs = new Float64Array(1024);
let planWidth = 0,
  planRef = 0;

/** diffs[0..m−order) = the order-th differences of x (x itself, deltas, delta-of-deltas). */
function difference(x: Float64Array, m: number, order: Order): number {
  if (diffs.length < m) diffs = new Float64Array(Math.max(m, diffs.length * 2));
  const d = diffs;
  const len = m - order;
  if (order === 0) for (let i = 0; i < m; i++) d[i] = x[i]!;
  else if (order === 1) for (let i = 1; i < m; i++) d[i - 1] = x[i]! - x[i - 1]!;
  else for (let i = 2; i < m; i++) d[i - 2] = x[i]! - 2 * x[i - 1]! + x[i - 2]!;
  return len;
}

/** Bits for the residuals (d[i] − ref) / g (GCD varint + packed residuals), leaving the width in planWidth. */
function residualBits(d: Float64Array, len: number, ref: number, g: number): number {
  hist.fill(0);
  for (let i = 0; i < len; i++) hist[bitLength(zigzag((d[i]! - ref) / g))]!++;
  // cost(b) = (1+b)·#{L ≤ b} + Σ_{L > b} (1+6+L)·h[L]; minimise over b in one sweep.
  let above = 0;
  for (let L = 1; L < 64; L++) above += (1 + ESC_LEN_BITS + L) * hist[L]!;
  let le = hist[0]!,
    best = le + above,
    bestB = 0;
  for (let b = 1; b <= 53; b++) {
    const h = hist[b]!;
    le += h;
    above -= (1 + ESC_LEN_BITS + b) * h;
    const c = (1 + b) * le + above;
    if (c < best) {
      best = c;
      bestB = b;
    }
  }
  planWidth = bestB;
  return 8 * varintSize(g) + best;
}

/**
 * Cost in bits of encoding x with `order` and residual GCD g, leaving its reference and width in planRef/planWidth.
 * Orders 0 and 1 subtract a reference: the member nearest the midrange suits noise around a level
 * (a gauge at 97, a counter rising ~650 a tick), the first one suits a series that mostly sits at one
 * value with excursions (utilization at 0, a clock that rarely changes); both are costed, the cheaper
 * kept. Order 2 takes none: counters' delta-of-deltas are centred on 0, and |dod| < 2^52 must stay exact after zigzag.
 */
function plan(x: Float64Array, m: number, order: Order, g: number): number {
  let bits = 8; // order/width byte
  if (order >= 1) bits += 8 * varintSize(zigzag(x[0]!));
  if (order === 2 && m >= 2) bits += 8 * varintSize(zigzag(x[1]! - x[0]!));
  planWidth = 0;
  planRef = 0;
  if (m <= order) return bits;
  const len = difference(x, m, order);
  const d = diffs;
  if (order === 2) return bits + residualBits(d, len, 0, g);
  const mid = reference(d, len);
  let cost = 8 * varintSize(zigzag(mid)) + residualBits(d, len, mid, g);
  let b = planWidth,
    ref = mid;
  if (d[0]! !== mid) {
    const c = 8 * varintSize(zigzag(d[0]!)) + residualBits(d, len, d[0]!, g);
    if (c < cost) {
      cost = c;
      b = planWidth;
      ref = d[0]!;
    }
  }
  planWidth = b;
  planRef = ref;
  return bits + cost;
}

/**
 * Writes x[0..m) (integers, |x| < 2^50, m ≥ 1) as an integer stream, byte-aligned at both ends.
 * Tries values, deltas and delta-of-deltas and keeps the cheapest: gauges want order 0 (values
 * hover), drifting ones order 1, counters (energy, uptime) order 1 or 2 depending on how steady their rate is.
 */
export function encodeInts(w: BitWriter, x: Float64Array, m: number): void {
  // The two GCDs every candidate needs (see gcdOf): of the deltas (order 0) and of the delta-of-deltas (orders 1, 2).
  let len = m >= 2 ? difference(x, m, 1) : 0; // (difference() may grow `diffs`: read it after)
  const g1 = gcdOf(diffs, len);
  len = m >= 3 ? difference(x, m, 2) : 0;
  const g2 = gcdOf(diffs, len);
  let order: Order = 0;
  let cost = plan(x, m, 0, g1),
    g = g1,
    b = planWidth,
    ref = planRef;
  for (let o = 1; o <= 2 && o <= m; o++) {
    const c = plan(x, m, o as Order, g2);
    if (c < cost) {
      cost = c;
      order = o as Order;
      g = g2;
      b = planWidth;
      ref = planRef;
    }
  }
  w.align();
  w.writeByte(order | (b << 2));
  if (order >= 1) w.writeVarint(zigzag(x[0]!));
  if (order === 2 && m >= 2) w.writeVarint(zigzag(x[1]! - x[0]!));
  if (m > order) {
    if (order !== 2) w.writeVarint(zigzag(ref));
    w.writeVarint(g);
    const len = difference(x, m, order);
    const d = diffs;
    const fit = 2 ** b;
    for (let i = 0; i < len; i++) {
      const z = zigzag((d[i]! - ref) / g);
      if (z < fit) {
        if (b < 32)
          w.writeBits(z, b + 1); // the leading '0' flag rides along as the top bit
        else {
          w.writeBit(0);
          w.writeWide(z, b);
        }
      } else {
        const L = bitLength(z);
        w.writeBits((1 << ESC_LEN_BITS) | L, 1 + ESC_LEN_BITS);
        w.writeWide(z, L);
      }
    }
  }
  w.align();
}

/** Reads an integer stream written by encodeInts, one value per next(). */
export class IntIterator {
  #r: BitReader | null = null;
  #order: Order = 0;
  #b = 0;
  #g = 1;
  #ref = 0;
  #i = 0;
  #x0 = 0;
  #d1 = 0;
  #prev = 0;
  #d = 0;

  /** Reads the stream header for m values; false (and r.bad) if it is malformed. */
  reset(r: BitReader, m: number): boolean {
    this.#r = r;
    this.#i = 0;
    r.align();
    const h = r.readByte();
    const order = h & 3,
      b = h >>> 2;
    if (order === 3 || b > 53) {
      r.bad = true;
      return false;
    }
    this.#order = order as Order;
    this.#b = b;
    this.#g = 1;
    this.#ref = 0;
    if (order >= 1 && m >= 1) this.#x0 = unzigzag(r.readVarint());
    if (order === 2 && m >= 2) this.#d1 = unzigzag(r.readVarint());
    if (m > order) {
      if (order !== 2) this.#ref = unzigzag(r.readVarint());
      this.#g = r.readVarint();
      if (this.#g === 0) r.bad = true;
    }
    return !r.bad;
  }

  /**
   * Decodes the next to − from integers into out[from, to), each divided by `div` (10^e for dec, 1 for
   * timestamps). The bulk path: state and bit position live in locals, one 32-bit window per residual,
   * and the end is checked once after the loop (every read stays inside the buffer regardless).
   */
  readRun(out: Float64Array, from: number, to: number, div: number): void {
    const r = this.#r!;
    const buf = r.buf;
    const order = this.#order,
      b = this.#b,
      g = this.#g,
      ref = this.#ref,
      x0 = this.#x0;
    // '0' + b bits is one (b+1)-bit field whose top bit is 0, i.e. a value below 2^b.
    const narrow = b < 32,
      width = b + 1,
      shift = 32 - width,
      fits = 2 ** b;
    let pos = r.pos,
      i = this.#i,
      prev = this.#prev,
      d = this.#d;
    for (let k = from; k < to; k++, i++) {
      let x: number;
      if (i < order) {
        if (i === 0) x = x0;
        else {
          d = this.#d1;
          x = x0 + d;
        }
      } else {
        let z: number;
        const win = window32(buf, pos);
        if (narrow && win >>> shift < fits) {
          z = win >>> shift;
          pos += width;
        } else if (win < 0) {
          // '1': escape, 6-bit length, then that many bits
          const L = (win >>> 25) & 63;
          pos += 1 + ESC_LEN_BITS;
          if (L > 53) {
            r.bad = true;
            z = 0;
          } else {
            z = bitsAt(buf, pos, L);
            pos += L;
          }
        } else {
          z = bitsAt(buf, pos + 1, b);
          pos += width;
        } // '0' + b ≥ 32 bits
        const res = ref + (z & 1 ? -(z + 1) / 2 : z / 2) * g;
        if (order === 0) x = res;
        else if (order === 1) x = prev + res;
        else {
          d += res;
          x = prev + d;
        }
      }
      prev = x;
      out[k] = x / div;
    }
    this.#i = i;
    this.#prev = prev;
    this.#d = d;
    r.pos = pos;
    r.checkEnd();
  }

  /** The next integer; call it at most m times (past that it reads garbage and marks the reader bad). */
  next(): number {
    this.readRun(one, 0, 1, 1);
    return one[0]!;
  }
}

const one = new Float64Array(1);

/**
 * Collects values for a dec stream. append() refuses (returns false) a value that no exponent ≤ 9
 * makes an exact integer below 2^50 — the caller then falls back to xor for the whole stream.
 */
export class DecAppender {
  #v = new Float64Array(1024);
  #x = new Float64Array(1024);
  #n = 0;
  #e = 0;
  #sealed = -1;

  reset(): void {
    this.#n = 0;
    this.#e = 0;
    this.#sealed = -1;
  }
  get length(): number {
    return this.#n;
  }
  /** The exponent the stream will use (valid after seal()). */
  get exponent(): number {
    return this.#sealed;
  }

  append(v: number): boolean {
    // Exponents only grow: start where the stream already is (cheap for the common all-same-e case).
    const e = decExponent(v, this.#e);
    if (e < 0) return false;
    this.#e = e;
    if (this.#n === this.#v.length) {
      const next = new Float64Array(this.#v.length * 2);
      next.set(this.#v);
      this.#v = next;
      this.#x = new Float64Array(next.length);
    }
    this.#v[this.#n++] = v;
    this.#sealed = -1;
    return true;
  }

  /**
   * Scales every value by the final exponent and checks each survives the round trip (a value checked
   * at a smaller e is re-checked: exactness is not monotonic in e for binary floats). false → use xor.
   */
  seal(): boolean {
    const v = this.#v,
      x = this.#x,
      n = this.#n;
    for (let e = this.#e; e <= MAX_EXP; e++) {
      const p = POW10[e]!;
      let ok = true;
      for (let i = 0; i < n; i++) {
        const s = Math.round(v[i]! * p);
        if (s / p !== v[i]! || !(s > -MAX_DEC_INT && s < MAX_DEC_INT)) {
          ok = false;
          break;
        }
        x[i] = s;
      }
      if (ok) {
        this.#sealed = e;
        return true;
      }
    }
    return false;
  }

  /** Writes the stream (after a successful seal()): exponent byte, then the integer stream. */
  write(w: BitWriter): void {
    if (this.#sealed < 0) throw new Error('DecAppender.write() before a successful seal()');
    w.align();
    w.writeByte(this.#sealed);
    encodeInts(w, this.#x, this.#n);
  }
}

/** Reads a dec stream: next() = integer / 10^e, bit-exactly the value appended (−0 comes back as 0). */
export class DecIterator {
  #ints = new IntIterator();
  #p = 1;

  reset(r: BitReader, m: number): boolean {
    r.align();
    const e = r.readByte();
    if (e > MAX_EXP) {
      r.bad = true;
      return false;
    }
    this.#p = POW10[e]!;
    return this.#ints.reset(r, m);
  }

  next(): number {
    this.#ints.readRun(one, 0, 1, this.#p);
    return one[0]!;
  }

  /** Bulk form of next(): fills out[from, to). */
  readRun(out: Float64Array, from: number, to: number): void {
    this.#ints.readRun(out, from, to, this.#p);
  }
}
