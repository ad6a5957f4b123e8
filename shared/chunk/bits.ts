/**
 * Bit-level I/O for the chunk codec: MSB-first within each byte (the first bit written is bit 7 of
 * byte 0), as in Prometheus' bstream, so a hexdump reads left to right.
 *
 * JS bitwise operators work on 32 bits, so every primitive takes at most 32 bits at a time and the
 * wide (≤ 53-bit) paths split a number into hi/lo halves with Math.floor division; no BigInt, so
 * the hot loops stay in small-integer/double arithmetic and allocate nothing.
 *
 * The reader never throws and never reads outside [start, end): a read past the end sets `bad`,
 * returns 0 and pins the position at the end, so a decoder can run its bounded loop to completion
 * and check `bad` once (every loop in the codec is bounded by a count, never by the data).
 */

const TWO32 = 4294967296;

/** Largest integer the codec stores exactly (zigzagged second-order residuals of |x| < 2^50 stay below it). */
export const MAX_WIDE = 2 ** 53;

/** Zigzag: 0, -1, 1, -2, 2 … → 0, 1, 2, 3, 4 …, for integers |x| < 2^52 (arithmetic, not bitwise: no 32-bit wrap). */
export const zigzag = (x: number): number => (x >= 0 ? 2 * x : -2 * x - 1);
/** Inverse of zigzag; -0 never comes out (z = 0 → 0). */
export const unzigzag = (z: number): number => (z & 1 ? -(z + 1) / 2 : z / 2); // & 1: ToInt32 keeps the low bit of any integer < 2^53

/** Number of significant bits of a non-negative integer below 2^64 (0 → 0). */
export function bitLength(x: number): number {
  return x < TWO32 ? 32 - Math.clz32(x) : 64 - Math.clz32(Math.floor(x / TWO32));
}

/** Bytes a LEB128 varint of x takes. */
export function varintSize(x: number): number {
  let n = 1;
  while (x >= 128) { x = Math.floor(x / 128); n++; }
  return n;
}

// One 8-byte scratch shared by the float64 read/write paths.
const f64 = new DataView(new ArrayBuffer(8));

/** Growable bit sink. Reuse one across encodes (reset()) so steady-state encoding allocates only the result. */
export class BitWriter {
  #buf: Uint8Array;
  #pos = 0; // in bits

  constructor(initialBytes = 4096) { this.#buf = new Uint8Array(initialBytes); }

  /** Bits written so far. */
  get bitLength(): number { return this.#pos; }
  /** Whole bytes written so far (a partial last byte counts). */
  get byteLength(): number { return (this.#pos + 7) >>> 3; }

  reset(): void {
    // Bits are OR-ed in, so the used prefix must be zero again.
    this.#buf.fill(0, 0, this.byteLength);
    this.#pos = 0;
  }

  #ensure(bits: number): void {
    const need = (this.#pos + bits + 7) >>> 3;
    if (need <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.byteLength));
    this.#buf = next;
  }

  writeBit(bit: number): void {
    this.#ensure(1);
    if (bit) this.#buf[this.#pos >>> 3]! |= 0x80 >>> (this.#pos & 7);
    this.#pos++;
  }

  /** Writes the low n bits of v (0 ≤ n ≤ 32; v an unsigned integer below 2^32), most significant first. */
  writeBits(v: number, n: number): void {
    if (n === 0) return;
    this.#ensure(n);
    const buf = this.#buf;
    let pos = this.#pos;
    let rem = n;
    while (rem > 0) {
      const i = pos >>> 3;
      const free = 8 - (pos & 7);
      if (rem >= free) {
        rem -= free; // ≤ 31 here, so the shift is defined
        buf[i]! |= (v >>> rem) & ((1 << free) - 1);
        pos += free;
      } else {
        buf[i]! |= (v & ((1 << rem) - 1)) << (free - rem);
        pos += rem;
        rem = 0;
      }
    }
    this.#pos = pos;
  }

  /** Writes the low n bits (n ≤ 53) of a non-negative integer x < 2^53. */
  writeWide(x: number, n: number): void {
    if (n <= 32) { this.writeBits(x, n); return; }
    this.writeBits(Math.floor(x / TWO32), n - 32);
    this.writeBits(x >>> 0, 32); // ToUint32 = x mod 2^32: the low half, exact for integers
  }

  /** Pads with zero bits to the next byte boundary. */
  align(): void { this.#pos = (this.#pos + 7) & ~7; }

  writeByte(b: number): void { this.writeBits(b & 0xff, 8); }

  /** Unsigned LEB128 (7 bits a byte, low group first, high bit = more follows) of an integer 0 ≤ x < 2^53. */
  writeVarint(x: number): void {
    while (x >= 128) { this.writeBits((x % 128) | 128, 8); x = Math.floor(x / 128); }
    this.writeBits(x, 8);
  }

  /** IEEE-754 binary64, little-endian byte order (8 bytes). */
  writeF64(v: number): void {
    f64.setFloat64(0, v, true);
    for (let i = 0; i < 8; i++) this.writeBits(f64.getUint8(i), 8);
  }

  /** Overwrites a little-endian u32 at a byte offset already written (the frame's length field). */
  patchU32(byteOffset: number, v: number): void {
    const b = this.#buf;
    b[byteOffset] = v & 0xff; b[byteOffset + 1] = (v >>> 8) & 0xff; b[byteOffset + 2] = (v >>> 16) & 0xff; b[byteOffset + 3] = (v >>> 24) & 0xff;
  }

  /** A view of the bytes written (valid until the next write or reset). */
  view(): Uint8Array { return this.#buf.subarray(0, this.byteLength); }
}

/**
 * The 32 bits starting at bit `pos` of `buf`, as an int32 whose bit 31 is bit `pos`; bytes past the
 * buffer read as 0, so it never reads out of bounds. Five byte loads and shifts instead of a per-byte
 * loop, and a free function (no `this`) so the JIT inlines it into the decoders' bulk loops, which
 * keep their bit position in a local and check it against the end once per run.
 */
export function window32(buf: Uint8Array, pos: number): number {
  const i = pos >>> 3, off = pos & 7;
  if (i + 4 < buf.length) {
    const w = (buf[i]! << 24) | (buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!;
    return off ? (w << off) | (buf[i + 4]! >>> (8 - off)) : w;
  }
  // The last bytes of the buffer (a frame's CRC sits there, so this is rare): bounds-checked loads.
  const b = (k: number) => (i + k < buf.length ? buf[i + k]! : 0);
  const w = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
  return off ? (w << off) | (b(4) >>> (8 - off)) : w;
}

/** The n bits (0 ≤ n ≤ 53) at bit `pos` as a non-negative integer; no bounds check on `end` (callers check once). */
export function bitsAt(buf: Uint8Array, pos: number, n: number): number {
  if (n <= 32) return n === 0 ? 0 : window32(buf, pos) >>> (32 - n);
  return (window32(buf, pos) >>> (64 - n)) * TWO32 + (window32(buf, pos + n - 32) >>> 0);
}

/**
 * Bounds-checked bit source over buf[start, end) (byte offsets). Never throws: see `bad`.
 * `buf`, `pos` and `end` are public for the decoders' bulk loops (IntIterator/XorIterator.readRun),
 * which copy `pos` to a local, read with window32/bitsAt, write it back and call checkEnd().
 */
export class BitReader {
  buf: Uint8Array = new Uint8Array(0);
  /** Position in bits, absolute in buf. */
  pos = 0;
  /** End in bits (exclusive). */
  end = 0;
  /** Set once any read ran past the end or a field was out of range; sticky until reset(). */
  bad = false;

  reset(buf: Uint8Array, start: number, end: number): this {
    this.buf = buf;
    this.pos = start * 8;
    this.end = end * 8;
    this.bad = false;
    return this;
  }

  /** Current position in bytes (rounded up). */
  get bytePos(): number { return (this.pos + 7) >>> 3; }
  /** Bits left before the end. */
  get remaining(): number { return this.end - this.pos; }

  /** After a bulk loop moved pos: flags an overrun (and pins pos at the end). */
  checkEnd(): void { if (this.pos > this.end) this.#overrun(); }

  #overrun(): number { this.bad = true; this.pos = this.end; return 0; }

  readBit(): number {
    const pos = this.pos;
    if (pos >= this.end) return this.#overrun();
    this.pos = pos + 1;
    return (this.buf[pos >>> 3]! >>> (7 - (pos & 7))) & 1;
  }

  /** Reads n bits (0 ≤ n ≤ 32) as an unsigned integer. */
  readBits(n: number): number {
    const pos = this.pos;
    if (pos + n > this.end) return this.#overrun();
    this.pos = pos + n;
    return n === 0 ? 0 : window32(this.buf, pos) >>> (32 - n);
  }

  /** Reads n bits (n ≤ 53) as a non-negative integer. */
  readWide(n: number): number {
    const pos = this.pos;
    if (pos + n > this.end) return this.#overrun();
    this.pos = pos + n;
    return bitsAt(this.buf, pos, n);
  }

  /** Skips to the next byte boundary; the skipped padding must be zero (a cheap corruption check). */
  align(): void {
    const pad = (8 - (this.pos & 7)) & 7;
    if (pad && this.readBits(pad) !== 0) this.bad = true;
  }

  readByte(): number { return this.readBits(8); }

  /** Unsigned LEB128; more than 8 bytes or a value ≥ 2^53 marks the reader bad and returns 0. */
  readVarint(): number {
    let x = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.readBits(8);
      x += (b & 127) * mul;
      if (b < 128) {
        if (x >= MAX_WIDE) { this.bad = true; return 0; }
        return x;
      }
      mul *= 128;
    }
    this.bad = true;
    return 0;
  }

  readF64(): number {
    for (let i = 0; i < 8; i++) f64.setUint8(i, this.readBits(8));
    return f64.getFloat64(0, true);
  }
}
