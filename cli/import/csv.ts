/**
 * `gpulse export --format csv` (shared/export.ts historyCsv): a header `time,t_ms,<key>…`, then one
 * line per row: ISO time, epoch ms, one cell per series, an empty cell for null. Lines end in LF or
 * CRLF; a UTF-8 BOM is skipped by the caller. Read a line at a time from the chunked reader; a
 * quoted cell (only a header key with `,` `"` or a newline in it, in practice) takes a slow path
 * that follows RFC 4180, and may span lines.
 *
 * The time is t_ms when the header has it, else the `time` column (ISO 8601, or epoch ms).
 */
import { FileFormatError, parseIsoMs, parseNum, preview, type StreamReader } from './bytes.ts';
import { Sink } from './sink.ts';

const NL = 10,
  CR = 13,
  COMMA = 44,
  QUOTE = 34,
  SP = 32,
  TAB = 9;
const T_MS = -2,
  TIME = -1,
  IGNORE = -3;
const dec = new TextDecoder();

/** RFC 4180 split of one record (already joined across lines). */
function splitRecord(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let cell = '';
    while (s[i] === ' ' || s[i] === '\t') i++;
    if (s[i] === '"') {
      i++;
      for (;;) {
        const q = s.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quote');
        cell += s.slice(i, q);
        if (s[q + 1] === '"') {
          cell += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      while (s[i] === ' ' || s[i] === '\t') i++;
      if (i < s.length && s[i] !== ',') throw new Error('text after a closing quote');
    } else {
      const c = s.indexOf(',', i);
      cell = (c < 0 ? s.slice(i) : s.slice(i, c)).trim();
      i = c < 0 ? s.length : c;
    }
    out.push(cell);
    if (i >= s.length) return out;
    i++; // the comma
  }
}

export async function importCsv(r: StreamReader, sink: Sink, file: string): Promise<void> {
  sink.stats.format = 'csv';
  let line = 1;
  let view = r.buf.subarray(0, r.end);
  /** Next quote at or after pos (r.end when none in the buffer): rows without one take the fast path. */
  let nextQuote = -1;
  const findQuote = (from: number) => {
    const q = view.indexOf(QUOTE, from);
    nextQuote = q < 0 ? r.end : q;
  };
  findQuote(r.pos);
  let colOf: Int32Array | null = null;
  let nf = 0;
  let keys: string[] = [];
  let values = new Float64Array(0);
  let hasTms = false;
  const where = () => `${file}:${line}`;

  const header = (cells: string[]) => {
    hasTms = cells.includes('t_ms');
    for (const c of ['t_ms', 'time']) if (cells.indexOf(c) !== cells.lastIndexOf(c)) throw new FileFormatError(`line ${line}: column ${c} appears twice`);
    if (!hasTms && !cells.includes('time'))
      throw new FileFormatError(`line ${line}: the header has neither a t_ms nor a time column (not a gpulse CSV export?)`);
    colOf = new Int32Array(cells.length);
    const seen = new Set<string>();
    cells.forEach((c, i) => {
      if (c === 't_ms') colOf![i] = T_MS;
      else if (c === 'time') colOf![i] = hasTms ? IGNORE : TIME;
      else {
        if (!c) throw new FileFormatError(`line ${line}: column ${i + 1} has no name`);
        if (seen.has(c)) throw new FileFormatError(`line ${line}: column ${JSON.stringify(c)} appears twice`);
        seen.add(c);
        colOf![i] = keys.length;
        keys.push(c);
      }
    });
    nf = cells.length;
    values = new Float64Array(keys.length);
    sink.setKeys(keys);
  };

  /** A data row from cells (the slow path). Returns an error text or null. */
  const rowFromCells = (cells: string[]): string | null => {
    if (cells.length !== nf) return `${cells.length} fields, the header has ${nf}`;
    let t = NaN;
    values.fill(NaN);
    for (let f = 0; f < nf; f++) {
      const col = colOf![f]!,
        cell = cells[f]!;
      if (col >= 0) {
        if (cell === '') continue;
        const v = Number(cell);
        if (!Number.isFinite(v) || /^\s*$/.test(cell)) return `column ${JSON.stringify(keys[col])}: not a number: ${JSON.stringify(cell.slice(0, 40))}`;
        values[col] = v;
      } else if (col === T_MS || col === TIME) {
        t = col === T_MS ? (cell === '' ? NaN : Number(cell)) : /^\d+$/.test(cell) ? Number(cell) : parseIsoMs(cell);
        if (Number.isNaN(t)) return `${col === T_MS ? 't_ms' : 'time'}: not a time: ${JSON.stringify(cell.slice(0, 40))}`;
      }
    }
    const bt = Sink.badTime(t);
    if (bt) return bt;
    sink.row(t, values);
    return null;
  };

  for (;;) {
    let nl = view.indexOf(NL, r.pos);
    const quoted = nextQuote < (nl < 0 ? r.end : nl);
    if (quoted) {
      // Slow path: find the record's end outside quotes (it may span lines).
      let inQ = false,
        i = r.pos;
      nl = -1;
      for (; i < r.end; i++) {
        const c = view[i]!;
        if (c === QUOTE) inQ = !inQ;
        else if (c === NL && !inQ) {
          nl = i;
          break;
        }
      }
      if (nl < 0 && !r.eof) {
        if (await r.fill(r.pos)) {
          view = r.buf.subarray(0, r.end);
          findQuote(r.pos);
          continue;
        }
      }
      if (nl < 0 && inQ) throw new FileFormatError(`line ${line}: unterminated quoted field`, r.at(r.pos));
    } else if (nl < 0 && !r.eof) {
      if (await r.fill(r.pos)) {
        view = r.buf.subarray(0, r.end);
        findQuote(r.pos);
        continue;
      }
    }
    const stop = nl < 0 ? r.end : nl;
    if (stop === r.pos && nl < 0) break; // end of file
    let e = stop;
    if (e > r.pos && view[e - 1] === CR) e--;
    const a = r.pos;
    const lines = quoted ? countNl(view, a, stop) : 0;
    r.pos = nl < 0 ? r.end : nl + 1;
    if (quoted) findQuote(r.pos);
    if (isBlank(view, a, e)) {
      line += 1 + lines;
      continue;
    }

    if (!colOf) {
      let cells: string[];
      try {
        cells = splitRecord(dec.decode(view.subarray(a, e)));
      } catch (err) {
        throw new FileFormatError(`line ${line}: ${(err as Error).message}`);
      }
      header(cells);
    } else if (quoted) {
      let err: string | null;
      try {
        err = rowFromCells(splitRecord(dec.decode(view.subarray(a, e))));
      } catch (x) {
        err = (x as Error).message;
      }
      if (err) sink.bad(where(), err);
    } else {
      const err = fastRow(view, a, e);
      if (err) sink.bad(where(), err);
    }
    line += 1 + lines;
  }
  if (!colOf) throw new FileFormatError('empty file: no header line');

  /** A data row straight from bytes (no quote in it). Returns an error text or null. */
  function fastRow(b: Uint8Array, a: number, e: number): string | null {
    const cols = colOf!;
    let f = 0,
      t = NaN;
    values.fill(NaN);
    for (let s = a; ;) {
      let x = s;
      while (x < e && b[x] !== COMMA) x++;
      if (f >= nf) return `more fields than the header's ${nf}`;
      const col = cols[f]!;
      if (col !== IGNORE) {
        let p = s,
          q = x;
        while (p < q && (b[p] === SP || b[p] === TAB)) p++;
        while (q > p && (b[q - 1] === SP || b[q - 1] === TAB)) q--;
        if (col >= 0) {
          if (p < q) {
            const v = parseNum(b, p, q);
            if (v - v !== 0) return `column ${JSON.stringify(keys[col])}: not a number: ${preview(b, p, q)}`;
            values[col] = v;
          }
        } else if (col === T_MS) {
          t = parseNum(b, p, q);
          if (Number.isNaN(t)) return `t_ms: not a time: ${preview(b, p, q)}`;
        } else {
          const s = dec.decode(b.subarray(p, q));
          t = /^\d+$/.test(s) ? Number(s) : parseIsoMs(s);
          if (Number.isNaN(t)) return `time: not a time: ${preview(b, p, q)}`;
        }
      }
      f++;
      if (x >= e) break;
      s = x + 1;
    }
    if (f !== nf) return `${f} fields, the header has ${nf}`;
    const bt = Sink.badTime(t);
    if (bt) return bt;
    sink.row(t, values);
    return null;
  }
}

function countNl(b: Uint8Array, a: number, e: number): number {
  let n = 0;
  for (let i = a; i < e; i++) if (b[i] === NL) n++;
  return n;
}

function isBlank(b: Uint8Array, a: number, e: number): boolean {
  for (let i = a; i < e; i++) {
    const c = b[i]!;
    if (c !== SP && c !== TAB && c !== CR) return false;
  }
  return true;
}
