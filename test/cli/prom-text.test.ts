/** The Prometheus text parser behind textfiles, push and exec: what it takes, and the first bad line. */
import { describe, expect, test } from 'bun:test';
import { parsePromText, parseValue, SeriesCache } from '../../cli/user/prom-text.ts';
import { parsePush } from '../../cli/user/push.ts';

const ok = (text: string) => {
  const r = parsePromText(text);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r;
};
const err = (text: string) => {
  const r = parsePromText(text);
  if (r.ok) throw new Error('parsed');
  return r.error;
};

/** Every kind of line the format has, once. */
const PROM_SAMPLE =
  [
    '# HELP loss Training loss\\nper step \\\\ batch',
    '# TYPE loss gauge',
    '# UNIT loss ratio',
    'loss{run="42",note="a \\"b\\" c\\\\d\\ne"} 0.0123457',
    '# TYPE tokens_total counter',
    'tokens_total 1e6 1700000000000',
    'plain 3',
    '  spaced{ a = "1" , } -Inf',
    'nan_value NaN',
    '# a comment',
    '',
    'last +1.5E-3',
  ].join('\n') + '\n';

describe('parsePromText()', () => {
  test('gauges, counters, untyped; HELP with escapes; UNIT; labels with escapes; timestamps ignored', () => {
    const r = ok(PROM_SAMPLE);
    expect(r.samples.map((s) => [s.key, s.value])).toEqual([
      ['user.loss.note-a~20~22b~22~20c~5Cd~0Ae.run-42', 0.0123457],
      ['user.tokens_total', 1e6],
      ['user.plain', 3],
      ['user.spaced.a-1', -Infinity],
      ['user.nan_value', NaN],
      ['user.last', 0.0015],
    ]);
    expect(r.samples[0]!.labels).toEqual({ run: '42', note: 'a "b" c\\d\ne' });
    expect(r.families.get('loss')).toEqual({ help: 'Training loss\nper step \\ batch', type: 'gauge', unit: 'ratio' });
    expect(r.families.get('tokens_total')!.type).toBe('counter');
  });
  test('# EOF ends the text; CRLF line ends are accepted', () => {
    expect(ok('a 1\r\n# EOF\nthis is not read\n').samples).toHaveLength(1);
  });
  test.each([
    ['a 1\nb{x="1} 2\n', 2, 'unterminated'],
    ['a 1\n1abc 2\n', 2, 'bad metric name'],
    ['a{1x="y"} 2\n', 1, 'bad label name'],
    ['a{x="y",x="z"} 2\n', 1, 'given twice'],
    ['a{__name__="y"} 2\n', 1, 'reserved'],
    ['a{x=y} 2\n', 1, 'double quotes'],
    ['a{x="\\t"} 2\n', 1, 'invalid escape'],
    ['a one\n', 1, 'bad value'],
    ['a\n', 1, 'missing value'],
    ['a 1 2 3\n', 1, 'after the value'],
    ['a 1 notatime\n', 1, 'after the value'],
    ['a 1\na 2\n', 2, 'duplicate series'],
    ['a{x="1"} 1\na{x="1"} 2\n', 2, 'duplicate series'],
    ['# TYPE h histogram\nh_bucket{le="1"} 1\n', 1, 'not supported'],
    ['# TYPE a gauge\n# TYPE a counter\n', 2, 'given twice'],
    ['a 1\n# TYPE a gauge\n', 2, 'before its samples'],
    ['# TYPE a weird\n', 1, 'unknown type'],
    ['# HELP 9x help\n', 1, 'bad metric name'],
    [`a{x="${'y'.repeat(300)}"} 1\n`, 1, 'longer than 200'],
  ])('%j → line %d: %s', (text, line, msg) => {
    const e = err(text);
    expect(e.line).toBe(line);
    expect(e.message).toContain(msg);
  });
  test('parseValue: Prometheus spellings of numbers only', () => {
    expect(parseValue('+Inf')).toBe(Infinity);
    expect(parseValue('-inf')).toBe(-Infinity);
    expect(parseValue('.5')).toBe(0.5);
    expect(parseValue('1.')).toBe(1);
    for (const bad of ['0x10', '1_000', '', 'Infinityx', '1e', 'true']) expect(parseValue(bad)).toBeNull();
  });
});

describe('parsePush()', () => {
  test('JSON: metrics and shared labels; chosen by content type or a leading {', () => {
    const r = parsePush('{"metrics": {"loss": 0.0123457, "lr": 3e-4}, "labels": {"run": "42"}}', null);
    expect(r.ok && r.samples.map((s) => [s.key, s.value])).toEqual([
      ['user.loss.run-42', 0.0123457],
      ['user.lr.run-42', 0.0003],
    ]);
    expect(parsePush('{"metrics": {"a": 1}}', 'application/json; charset=utf-8').ok).toBe(true);
    expect(parsePush('a 1\n', 'text/plain; version=0.0.4').ok).toBe(true);
  });
  test.each([
    ['{"metrics": {"loss": "0.1"}}', 'metrics.loss: value must be a finite number'],
    ['{"metrics": {"loss": null}}', 'metrics.loss: value must be a finite number'],
    ['{"metrics": {"9x": 1}}', 'metrics.9x: bad metric name'],
    ['{"metrics": {"a": 1}, "labels": {"r-n": "1"}}', 'labels.r-n: bad label name'],
    ['{"metrics": {"a": 1}, "labels": {"r": 1}}', 'labels.r: must be a string'],
    ['{"metrics": [1]}', 'metrics: must be an object'],
    ['{"metric": {"a": 1}}', '"metric": unknown field'],
    ['{"metrics": {}}', 'no samples'],
    ['{"metrics": ', 'not valid JSON'],
    ['a 1\nb x\n', 'line 2: b: bad value'],
    ['', 'no samples'],
  ])('%j → %s', (body, msg) => {
    const r = parsePush(body, null);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(msg);
  });
});

describe('exec output: key value lines', () => {
  const kv = (text: string, cache?: SeriesCache) => parsePromText(text, cache, { keyValueLines: true });
  test.each([
    ['my.key 5', 'my_key', 'user.my_key', 5],
    ['requests-per-sec 12.5 1700000000000', 'requests_per_sec', 'user.requests_per_sec', 12.5],
    ['9lives 3', '_9lives', 'user._9lives', 3],
    ['gpu/0.temp°C\t41', 'gpu_0_temp_C', 'user.gpu_0_temp_C', 41],
    ['ok:name.x 1', 'ok:name_x', 'user.ok~3Aname_x', 1],
  ])('%j: a key a metric name cannot be is folded', (line, metric, key, value) => {
    const r = kv(line + '\n');
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    expect(r.samples.map((x) => [x.metric, x.key, x.value, x.labels])).toEqual([[metric, key, value, {}]]);
    // Plain Prometheus text (push, textfiles) still refuses it.
    expect(parsePromText(line + '\n').ok).toBe(false);
  });
  test('Prometheus text parses exactly as it does without the option', () => {
    expect(kv(PROM_SAMPLE)).toEqual(parsePromText(PROM_SAMPLE));
    expect(kv(PROM_SAMPLE, new SeriesCache())).toEqual(parsePromText(PROM_SAMPLE, new SeriesCache()));
  });
  test.each([
    ['a.b 1\na-b 2\n', 2, 'duplicate series a_b'],
    ['a.b{x="1"} 2\n', 1, 'a: expected a space before the value'],
    ['my.key\n', 1, 'my.key: missing value'],
    ['my.key five\n', 1, 'my.key: bad value "five"'],
  ])('%j → line %d: %s', (text, line, msg) => {
    const r = kv(text);
    if (r.ok) throw new Error('parsed');
    expect(r.error.line).toBe(line);
    expect(r.error.message).toContain(msg);
  });
  test('a re-read through the series cache gives the same answer; `my 1` and `my.key 2` stay two series', () => {
    const cache = new SeriesCache();
    const text = 'my 1\nmy.key 2\nmy{a="b"} 3\n';
    const first = kv(text, cache);
    expect(first.ok && first.samples.map((x) => [x.key, x.value])).toEqual([
      ['user.my', 1],
      ['user.my_key', 2],
      ['user.my.a-b', 3],
    ]);
    expect(kv(text, cache)).toEqual(first);
  });
});
