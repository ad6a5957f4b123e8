/**
 * otto's MetricCollector JSON (export_json / to_json, the file `from_json` and `--file` read):
 *
 *   { "metrics": [{"timestamp": "...", "host": "...", "label": "...", "value": 42.0}, ...],
 *     "events":  [{"timestamp": "...", "label": "...", "source": "...", "color": "...", "dash": "..."}, ...] }
 *
 * One record per value; "host" is optional (older files). Its series key is "host/label". Records
 * of one collector tick share a timestamp, so consecutive records with the same time become one
 * row. The timestamp is an ISO-8601 string (Python's isoformat(); no offset = UTC) or a number
 * of epoch seconds or ms (told apart by size); all become integer ms. Python's json writes NaN and
 * Infinity bare: both read as null, as does a null value. Events are not imported.
 *
 * Keys: labels of one host (--host, default the first host in the file) that have a gpulse series
 * (ottoSeries) take its key; everything else keeps otto's own key, "host/label" (or the bare label
 * without a host), and becomes a series of its own.
 */
import { GPU_METRICS, HOST_METRICS } from '../../shared/catalog.ts';
import { epochToMs, FileFormatError, isoBytesMs, lineAt, parseIsoMs, scanned, scanNumber, type StreamReader } from './bytes.ts';
import { atomValue, C, decodeString, NEED, scanAtom, scanString, skipWs, Skipper, strEscaped } from './json.ts';
import { Sink } from './sink.ts';

const GPU_KEYS = new Set<string>(GPU_METRICS.map(([k]) => k));
const HOST_KEYS = new Set<string>([...HOST_METRICS.map(([k]) => k as string)]);

/**
 * The gpulse series an otto label stands for, when one measures the same thing in the same unit
 * (otto's memory and disk labels are percentages, gpulse keeps bytes: those stay otto series).
 */
export function ottoSeries(label: string): string | null {
  const l = label.trim();
  let m: RegExpExecArray | null;
  if (/^cpu(?:\s*(?:usage|util(?:ization)?))?\s*(?:%|\(%\))?$/i.test(l)) return 'host.cpu.util';
  if ((m = /^gpu\s*#?(\d+)?\s*(?:(?:usage|util(?:ization)?)\s*(?:%|\(%\))?|%|\(%\))$/i.exec(l))) return `gpu${m[1] ?? 0}.util`;
  if ((m = /^gpu\s*#?(\d+)?\s*temp(?:erature)?\s*(?:°?c|\(°?c\))?$/i.exec(l))) return `gpu${m[1] ?? 0}.temp`;
  if ((m = /^gpu\s*#?(\d+)?\s*power(?:\s*draw)?\s*(?:w|\(w\))?$/i.exec(l))) return `gpu${m[1] ?? 0}.power`;
  if ((m = /^load(?:\s*avg|\s*average)?\s*\(?(1|5|15)\s*(?:m|min)?\)?$/i.exec(l))) return `host.load${m[1]}`;
  // A label that already is a gpulse key keeps it.
  if ((m = /^host\.(.+)$/.exec(l)) && HOST_KEYS.has(m[1]!)) return l;
  if ((m = /^gpu\d+\.(.+)$/.exec(l)) && GPU_KEYS.has(m[1]!)) return l;
  return null;
}

interface Entry {
  /** Raw bytes between the quotes (escapes as written). */
  host: Uint8Array | null;
  label: Uint8Array;
  hostEsc: boolean;
  labelEsc: boolean;
  col: number;
}

const TIMESTAMP = bytes('timestamp'),
  HOST = bytes('host'),
  LABEL = bytes('label'),
  VALUE = bytes('value');
function bytes(s: string) {
  return new TextEncoder().encode(s);
}
function same(b: Uint8Array, a: number, e: number, w: Uint8Array): boolean {
  if (e - a !== w.length) return false;
  for (let i = 0; i < w.length; i++) if (b[a + i] !== w[i]) return false;
  return true;
}

const END = -2;

/**
 * b[i] is a quote: the index after the closing quote when the string's raw bytes are exactly w,
 * else -1 (also when the buffer ends first: the caller then scans as usual). The quote after w
 * closes the string: w is the content of a whole string, so it never ends in a lone backslash.
 */
function rawIs(b: Uint8Array, i: number, end: number, w: Uint8Array): number {
  const n = w.length,
    q = i + 1 + n;
  if (q >= end || b[q] !== C.QUOTE) return -1;
  for (let k = 0; k < n; k++) if (b[i + 1 + k] !== w[k]) return -1;
  return q + 1;
}

/** The member a key names: 1 timestamp, 2 host, 3 label, 4 value, 0 another (b[a, e) is the key's text). */
function memberOf(b: Uint8Array, a: number, e: number): number {
  const kl = e - a,
    k0 = b[a];
  return kl === 9 && k0 === 116 && same(b, a, e, TIMESTAMP)
    ? 1
    : kl === 4 && k0 === 104 && same(b, a, e, HOST)
      ? 2
      : kl === 5 && k0 === 108 && same(b, a, e, LABEL)
        ? 3
        : kl === 5 && k0 === 118 && same(b, a, e, VALUE)
          ? 4
          : 0;
}

/** Length of each member's key, by memberOf's number. */
const KEY_LEN = [0, 9, 4, 5, 5];
/** Little-endian integers of key bytes, the closing quote included, for compares a word at a time. */
const le = (s: string) => [...s].reduceRight((x, ch) => x * 256 + ch.charCodeAt(0), 0);
const [K_TIME, K_STAM, K_PQ, K_HOST, K_LABE, K_LQ, K_VALU, K_EQ] = ['time', 'stam', 'p"', 'host', 'labe', 'l"', 'valu', 'e"'].map(le);

let viewed: Uint8Array | null = null;
let dataView: DataView = new DataView(new ArrayBuffer(0));
/** A DataView of the reader's buffer (made again only when the reader grows it). */
function view(b: Uint8Array): DataView {
  if (b !== viewed) {
    dataView = new DataView(b.buffer, b.byteOffset, b.byteLength);
    viewed = b;
  }
  return dataView;
}

/**
 * memberOf for a key whose text starts at a, read as words, quote included (no scan for the
 * closing quote); 0 when it is none of the four, or the buffer may end first (the caller then
 * scans as usual).
 */
function knownKey(v: DataView, a: number, end: number): number {
  if (a + 6 > end) return 0;
  const w = v.getUint32(a, true);
  if (w === K_HOST) return v.getUint8(a + 4) === C.QUOTE ? 2 : 0;
  if (w === K_LABE) return v.getUint16(a + 4, true) === K_LQ ? 3 : 0;
  if (w === K_VALU) return v.getUint16(a + 4, true) === K_EQ ? 4 : 0;
  if (w === K_TIME && a + 10 <= end) return v.getUint32(a + 4, true) === K_STAM && v.getUint16(a + 8, true) === K_PQ ? 1 : 0;
  return 0;
}

/** Bytes that end an atom (blank space, a comma, a closing brace or bracket). */
const ENDS_ATOM = new Uint8Array(256);
for (const ch of ' \t\r\n,}]') ENDS_ATOM[ch.charCodeAt(0)] = 1;

/**
 * What the next record most likely repeats, as raw string bytes: the previous timestamp, and the
 * record in the same place of the previous tick (its host and label). A string equal to its hint
 * is read in one compare, with no scan and no lookup after; anything else takes the full path.
 * Off (predict: false) every record is scanned and looked up in full: the reference the fast
 * path is tested against.
 */
interface Hint {
  on: boolean;
  ts: Uint8Array | null;
  tsEsc: boolean;
  entry: Entry | undefined;
}

function syntaxError(base: number, msg: string, at: number) {
  return new FileFormatError(`metrics: ${msg}`, base + at);
}

/** The record just parsed (byte positions in the reader's buffer are valid until the next fill). */
const rec = {
  next: 0,
  start: 0,
  err: null as string | null,
  tsKind: 0,
  tsA: 0,
  tsB: 0,
  tsEsc: false,
  /** The string members equal their hints (timestamp, host, label). */
  tsSame: false,
  hostSame: false,
  labelSame: false,
  tsNum: NaN,
  hostA: -1,
  hostB: -1,
  hostEsc: false,
  labelA: -1,
  labelB: -1,
  labelEsc: false,
  hasValue: false,
  value: NaN,
};

/** Skips one value synchronously inside the buffer; NEED if it runs past it. */
function skipIn(b: Uint8Array, i: number, end: number, eof: boolean): number {
  const sk = new Skipper();
  const j = sk.feed(b, i, end);
  if (j === NEED && eof && sk.completeAtEof) return end;
  return j;
}

/**
 * One element of the metrics array from b[i] (a separator first unless it is the first): the
 * record in `rec`, END at the closing bracket, NEED when the buffer ends first. Throws on broken
 * syntax (which ends the file); a well-formed record with wrong contents sets rec.err instead.
 */
function parseRecord(b: Uint8Array, i: number, end: number, eof: boolean, first: boolean, base: number, hint: Hint): number {
  i = skipWs(b, i, end);
  if (i >= end) return NEED;
  if (b[i] === C.RBRACKET) {
    rec.next = i + 1;
    return END;
  }
  if (!first) {
    if (b[i] !== C.COMMA) throw syntaxError(base, 'expected , or ] between records', i);
    i = skipWs(b, i + 1, end);
    if (i >= end) return NEED;
  }
  rec.start = i;
  rec.err = null;
  rec.tsKind = 0;
  rec.hostA = -1;
  rec.labelA = -1;
  rec.tsSame = rec.hostSame = rec.labelSame = false;
  rec.hasValue = false;
  rec.value = NaN;
  if (b[i] !== C.LBRACE) {
    const j = skipIn(b, i, end, eof);
    if (j === NEED) return NEED;
    rec.err = 'not an object';
    rec.next = j;
    return 0;
  }
  i = skipWs(b, i + 1, end);
  if (i >= end) return NEED;
  if (b[i] === C.RBRACE) {
    rec.next = i + 1;
    return 0;
  }
  for (;;) {
    if (b[i] !== C.QUOTE) throw syntaxError(base, 'expected a key', i);
    let ke = -1,
      which = 0;
    if (hint.on && (which = knownKey(view(b), i + 1, end))) ke = i + KEY_LEN[which]! + 2;
    if (ke < 0) {
      ke = scanString(b, i, end);
      if (ke === NEED) return NEED;
      which = memberOf(b, i + 1, ke - 1);
    }
    i = skipWs(b, ke, end);
    if (i >= end) return NEED;
    if (b[i] !== C.COLON) throw syntaxError(base, 'expected :', i);
    i = skipWs(b, i + 1, end);
    if (i >= end) return NEED;
    const c = b[i]!;
    let e = -1;
    if (c === C.QUOTE) {
      // The hinted string first: equal, it is read in one compare.
      const w = which === 1 ? hint.ts : which === 2 ? (hint.entry?.host ?? null) : which === 3 ? (hint.entry?.label ?? null) : null;
      e = w ? rawIs(b, i, end, w) : -1;
      const hit = e > 0;
      let esc = false;
      if (hit) esc = which === 1 ? hint.tsEsc : which === 2 ? hint.entry!.hostEsc : hint.entry!.labelEsc;
      else {
        e = scanString(b, i, end);
        if (e === NEED) return NEED;
        esc = strEscaped;
      }
      if (which === 1) {
        rec.tsKind = 1;
        rec.tsA = i;
        rec.tsB = e;
        rec.tsEsc = esc;
        rec.tsSame = hit;
      } else if (which === 2) {
        rec.hostA = i;
        rec.hostB = e;
        rec.hostEsc = esc;
        rec.hostSame = hit;
      } else if (which === 3) {
        rec.labelA = i;
        rec.labelB = e;
        rec.labelEsc = esc;
        rec.labelSame = hit;
      } else if (which === 4) rec.err ??= 'value is a string, not a number';
      i = e;
    } else if (c === C.LBRACE || c === C.LBRACKET) {
      e = skipIn(b, i, end, eof);
      if (e === NEED) return NEED;
      if (which) rec.err ??= `${['', 'timestamp', 'host', 'label', 'value'][which]} is ${c === C.LBRACE ? 'an object' : 'an array'}`;
      i = e;
    } else if (which === 4 && hint.on && (e = scanNumber(b, i, end)) > i && e < end && ENDS_ATOM[b[e]!]) {
      // A plain number followed by blank space, a comma or a brace: read in one pass.
      rec.hasValue = true;
      rec.value = scanned;
      i = e;
    } else {
      e = scanAtom(b, i, end, eof);
      if (e === NEED) return NEED;
      if (e === i) throw syntaxError(base, `unexpected ${JSON.stringify(String.fromCharCode(c))}`, i);
      const v = atomValue(b, i, e);
      if (which === 1) {
        if (v !== undefined && v === v) {
          rec.tsKind = 2;
          rec.tsNum = v;
        } else rec.err ??= 'timestamp is not a time';
      } else if (which === 2) {
        if (!(v !== undefined && v !== v)) rec.err ??= 'host is not a string';
      } // null: no host
      else if (which === 3) rec.err ??= 'label is not a string';
      else if (which === 4) {
        if (v === undefined) rec.err ??= 'value is not a number';
        else {
          rec.hasValue = true;
          rec.value = v;
        }
      }
      i = e;
    }
    i = skipWs(b, i, end);
    if (i >= end) return NEED;
    if (b[i] === C.COMMA) {
      i = skipWs(b, i + 1, end);
      if (i >= end) return NEED;
      continue;
    }
    if (b[i] === C.RBRACE) {
      rec.next = i + 1;
      return 0;
    }
    throw syntaxError(base, 'expected , or } in a record', i);
  }
}

export interface OttoOptions {
  host: string | null;
  /** false: no hints (see Hint), every record read in full: the reference the tests hold the fast path to. */
  predict?: boolean;
}

/** Streams the metrics array (the reader is at its '['): rows go to the sink a tick at a time. */
export async function importOttoMetrics(r: StreamReader, sink: Sink, file: string, path: string, o: OttoOptions) {
  sink.stats.format = 'otto';
  const keys: string[] = [];
  const keyCol = new Map<string, number>();
  const entries = new Map<number, Entry[]>();
  let mappedHost: string | null | undefined = o.host ?? undefined;
  let values = new Float64Array(64).fill(NaN);
  let stamps = new Int32Array(64);
  let seq = 0;
  let rowT = NaN;
  let keysSent = 0;
  let prevTs = new Uint8Array(0);
  let prevT = NaN;
  const hint: Hint = { on: o.predict !== false, ts: null, tsEsc: false, entry: undefined };

  /** The entries of the previous tick in record order: a tick usually repeats the one before. */
  const order: Entry[] = [];
  let slot = 0;
  const matches = (b: Uint8Array, en: Entry): boolean =>
    (en.host === null ? rec.hostA < 0 : rec.hostA >= 0 && same(b, rec.hostA + 1, rec.hostB - 1, en.host)) && same(b, rec.labelA + 1, rec.labelB - 1, en.label);

  const colFor = (b: Uint8Array): number => {
    const guess = order[slot];
    // Host and label equal to the hint's (the guess itself, or it was compared in full).
    if (guess && ((guess === hint.entry && rec.labelSame && (guess.host === null ? rec.hostA < 0 : rec.hostSame)) || matches(b, guess))) {
      slot++;
      return guess.col;
    }
    const en = lookup(b);
    order[slot++] = en;
    return en.col;
  };

  const lookup = (b: Uint8Array): Entry => {
    let h = 0x811c9dc5 | 0;
    if (rec.hostA >= 0) for (let i = rec.hostA + 1; i < rec.hostB - 1; i++) h = Math.imul(h ^ b[i]!, 16777619);
    h = Math.imul(h ^ 0x100, 16777619);
    for (let i = rec.labelA + 1; i < rec.labelB - 1; i++) h = Math.imul(h ^ b[i]!, 16777619);
    const list = entries.get(h);
    if (list) for (const en of list) if (matches(b, en)) return en;
    const host = rec.hostA >= 0 ? decodeString(b, rec.hostA, rec.hostB, rec.hostEsc) : null;
    const label = decodeString(b, rec.labelA, rec.labelB, rec.labelEsc);
    if (mappedHost === undefined) mappedHost = host;
    const mapped = host === null || host === mappedHost ? ottoSeries(label) : null;
    const key = mapped ?? (host !== null ? `${host}/${label}` : label);
    let col = keyCol.get(key);
    if (col === undefined) {
      col = keys.length;
      keys.push(key);
      keyCol.set(key, col);
      if (col >= values.length) {
        const v = new Float64Array(values.length * 2).fill(NaN);
        v.set(values);
        values = v;
        const s = new Int32Array(stamps.length * 2);
        s.set(stamps);
        stamps = s;
      }
    }
    const en: Entry = {
      host: rec.hostA >= 0 ? b.slice(rec.hostA + 1, rec.hostB - 1) : null,
      label: b.slice(rec.labelA + 1, rec.labelB - 1),
      hostEsc: rec.hostA >= 0 && rec.hostEsc,
      labelEsc: rec.labelEsc,
      col,
    };
    if (list) list.push(en);
    else entries.set(h, [en]);
    return en;
  };

  const flush = () => {
    if (rowT !== rowT) return;
    if (keys.length !== keysSent) {
      sink.setKeys(keys);
      keysSent = keys.length;
    }
    sink.row(rowT, values);
    values.fill(NaN, 0, keys.length);
    rowT = NaN;
  };

  /** The record's time in ms, or an error text. */
  const timeOf = (b: Uint8Array): number | string => {
    if (rec.tsKind === 2) return epochToMs(rec.tsNum);
    if (rec.tsSame) return prevT;
    const a = rec.tsA + 1,
      e = rec.tsB - 1;
    if (e - a === prevTs.length && same(b, a, e, prevTs)) return prevT;
    let t = rec.tsEsc ? NaN : isoBytesMs(b, a, e);
    if (t !== t) {
      const s = decodeString(b, rec.tsA, rec.tsB, rec.tsEsc);
      t = /^\s*-?\d+(\.\d+)?\s*$/.test(s) ? epochToMs(Number(s)) : parseIsoMs(s);
      if (Number.isNaN(t)) return `timestamp is not a time: ${JSON.stringify(s.slice(0, 40))}`;
    }
    prevTs = b.slice(a, e);
    prevT = t;
    if (hint.on) {
      hint.ts = prevTs;
      hint.tsEsc = rec.tsEsc;
    }
    return t;
  };

  const where = (n: number, at: number) => () => `${file}: metrics[${n}] (line ${lineAt(path, at)}, byte ${at})`;
  let first = true;
  let idx = 0;
  for (;;) {
    // The record in this place of the previous tick, or the first of a tick when this one may start another.
    if (hint.on) hint.entry = order[slot] ?? order[0];
    const res = parseRecord(r.buf, r.pos, r.end, r.eof, first, r.base, hint);
    if (res === NEED) {
      if (!(await r.fill(r.pos))) throw new FileFormatError('metrics: the file ends inside the array', r.at(r.pos));
      continue;
    }
    r.pos = rec.next;
    if (res === END) break;
    first = false;
    const b = r.buf;
    const n = idx++;
    let err = rec.err;
    if (!err) {
      if (!rec.tsKind) err = 'no timestamp';
      else if (rec.labelA < 0) err = 'no label';
      else if (!rec.hasValue) err = 'no value';
    }
    let t = NaN;
    if (!err) {
      const x = timeOf(b);
      if (typeof x === 'string') err = x;
      else {
        t = x;
        // The row's time was checked with its first record.
        if (t !== rowT) err = Sink.badTime(t);
      }
    }
    if (err) {
      sink.bad(where(n, r.at(rec.start)), err);
      continue;
    }
    if (t !== rowT) {
      flush();
      rowT = t;
      seq++;
      slot = 0;
    }
    const col = colFor(b);
    if (stamps[col] === seq) {
      sink.bad(where(n, r.at(rec.start)), `a second value for ${JSON.stringify(keys[col])} at the same time`);
      continue;
    }
    stamps[col] = seq;
    values[col] = rec.value;
  }
  flush();
}
