/**
 * The chunk frame: one series key × a run of samples (raw) or buckets (rollups), compressed
 * columnar, self-delimiting and checksummed. The same bytes live on the agent's disk, travel on the
 * wire (frames end to end) and sit in the browser's IndexedDB. Byte-exact layout: FORMAT.md.
 *
 * Standard JS only (Uint8Array, DataView, TextEncoder/TextDecoder): it runs in Bun and Chromium.
 * Decoding never throws: the length is checked before anything is read, the CRC before any value is
 * decoded, and every read after that is bounds-checked anyway (a CRC is no defence against crafted
 * input), so a bad frame is a typed error and every loop is bounded by the sample count.
 */
import { BitReader, BitWriter, unzigzag, zigzag } from './bits.ts';
import { crc32 } from './crc32.ts';
import { DecAppender, DecIterator, decExponent, IntIterator, encodeInts, MAX_EXP, POW10 } from './dec.ts';
import { XorAppender, XorIterator } from './xor.ts';

export type Tier = 'raw' | '1m' | '1h';
export const TIER_STEP_MS: Record<Tier, number> = { raw: 0, '1m': 60_000, '1h': 3_600_000 };
/** A chunk is ONE series key × a run of samples (raw) or buckets (rollups). NaN = null / gap. */
export interface RawChunk {
  tier: 'raw';
  key: string;
  t: Float64Array;
  v: Float64Array;
}
/** Rollup bucket i covers [t[i], t[i]+step). count = number of non-null raw samples folded in; count 0 → avg/min/max NaN. */
export interface RollupChunk {
  tier: '1m' | '1h';
  key: string;
  t: Float64Array;
  avg: Float64Array;
  min: Float64Array;
  max: Float64Array;
  count: Float64Array;
}
export type Chunk = RawChunk | RollupChunk;
export type ChunkErrorKind = 'truncated' | 'bad_magic' | 'bad_version' | 'checksum' | 'corrupt';
export interface ChunkError {
  kind: ChunkErrorKind;
  message: string;
}
export type Decoded<T> = { ok: true; value: T; size: number } | { ok: false; error: ChunkError };
/** t0/t1: first and last timestamp (NaN for an empty chunk); size: bytes the frame occupies. */
export interface ChunkHeader {
  tier: Tier;
  key: string;
  t0: number;
  t1: number;
  n: number;
  size: number;
}

/** "gc" — gpulse chunk. */
export const MAGIC = [0x67, 0x63] as const;
export const VERSION = 1;
/** magic(2) + version(1) + length(4): what must be readable before anything else. */
const PREFIX = 7;
/** The smallest well-formed frame: prefix, flags, 1-byte key length, 1-byte key, n = 0, one stream tag, CRC. */
export const MIN_FRAME = PREFIX + 1 + 1 + 1 + 1 + 1 + 4;
/** Samples per chunk: bounds what a hostile frame can make the decoder allocate (a constant stream costs no bytes per sample). */
export const MAX_SAMPLES = 1 << 20;
/** Timestamps are integer ms in [0, 2^50) (year ~37,600): keeps every timestamp residual exact in a double. */
export const MAX_TIME = 2 ** 50;

const TIER_CODE: Record<Tier, number> = { raw: 0, '1m': 1, '1h': 2 };
const TIERS: readonly Tier[] = ['raw', '1m', '1h'];
const FLAG_IRREGULAR = 4;

// Value stream tag: kind in bits 0-2, presence map in bit 3, bits 4-7 zero.
const K_NAN = 0,
  K_CONST = 1,
  K_DEC = 2,
  K_XOR = 3;
const HAS_GAPS = 8;
/** CONST exponent byte meaning "a raw float64 follows" (the value is not a short decimal). */
const CONST_F64 = 0xff;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// Encoder/decoder state reused across calls (single-threaded, non-reentrant): the hot path
// allocates only the frame it returns / the arrays it decodes into.
const writer = new BitWriter();
const dec = new DecAppender();
const xor = new XorAppender();
const reader = new BitReader();
const intIt = new IntIterator();
const decIt = new DecIterator();
const xorIt = new XorIterator();
let deltas = new Float64Array(1024);
let runs = new Uint32Array(1024);

/** The precision the wire promises (same rule as shared/json.ts wireNum): |v| ≥ 1000 → integer, ≥ 100 → 1 decimal, else 2; non-finite → NaN. */
export function quantize(v: number): number {
  if (!Number.isFinite(v)) return NaN;
  const a = Math.abs(v);
  const q = a >= 1000 ? Math.round(v) : a >= 100 ? Math.round(v * 10) / 10 : Math.round(v * 100) / 100;
  // -0 (from e.g. -0.001) → 0: dec would turn it into 0 anyway; this keeps quantize idempotent with the codec.
  return q + 0;
}

// ---------------------------------------------------------------------------------------------
// Encoding

function validate(c: Chunk): number {
  if (c === null || typeof c !== 'object') throw new TypeError('encodeChunk: not a chunk');
  if (c.tier !== 'raw' && c.tier !== '1m' && c.tier !== '1h') throw new TypeError(`encodeChunk: unknown tier ${String(c.tier)}`);
  if (typeof c.key !== 'string' || c.key.length === 0) throw new TypeError('encodeChunk: empty key');
  const t = c.t;
  const n = t.length;
  if (n > MAX_SAMPLES) throw new RangeError(`encodeChunk: ${n} samples exceed ${MAX_SAMPLES}`);
  const cols = c.tier === 'raw' ? [c.v] : [c.avg, c.min, c.max, c.count];
  for (const col of cols) if (!col || col.length !== n) throw new TypeError(`encodeChunk: column length ${col?.length} ≠ ${n} timestamps`);
  let prev = -1;
  for (let i = 0; i < n; i++) {
    const x = t[i]!;
    if (!Number.isInteger(x) || x < 0 || x >= MAX_TIME) throw new RangeError(`encodeChunk: t[${i}] = ${x} is not an integer ms in [0, 2^50)`);
    if (x <= prev) throw new RangeError(`encodeChunk: t[${i}] = ${x} not after t[${i - 1}] = ${prev}`);
    prev = x;
  }
  return n;
}

/** One value stream: tag, optional presence map, payload; byte-aligned at both ends. */
function writeStream(w: BitWriter, vals: Float64Array, n: number): void {
  let m = 0,
    first = NaN,
    constant = true;
  for (let i = 0; i < n; i++) {
    const v = vals[i]!;
    if (v !== v) continue;
    if (m++ === 0) first = v;
    else if (v !== first) constant = false;
  }
  if (m === 0) {
    w.writeByte(K_NAN);
    return;
  }
  const gaps = m < n ? HAS_GAPS : 0;
  let kind: number;
  let e = -1;
  if (constant) {
    kind = K_CONST;
    e = decExponent(first);
  } else {
    dec.reset();
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      const v = vals[i]!;
      if (v === v) ok = dec.append(v);
    }
    kind = ok && dec.seal() ? K_DEC : K_XOR;
  }
  w.writeByte(kind | gaps);
  if (gaps) writeRuns(w, vals, n);
  if (kind === K_CONST) {
    if (e >= 0) {
      w.writeByte(e);
      w.writeVarint(zigzag(Math.round(first * POW10[e]!)));
    } else {
      w.writeByte(CONST_F64);
      w.writeF64(first);
    }
  } else if (kind === K_DEC) dec.write(w);
  else {
    xor.reset(w);
    for (let i = 0; i < n; i++) {
      const v = vals[i]!;
      if (v === v) xor.append(v);
    }
    w.align();
  }
}

/** Presence map: run lengths alternating present/absent, starting with present (possibly 0), summing to n. */
function writeRuns(w: BitWriter, vals: Float64Array, n: number): void {
  let present = true,
    run = 0;
  for (let i = 0; i < n; i++) {
    const v = vals[i]!;
    if ((v === v) === present) run++;
    else {
      w.writeVarint(run);
      present = !present;
      run = 1;
    }
  }
  w.writeVarint(run);
}

/** Encodes one chunk as a frame. Throws (a programming error) on invalid input: see validate(). */
export function encodeChunk(c: Chunk): Uint8Array {
  const n = validate(c);
  const t = c.t;
  let regular = true;
  const step = n >= 2 ? t[1]! - t[0]! : 0;
  for (let i = 2; i < n && regular; i++) regular = t[i]! - t[i - 1]! === step;

  const w = writer;
  w.reset();
  w.writeByte(MAGIC[0]);
  w.writeByte(MAGIC[1]);
  w.writeByte(VERSION);
  w.writeBits(0, 32); // length, patched below
  w.writeByte(TIER_CODE[c.tier] | (regular ? 0 : FLAG_IRREGULAR));
  const key = textEncoder.encode(c.key);
  w.writeVarint(key.length);
  for (let i = 0; i < key.length; i++) w.writeByte(key[i]!);
  w.writeVarint(n);
  if (n >= 1) w.writeVarint(t[0]!);
  if (n >= 2) w.writeVarint(regular ? step : t[n - 1]! - t[0]!);
  if (!regular) {
    if (deltas.length < n) deltas = new Float64Array(Math.max(n, deltas.length * 2));
    for (let i = 1; i < n; i++) deltas[i - 1] = t[i]! - t[i - 1]!;
    encodeInts(w, deltas, n - 1);
  }
  if (c.tier === 'raw') writeStream(w, c.v, n);
  else {
    writeStream(w, c.avg, n);
    writeStream(w, c.min, n);
    writeStream(w, c.max, n);
    writeStream(w, c.count, n);
  }
  w.align();

  const body = w.view();
  const size = body.length + 4;
  const out = new Uint8Array(size);
  out.set(body);
  const view = new DataView(out.buffer);
  view.setUint32(3, size, true);
  view.setUint32(size - 4, crc32(out.subarray(0, size - 4)), true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding

const fail = (kind: ChunkErrorKind, message: string): { ok: false; error: ChunkError } => ({ ok: false, error: { kind, message } });

interface Parsed {
  header: ChunkHeader;
  irregular: boolean;
  interval: number;
  bodyStart: number;
  bodyEnd: number;
}

/** Checks prefix, length bounds and CRC, then parses the header fields. Never throws. */
function parse(buf: Uint8Array, offset: number): { ok: true; p: Parsed } | { ok: false; error: ChunkError } {
  if (!(buf instanceof Uint8Array)) return fail('corrupt', 'not a Uint8Array');
  if (!Number.isInteger(offset) || offset < 0 || offset > buf.length) return fail('truncated', `offset ${offset} outside a ${buf.length}-byte buffer`);
  const avail = buf.length - offset;
  if (avail >= 1 && buf[offset] !== MAGIC[0]) return fail('bad_magic', `byte ${buf[offset]} at ${offset} does not start a chunk`);
  if (avail >= 2 && buf[offset + 1] !== MAGIC[1]) return fail('bad_magic', `byte ${buf[offset + 1]} at ${offset + 1} does not continue a chunk magic`);
  if (avail >= 3 && buf[offset + 2] !== VERSION) return fail('bad_version', `chunk version ${buf[offset + 2]}, this build reads ${VERSION}`);
  if (avail < PREFIX) return fail('truncated', `${avail} byte(s) left at ${offset}, a chunk prefix needs ${PREFIX}`);
  const size = (buf[offset + 3]! | (buf[offset + 4]! << 8) | (buf[offset + 5]! << 16) | (buf[offset + 6]! << 24)) >>> 0;
  if (size < MIN_FRAME) return fail('corrupt', `length field ${size} below the minimum frame ${MIN_FRAME}`);
  if (size > avail) return fail('truncated', `frame of ${size} bytes at ${offset}, only ${avail} available`);
  const end = offset + size - 4;
  const stored = (buf[end]! | (buf[end + 1]! << 8) | (buf[end + 2]! << 16) | (buf[end + 3]! << 24)) >>> 0;
  if (crc32(buf.subarray(offset, end)) !== stored) return fail('checksum', `CRC mismatch in the ${size}-byte frame at ${offset}`);

  const r = reader.reset(buf, offset + PREFIX, end);
  const flags = r.readByte();
  if ((flags & 3) === 3 || flags & ~7) return fail('corrupt', `bad flags byte ${flags}`);
  const tier = TIERS[flags & 3]!;
  const irregular = (flags & FLAG_IRREGULAR) !== 0;
  const keyLen = r.readVarint();
  if (r.bad || keyLen === 0 || keyLen * 8 > r.remaining) return fail('corrupt', `bad key length ${keyLen}`);
  const keyStart = r.bytePos;
  let key: string;
  try {
    key = textDecoder.decode(buf.subarray(keyStart, keyStart + keyLen));
  } catch {
    return fail('corrupt', 'key is not valid UTF-8');
  }
  r.reset(buf, keyStart + keyLen, end);
  const n = r.readVarint();
  if (r.bad || n > MAX_SAMPLES) return fail('corrupt', `bad sample count ${n}`);
  let t0 = NaN,
    t1 = NaN,
    interval = 0;
  if (n >= 1) {
    t0 = r.readVarint();
    t1 = t0;
    if (r.bad || t0 >= MAX_TIME) return fail('corrupt', `bad first timestamp ${t0}`);
  }
  if (n >= 2) {
    const x = r.readVarint();
    if (irregular) {
      if (n < 3 || x < n - 1) return fail('corrupt', `span ${x} cannot hold ${n} irregular timestamps`);
      t1 = t0 + x;
    } else {
      if (x < 1) return fail('corrupt', 'zero interval');
      interval = x;
      t1 = t0 + (n - 1) * x;
    }
    if (r.bad || t1 >= MAX_TIME) return fail('corrupt', `bad last timestamp ${t1}`);
  } else if (irregular) return fail('corrupt', `irregular flag on ${n} sample(s)`);
  return { ok: true, p: { header: { tier, key, t0, t1, n, size }, irregular, interval, bodyStart: r.bytePos, bodyEnd: end } };
}

/** Reads and validates one frame at `offset` (length, magic, version, CRC) and returns its header without decoding values. Never throws. */
export function readHeader(buf: Uint8Array, offset = 0): Decoded<ChunkHeader> {
  const r = parse(buf, offset);
  return r.ok ? { ok: true, value: r.p.header, size: r.p.header.size } : r;
}

/** Fills t[0..n) from the irregular delta stream; false if the deltas do not rebuild a strictly increasing run ending at t1. */
function readTimes(r: BitReader, t: Float64Array, h: ChunkHeader): boolean {
  const n = h.n;
  if (!intIt.reset(r, n - 1)) return false;
  intIt.readRun(t, 1, n, 1); // the deltas, integrated below in place
  let x = h.t0;
  t[0] = x;
  for (let i = 1; i < n; i++) {
    const d = t[i]!;
    if (!(d >= 1)) return false; // integers by construction; must be strictly increasing
    t[i] = x += d;
  }
  return !r.bad && x === h.t1;
}

/** Decodes one value stream into out[0..n); false (with r.bad) if malformed. */
function readStream(r: BitReader, out: Float64Array, n: number): boolean {
  r.align();
  const tag = r.readByte();
  const kind = tag & 7;
  if (r.bad || tag & 0xf0 || kind > K_XOR) return false;
  if (kind === K_NAN) {
    out.fill(NaN);
    return !(tag & HAS_GAPS);
  }
  // Presence map → runs[0..nr), m present values.
  let nr = 0,
    m = n;
  if (tag & HAS_GAPS) {
    if (runs.length < n + 1) runs = new Uint32Array(Math.max(n + 1, runs.length * 2));
    let sum = 0;
    m = 0;
    while (sum < n) {
      const len = r.readVarint();
      // A zero run is legal only first (a leading gap); anything else could spin forever.
      if (r.bad || (len === 0 && nr > 0) || len > n - sum) return false;
      if (nr % 2 === 0) m += len;
      runs[nr++] = len;
      sum += len;
    }
    if (m === 0 || m === n) return false; // the encoder never writes a map that says "all" or "none"
  }
  if (kind === K_CONST) {
    const e = r.readByte();
    let v: number;
    if (e === CONST_F64) v = r.readF64();
    else if (e <= MAX_EXP) v = unzigzag(r.readVarint()) / POW10[e]!;
    else return false;
    out.fill(v);
  } else if (kind === K_DEC) {
    if (!decIt.reset(r, m)) return false;
  } else xorIt.reset(r);
  // Present runs are decoded in bulk, absent runs filled with NaN.
  if (!nr) {
    if (kind === K_DEC) decIt.readRun(out, 0, n);
    else if (kind === K_XOR) xorIt.readRun(out, 0, n);
  } else {
    let i = 0;
    for (let k = 0; k < nr; k++) {
      const end = i + runs[k]!;
      if (k % 2) out.fill(NaN, i, end);
      else if (kind === K_DEC) decIt.readRun(out, i, end);
      else if (kind === K_XOR) xorIt.readRun(out, i, end);
      i = end;
    }
  }
  r.align();
  return !r.bad;
}

/**
 * Reusable arrays for decodeChunk: a reader that decodes many chunks one after another (a history
 * query, a replay) passes one, and the decoded arrays are views into it, valid until the next
 * decode into the same buffers. Without it every chunk allocates its own arrays.
 */
export class ChunkBuffers {
  #a: Float64Array[] = [];
  /** Array number `i`, at least `n` long (grown by doubling). */
  take(i: number, n: number): Float64Array {
    let a = this.#a[i];
    if (!a || a.length < n) {
      a = new Float64Array(Math.max(n, 2 * (a?.length ?? 512)));
      this.#a[i] = a;
    }
    return a.subarray(0, n);
  }
}

/** Decodes one frame at `offset`. Never throws: every malformed input is a typed error. size = bytes the frame occupies. */
export function decodeChunk(buf: Uint8Array, offset = 0, into?: ChunkBuffers): Decoded<Chunk> {
  const parsed = parse(buf, offset);
  if (!parsed.ok) return parsed;
  const { header: h, irregular, interval, bodyStart, bodyEnd } = parsed.p;
  const n = h.n;
  const r = reader.reset(buf, bodyStart, bodyEnd);
  const arr = (i: number) => (into ? into.take(i, n) : new Float64Array(n));
  const t = arr(0);
  if (irregular) {
    if (!readTimes(r, t, h)) return fail('corrupt', `bad timestamp stream in "${h.key}"`);
  } else for (let i = 0; i < n; i++) t[i] = h.t0 + i * interval;
  let value: Chunk;
  if (h.tier === 'raw') {
    const v = arr(1);
    if (!readStream(r, v, n)) return fail('corrupt', `bad value stream in "${h.key}"`);
    value = { tier: 'raw', key: h.key, t, v };
  } else {
    const avg = arr(1),
      min = arr(2),
      max = arr(3),
      count = arr(4);
    if (!readStream(r, avg, n) || !readStream(r, min, n) || !readStream(r, max, n) || !readStream(r, count, n))
      return fail('corrupt', `bad rollup stream in "${h.key}"`);
    value = { tier: h.tier, key: h.key, t, avg, min, max, count };
  }
  r.align();
  if (r.bad || r.bytePos !== bodyEnd) return fail('corrupt', `${bodyEnd - r.bytePos} unexplained byte(s) before the CRC in "${h.key}"`);
  return { ok: true, value, size: h.size };
}

/** Frames laid end to end (the wire body and file payloads): yields each frame's header+offset, or one error and stops. */
export function* splitChunks(buf: Uint8Array): Generator<{ offset: number; header: ChunkHeader } | { offset: number; error: ChunkError }> {
  let offset = 0;
  const len = buf instanceof Uint8Array ? buf.length : 0;
  while (offset < len) {
    const h = readHeader(buf, offset);
    if (!h.ok) {
      yield { offset, error: h.error };
      return;
    }
    yield { offset, header: h.value };
    offset += h.size;
  }
}
