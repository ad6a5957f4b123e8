/**
 * A small incremental JSON reader for the known document shapes: synchronous scanners over the
 * chunked reader's buffer that report NEED when the buffer ends mid-token (the caller refills,
 * keeping the token's start, and scans again), a resumable skipper for values we do not read
 * (info, events: any size, never held), and async helpers for the few top-level steps.
 */
import { FileFormatError, parseNum, preview, type StreamReader } from './bytes.ts';

export const NEED = -1;

export const C = {
  TAB: 9,
  NL: 10,
  CR: 13,
  SP: 32,
  QUOTE: 34,
  PLUS: 43,
  COMMA: 44,
  MINUS: 45,
  DOT: 46,
  COLON: 58,
  LBRACKET: 91,
  BACKSLASH: 92,
  RBRACKET: 93,
  LBRACE: 123,
  RBRACE: 125,
} as const;

const dec = new TextDecoder();

export function skipWs(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    if (c !== C.SP && c !== C.NL && c !== C.CR && c !== C.TAB) return i;
    i++;
  }
  return i;
}

/** Set by scanString: the string had a backslash escape. */
export let strEscaped = false;

/** b[i] is a quote: index after the closing quote, or NEED. */
export function scanString(b: Uint8Array, i: number, end: number): number {
  let esc = false;
  for (let j = i + 1; j < end; j++) {
    const c = b[j]!;
    if (c === C.BACKSLASH) {
      esc = true;
      j++;
      continue;
    }
    if (c === C.QUOTE) {
      strEscaped = esc;
      return j + 1;
    }
  }
  return NEED;
}

/** The string b[i, j) (quotes included) as text. */
export function decodeString(b: Uint8Array, i: number, j: number, escaped: boolean): string {
  if (!escaped) return dec.decode(b.subarray(i + 1, j - 1));
  try {
    return JSON.parse(dec.decode(b.subarray(i, j))) as string;
  } catch {
    throw new FileFormatError(`bad escape in the string ${preview(b, i, j)}`);
  }
}

const isNumByte = (c: number) => (c >= 48 && c <= 57) || c === C.MINUS || c === C.PLUS || c === C.DOT || c === 101 || c === 69;
const isWordByte = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);

/** End of a number or bare word (null, true, NaN…) starting at i; NEED if it may go on past the buffer. */
export function scanAtom(b: Uint8Array, i: number, end: number, eof: boolean): number {
  let j = i;
  while (j < end && (isNumByte(b[j]!) || isWordByte(b[j]!))) j++;
  return j === end && !eof ? NEED : j;
}

/** An atom as a value: a number; null, NaN, Infinity (Python's json writes the last two) are NaN; undefined if none of these. */
export function atomValue(b: Uint8Array, i: number, j: number): number | undefined {
  const c = b[i]!;
  if ((c >= 48 && c <= 57) || c === C.MINUS || c === C.PLUS || c === C.DOT) {
    if (j - i >= 8 && b[j - 1] === 121 /* y */) {
      const w = dec.decode(b.subarray(i, j));
      if (w === 'Infinity' || w === '-Infinity') return NaN;
    }
    const v = parseNum(b, i, j);
    return v === v ? v : undefined;
  }
  const n = j - i;
  if (n === 4 && c === 110 && b[i + 1] === 117 && b[i + 2] === 108 && b[i + 3] === 108) return NaN; // null
  if (n === 3 && c === 78 && b[i + 1] === 97 && b[i + 2] === 78) return NaN; // NaN
  if (n === 8 && dec.decode(b.subarray(i, j)) === 'Infinity') return NaN;
  return undefined;
}

/**
 * Skips one value, resumably: feed() returns the index after the value, or NEED after consuming
 * the whole buffer (call again with the next bytes). Counts the elements when the value is an
 * array (commas at its top level). Lax about literals: it checks nesting, not spelling.
 */
export class Skipper {
  depth = 0;
  inStr = false;
  esc = false;
  started = false;
  /** 0 none yet, 1 in an atom at depth 0. */
  atom = false;
  isArray = false;
  commas = 0;
  nonEmpty = false;

  feed(b: Uint8Array, i: number, end: number): number {
    for (; i < end; i++) {
      const c = b[i]!;
      if (this.inStr) {
        if (this.esc) this.esc = false;
        else if (c === C.BACKSLASH) this.esc = true;
        else if (c === C.QUOTE) {
          this.inStr = false;
          if (this.depth === 0) return i + 1;
        }
        continue;
      }
      if (!this.started) {
        if (c === C.SP || c === C.NL || c === C.CR || c === C.TAB) continue;
        this.started = true;
        if (c === C.QUOTE) {
          this.inStr = true;
          continue;
        }
        if (c === C.LBRACE || c === C.LBRACKET) {
          this.depth = 1;
          this.isArray = c === C.LBRACKET;
          continue;
        }
        if (c === C.RBRACE || c === C.RBRACKET || c === C.COMMA || c === C.COLON) throw new Error(`unexpected ${String.fromCharCode(c)}`);
        this.atom = true;
        continue;
      }
      if (this.atom) {
        if (isNumByte(c) || isWordByte(c)) continue;
        return i;
      }
      if (this.depth === 1 && this.isArray && !this.nonEmpty && c !== C.RBRACKET && c !== C.SP && c !== C.NL && c !== C.CR && c !== C.TAB) this.nonEmpty = true;
      if (c === C.QUOTE) this.inStr = true;
      else if (c === C.LBRACE || c === C.LBRACKET) this.depth++;
      else if (c === C.RBRACE || c === C.RBRACKET) {
        if (--this.depth === 0) return i + 1;
      } else if (c === C.COMMA && this.depth === 1) this.commas++;
    }
    return NEED;
  }

  /** At the end of the file: an atom ends there; anything else was cut short. */
  get completeAtEof(): boolean {
    return this.atom;
  }
  get count(): number {
    return this.nonEmpty ? this.commas + 1 : 0;
  }
}

/** Async steps on the chunked reader (the top of a document: a handful per file). */
export class JsonIn {
  constructor(readonly r: StreamReader) {}

  syntax(msg: string, i = this.r.pos): FileFormatError {
    return new FileFormatError(msg, this.r.at(i));
  }

  /** The next non-blank byte (not consumed), or -1 at the end of the file. */
  async peek(): Promise<number> {
    const r = this.r;
    for (;;) {
      r.pos = skipWs(r.buf, r.pos, r.end);
      if (r.pos < r.end) return r.buf[r.pos]!;
      if (!(await r.fill())) return -1;
    }
  }

  async expect(ch: number, what: string) {
    const c = await this.peek();
    if (c !== ch) throw this.syntax(`expected ${what}, found ${c < 0 ? 'the end of the file' : JSON.stringify(String.fromCharCode(c))}`);
    this.r.pos++;
  }

  async string(what: string): Promise<string> {
    const r = this.r;
    if ((await this.peek()) !== C.QUOTE) throw this.syntax(`expected ${what} (a string)`);
    for (;;) {
      const j = scanString(r.buf, r.pos, r.end);
      if (j !== NEED) {
        const s = decodeString(r.buf, r.pos, j, strEscaped);
        r.pos = j;
        return s;
      }
      if (!(await r.fill(r.pos))) throw this.syntax('the file ends inside a string');
    }
  }

  /** An atom (number or literal) as text. */
  async atom(): Promise<string> {
    const r = this.r;
    await this.peek();
    for (;;) {
      const j = scanAtom(r.buf, r.pos, r.end, r.eof);
      if (j !== NEED) {
        const s = dec.decode(r.buf.subarray(r.pos, j));
        r.pos = j;
        return s;
      }
      if (!(await r.fill(r.pos))) continue;
    }
  }

  /** Skips a value of any size; returns its element count when it is an array. */
  async skip(): Promise<number> {
    const r = this.r;
    const sk = new Skipper();
    const at = r.pos;
    for (;;) {
      let j: number;
      try {
        j = sk.feed(r.buf, r.pos, r.end);
      } catch (e) {
        throw this.syntax((e as Error).message);
      }
      if (j !== NEED) {
        r.pos = j;
        return sk.count;
      }
      r.pos = r.end;
      if (!(await r.fill())) {
        if (sk.completeAtEof) return 0;
        throw this.syntax(sk.started ? 'the file ends inside a value' : 'expected a value', at);
      }
    }
  }

  /** After a member or element: true if another follows (a comma), false at the closing bracket. */
  async more(close: number): Promise<boolean> {
    const c = await this.peek();
    if (c === C.COMMA) {
      this.r.pos++;
      return true;
    }
    if (c === close) {
      this.r.pos++;
      return false;
    }
    throw this.syntax(`expected , or ${String.fromCharCode(close)}${c < 0 ? ' before the end of the file' : ''}`);
  }

  /** Iterates the keys of an object (the reader is at its '{'); the loop body must consume (or skip()) each value. */
  async *members(what: string): AsyncGenerator<string> {
    await this.expect(C.LBRACE, `${what} (an object)`);
    if ((await this.peek()) === C.RBRACE) {
      this.r.pos++;
      return;
    }
    do {
      const k = await this.string('a key');
      await this.expect(C.COLON, ':');
      yield k;
    } while (await this.more(C.RBRACE));
  }
}
