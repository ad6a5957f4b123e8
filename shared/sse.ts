/** Incremental text/event-stream parser (WHATWG rules) for fetch-based streams. */
export interface SseMessage { event: string; data: string; id: string | null }

export class SseParser {
  #buf = '';
  #data: string[] = [];
  #event = '';
  #id: string | null = null;
  /** Last id seen, kept across messages, as EventSource does for Last-Event-ID. */
  lastId: string | null = null;

  /** Feeds a decoded chunk; returns the complete messages it finished. */
  push(chunk: string): SseMessage[] {
    this.#buf += chunk;
    const out: SseMessage[] = [];
    let start = 0;
    for (;;) {
      const nl = this.#nextLineEnd(start);
      if (nl < 0) break;
      const line = this.#buf.slice(start, nl);
      start = nl + (this.#buf[nl] === '\r' && this.#buf[nl + 1] === '\n' ? 2 : 1);
      if (line === '') { this.#dispatch(out); continue; }
      if (line[0] === ':') continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'data') this.#data.push(value);
      else if (field === 'event') this.#event = value;
      else if (field === 'id' && !value.includes('\0')) this.#id = value;
    }
    this.#buf = this.#buf.slice(start);
    // A line that never ends is hostile or broken: cap what we hold for it.
    if (this.#buf.length > 16 * 1024 * 1024) throw new Error('SSE line exceeds 16 MiB');
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
    this.#data = []; this.#event = ''; this.#id = null;
  }
}
