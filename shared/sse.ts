/**
 * Incremental text/event-stream parser (WHATWG rules) for fetch-based streams.
 *
 * A peer that never ends a line, or never ends a message, must not grow memory until the tab
 * dies. Both are capped, and the caps are checked before the buffer grows: `push` throws an
 * SseLimitError instead of appending a chunk that would take a line past `maxLine` characters or
 * a message's data past `maxFrame` characters. The reader should then drop the connection.
 */
export interface SseMessage {
  event: string;
  data: string;
  id: string | null;
}

export interface SseLimits {
  /** Longest line held while waiting for its end (characters). Default 16 MiB. */
  maxLine?: number;
  /** Most data (all `data:` lines of one message, characters) held before the blank line that ends it. Default 16 MiB. */
  maxFrame?: number;
}

export const SSE_DEFAULT_LIMIT = 16 * 1024 * 1024;

export class SseLimitError extends Error {
  override name = 'SseLimitError';
  constructor(
    readonly what: 'line' | 'frame',
    readonly limit: number,
  ) {
    super(`an SSE ${what} longer than ${describeSize(limit)}`);
  }
}

const describeSize = (n: number) =>
  n >= 1 << 20 && n % (1 << 20) === 0 ? `${n >> 20} MiB` : n >= 1024 && n % 1024 === 0 ? `${n >> 10} KiB` : `${n} characters`;

export class SseParser {
  #buf = '';
  #data: string[] = [];
  #dataLen = 0;
  #event = '';
  #id: string | null = null;
  readonly maxLine: number;
  readonly maxFrame: number;
  /** Last id seen, kept across messages, as EventSource does for Last-Event-ID. */
  lastId: string | null = null;

  constructor(limits: SseLimits = {}) {
    this.maxLine = limits.maxLine ?? SSE_DEFAULT_LIMIT;
    this.maxFrame = limits.maxFrame ?? SSE_DEFAULT_LIMIT;
  }

  /** Feeds a decoded chunk; returns the complete messages it finished. Throws SseLimitError past a cap. */
  push(chunk: string): SseMessage[] {
    // Before concatenating: the line now open, plus this chunk up to its first line end, must fit.
    const firstEnd = firstLineEnd(chunk);
    if (this.#buf.length + (firstEnd < 0 ? chunk.length : firstEnd) > this.maxLine) throw new SseLimitError('line', this.maxLine);
    this.#buf += chunk;
    const out: SseMessage[] = [];
    let start = 0;
    for (;;) {
      const nl = this.#nextLineEnd(start);
      if (nl < 0) break;
      if (nl - start > this.maxLine) throw new SseLimitError('line', this.maxLine);
      const line = this.#buf.slice(start, nl);
      start = nl + (this.#buf[nl] === '\r' && this.#buf[nl + 1] === '\n' ? 2 : 1);
      if (line === '') {
        this.#dispatch(out);
        continue;
      }
      if (line[0] === ':') continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'data') {
        if (this.#dataLen + value.length + 1 > this.maxFrame) throw new SseLimitError('frame', this.maxFrame);
        this.#data.push(value);
        this.#dataLen += value.length + 1;
      } else if (field === 'event') this.#event = value;
      else if (field === 'id' && !value.includes('\0')) this.#id = value;
    }
    this.#buf = this.#buf.slice(start);
    if (this.#buf.length > this.maxLine) throw new SseLimitError('line', this.maxLine);
    return out;
  }

  #nextLineEnd(from: number): number {
    const n = this.#buf.indexOf('\n', from);
    const r = this.#buf.indexOf('\r', from);
    // A lone trailing \r may be half of \r\n: wait for more input.
    if (r >= 0 && (n < 0 || r < n)) return r === this.#buf.length - 1 ? -1 : r;
    return n;
  }

  #dispatch(out: SseMessage[]) {
    if (this.#id !== null) this.lastId = this.#id;
    if (this.#data.length) out.push({ event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id ?? this.lastId });
    this.#data = [];
    this.#dataLen = 0;
    this.#event = '';
    this.#id = null;
  }
}

function firstLineEnd(s: string): number {
  const n = s.indexOf('\n'),
    r = s.indexOf('\r');
  return n < 0 ? r : r < 0 ? n : Math.min(n, r);
}
