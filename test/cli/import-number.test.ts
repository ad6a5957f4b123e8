/**
 * The import's number reader (cli/import/bytes.ts scanNumber, and parseNum on top of it) against
 * Number() on the same text: every value exactly, every non-number refused.
 */
import { describe, expect, test } from 'bun:test';
import { parseNum, scanNumber, scanned } from '../../cli/import/bytes.ts';

const enc = new TextEncoder();

/** Number()'s reading, restricted to the decimal syntax parseNum takes (no blanks, hex, Infinity). */
function reference(s: string): number {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? Number(s) : NaN;
}

describe('import numbers', () => {
  test('parseNum reads 200k random strings of number characters exactly as Number() does', () => {
    let x = 99;
    const rnd = (n: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    const CHARS = '0123456789012345678901234567890123456789..--+eE x';
    let numbers = 0;
    for (let k = 0; k < 200_000; k++) {
      let s = '';
      const n = 1 + rnd(24);
      for (let i = 0; i < n; i++) s += CHARS[rnd(CHARS.length)];
      const b = enc.encode(s);
      const want = reference(s);
      const got = parseNum(b, 0, b.length);
      if (!Object.is(got, want)) throw new Error(`parseNum(${JSON.stringify(s)}) = ${got}, Number() = ${want}`);
      if (want === want) numbers++;
    }
    expect(numbers).toBeGreaterThan(10_000);
  });

  test('scanNumber stops where the number ends, with its value; -1 where none starts', () => {
    const cases: [string, number, number][] = [
      ['42.5}', 4, 42.5],
      ['-0,', 2, -0],
      ['1e5 ', 3, 1e5],
      ['2.5E-3]', 6, 2.5e-3],
      ['12345678901234567x', 17, 12345678901234567],
      ['0.1000000000000000055,', 21, 0.1000000000000000055],
      ['7.5.1', 3, 7.5],
      ['1e+', -1, NaN],
      ['-Infinity', -1, NaN],
      ['null', -1, NaN],
      ['.', -1, NaN],
    ];
    for (const [s, end, v] of cases) {
      const b = enc.encode(s);
      const e = scanNumber(b, 0, b.length);
      expect([s, e]).toEqual([s, end]);
      if (e >= 0) expect(Object.is(scanned, v)).toBe(true);
    }
    // Only up to `end`: a number cut by the end of the buffer is read up to there.
    const b = enc.encode('123456');
    expect(scanNumber(b, 1, 4)).toBe(4);
    expect(scanned).toBe(234);
  });
});
