/**
 * Bit-level I/O for the chunk codec: MSB-first within each byte (the first bit written is bit 7 of
 * byte 0), as in Prometheus' bstream, so a hexdump reads left to right.
 *
 * JS bitwise operators work on 32 bits, so every primitive takes at most 32 bits at a time and the
 * wide (≤ 53-bit) paths split a number into hi/lo halves with Math.floor division; no BigInt, so
 * the hot loops stay in small-integer/double arithmetic and allocate nothing.
 *
 * The reader never throws and never loads outside its buffer (window32 reads missing bytes as 0). A
 * read past the logical end sets `bad`, returns 0 and pins the position at the end; the decoders'
 * bulk loops check the end once per run instead. Either way a decoder runs its loop, bounded by a
 * count and never by the data, to completion and checks `bad` once.
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
  while (x >= 128) {
    x = Math.floor(x / 128);
    n++;
  }
  return n;
}

// One 8-byte scratch shared by the float64 read/write paths.
const f64 = new DataView(new ArrayBuffer(8));

/**
 * Growable bit sink. Whole bytes go straight to the buffer; fewer than 8 pending bits wait in a small
 * accumulator, so a write is a shift, an OR and at most four byte stores. Reuse one writer across
 * encodes (reset()) so steady-state encoding allocates only the result.
 */
export class BitWriter {
  #buf: Uint8Array;
  #pos = 0; // whole bytes written
  #acc = 0; // pending bits, right-aligned
  #bits = 0; // how many (0..7)

  constructor(initialBytes = 4096) {
    this.#buf = new Uint8Array(Math.max(8, initialBytes));
  }

  /** Bits written so far. */
  get bitLength(): number {
    return this.#pos * 8 + this.#bits;
  }
  /** Whole bytes written so far (a partial last byte counts). */
  get byteLength(): number {
    return this.#pos + (this.#bits ? 1 : 0);
  }

  reset(): void {
    this.#pos = 0;
    this.#acc = 0;
    this.#bits = 0;
    if (this.#buf.length > 1 << 20) this.#buf = new Uint8Array(4096); // don't pin one huge chunk's buffer forever
  }

  #grow(): void {
    const next = new Uint8Array(this.#buf.length * 2);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  writeBit(bit: number): void {
    this.writeBits(bit ? 1 : 0, 1);
  }

  /** Writes the low n bits of v (0 ≤ n ≤ 32; v an unsigned integer below 2^32), most significant first. */
  writeBits(v: number, n: number): void {
    if (n > 24) {
      // keep acc (< 2^7) << n inside 31 bits: split off the low 16
      this.writeBits(v >>> 16, n - 16);
      v &= 0xffff;
      n = 16;
    }
    if (this.#pos + 4 >= this.#buf.length) this.#grow();
    let acc = (this.#acc << n) | (v & ((1 << n) - 1));
    let bits = this.#bits + n;
    const buf = this.#buf;
    while (bits >= 8) {
      bits -= 8;
      buf[this.#pos++] = acc >>> bits;
    }
    this.#acc = acc & ((1 << bits) - 1);
    this.#bits = bits;
  }

  /** Writes the low n bits (n ≤ 53) of a non-negative integer x < 2^53. */
  writeWide(x: number, n: number): void {
    if (n <= 32) {
      this.writeBits(x, n);
      return;
    }
    this.writeBits(Math.floor(x / TWO32), n - 32);
    this.writeBits(x >>> 0, 32); // ToUint32 = x mod 2^32: the low half, exact for integers
  }

  /** Pads with zero bits to the next byte boundary. */
  align(): void {
    if (this.#bits) this.writeBits(0, 8 - this.#bits);
  }

  writeByte(b: number): void {
    this.writeBits(b & 0xff, 8);
  }

  /** Unsigned LEB128 (7 bits a byte, low group first, high bit = more follows) of an integer 0 ≤ x < 2^53. */
  writeVarint(x: number): void {
    while (x >= 128) {
      this.writeBits((x % 128) | 128, 8);
      x = Math.floor(x / 128);
    }
    this.writeBits(x, 8);
  }

  /** IEEE-754 binary64, little-endian byte order (8 bytes). */
  writeF64(v: number): void {
    f64.setFloat64(0, v, true);
    for (let i = 0; i < 8; i++) this.writeBits(f64.getUint8(i), 8);
  }

  /** A view of the bytes written, a partial last byte zero-padded (valid until the next write or reset). */
  view(): Uint8Array {
    if (this.#bits) this.#buf[this.#pos] = (this.#acc << (8 - this.#bits)) & 0xff;
    return this.#buf.subarray(0, this.byteLength);
  }
}

/**
 * The 32 bits starting at bit `pos` of `buf`, as an int32 whose bit 31 is bit `pos`; bytes past the
 * buffer read as 0, so it never reads out of bounds. Five byte loads and shifts instead of a per-byte
 * loop, and a free function (no `this`) so the JIT inlines it into the decoders' bulk loops, which
 * keep their bit position in a local and check it against the end once per run.
 */
export function window32(buf: Uint8Array, pos: number): number {
  const i = pos >>> 3,
    off = pos & 7;
  if (i + 4 < buf.length) {
    const w = (buf[i]! << 24) | (buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!;
    return off ? (w << off) | (buf[i + 4]! >>> (8 - off)) : w;
  }
  // Within 5 bytes of the buffer's end (a frame's CRC sits there, so this is rare): bounds-checked
  // loads; byte i+4 is past the end here, so it contributes zeros.
  let w = 0;
  for (let k = i; k < i + 4; k++) w = (w << 8) | (k < buf.length ? buf[k]! : 0);
  return w << off;
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
  get bytePos(): number {
    return (this.pos + 7) >>> 3;
  }
  /** Bits left before the end. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** After a bulk loop moved pos: flags an overrun (and pins pos at the end). */
  checkEnd(): void {
    if (this.pos > this.end) this.#overrun();
  }

  #overrun(): number {
    this.bad = true;
    this.pos = this.end;
    return 0;
  }

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

  readByte(): number {
    return this.readBits(8);
  }

  /** Unsigned LEB128; more than 8 bytes or a value ≥ 2^53 marks the reader bad and returns 0. */
  readVarint(): number {
    let x = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.readBits(8);
      x += (b & 127) * mul;
      if (b < 128) {
        if (x >= MAX_WIDE) {
          this.bad = true;
          return 0;
        }
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
