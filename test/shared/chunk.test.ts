/** shared/chunk: exact round trips (seeded property tests), the byte layout of FORMAT.md, and hostile input. */
import { describe, expect, test } from 'bun:test';
import { wireNum } from '../../shared/json.ts';
import {
  ChunkBuffers,
  type Chunk,
  type ChunkHeader,
  type Decoded,
  type RawChunk,
  type RollupChunk,
  BitReader,
  BitWriter,
  crc32,
  decExponent,
  decodeChunk,
  DecAppender,
  DecIterator,
  encodeChunk,
  encodeInts,
  IntIterator,
  MAX_SAMPLES,
  MAX_TIME,
  MIN_FRAME,
  quantize,
  readHeader,
  splitChunks,
  TIER_STEP_MS,
  varintSize,
  XorAppender,
  XorIterator,
  zigzag,
  unzigzag,
  bitLength,
  bitsAt,
  window32,
} from '../../shared/chunk/index.ts';

/** mulberry32: small, seeded, good enough to drive fuzzing reproducibly. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const regular = (n: number, step = 1000, t0 = T0) => Float64Array.from({ length: n }, (_, i) => t0 + i * step);
const raw = (key: string, t: Float64Array, v: Float64Array): RawChunk => ({ tier: 'raw', key, t, v });

/** Same value bit for bit, NaN for NaN; the one documented loss: -0 may come back as 0. */
function expectSameValues(got: Float64Array, want: Float64Array, what: string) {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const a = got[i]!,
      b = want[i]!;
    if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)) || (Object.is(b, -0) && Object.is(a, 0))) continue;
    throw new Error(`${what}[${i}]: got ${a}, want ${b}`);
  }
}

function roundTrip(c: Chunk): Uint8Array {
  const bytes = encodeChunk(c);
  const d = decodeChunk(bytes);
  if (!d.ok) throw new Error(`decode failed: ${d.error.kind}: ${d.error.message}`);
  expect(d.size).toBe(bytes.length);
  const g = d.value;
  expect(g.tier).toBe(c.tier);
  expect(g.key).toBe(c.key);
  expectSameValues(g.t, c.t, 't');
  for (const t of g.t) expect(Object.is(t, -0)).toBe(false);
  if (c.tier === 'raw') expectSameValues((g as RawChunk).v, c.v, 'v');
  else for (const k of ['avg', 'min', 'max', 'count'] as const) expectSameValues((g as RollupChunk)[k], c[k], k);
  const h = readHeader(bytes);
  expect(h.ok).toBe(true);
  if (h.ok) {
    expect(h.value).toEqual({
      tier: c.tier,
      key: c.key,
      n: c.t.length,
      t0: c.t.length ? c.t[0]! : NaN,
      t1: c.t.length ? c.t[c.t.length - 1]! : NaN,
      size: bytes.length,
    });
    expect(h.size).toBe(bytes.length);
  }
  return bytes;
}

/** Byte offset of the first value stream in a regular raw frame (FORMAT.md: prefix, flags, key, n, t0, interval). */
function streamOffset(key: string, n: number, t0: number, step: number): number {
  const k = new TextEncoder().encode(key).length;
  return 7 + 1 + varintSize(k) + k + varintSize(n) + (n >= 1 ? varintSize(t0) : 0) + (n >= 2 ? varintSize(step) : 0);
}

// ----------------------------------------------------------------------------------------------

describe('bits', () => {
  test('fixed and wide fields, varints and float64 come back exactly, MSB first', () => {
    const r = rng(1);
    const w = new BitWriter(4); // tiny: forces growth
    const want: [number, number][] = [];
    for (let i = 0; i < 5000; i++) {
      const n = Math.floor(r() * 54);
      const x = n === 0 ? 0 : Math.floor(r() * 2 ** n);
      want.push([x, n]);
      w.writeWide(x, n);
    }
    w.align();
    const vals = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, 2 ** 50, 2 ** 53 - 1];
    for (const v of vals) w.writeVarint(v);
    for (const f of [Math.PI, -0, Infinity, 5e-324]) w.writeF64(f);
    const rd = new BitReader().reset(w.view(), 0, w.byteLength);
    for (const [x, n] of want) expect(rd.readWide(n)).toBe(x);
    rd.align();
    for (const v of vals) expect(rd.readVarint()).toBe(v);
    for (const f of [Math.PI, -0, Infinity, 5e-324]) expect(Object.is(rd.readF64(), f)).toBe(true);
    expect(rd.bad).toBe(false);
    expect(rd.remaining).toBe(0);

    const one = new BitWriter();
    one.writeBit(1);
    one.writeBits(0b0110, 4);
    one.align();
    one.writeVarint(300);
    expect([...one.view()]).toEqual([0b10110000, 0xac, 0x02]);
    one.reset();
    one.writeBits(1, 3);
    expect([...one.view()]).toEqual([0b00100000]);
  });

  test('window32/bitsAt read MSB-first and treat bytes past the buffer as zero', () => {
    const b = new Uint8Array([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc]);
    expect(window32(b, 0) >>> 0).toBe(0x12345678);
    expect(window32(b, 4) >>> 0).toBe(0x23456789);
    expect(window32(b, 12) >>> 0).toBe(0x456789ab);
    expect(window32(b, 20) >>> 0).toBe(0x6789abc0); // runs past the last byte: the bounds-checked path
    expect(window32(b, 40) >>> 0).toBe(0xbc000000);
    expect(window32(b, 4000)).toBe(0);
    expect(bitsAt(b, 4, 8)).toBe(0x23);
    expect(bitsAt(b, 0, 0)).toBe(0);
    expect(bitsAt(b, 0, 40)).toBe(0x123456789a);
    expect(bitsAt(new Uint8Array(8).fill(0xff), 3, 53)).toBe(2 ** 53 - 1);
  });

  test('the reader never reads past its end: it flags bad and returns 0', () => {
    const buf = new Uint8Array([0xff, 0xff, 0xff]);
    const rd = new BitReader().reset(buf, 1, 2);
    expect(rd.readBits(4)).toBe(15);
    expect(rd.readBits(8)).toBe(0);
    expect(rd.bad).toBe(true);
    expect(rd.readBit()).toBe(0);
    const v = new BitReader().reset(new Uint8Array(9).fill(0x80), 0, 9);
    expect(v.readVarint()).toBe(0); // 9 continuation bytes
    expect(v.bad).toBe(true);
    const big = new BitReader().reset(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), 0, 8);
    expect(big.readVarint()).toBe(0); // 2^56 - 1 ≥ 2^53
    expect(big.bad).toBe(true);
  });

  test('zigzag, bitLength', () => {
    expect([0, -1, 1, -2, 2].map(zigzag)).toEqual([0, 1, 2, 3, 4]);
    for (const x of [0, 1, -1, 2 ** 31, -(2 ** 31), 2 ** 51 - 1, -(2 ** 51)]) expect(unzigzag(zigzag(x))).toBe(x);
    for (let k = 0; k <= 53; k++) {
      expect(bitLength(2 ** k)).toBe(k + 1);
      expect(bitLength(2 ** k - 1)).toBe(k);
    }
  });
});

describe('crc32', () => {
  test('standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  test('slicing-by-8 equals the bit-at-a-time definition at every length and alignment', () => {
    const slow = (b: Uint8Array) => {
      let c = 0xffffffff;
      for (const x of b) {
        c ^= x;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      return (c ^ 0xffffffff) >>> 0;
    };
    const r = rng(4);
    const big = Uint8Array.from({ length: 300 }, () => Math.floor(r() * 256));
    for (let start = 0; start < 9; start++)
      for (let len = 0; len < 140; len++) expect(crc32(big.subarray(start, start + len))).toBe(slow(big.subarray(start, start + len)));
  });
});

describe('dec', () => {
  test('decExponent picks the smallest exact exponent, refuses what is not a short decimal', () => {
    const cases: [number, number][] = [
      [0, 0],
      [-0, 0],
      [42, 0],
      [-7, 0],
      [0.5, 1],
      [12.3, 1],
      [12.34, 2],
      [-0.01, 2],
      [1e-9, 9],
      [123456.789, 3],
      [2 ** 50 - 1, 0],
      [1 / 3, -1],
      [0.1 + 0.2, -1],
      [1e-10, -1],
      [2 ** 50, -1],
      [1e20, -1],
      [5e-324, -1],
      [Infinity, -1],
      [-Infinity, -1],
      [NaN, -1],
      [Math.fround(12.3), -1],
    ];
    for (const [v, e] of cases) expect([v, decExponent(v)]).toEqual([v, e]);
  });

  test('integer stream: every order round-trips; steady counters take delta-of-delta, noisy-rate ones deltas around a reference; the GCD is divided out', () => {
    const r = rng(2);
    const w = new BitWriter();
    const rd = new BitReader();
    const it = new IntIterator();
    const check = (x: Float64Array) => {
      w.reset();
      encodeInts(w, x, x.length);
      rd.reset(w.view(), 0, w.byteLength);
      expect(it.reset(rd, x.length)).toBe(true);
      for (let i = 0; i < x.length; i++) expect(it.next()).toBe(x[i]!);
      expect(rd.bad).toBe(false);
      rd.align();
      expect(rd.remaining).toBe(0);
      return { bytes: w.byteLength, order: w.view()[0]! & 3, width: w.view()[0]! >>> 2 };
    };
    for (let k = 0; k < 200; k++) {
      const n = 1 + Math.floor(r() * 300);
      const mag = 2 ** Math.floor(r() * 50);
      check(Float64Array.from({ length: n }, () => Math.round((r() * 2 - 1) * mag) + 0)); // + 0: no -0 (it comes back as 0)
    }
    check(Float64Array.from([2 ** 50 - 1, -(2 ** 50 - 1), 2 ** 50 - 1, 0, -(2 ** 50 - 1)]));
    check(new Float64Array([5]));
    check(new Float64Array([5, -3]));
    // Energy-like counter: +650 J ± a little each second → deltas minus a reference of ~650, 4 bits each.
    let e = 3.6e8;
    const counter = Float64Array.from({ length: 900 }, () => (e += 650 + Math.floor(r() * 5)));
    const c = check(counter);
    expect(c.order).toBe(1);
    expect(c.width).toBe(3);
    expect(c.bytes).toBe(1 + varintSize(zigzag(counter[0]!)) + 2 + 1 + Math.ceil((899 * 4) / 8)); // header, x0, ref ≈ 652, g, 899 × ('0' + 3 bits)
    // A perfectly linear counter costs 1 bit per value (b = 0).
    const lin = check(Float64Array.from({ length: 800 }, (_, i) => 1e12 + 7 * i));
    expect(lin.order).toBe(2);
    expect(lin.width).toBe(0);
    expect(lin.bytes).toBe(1 + varintSize(zigzag(1e12)) + 1 + 1 + Math.ceil(798 / 8)); // header, x0, d1, g, 798 one-bit zeros
    // Memory in MiB steps: GCD 2^20 makes a 1-MiB change cost a couple of bits.
    let m = 40 * 2 ** 30;
    const mem = Float64Array.from({ length: 900 }, (_, i) => (i % 30 === 0 ? (m += 2 ** 20 * Math.floor(r() * 8 - 4)) : m));
    const mm = check(mem);
    expect(mm.bytes).toBeLessThan(900 * 0.2);
  });

  test('DecAppender/DecIterator: exact decimals, refuses what dec cannot carry', () => {
    const a = new DecAppender();
    const vals = [12.5, 12.25, -3, 0.01, 99.99, 1e-9, 123456.5];
    for (const v of vals) expect(a.append(v)).toBe(true);
    expect(a.append(Infinity)).toBe(false);
    expect(a.append(1 / 3)).toBe(false);
    expect(a.length).toBe(vals.length);
    expect(a.seal()).toBe(true);
    expect(a.exponent).toBe(9);
    const w = new BitWriter();
    a.write(w);
    const rd = new BitReader().reset(w.view(), 0, w.byteLength);
    const it = new DecIterator();
    expect(it.reset(rd, vals.length)).toBe(true);
    for (const v of vals) expect(it.next()).toBe(v);
    expect(rd.bad).toBe(false);
    // Once the stream needs 9 decimals, 123456789.5 × 10^9 ≥ 2^50 no longer fits: refused, not rounded.
    expect(a.append(123456789.5)).toBe(false);
    a.reset();
    expect(a.append(123456789.5)).toBe(true);
    expect(a.seal() && a.exponent).toBe(1);
    expect(() => new DecAppender().write(new BitWriter())).toThrow();
  });
});

describe('xor', () => {
  test('XorAppender/XorIterator are lossless for every bit pattern but NaN payloads', () => {
    const r = rng(3);
    const f = new Float64Array(1),
      u = new Uint32Array(f.buffer);
    const vals: number[] = [
      0,
      -0,
      Infinity,
      -Infinity,
      5e-324,
      -5e-324,
      2.2250738585072014e-308,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      1,
      1,
      1 / 3,
      0.0123457,
      0.0123456,
    ];
    while (vals.length < 5000) {
      u[0] = Math.floor(r() * 2 ** 32);
      u[1] = Math.floor(r() * 2 ** 32);
      if (!Number.isNaN(f[0]!)) vals.push(r() < 0.5 ? f[0]! : vals[vals.length - 1]! * (1 + (r() - 0.5) * 1e-6));
    }
    const w = new BitWriter();
    const ap = new XorAppender().reset(w);
    for (const v of vals) ap.append(v);
    expect(ap.length).toBe(vals.length);
    const rd = new BitReader().reset(w.view(), 0, w.byteLength);
    const it = new XorIterator().reset(rd);
    for (const v of vals) expect(Object.is(it.next(), v)).toBe(true);
    expect(rd.bad).toBe(false);
    rd.align();
    expect(rd.remaining).toBe(0);
  });

  test('a slowly changing loss costs far less than 8 bytes a value', () => {
    const w = new BitWriter();
    const ap = new XorAppender().reset(w);
    for (let i = 0; i < 900; i++) ap.append(2.5 * Math.exp(-i / 300));
    expect(w.byteLength / 900).toBeLessThan(7.5);
    const wc = new BitWriter();
    const c = new XorAppender().reset(wc);
    for (let i = 0; i < 900; i++) c.append(0.1 + 0.2);
    expect(wc.byteLength).toBe(8 + Math.ceil(899 / 8));
  });
});

// ----------------------------------------------------------------------------------------------

type Gen = (r: () => number, n: number) => Float64Array;
const f64 = new Float64Array(1),
  u32 = new Uint32Array(f64.buffer);
const GENS: Record<string, Gen> = {
  int_noise: (r, n) => Float64Array.from({ length: n }, () => 95 + Math.floor(r() * 6)),
  zero_spikes: (r, n) => Float64Array.from({ length: n }, () => (r() < 0.03 ? Math.floor(r() * 100) : 0)),
  one_decimal: (r, n) => Float64Array.from({ length: n }, () => Math.round((600 + r() * 100) * 10) / 10),
  two_decimals: (r, n) => Float64Array.from({ length: n }, () => Math.round(r() * 10000) / 100),
  negative_decimals: (r, n) => Float64Array.from({ length: n }, () => Math.round((r() - 0.7) * 1e5) / 1000),
  nine_decimals: (r, n) => Float64Array.from({ length: n }, () => Math.round(r() * 1e9) / 1e9),
  bytes_mib: (r, n) => {
    let m = 8e10 - 2 ** 30;
    return Float64Array.from({ length: n }, () => (m += r() < 0.1 ? 2 ** 20 * Math.floor(r() * 64 - 32) : 0));
  },
  monotone: (r, n) => {
    let c = 1e12;
    return Float64Array.from({ length: n }, () => (c += 600 + Math.floor(r() * 100)));
  },
  noisy_big: (r, n) => Float64Array.from({ length: n }, () => Math.floor(r() * 1e10)),
  near_limit: (r, n) => Float64Array.from({ length: n }, () => (r() < 0.5 ? 1 : -1) * (2 ** 50 - 1 - Math.floor(r() * 1000))),
  beyond_limit: (r, n) => Float64Array.from({ length: n }, () => (r() < 0.5 ? 2 ** 50 : 2 ** 53 - 1) + Math.floor(r() * 10)),
  full_precision: (r, n) => Float64Array.from({ length: n }, (_, i) => 2 * Math.exp(-i / 500) + r() * 1e-3),
  thirds: (_r, n) => Float64Array.from({ length: n }, (_, i) => i / 3),
  specials: (r, n) => {
    const s = [Infinity, -Infinity, -0, 0, 5e-324, -5e-324, 1e308, -1e308, 1e-308, 2.5];
    return Float64Array.from({ length: n }, () => s[Math.floor(r() * s.length)]!);
  },
  inf_and_ints: (r, n) => Float64Array.from({ length: n }, () => (r() < 0.1 ? Infinity : Math.floor(r() * 10))),
  negzero_ints: (r, n) => Float64Array.from({ length: n }, () => (r() < 0.3 ? -0 : Math.floor(r() * 3))),
  huge_tiny: (r, n) => Float64Array.from({ length: n }, () => (r() < 0.5 ? 1e300 : 1e-300) * r()),
  random_bits: (r, n) =>
    Float64Array.from({ length: n }, () => {
      do {
        u32[0] = r() * 2 ** 32;
        u32[1] = r() * 2 ** 32;
      } while (Number.isNaN(f64[0]!));
      return f64[0]!;
    }),
  constant: (r, n) => new Float64Array(n).fill(Math.floor(r() * 1e6) / 100),
  constant_f64: (_r, n) => new Float64Array(n).fill(Math.PI),
  constant_inf: (_r, n) => new Float64Array(n).fill(-Infinity),
};
type Gaps = (r: () => number, v: Float64Array) => void;
const GAPS: Record<string, Gaps> = {
  none: () => {},
  leading: (r, v) => v.fill(NaN, 0, Math.floor(r() * v.length)),
  trailing: (r, v) => v.fill(NaN, Math.floor(r() * v.length)),
  alternating: (_r, v) => {
    for (let i = 0; i < v.length; i += 2) v[i] = NaN;
  },
  sparse: (r, v) => {
    for (let i = 0; i < v.length; i++) if (r() < 0.1) v[i] = NaN;
  },
  runs: (r, v) => {
    for (let i = 0; i < v.length; i++) if (r() < 0.01) v.fill(NaN, i, (i += Math.floor(r() * 100)));
  },
  all: (_r, v) => v.fill(NaN),
  one_present: (r, v) => {
    const k = Math.floor(r() * v.length);
    const x = v[k]!;
    v.fill(NaN);
    v[k] = x;
  },
};
type Times = (r: () => number, n: number) => Float64Array;
const TIMES: Record<string, Times> = {
  regular: (_r, n) => regular(n),
  regular_odd: (r, n) => regular(n, 1 + Math.floor(r() * 100_000), Math.floor(r() * 1e9)),
  jitter: (r, n) => {
    let t = T0;
    return Float64Array.from({ length: n }, () => (t += 1000 + Math.floor(r() * 7) - 3));
  },
  big_jumps: (r, n) => {
    let t = 0;
    return Float64Array.from({ length: n }, () => (t += r() < 0.05 ? 1 + Math.floor(r() * 1e9) : 1000));
  },
  near_max: (_r, n) => regular(n, 1000, MAX_TIME - 1 - (n - 1) * 1000),
  near_max_irregular: (r, n) => {
    const t = Float64Array.from({ length: n }, (_, i) => MAX_TIME - 1 - (n - 1 - i) * 1000);
    if (n > 2) t[1] = t[1]! - Math.floor(r() * 999);
    return t;
  },
};

describe('round trips', () => {
  test('seeded fuzz over value classes × gap patterns × timestamp layouts, raw and rollup, lengths 1..2000', () => {
    const r = rng(42);
    const gens = Object.entries(GENS),
      gaps = Object.entries(GAPS),
      times = Object.entries(TIMES);
    for (let k = 0; k < 600; k++) {
      const n = k < 40 ? 1 + (k % 4) : 1 + Math.floor(r() ** 2 * 2000);
      const [gn, gen] = gens[k % gens.length]!;
      const [pn, gap] = gaps[Math.floor(r() * gaps.length)]!;
      const [tn, time] = times[Math.floor(r() * times.length)]!;
      const v = gen(r, n);
      gap(r, v);
      const tt = time(r, n);
      // Every fifth case is a rollup whose four columns come from different classes and gap patterns.
      const c: Chunk =
        k % 5 !== 4
          ? raw(`fuzz.${gn}`, tt, v)
          : {
              tier: r() < 0.5 ? '1m' : '1h',
              key: `fuzz.${gn}`,
              t: tt,
              avg: v,
              min: (() => {
                const x = gens[(k + 3) % gens.length]![1](r, n);
                gap(r, x);
                return x;
              })(),
              max: gens[(k + 7) % gens.length]![1](r, n),
              count: Float64Array.from({ length: n }, () => (r() < 0.2 ? 0 : 60)),
            };
      try {
        roundTrip(c);
      } catch (e) {
        throw new Error(`case ${k} (${c.tier}, ${gn}, ${pn}, ${tn}, n=${n}): ${(e as Error).message}`);
      }
    }
  });

  test('edge shapes: empty, one sample, two samples, all NaN, non-ASCII key', () => {
    for (const n of [0, 1, 2, 3])
      roundTrip(
        raw(
          'gpu0.temp',
          regular(n),
          Float64Array.from({ length: n }, (_, i) => 40 + i),
        ),
      );
    const e = encodeChunk(raw('x', new Float64Array(0), new Float64Array(0)));
    expect(e.length).toBe(MIN_FRAME);
    const h = readHeader(e);
    expect(h.ok && h.value.n === 0 && Number.isNaN(h.value.t0) && Number.isNaN(h.value.t1)).toBe(true);
    roundTrip(raw('gpu0.fan', regular(900), new Float64Array(900).fill(NaN)));
    roundTrip(raw('host.温度.ключ', new Float64Array([0]), new Float64Array([NaN])));
    roundTrip(raw('k', new Float64Array([0, MAX_TIME - 1]), new Float64Array([1, 2])));
  });

  test('rollups with empty buckets (count 0 → NaN avg/min/max) and holes in time', () => {
    const r = rng(7);
    for (const tier of ['1m', '1h'] as const) {
      const step = TIER_STEP_MS[tier];
      const n = 200;
      const t = new Float64Array(n);
      let x = Math.floor(T0 / step) * step;
      for (let i = 0; i < n; i++) t[i] = x += step * (r() < 0.1 ? 2 + Math.floor(r() * 30) : 1);
      const count = Float64Array.from({ length: n }, () => (r() < 0.15 ? 0 : r() < 0.9 ? 60 : 1 + Math.floor(r() * 59)));
      const min = count.map((c) => (c ? quantize(40 + r() * 10) : NaN));
      const max = count.map((c, i) => (c ? quantize(min[i]! + r() * 20) : NaN));
      const avg = count.map((c, i) => (c ? (min[i]! + max[i]!) / 2 + r() / 7 : NaN)); // full precision means → xor
      const bytes = roundTrip({ tier, key: 'gpu0.temp', t, avg, min, max, count });
      const d = decodeChunk(bytes);
      expect(d.ok && d.value.tier === tier && Number.isNaN((d.value as RollupChunk).avg[count.indexOf(0)]!)).toBe(true);
    }
    const n = 60,
      t = regular(n, 60_000, 0);
    const all = roundTrip({
      tier: '1m',
      key: 'k',
      t,
      avg: new Float64Array(n).fill(NaN),
      min: new Float64Array(n).fill(NaN),
      max: new Float64Array(n).fill(NaN),
      count: new Float64Array(n),
    });
    expect(all.length).toBeLessThan(40);
  });

  test('-0 comes back as 0 from dec and const streams, bit-exact from xor', () => {
    const t = regular(3);
    const dec = decodeChunk(encodeChunk(raw('k', t, new Float64Array([-0, 1, 2]))));
    expect(dec.ok && Object.is((dec.value as RawChunk).v[0], 0)).toBe(true);
    const xor = decodeChunk(encodeChunk(raw('k', t, new Float64Array([-0, 1 / 3, 2]))));
    expect(xor.ok && Object.is((xor.value as RawChunk).v[0], -0)).toBe(true);
  });
});

describe('byte layout (FORMAT.md)', () => {
  test('a hand-assembled frame matches encodeChunk byte for byte', () => {
    // raw, key "k", 3 samples every 1000 ms from t0 = 1000, value 7 constant.
    const body = [
      0x67,
      0x63,
      0x01,
      0,
      0,
      0,
      0, // magic "gc", version 1, length (patched)
      0x00, // flags: tier raw, regular
      0x01,
      0x6b, // key length 1, "k"
      0x03, // n = 3
      0xe8,
      0x07, // t0 = 1000
      0xe8,
      0x07, // interval 1000
      0x01, // stream tag: CONST, no gaps
      0x00,
      0x0e, // exponent 0, zigzag(7) = 14
    ];
    const size = body.length + 4;
    body[3] = size;
    const want = new Uint8Array([...body, 0, 0, 0, 0]);
    new DataView(want.buffer).setUint32(size - 4, crc32(want.subarray(0, size - 4)), true);
    expect([...encodeChunk(raw('k', new Float64Array([1000, 2000, 3000]), new Float64Array([7, 7, 7])))]).toEqual([...want]);
    expect([...want.subarray(18)]).toEqual([0x24, 0x83, 0x49, 0x78]); // the CRC printed in FORMAT.md's example
  });

  test('irregular timestamps, presence map and dec stream, byte for byte', () => {
    // t = 0, 10, 30 (deltas 10, 20); v = NaN, 1.5, 2.
    const body = [
      0x67,
      0x63,
      0x01,
      0,
      0,
      0,
      0,
      0x04, // flags: raw, irregular
      0x01,
      0x6b,
      0x03,
      0x00, // key "k", n = 3, t0 = 0
      30, // span t1 - t0
      // deltas [10, 20] as an integer stream: order 2 is cheapest (two warm-ups, no residuals):
      0x02,
      20,
      20, // order 2, width 0; zigzag(x0 = 10), zigzag(d1 = 10)
      0x02 | 0x08, // value stream: DEC with a presence map
      0,
      1,
      2, // runs: 0 present, 1 absent, 2 present
      0x01, // exponent 1: ints [15, 20]
      0x02,
      30,
      10, // order 2; zigzag(15), zigzag(5)
    ];
    body[3] = body.length + 4;
    const want = withCrc(new Uint8Array([...body, 0, 0, 0, 0]));
    expect([...encodeChunk(raw('k', new Float64Array([0, 10, 30]), new Float64Array([NaN, 1.5, 2])))]).toEqual([...want]);
    // Bit-packed residuals. ints 50 52 48 50 51; the planner's costs in bits: order 0 (ref 50, residuals
    // 0 2 -2 0 1, zigzag 0 4 3 0 2, width 3) 44; order 1 (ref 1) 52; order 2 47.
    const got = encodeChunk(raw('k', regular(5), new Float64Array([50, 52, 48, 50, 51])));
    const s = streamOffset('k', 5, T0, 1000);
    expect([...got.subarray(s, got.length - 4)]).toEqual([
      0x02,
      0x00, // DEC, exponent 0
      0x00 | (3 << 2), // order 0, width 3
      100, // zigzag(ref 50)
      1, // GCD
      0b00000100,
      0b00110000,
      0b00100000, // '0'+000 '0'+100 '0'+011 '0'+000 '0'+010, zero padding
    ]);
  });

  test('encodings chosen per stream: const, dec, xor, all-NaN; constants cost a few bytes', () => {
    const n = 900,
      t = regular(n);
    const tag = (key: string, v: Float64Array) => encodeChunk(raw(key, t, v))[streamOffset(key, n, T0, 1000)]!;
    expect(tag('a', new Float64Array(n).fill(85899345920))).toBe(0x01);
    expect(tag('a', new Float64Array(n).fill(1 / 3))).toBe(0x01);
    expect(
      tag(
        'a',
        Float64Array.from({ length: n }, (_, i) => quantize(600 + Math.sin(i) * 40)),
      ),
    ).toBe(0x02);
    expect(
      tag(
        'a',
        Float64Array.from({ length: n }, (_, i) => 2 * Math.exp(-i / 300)),
      ),
    ).toBe(0x03);
    expect(
      tag(
        'a',
        Float64Array.from({ length: n }, (_, i) => (i % 2 ? NaN : 1 / (i + 1))),
      ),
    ).toBe(0x03 | 0x08);
    expect(tag('a', new Float64Array(n).fill(NaN))).toBe(0x00);
    // mem.total: prefix 7, flags 1, key 1+13, n 2, t0 6, interval 2, tag 1, exponent 1, zigzag varint 6, CRC 4.
    const c = encodeChunk(raw('gpu0.mem.total', t, new Float64Array(n).fill(85899345920)));
    expect(c.length).toBe(7 + 1 + 1 + 14 + 2 + 6 + 2 + 1 + 1 + 6 + 4);
    const pi = encodeChunk(raw('k', t, new Float64Array(n).fill(Math.PI)));
    expect(pi.length).toBe(7 + 1 + 1 + 1 + 2 + 6 + 2 + 1 + 1 + 8 + 4);
  });

  test('sizes for typical 900-sample series stay small', () => {
    const r = rng(9),
      n = 900,
      t = regular(n);
    const size = (v: Float64Array) => encodeChunk(raw('gpu0.x', t, v)).length / n;
    expect(size(Float64Array.from({ length: n }, () => 95 + Math.floor(r() * 6)))).toBeLessThan(0.55);
    expect(size(Float64Array.from({ length: n }, () => quantize(600 + r() * 40)))).toBeLessThan(1.5);
    let e = 4e8;
    expect(size(Float64Array.from({ length: n }, () => (e += 600 + Math.floor(r() * 20))))).toBeLessThan(0.8);
    let tc = 55;
    expect(size(Float64Array.from({ length: n }, () => (tc += r() < 0.05 ? (r() < 0.5 ? -1 : 1) : 0)))).toBeLessThan(0.25);
  });
});

describe('quantize()', () => {
  test('same rule as wireNum; non-finite → NaN; -0 → 0; always a ≤ 2-decimal dec value', () => {
    const r = rng(11);
    for (let i = 0; i < 20000; i++) {
      const v = (r() - 0.5) * 10 ** Math.floor(r() * 12 - 4);
      const q = quantize(v);
      expect(q).toBe(wireNum(v)! + 0);
      const e = decExponent(q);
      expect(e >= 0 && e <= 2).toBe(true);
      expect(quantize(q)).toBe(q);
    }
    expect(Number.isNaN(quantize(NaN))).toBe(true);
    expect(Number.isNaN(quantize(Infinity))).toBe(true);
    expect(Number.isNaN(quantize(-Infinity))).toBe(true);
    expect(Object.is(quantize(-0.001), 0)).toBe(true);
    expect(Object.is(quantize(-0), 0)).toBe(true);
    expect(quantize(12.345)).toBe(12.35);
    expect(quantize(123.45)).toBe(123.5);
    expect(quantize(1234.5)).toBe(1235);
    expect(quantize(Math.fround(12.3))).toBe(12.3);
  });
});

describe('encodeChunk() rejects programming errors', () => {
  const t = regular(3),
    v = new Float64Array(3);
  test.each([
    ['decreasing t', () => raw('k', new Float64Array([3, 2, 1]), v)],
    ['repeated t', () => raw('k', new Float64Array([1, 1, 2]), v)],
    ['fractional t', () => raw('k', new Float64Array([1, 1.5, 2]), v)],
    ['negative t', () => raw('k', new Float64Array([-1, 1, 2]), v)],
    ['NaN t', () => raw('k', new Float64Array([1, NaN, 2]), v)],
    ['t beyond 2^50', () => raw('k', new Float64Array([1, 2, MAX_TIME]), v)],
    ['empty key', () => raw('', t, v)],
    ['length mismatch', () => raw('k', t, new Float64Array(2))],
    ['rollup column mismatch', () => ({ tier: '1m', key: 'k', t, avg: v, min: v, max: v, count: new Float64Array(4) }) as Chunk],
    ['unknown tier', () => ({ tier: '5m', key: 'k', t, v }) as unknown as Chunk],
    ['inherited property as tier', () => ({ tier: 'toString', key: 'k', t, v }) as unknown as Chunk],
    ['too many samples', () => raw('k', regular(MAX_SAMPLES + 1, 1, 0), new Float64Array(MAX_SAMPLES + 1))],
  ])('%s', (_name, make) => expect(() => encodeChunk(make())).toThrow());
});

// ----------------------------------------------------------------------------------------------

/** A frame that exercises every stream kind: irregular time, gaps, dec, xor (rollup). */
function richFrame(): Uint8Array {
  const r = rng(5),
    n = 40;
  const t = new Float64Array(n);
  let x = T0;
  for (let i = 0; i < n; i++) t[i] = x += 60_000 * (r() < 0.2 ? 3 : 1);
  const count = Float64Array.from({ length: n }, (_, i) => (i % 9 === 4 ? 0 : 60));
  const min = count.map((c) => (c ? quantize(30 + r() * 5) : NaN));
  const max = count.map((c) => (c ? quantize(60 + r() * 5) : NaN));
  const avg = count.map((c) => (c ? 45 + r() : NaN));
  return encodeChunk({ tier: '1m', key: 'gpu3.power', t, avg, min, max, count });
}
const withCrc = (b: Uint8Array) => {
  new DataView(b.buffer, b.byteOffset).setUint32(b.length - 4, crc32(b.subarray(0, b.length - 4)), true);
  return b;
};
const KINDS = ['truncated', 'bad_magic', 'bad_version', 'checksum', 'corrupt'];
/** 'ok' or the error kind: one value to assert on. */
const kindOf = (d: Decoded<unknown>) => (d.ok ? 'ok' : d.error.kind);

describe('hostile input: typed errors, never a throw', () => {
  const frame = richFrame();
  const size = frame.length;

  test('the rich frame itself is valid', () => {
    const d = decodeChunk(frame);
    expect(d.ok).toBe(true);
    expect(frame[7]).toBe(0x01 | 0x04); // 1m, irregular
  });

  test('random bytes', () => {
    const r = rng(13);
    for (let k = 0; k < 3000; k++) {
      const b = Uint8Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256));
      if (k % 3 === 0 && b.length >= 7) {
        b[0] = 0x67;
        b[1] = 0x63;
        b[2] = 1;
      } // get past the magic
      if (k % 6 === 0 && b.length >= 7) new DataView(b.buffer).setUint32(3, b.length, true); // and the length
      const d = decodeChunk(b);
      const h = readHeader(b);
      expect(d.ok).toBe(false);
      expect(h.ok).toBe(false);
      if (!d.ok) expect(KINDS).toContain(d.error.kind);
      expect([...splitChunks(b)].length).toBeLessThanOrEqual(1);
    }
  });

  test('every truncation is "truncated"', () => {
    for (let k = 0; k < size; k++) {
      const d = decodeChunk(frame.subarray(0, k));
      expect(kindOf(d)).toBe('truncated');
      expect(readHeader(frame.slice(0, k)).ok).toBe(false);
    }
  });

  test('every single-bit flip is caught, with the kind its position implies', () => {
    for (let bit = 0; bit < size * 8; bit++) {
      const b = frame.slice();
      b[bit >>> 3]! ^= 0x80 >>> (bit & 7);
      const d = decodeChunk(b);
      const byte = bit >>> 3;
      let want = 'checksum';
      if (byte < 2) want = 'bad_magic';
      else if (byte === 2) want = 'bad_version';
      else if (byte < 7) {
        const len = new DataView(b.buffer).getUint32(3, true);
        want = len < MIN_FRAME ? 'corrupt' : len > size ? 'truncated' : 'checksum';
      }
      expect([bit, kindOf(d)]).toEqual([bit, want]);
    }
  });

  test('a lying length field', () => {
    const longer = frame.slice();
    new DataView(longer.buffer).setUint32(3, size + 1, true);
    expect(kindOf(decodeChunk(longer))).toBe('truncated');
    const tiny = frame.slice();
    new DataView(tiny.buffer).setUint32(3, 3, true);
    const dt = decodeChunk(tiny);
    expect(kindOf(dt)).toBe('corrupt');
    const shorter = frame.slice();
    new DataView(shorter.buffer).setUint32(3, size - 1, true);
    const ds = decodeChunk(shorter);
    expect(kindOf(ds)).toBe('checksum');
    // The same short length with a CRC that matches it: the payload no longer parses.
    const forged = frame.slice(0, size - 1);
    new DataView(forged.buffer).setUint32(3, size - 1, true);
    const df = decodeChunk(withCrc(forged));
    expect(kindOf(df)).toBe('corrupt');
  });

  test('valid CRC over a corrupted payload: "corrupt" or an in-bounds decode', () => {
    const r = rng(17);
    let corrupt = 0,
      decoded = 0;
    // Three shapes: the rollup above; raw xor with gaps and jittered time; dec with > 32-bit residuals.
    const xorFrame = encodeChunk(
      raw(
        'x',
        TIMES.jitter!(r, 60),
        Float64Array.from({ length: 60 }, (_, i) => (i % 9 === 0 ? NaN : Math.sin(i) * 1e3)),
      ),
    );
    const wide = () => Math.floor(r() * 2 ** 26) * 2 ** 24 + Math.floor(r() * 2 ** 24) - 2 ** 49; // all 50 bits random (r() alone has 32)
    const wideFrame = encodeChunk(raw('w', regular(60), Float64Array.from({ length: 60 }, wide)));
    expect(wideFrame[streamOffset('w', 60, T0, 1000) + 2]! >>> 2).toBeGreaterThan(32); // the integer stream's width
    const check = (b: Uint8Array) => {
      const d = decodeChunk(withCrc(b));
      if (!d.ok) {
        expect(d.error.kind).toBe('corrupt');
        corrupt++;
        return;
      }
      decoded++;
      expect(d.size).toBe(b.length);
      const c = d.value;
      const n = c.t.length;
      for (let i = 1; i < n; i++) expect(c.t[i]! > c.t[i - 1]!).toBe(true);
      if (c.tier === 'raw') expect(c.v.length).toBe(n);
      else for (const col of [c.avg, c.min, c.max, c.count]) expect(col.length).toBe(n);
    };
    const tally: [number, number][] = [];
    for (const f of [frame, xorFrame, wideFrame]) {
      corrupt = decoded = 0;
      // Every byte of header and body set to a few values, CRC recomputed.
      for (let i = 7; i < f.length - 4; i++)
        for (const x of [0x00, 0xff, 0x80, 0x7f, f[i]! ^ 1, f[i]! ^ 0x10]) {
          const b = f.slice();
          b[i] = x;
          check(b);
        }
      // Random multi-byte damage.
      for (let k = 0; k < 1500; k++) {
        const b = f.slice();
        const hits = 1 + Math.floor(r() * 4);
        for (let j = 0; j < hits; j++) b[7 + Math.floor(r() * (f.length - 11))] = Math.floor(r() * 256);
        check(b);
      }
      tally.push([corrupt, decoded]);
    }
    // The structured rollup frame catches most damage itself; dense bit-packed payloads (xor, wide
    // residuals) have little redundancy, so there a changed value is often all that can happen.
    expect(tally[0]![0]).toBeGreaterThan(tally[0]![1]);
    for (const [c] of tally) expect(c).toBeGreaterThan(100);
  });

  test('forged headers: huge n, bad UTF-8 key, reserved flags, offsets and non-buffers', () => {
    const frameOf = (bytes: number[]) => {
      const b = new Uint8Array([0x67, 0x63, 1, 0, 0, 0, 0, ...bytes, 0, 0, 0, 0]);
      new DataView(b.buffer).setUint32(3, b.length, true);
      return withCrc(b);
    };
    const varint = (x: number) => {
      const o: number[] = [];
      while (x >= 128) {
        o.push((x % 128) | 128);
        x = Math.floor(x / 128);
      }
      o.push(x);
      return o;
    };
    // MAX_SAMPLES samples of a constant: legal, all zero payload.
    const big = decodeChunk(frameOf([0, 1, 0x6b, ...varint(MAX_SAMPLES), 0, 1, 0x01, 0, 2]));
    expect(big.ok && big.value.t.length === MAX_SAMPLES && (big.value as RawChunk).v[MAX_SAMPLES - 1] === 1).toBe(true);
    const tooBig = decodeChunk(frameOf([0, 1, 0x6b, ...varint(MAX_SAMPLES + 1), 0, 1, 0x01, 0, 2]));
    expect(kindOf(tooBig)).toBe('corrupt');
    const badKey = decodeChunk(frameOf([0, 2, 0xc3, 0x28, 1, 0, 0x01, 0, 2]));
    expect(kindOf(badKey)).toBe('corrupt');
    const good = decodeChunk(frameOf([0, 2, 0xc3, 0xa9, 1, 0, 0x01, 0, 2]));
    expect(good.ok && good.value.key).toBe('é');
    for (const flags of [0x03, 0x08, 0x80, 0x04 /* irregular with n = 1 */]) {
      const d = decodeChunk(frameOf([flags, 1, 0x6b, 1, 0, 0x01, 0, 2]));
      expect(kindOf(d)).toBe('corrupt');
    }
    // Regular with interval 0, and t1 past 2^50.
    for (const bytes of [
      [0, 1, 0x6b, 2, 0, 0, 0x01, 0, 2],
      [0, 1, 0x6b, 2, ...varint(MAX_TIME - 1), 1, 0x01, 0, 2],
    ]) {
      const d = decodeChunk(frameOf(bytes));
      expect(kindOf(d)).toBe('corrupt');
    }
    // Presence map whose runs overrun n, or claim all present; tags with reserved bits.
    for (const stream of [[0x09, 0, 5, 0, 2], [0x09, 3, 0, 2], [0x09, 0, 0, 3, 0, 2], [0x11, 0, 2], [0x07], [0x08]]) {
      const d = decodeChunk(frameOf([0, 1, 0x6b, 3, 0, 1, ...stream]));
      expect([stream, kindOf(d)]).toEqual([stream, 'corrupt']);
    }
    // Trailing bytes after the last stream.
    const extra = decodeChunk(frameOf([0, 1, 0x6b, 1, 0, 0x01, 0, 2, 0]));
    expect(kindOf(extra)).toBe('corrupt');
    const f = encodeChunk(raw('k', regular(3), new Float64Array([1, 2, 3])));
    for (const off of [-1, 1.5, NaN, f.length + 1]) {
      const d = decodeChunk(f, off);
      expect(kindOf(d)).toBe('truncated');
    }
    expect(decodeChunk(f, f.length).ok).toBe(false);
    const notBuf = decodeChunk([1, 2, 3] as unknown as Uint8Array);
    expect(kindOf(notBuf)).toBe('corrupt');
    const wrongVersion = f.slice();
    wrongVersion[2] = 2;
    const dv = readHeader(wrongVersion);
    expect(kindOf(dv)).toBe('bad_version');
  });
});

describe('readHeader() / splitChunks()', () => {
  const r = rng(23);
  const chunks: Chunk[] = [
    raw(
      'gpu0.util',
      regular(900),
      Float64Array.from({ length: 900 }, () => Math.floor(r() * 100)),
    ),
    raw(
      'host.uptime',
      TIMES.jitter!(r, 50),
      Float64Array.from({ length: 50 }, (_, i) => 1000 + i),
    ),
    raw('empty', new Float64Array(0), new Float64Array(0)),
    {
      tier: '1h',
      key: 'gpu0.power',
      t: regular(24, 3_600_000, 0),
      avg: new Float64Array(24).fill(1 / 3),
      min: new Float64Array(24).fill(1),
      max: new Float64Array(24).fill(2),
      count: new Float64Array(24).fill(3600),
    },
    raw('one', new Float64Array([5]), new Float64Array([NaN])),
  ];
  const frames = chunks.map(encodeChunk);
  const total = frames.reduce((s, f) => s + f.length, 0);
  // Lay them out inside a larger buffer at a non-zero byteOffset, as a network read would.
  const backing = new Uint8Array(total + 16);
  const joined = backing.subarray(5, 5 + total);
  let o = 0;
  const offsets: number[] = [];
  for (const f of frames) {
    offsets.push(o);
    joined.set(f, o);
    o += f.length;
  }
  const want = (c: Chunk, size: number): ChunkHeader => ({
    tier: c.tier,
    key: c.key,
    n: c.t.length,
    t0: c.t.length ? c.t[0]! : NaN,
    t1: c.t.length ? c.t[c.t.length - 1]! : NaN,
    size,
  });

  test('yields each frame in order with its header and offset, decodable in place', () => {
    const got = [...splitChunks(joined)];
    expect(got.length).toBe(chunks.length);
    got.forEach((g, i) => {
      expect('header' in g).toBe(true);
      if (!('header' in g)) return;
      expect(g.offset).toBe(offsets[i]!);
      expect(g.header).toEqual(want(chunks[i]!, frames[i]!.length));
      const h = readHeader(joined, g.offset);
      expect(h.ok && h.size).toBe(frames[i]!.length);
      const d = decodeChunk(joined, g.offset);
      expect(d.ok).toBe(true);
      if (d.ok) {
        expect(d.size).toBe(frames[i]!.length);
        expectSameValues(d.value.t, chunks[i]!.t, 't');
      }
    });
    expect([...splitChunks(new Uint8Array(0))]).toEqual([]);
  });

  test('stops at the first bad frame with one error', () => {
    const tail = new Uint8Array(total + 3);
    tail.set(joined);
    tail.set([1, 2, 3], total);
    const got = [...splitChunks(tail)];
    expect(got.length).toBe(chunks.length + 1);
    expect(got[chunks.length]).toEqual({ offset: total, error: { kind: 'bad_magic', message: expect.any(String) } });
    const cut = [...splitChunks(joined.subarray(0, total - 1))];
    expect(cut.length).toBe(chunks.length);
    const last = cut[cut.length - 1]!;
    expect('error' in last && last.error.kind).toBe('truncated');
    expect(last.offset).toBe(offsets[offsets.length - 1]!);
    const flipped = joined.slice();
    flipped[offsets[2]! + 9]! ^= 1;
    const f = [...splitChunks(flipped)];
    expect(f.length).toBe(3);
    expect('error' in f[2]! && f[2].error.kind).toBe('checksum');
  });
});

describe('decoding into reused buffers', () => {
  test('gives the same values as fresh arrays, for raw and rollup chunks one after another', () => {
    const bufs = new ChunkBuffers();
    const t = Float64Array.from({ length: 900 }, (_, i) => 1_800_000_000_000 + i * 1000);
    const raw = encodeChunk({ tier: 'raw', key: 'a', t, v: Float64Array.from(t, (_, i) => (i % 7 ? i / 4 : NaN)) });
    const t2 = t.subarray(0, 5);
    const roll = encodeChunk({
      tier: '1m',
      key: 'b',
      t: t2,
      avg: Float64Array.of(1, 2, NaN, 4, 5),
      min: Float64Array.of(0, 1, NaN, 3, 4),
      max: Float64Array.of(2, 3, NaN, 5, 6),
      count: Float64Array.of(60, 60, 0, 60, 59),
    });
    for (const frame of [raw, roll, raw]) {
      const a = decodeChunk(frame),
        b = decodeChunk(frame, 0, bufs);
      if (!a.ok || !b.ok) throw new Error('decode failed');
      const plain = (c: Chunk) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v instanceof Float64Array ? Array.from(v) : v]));
      expect(plain(b.value)).toEqual(plain(a.value));
    }
    const first = decodeChunk(raw, 0, bufs);
    const second = decodeChunk(roll, 0, bufs);
    if (!first.ok || !second.ok) throw new Error('decode failed');
    expect(first.value.t.buffer).toBe(second.value.t.buffer); // the same memory, reused
  });
});
