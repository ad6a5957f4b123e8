/**
 * The body of POST /v1/push, in either form:
 *   Prometheus text:  `loss{run="42"} 0.0123457` (one sample a line; HELP/TYPE/UNIT as usual)
 *   JSON:             {"metrics": {"loss": 0.0123457, "lr": 3e-4}, "labels": {"run": "42"}}
 * JSON is chosen by `Content-Type: application/json`, or, without a content type, by a body that
 * starts with `{`. The first bad line or entry is the error (and nothing of the body is taken).
 */
import { LABEL_NAME_RE, MAX_KEY_LENGTH, METRIC_NAME_RE, userKey } from '../../shared/series-key.ts';
import { parsePromText, type PromFamily, type PromSample, type SeriesCache } from './prom-text.ts';

export type PushParse = { ok: true; samples: PromSample[]; families: Map<string, PromFamily> } | { ok: false; message: string };

/** Most samples one push may carry. */
export const MAX_PUSH_SAMPLES = 10_000;

export function parsePush(text: string, contentType: string | null, cache?: SeriesCache): PushParse {
  const json = contentType ? /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType) : /^\s*\{/.test(text);
  const r = json ? parseJsonPush(text) : textPush(text, cache);
  if (r.ok && r.samples.length === 0) return { ok: false, message: 'no samples' };
  if (r.ok && r.samples.length > MAX_PUSH_SAMPLES) return { ok: false, message: `more than ${MAX_PUSH_SAMPLES} samples` };
  return r;
}

function textPush(text: string, cache?: SeriesCache): PushParse {
  const r = parsePromText(text, cache);
  return r.ok ? r : { ok: false, message: `line ${r.error.line}: ${r.error.message}` };
}

export function parseJsonPush(text: string): PushParse {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, message: 'not valid JSON' };
  }
  if (!isObject(doc)) return { ok: false, message: 'must be a JSON object {"metrics": {…}, "labels": {…}}' };
  const extra = Object.keys(doc).find((k) => k !== 'metrics' && k !== 'labels');
  if (extra) return { ok: false, message: `${JSON.stringify(extra)}: unknown field (metrics, labels)` };
  if (!isObject(doc.metrics)) return { ok: false, message: 'metrics: must be an object of name → number' };
  const labels: Record<string, string> = {};
  if (doc.labels !== undefined) {
    if (!isObject(doc.labels)) return { ok: false, message: 'labels: must be an object of name → string' };
    for (const [k, v] of Object.entries(doc.labels)) {
      if (!LABEL_NAME_RE.test(k) || k.startsWith('__'))
        return { ok: false, message: `labels.${k}: bad label name (letters, digits and _, not starting with a digit or __)` };
      if (typeof v !== 'string') return { ok: false, message: `labels.${k}: must be a string` };
      labels[k] = v;
    }
  }
  const samples: PromSample[] = [];
  for (const [name, v] of Object.entries(doc.metrics)) {
    if (!METRIC_NAME_RE.test(name)) return { ok: false, message: `metrics.${name}: bad metric name (letters, digits, _ and :, not starting with a digit)` };
    if (typeof v !== 'number' || !Number.isFinite(v)) return { ok: false, message: `metrics.${name}: value must be a finite number` };
    const key = userKey(name, labels);
    if (key.length > MAX_KEY_LENGTH) return { ok: false, message: `metrics.${name}: series key longer than ${MAX_KEY_LENGTH} characters` };
    samples.push({ metric: name, labels, key, value: v, line: samples.length + 1 });
  }
  return { ok: true, samples, families: new Map() };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
