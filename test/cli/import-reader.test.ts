/**
 * The import's sequential reader (cli/import/bytes.ts StreamReader): what parsers keep survives
 * every fill, the file comes back byte for byte, and the end of the file leaves the buffer alone.
 */
import { describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileFormatError, MAX_RECORD_BYTES, StreamReader } from '../../cli/import/bytes.ts';
import { tmp } from '../helpers.ts';

/** Deterministic bytes (a linear congruential sequence), so a misplaced chunk cannot go unseen. */
function bytesOf(n: number, seed = 7): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe('import reader', () => {
  test('consuming in uneven steps and keeping uneven tails, the file comes back byte for byte', async () => {
    const data = bytesOf((3 << 20) + 12345);
    const path = join(tmp(), 'f.bin');
    writeFileSync(path, data);
    const r = new StreamReader(path);
    const got = new Uint8Array(data.length);
    let n = 0,
      step = 0;
    try {
      for (;;) {
        // Consume part of what is buffered, as a parser does up to the start of a record it cannot finish.
        const take = Math.min(r.end - r.pos, 1000 + ((step++ * 7919) % 300_000));
        got.set(r.buf.subarray(r.pos, r.pos + take), n);
        expect(r.at(r.pos)).toBe(n);
        n += take;
        r.pos += take;
        if (r.pos < r.end) continue;
        if (!(await r.fill(r.pos))) break;
      }
    } finally {
      r.close();
    }
    expect(n).toBe(data.length);
    expect(Buffer.from(got).equals(Buffer.from(data))).toBe(true);
  });

  test('a kept record larger than the buffer grows it; at the end of the file the buffer and positions stay as they were', async () => {
    const data = bytesOf(5 << 20, 11);
    const path = join(tmp(), 'f.bin');
    writeFileSync(path, data);
    const r = new StreamReader(path);
    try {
      // Consume 10 bytes, then keep everything after them: the reader must hold it all.
      expect(await r.fill()).toBe(true);
      r.pos = 10;
      while (await r.fill(r.pos));
      expect(r.at(r.pos)).toBe(10);
      expect(r.end - r.pos).toBe(data.length - 10);
      expect(Buffer.from(r.buf.subarray(r.pos, r.end)).equals(Buffer.from(data.subarray(10)))).toBe(true);
    } finally {
      r.close();
    }
    // A parser at its last record asks for more: nothing moves, so its indices stay good.
    const small = new StreamReader(path);
    try {
      expect(await small.fill()).toBe(true);
      while (small.end < data.length) expect(await small.fill(0)).toBe(true);
      small.pos = 40;
      const [buf, end, base] = [small.buf, small.end, small.base];
      expect(await small.fill(small.pos)).toBe(false);
      expect(small.buf).toBe(buf);
      expect([small.pos, small.end, small.base]).toEqual([40, end, base]);
      expect(small.buf[40]).toBe(data[40]!);
    } finally {
      small.close();
    }
  });

  test(`a record longer than ${MAX_RECORD_BYTES >> 20} MiB is refused, naming where it starts`, async () => {
    const path = join(tmp(), 'f.bin');
    writeFileSync(path, bytesOf(MAX_RECORD_BYTES + (2 << 20)));
    const r = new StreamReader(path);
    let err: unknown = null;
    try {
      for (let i = 0; i < 100 && (await r.fill(0)); i++);
    } catch (e) {
      err = e;
    } finally {
      r.close();
    }
    expect(err).toBeInstanceOf(FileFormatError);
    expect((err as FileFormatError).message).toContain('longer than 16 MiB');
    expect((err as FileFormatError).offset).toBe(0);
  });
});
