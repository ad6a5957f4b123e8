/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, init and final XOR 0xFFFFFFFF), the same
 * checksum as zlib/PNG/gzip, so a frame can be checked with any standard tool. The byte-at-a-time
 * table loop is the one from cli/store/persist.ts; long inputs go through "slicing-by-8" (eight
 * derived tables, eight bytes per step), about 3× faster in JSC/V8 — the CRC runs over every frame
 * before it is decoded, so it would otherwise cost a noticeable share of the decode.
 */
const TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  // t[k·256 + n] = CRC of byte n followed by k zero bytes.
  for (let k = 1; k < 8; k++)
    for (let n = 0; n < 256; n++) {
      const p = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = (p >>> 8) ^ t[p & 0xff]!;
    }
  return t;
})();
const CRC_TABLE = TABLES.subarray(0, 256);

/** CRC-32 of `b` (pass a subarray for a range): an unsigned 32-bit integer. */
export function crc32(b: Uint8Array): number {
  const T = TABLES;
  let c = 0xffffffff;
  let i = 0;
  const n8 = b.length - 7;
  for (; i < n8; i += 8) {
    const a = c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
    const h = b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | (b[i + 7]! << 24);
    c =
      T[1792 + (a & 0xff)]! ^
      T[1536 + ((a >>> 8) & 0xff)]! ^
      T[1280 + ((a >>> 16) & 0xff)]! ^
      T[1024 + (a >>> 24)]! ^
      T[768 + (h & 0xff)]! ^
      T[512 + ((h >>> 8) & 0xff)]! ^
      T[256 + ((h >>> 16) & 0xff)]! ^
      T[h >>> 24]!;
  }
  for (; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
