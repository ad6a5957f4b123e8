/**
 * JSON documents: the gpulse export (`gpulse export --format json` and the PWA's JSON export, both
 * shared/export.ts exportDoc: {"format":"gpulse-export","version":1,"info":…,"history":{"t":[…],
 * "series":{key:[…]}},"events":[…]}), a bare /v1/history body ({"t":[…],"series":{…}}), or an otto
 * MetricCollector export ({"metrics":[…]}, otto.ts). Members may come in any order.
 *
 * The gpulse history is column-major: row i needs t[i] and the i-th value of every series, which
 * are spread over the whole file. It is read in two passes over the file and never held:
 *   pass 1 (streamed): the document's structure; the byte range and length of t and of every
 *          series array are noted (info and events are skipped, whatever their size);
 *   pass 2: one small positional reader per column, all advancing together, a row at a time.
 * Every column's length is checked against t's before a row is imported.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { EXPORT_FORMAT } from '../../shared/export.ts';
import { FileFormatError, lineAt, preview, RangeReader, type StreamReader } from './bytes.ts';
import { atomValue, C, JsonIn, NEED, scanAtom, skipWs, Skipper } from './json.ts';
import { importOttoMetrics, type OttoOptions } from './otto.ts';
import { Sink } from './sink.ts';

interface Span {
  start: number;
  end: number;
  n: number;
}
interface Columns {
  t: Span | null;
  series: Map<string, Span>;
}

export async function importJson(r: StreamReader, sink: Sink, file: string, path: string, o: OttoOptions) {
  const j = new JsonIn(r);
  let cols: Columns | null = null;
  let otto = false;
  const array = async (what: string): Promise<Span> => {
    if ((await j.peek()) !== C.LBRACKET) throw j.syntax(`${what}: expected an array`);
    const start = r.at(r.pos);
    const n = await j.skip();
    return { start, end: r.at(r.pos), n };
  };
  const historyMember = async (k: string, c: Columns) => {
    if (k === 't') {
      if (c.t) throw j.syntax('"t" appears twice');
      c.t = await array('t');
    } else if (k === 'series') {
      for await (const key of j.members('series')) {
        if (c.series.has(key)) throw j.syntax(`series ${JSON.stringify(key)} appears twice`);
        c.series.set(key, await array(`series ${JSON.stringify(key)}`));
      }
    } else await j.skip(); // min, max, step (agg=minmax): not history rows
  };

  for await (const k of j.members('a gpulse or otto JSON export')) {
    if (k === 'format') {
      const at = r.pos;
      if ((await j.peek()) !== C.QUOTE) {
        await j.skip();
        continue;
      }
      const f = await j.string('format');
      if (f !== EXPORT_FORMAT) throw new FileFormatError(`format ${JSON.stringify(f)} is not ${EXPORT_FORMAT}`, r.at(at));
    } else if (k === 'version') {
      const at = r.pos;
      const v = await j.atom();
      if (v !== '1') throw new FileFormatError(`version ${v || '?'} is not supported (this gpulse reads version 1)`, r.at(at));
    } else if ((k === 'history' || k === 't' || k === 'series') && !otto) {
      cols ??= { t: null, series: new Map() };
      if (k === 'history') for await (const hk of j.members('history')) await historyMember(hk, cols);
      else await historyMember(k, cols);
    } else if (k === 'metrics' && !cols) {
      otto = true;
      await j.expect(C.LBRACKET, 'metrics (an array)');
      await importOttoMetrics(r, sink, file, path, o);
    } else await j.skip();
  }
  if ((await j.peek()) >= 0) throw j.syntax('text after the end of the document');
  if (otto) return;
  if (!cols) throw new FileFormatError('neither "history" (a gpulse export) nor "metrics" (an otto export) in the document');
  sink.stats.format = 'gpulse-json';
  const c = cols as Columns;
  if (!c.t) throw new FileFormatError('history has no "t"');
  for (const [key, s] of c.series) {
    if (s.n !== c.t.n) throw new FileFormatError(`series ${JSON.stringify(key)} has ${s.n} values but t has ${c.t.n}`, s.start);
  }
  Bun.gc(true); // pass 1's chunks, before the column buffers
  importColumns(path, file, sink, c.t, [...c.series]);
}

/** One array of numbers read element by element from its own byte range. */
class Column {
  readonly rr: RangeReader;
  first = true;
  err: string | null = null;
  /** File offset of the element last read. */
  at = 0;

  constructor(fd: number, span: Span, size: number) {
    this.rr = new RangeReader(fd, span.start + 1, span.end, size); // after the '['
  }

  /** The next byte that is not blank (refilling as needed), or -1 at the end of the range. */
  #skipWs(): number {
    const r = this.rr;
    for (;;) {
      r.pos = skipWs(r.buf, r.pos, r.end);
      if (r.pos < r.end) return r.buf[r.pos]!;
      if (!r.fill()) return -1;
    }
  }

  /** The next element: a number, NaN for null; on anything else NaN with `err` set. */
  next(): number {
    const r = this.rr;
    this.err = null;
    let c = this.#skipWs();
    if (!this.first) {
      if (c !== C.COMMA) {
        this.err = 'expected ,';
        this.at = r.base + r.pos;
        return NaN;
      }
      r.pos++;
      c = this.#skipWs();
    }
    this.first = false;
    this.at = r.base + r.pos;
    if (c < 0) {
      this.err = 'missing value';
      return NaN;
    }
    if (c === C.QUOTE || c === C.LBRACE || c === C.LBRACKET) {
      const sk = new Skipper();
      for (;;) {
        const e = sk.feed(r.buf, r.pos, r.end);
        if (e !== NEED) {
          this.err = `not a number: ${preview(r.buf, r.pos, e)}`;
          r.pos = e;
          return NaN;
        }
        r.pos = r.end;
        if (!r.fill()) {
          this.err = 'cut short';
          return NaN;
        }
      }
    }
    let e: number;
    while ((e = scanAtom(r.buf, r.pos, r.end, r.eof)) === NEED)
      if (!r.fill()) {
        e = r.end;
        break;
      }
    if (e === r.pos) {
      this.err = 'missing value';
      return NaN;
    } // e.g. [1,,2]: leave the comma
    const v = atomValue(r.buf, r.pos, e);
    if (v === undefined || v === Infinity || v === -Infinity) {
      this.err = `not a number: ${preview(r.buf, r.pos, e)}`;
      r.pos = e;
      return NaN;
    }
    r.pos = e;
    return v;
  }
}

/** Pass 2: every column side by side, one row at a time. */
function importColumns(path: string, file: string, sink: Sink, t: Span, series: [string, Span][]) {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    // ≤ 8 MiB of buffers in all, 4–64 KiB a column.
    const size = Math.max(4096, Math.min(64 << 10, Math.floor((8 << 20) / (series.length + 1))));
    const tc = new Column(fd, t, size);
    const cs = series.map(([, s]) => new Column(fd, s, size));
    const keys = series.map(([k]) => k);
    sink.setKeys(keys);
    const values = new Float64Array(keys.length);
    for (let i = 0; i < t.n; i++) {
      const tv = tc.next();
      let err = tc.err ? `t: ${tc.err}` : Number.isNaN(tv) ? 't is null' : null;
      let at = tc.at;
      for (let k = 0; k < cs.length; k++) {
        const c = cs[k]!;
        values[k] = c.next();
        if (c.err && !err) {
          err = `series ${JSON.stringify(keys[k])}: ${c.err}`;
          at = c.at;
        }
      }
      err ??= Sink.badTime(tv);
      if (err) {
        const where = () => `${file}: row ${i} (line ${lineAt(path, at)}, byte ${at})`;
        sink.bad(where, err);
        continue;
      }
      sink.row(tv, values);
    }
  } finally {
    closeSync(fd);
  }
}
