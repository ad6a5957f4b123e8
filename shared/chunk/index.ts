/** The compressed chunk codec shared by the agent (disk, wire) and the PWA (IndexedDB). Format: FORMAT.md. */
export {
  type Chunk,
  type ChunkError,
  type ChunkErrorKind,
  type ChunkHeader,
  type Decoded,
  type RawChunk,
  type RollupChunk,
  type Tier,
  ChunkBuffers,
  decodeChunk,
  encodeChunk,
  MAGIC,
  MAX_SAMPLES,
  MAX_TIME,
  MIN_FRAME,
  quantize,
  readHeader,
  splitChunks,
  TIER_STEP_MS,
  VERSION,
} from './chunk.ts';
export { BitReader, BitWriter, bitLength, bitsAt, unzigzag, varintSize, window32, zigzag } from './bits.ts';
export { crc32 } from './crc32.ts';
export { DecAppender, DecIterator, decExponent, encodeInts, IntIterator, MAX_DEC_INT, MAX_EXP } from './dec.ts';
export { XorAppender, XorIterator } from './xor.ts';
