/**
 * A group: every series' chunk for one sealed window of one tier, written with one write().
 *
 *   "GPLG" | u32 dirLen | dir (dirLen bytes) | u32 crc32(dir) | chunk frames …
 *   dir = u8 version (1) | u8 tier (0 raw, 1 1m, 2 1h) | f64 windowStart | f64 first | f64 last
 *       | u32 rows | u32 nChunks | nChunks × (u16 keyLen | key UTF-8 | u32 chunkLen)
 *
 * The directory lets a reader fetch one series' chunk with one pread instead of scanning the
 * window; each chunk still carries its own key and CRC (it is the same frame the wire and the
 * browser keep), so a corrupt chunk costs only that chunk, and a corrupt directory costs only
 * its group (the scan resynchronises on the next magic). All integers little-endian.
 */
import type { Tier } from '../../shared/chunk/index.ts';
import { crc32 } from '../../shared/chunk/crc32.ts';

export const GROUP_MAGIC = 0x474c5047; // "GPLG" read as a little-endian u32
const TIER_CODE: Record<Tier, number> = { raw: 0, '1m': 1, '1h': 2 };
const CODE_TIER: Tier[] = ['raw', '1m', '1h'];
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export interface GroupDir {
  tier: Tier;
  windowStart: number;
  /** Times of the first and last row (or bucket) in the group. */
  first: number;
  last: number;
  rows: number;
  /** Key → [offset from the group start, length] of its chunk frame. */
  chunks: Map<string, [number, number]>;
  /** Bytes of the whole group: header, directory, CRC and chunks. */
  size: number;
}

/** Serializes a sealed window: the bytes of one append. */
export function encodeGroup(
  tier: Tier,
  windowStart: number,
  first: number,
  last: number,
  rows: number,
  chunks: { key: string; bytes: Uint8Array }[],
): Uint8Array {
  const keys = chunks.map((c) => enc.encode(c.key));
  const dirLen = 2 + 8 * 3 + 4 + 4 + keys.reduce((s, k) => s + 2 + k.length + 4, 0);
  const dataLen = chunks.reduce((s, c) => s + c.bytes.length, 0);
  const out = new Uint8Array(8 + dirLen + 4 + dataLen);
  const v = new DataView(out.buffer);
  v.setUint32(0, GROUP_MAGIC, true);
  v.setUint32(4, dirLen, true);
  let o = 8;
  v.setUint8(o++, 1);
  v.setUint8(o++, TIER_CODE[tier]);
  v.setFloat64(o, windowStart, true);
  o += 8;
  v.setFloat64(o, first, true);
  o += 8;
  v.setFloat64(o, last, true);
  o += 8;
  v.setUint32(o, rows, true);
  o += 4;
  v.setUint32(o, chunks.length, true);
  o += 4;
  chunks.forEach((c, i) => {
    const k = keys[i]!;
    v.setUint16(o, k.length, true);
    o += 2;
    out.set(k, o);
    o += k.length;
    v.setUint32(o, c.bytes.length, true);
    o += 4;
  });
  v.setUint32(o, crc32(out.subarray(8, 8 + dirLen)), true);
  o += 4;
  for (const c of chunks) {
    out.set(c.bytes, o);
    o += c.bytes.length;
  }
  return out;
}

export type DirResult = { ok: true; dir: GroupDir } | { ok: false; reason: 'truncated' | 'bad_magic' | 'checksum' | 'corrupt'; need?: number };

/** Bytes needed to know a group's directory length. */
export const GROUP_PREFIX = 8;

/** Length of the directory+CRC that follows the 8-byte prefix, or null if the prefix is not a group. */
export function dirLength(prefix: Uint8Array): number | null {
  if (prefix.length < GROUP_PREFIX) return null;
  const v = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (v.getUint32(0, true) !== GROUP_MAGIC) return null;
  const n = v.getUint32(4, true);
  // A directory of a million series would be 30 MB: anything near that is a corrupt length.
  return n >= 34 && n <= 8 << 20 ? n : null;
}

/** Parses a group's prefix + directory + CRC (bytes [0, 8 + dirLen + 4) of the group). Never throws. */
export function parseDir(b: Uint8Array): DirResult {
  const dirLen = dirLength(b);
  if (dirLen === null) return { ok: false, reason: b.length < GROUP_PREFIX ? 'truncated' : 'bad_magic' };
  if (b.length < 8 + dirLen + 4) return { ok: false, reason: 'truncated', need: 8 + dirLen + 4 };
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint32(8 + dirLen, true) !== crc32(b.subarray(8, 8 + dirLen))) return { ok: false, reason: 'checksum' };
  try {
    let o = 8;
    if (v.getUint8(o++) !== 1) return { ok: false, reason: 'corrupt' };
    const tier = CODE_TIER[v.getUint8(o++)];
    if (!tier) return { ok: false, reason: 'corrupt' };
    const windowStart = v.getFloat64(o, true);
    o += 8;
    const first = v.getFloat64(o, true);
    o += 8;
    const last = v.getFloat64(o, true);
    o += 8;
    const rows = v.getUint32(o, true);
    o += 4;
    const n = v.getUint32(o, true);
    o += 4;
    const end = 8 + dirLen;
    const chunks = new Map<string, [number, number]>();
    let at = end + 4;
    for (let i = 0; i < n; i++) {
      if (o + 2 > end) return { ok: false, reason: 'corrupt' };
      const kl = v.getUint16(o, true);
      o += 2;
      if (o + kl + 4 > end) return { ok: false, reason: 'corrupt' };
      const key = dec.decode(b.subarray(o, o + kl));
      o += kl;
      const len = v.getUint32(o, true);
      o += 4;
      chunks.set(key, [at, len]);
      at += len;
    }
    if (!Number.isFinite(first) || !Number.isFinite(last) || first > last) return { ok: false, reason: 'corrupt' };
    return { ok: true, dir: { tier, windowStart, first, last, rows, chunks, size: at } };
  } catch {
    return { ok: false, reason: 'corrupt' };
  }
}
