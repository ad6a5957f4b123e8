/**
 * The Prometheus text format (0.0.4, node_exporter's textfile convention), strictly: gauges,
 * counters and untyped samples with labels and escapes, `# HELP`, `# TYPE`, `# UNIT` (from
 * OpenMetrics) and `# EOF`. `key value` lines are the same format without TYPE lines; with
 * `keyValueLines` (exec output), a key that is no metric name (`my.key 5`) is folded into one by
 * toMetricName instead of refused. Parsing stops at the first bad line and says which, so a body
 * is taken whole or not at all.
 * Timestamps after the value are accepted and ignored: a value is sampled at the agent's tick.
 */
import { LABEL_NAME_RE, MAX_KEY_LENGTH, METRIC_NAME_RE, toMetricName, userKey } from '../../shared/series-key.ts';

export type PromType = 'gauge' | 'counter' | 'untyped';
export interface PromSample {
  metric: string;
  labels: Record<string, string>;
  key: string;
  value: number;
  line: number;
}
export interface PromFamily {
  help: string | null;
  type: PromType;
  unit: string | null;
}
export interface PromError {
  line: number;
  message: string;
}
export type PromParse = { ok: true; samples: PromSample[]; families: Map<string, PromFamily> } | { ok: false; error: PromError };

/** A series part (`name{labels}`) already parsed and folded: what a re-read of the same file skips. */
export interface SeriesParsed {
  metric: string;
  labels: Record<string, string>;
  key: string;
}

/**
 * Remembers parsed series parts between reads of one source. A textfile or a collector's output
 * is mostly the same series with new values, so a re-read parses only the values. Bounded: it is
 * cleared when it holds more than `max` entries.
 */
export class SeriesCache {
  #m = new Map<string, SeriesParsed>();
  constructor(readonly max = 4096) {}
  get(k: string) {
    return this.#m.get(k);
  }
  set(k: string, v: SeriesParsed) {
    if (this.#m.size >= this.max) this.#m.clear();
    this.#m.set(k, v);
  }
}

/**
 * Where the series part of a sample line ends: after the label set's closing brace (a value or
 * timestamp never has one), else at the name's end (for `key value` lines, the key's end).
 */
function seriesEnd(line: string, keyValueLines: boolean): number {
  const brace = line.indexOf('{');
  if (brace >= 0) return line.lastIndexOf('}') + 1;
  if (keyValueLines) return keyEnd(line);
  const m = NAME_AT.exec(line);
  return m ? m[0].length : 0;
}

/** The first space or tab, or the line's end. */
function keyEnd(line: string): number {
  const m = /[ \t]/.exec(line);
  return m ? m.index : line.length;
}

const NAME_AT = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const FLOAT_RE = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[Ii]nf(?:inity)?|NaN|nan)$/;
const UNSUPPORTED = new Set(['histogram', 'summary', 'gaugehistogram', 'stateset', 'info']);

/** A sample value as Prometheus writes it (`1`, `-2.5e-3`, `NaN`, `+Inf`). NaN for anything else is the caller's job: this returns null. */
export function parseValue(s: string): number | null {
  if (!FLOAT_RE.test(s)) return null;
  // The common case, a decimal number, needs no respelling.
  const last = s.charCodeAt(s.length - 1);
  if ((last >= 48 && last <= 57) || last === 46) return Number(s);
  const t = s.replace(/^([+-]?)[Ii]nf(?:inity)?$/, '$1Infinity').replace(/^nan$/i, 'NaN');
  return Number(t);
}

export interface PromTextOptions {
  /** Exec output: `key value` lines may have keys that are no metric names (see toMetricName). */
  keyValueLines?: boolean;
}

export function parsePromText(text: string, cache?: SeriesCache, opts: PromTextOptions = {}): PromParse {
  const kvLines = opts.keyValueLines === true;
  const samples: PromSample[] = [];
  const families = new Map<string, PromFamily>();
  const seen = new Set<string>();
  const fam = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { help: null, type: 'untyped', unit: null }));
    return f;
  };
  const typed = new Set<string>();
  const metricsSeen = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const no = i + 1;
    let line = lines[i]!;
    if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    const fail = (message: string): PromParse => ({ ok: false, error: { line: no, message } });
    // Lines are read often (a textfile every change, a push every step): cheap checks first.
    const c0 = line.charCodeAt(0);
    if (c0 === 32 || c0 === 9) {
      line = line.trimStart();
      if (!line) continue;
    } else if (!line) continue;
    if (line.charCodeAt(0) === 35 /* # */) {
      const m = /^\s*#\s*(HELP|TYPE|UNIT|EOF)(?:\s+(\S+)(?:\s+(.*))?)?\s*$/.exec(line);
      if (!m) continue; // an ordinary comment
      const [, what, name, rest = ''] = m;
      if (what === 'EOF') break;
      if (!name || !METRIC_NAME_RE.test(name)) return fail(`# ${what}: bad metric name ${JSON.stringify(name ?? '')}`);
      if (what === 'HELP') {
        fam(name).help = rest.replace(/\\(\\|n)/g, (_x, c: string) => (c === 'n' ? '\n' : '\\'));
        continue;
      }
      if (what === 'UNIT') {
        fam(name).unit = rest.trim() || null;
        continue;
      }
      const type = rest.trim().toLowerCase();
      if (UNSUPPORTED.has(type)) return fail(`# TYPE ${name} ${type}: not supported (only gauge, counter and untyped)`);
      if (type !== 'gauge' && type !== 'counter' && type !== 'untyped' && type !== 'unknown')
        return fail(`# TYPE ${name}: unknown type ${JSON.stringify(type)}`);
      if (typed.has(name)) return fail(`# TYPE ${name}: given twice`);
      if (metricsSeen.has(name)) return fail(`# TYPE ${name}: must come before its samples`);
      typed.add(name);
      fam(name).type = type === 'unknown' ? 'untyped' : type;
      continue;
    }
    const l = line;
    const end = cache ? seriesEnd(l, kvLines) : 0;
    const hit = end > 0 ? cache!.get(l.slice(0, end)) : undefined;
    let r: SeriesParsed & { value: number };
    if (hit) {
      // A series part parsed before: only the value (and an optional timestamp) is new.
      const v = parseRest(hit.metric, l.slice(end));
      if (typeof v === 'string') return fail(v);
      if (seen.has(hit.key)) return fail(`duplicate series ${hit.metric}${labelText(hit.labels)}`);
      seen.add(hit.key);
      metricsSeen.add(hit.metric);
      samples.push({ metric: hit.metric, labels: hit.labels, key: hit.key, value: v, line: no });
      continue;
    } else {
      const x = (kvLines && keyValueLine(l)) || parseSampleLine(l);
      if (typeof x === 'string') return fail(x);
      const key = userKey(x.metric, x.labels);
      if (key.length > MAX_KEY_LENGTH) return fail(`series key ${key.slice(0, 40)}… is longer than ${MAX_KEY_LENGTH} characters`);
      r = { ...x, key };
      if (end > 0) cache!.set(l.slice(0, end), { metric: x.metric, labels: x.labels, key });
    }
    if (seen.has(r.key)) return fail(`duplicate series ${r.metric}${labelText(r.labels)}`);
    seen.add(r.key);
    metricsSeen.add(r.metric);
    samples.push({ metric: r.metric, labels: r.labels, key: r.key, value: r.value, line: no });
  }
  return { ok: true, samples, families };
}

/**
 * A `key value` line whose key is no metric name (`my.key 5`), its key folded by toMetricName;
 * null for any other line, which is then parsed as Prometheus text exactly as without the option.
 * A string is the error (messages name the key as printed).
 */
function keyValueLine(line: string): { metric: string; labels: Record<string, string>; value: number } | string | null {
  const end = keyEnd(line);
  const key = line.slice(0, end);
  if (key.includes('{') || METRIC_NAME_RE.test(key)) return null;
  const value = parseRest(key, line.slice(end));
  return typeof value === 'string' ? value : { metric: toMetricName(key), labels: {}, value };
}

/** One sample line: name, optional {labels}, value, optional timestamp. A string is the error. */
function parseSampleLine(line: string): { metric: string; labels: Record<string, string>; value: number } | string {
  const nm = NAME_AT.exec(line);
  if (!nm) return `bad metric name at ${JSON.stringify(line.slice(0, 40))} (letters, digits, _ and :, not starting with a digit)`;
  const metric = nm[0];
  let i = metric.length;
  const labels: Record<string, string> = {};
  const skip = () => {
    while (line[i] === ' ' || line[i] === '\t') i++;
  };
  if (line[i] === '{') {
    i++;
    for (;;) {
      skip();
      if (line[i] === '}') {
        i++;
        break;
      }
      const ln = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
      if (!ln) return `${metric}: bad label name at ${JSON.stringify(line.slice(i, i + 20))}`;
      const lname = ln[0];
      if (!LABEL_NAME_RE.test(lname) || lname.startsWith('__')) return `${metric}: label name ${lname} is reserved`;
      if (lname in labels) return `${metric}: label ${lname} given twice`;
      i += lname.length;
      skip();
      if (line[i] !== '=') return `${metric}: expected = after label ${lname}`;
      i++;
      skip();
      if (line[i] !== '"') return `${metric}: label ${lname}: value must be in double quotes`;
      i++;
      let v = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) return `${metric}: label ${lname}: unterminated value`;
        if (c === '"') {
          i++;
          break;
        }
        if (c === '\\') {
          const e = line[i + 1];
          if (e === '\\') v += '\\';
          else if (e === '"') v += '"';
          else if (e === 'n') v += '\n';
          else return `${metric}: label ${lname}: invalid escape \\${e ?? ''} (only \\\\, \\" and \\n)`;
          i += 2;
          continue;
        }
        v += c;
        i++;
      }
      labels[lname] = v;
      skip();
      if (line[i] === ',') {
        i++;
        continue;
      }
      if (line[i] === '}') {
        i++;
        break;
      }
      return `${metric}: expected , or } after label ${lname}`;
    }
  }
  const value = parseRest(metric, line.slice(i));
  return typeof value === 'string' ? value : { metric, labels, value };
}

/** What follows the series part: whitespace, the value, optionally an integer timestamp. A string is the error. */
function parseRest(metric: string, rest: string): number | string {
  if (rest && rest[0] !== ' ' && rest[0] !== '\t') return `${metric}: expected a space before the value`;
  // Fast path: one space, then the value alone.
  if (rest.length > 1 && rest.indexOf(' ', 1) < 0 && rest.indexOf('\t') < 0) {
    const v = parseValue(rest.slice(1));
    if (v !== null) return v;
  }
  const parts = rest
    .trim()
    .split(/[ \t]+/)
    .filter(Boolean);
  if (!parts.length) return `${metric}: missing value`;
  const value = parseValue(parts[0]!);
  if (value === null) return `${metric}: bad value ${JSON.stringify(parts[0]!.slice(0, 40))}`;
  if (parts.length > 2 || (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])))
    return `${metric}: unexpected ${JSON.stringify(parts.slice(1).join(' ').slice(0, 40))} after the value (only an integer timestamp may follow)`;
  return value;
}

export const labelText = (l: Readonly<Record<string, string>>) => {
  const e = Object.entries(l);
  return e.length ? `{${e.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}` : '';
};

/** HELP/TYPE/UNIT of a sample's family: its own name, or the name without `_total` (OpenMetrics counters). */
export function familyOf(families: ReadonlyMap<string, PromFamily>, metric: string): PromFamily {
  return families.get(metric) ?? (metric.endsWith('_total') ? families.get(metric.slice(0, -6)) : undefined) ?? { help: null, type: 'untyped', unit: null };
}
