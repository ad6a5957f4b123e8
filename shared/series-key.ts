/**
 * Series keys for metrics that come from outside the agent (user metrics, Ollama models).
 *
 *   user.<metric>[.<label>-<value>]…      labels sorted by name, empty values dropped
 *   loss{run="42"}                        → user.loss.run-42
 *   gpu_temp:max{host="a.b",zone="x y"}  → user.gpu_temp~3Amax.host-a~2Eb.zone-x~20y
 *
 * Each part keeps `A–Z a–z 0–9 _` as is; every other byte of its UTF-8 form is written `~HH`
 * (two upper-case hex digits). `.` and `-` are therefore only ever separators, so the folding is
 * one-to-one (parseUserKey undoes it), deterministic, and the key is URL-safe (`~` is unreserved)
 * and free of `,` (the `keys=` separator). Label names cannot contain `-` (Prometheus allows
 * `[a-zA-Z_][a-zA-Z0-9_]*`), so `<label>-<value>` splits at its first `-`.
 */
import { USER_PREFIX } from './catalog.ts';

/** Prometheus metric and label names. */
export const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Longest key the agent accepts: a key is sent in every schema and stored in every chunk. */
export const MAX_KEY_LENGTH = 200;

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** One key part, escaped as above. */
export function foldPart(s: string): string {
  let out = '';
  for (const ch of s) {
    if (/^[A-Za-z0-9_]$/.test(ch)) {
      out += ch;
      continue;
    }
    for (const b of enc.encode(ch)) out += '~' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** Undoes foldPart; null when `s` is not a folded part. */
export function unfoldPart(s: string): string | null {
  if (!/^(?:[A-Za-z0-9_]|~[0-9A-F]{2})*$/.test(s)) return null;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '~') {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(s.charCodeAt(i));
  }
  try {
    return dec.decode(new Uint8Array(bytes));
  } catch {
    return null;
  }
}

/**
 * A `key value` line's key as a metric name (exec output may print `my.key 5`): every character
 * a Prometheus name cannot have (anything outside `a–z A–Z 0–9 _ :`) becomes `_`, and a key that
 * starts with a digit gets `_` in front: `my.key` → `my_key`, `requests-per-sec` →
 * `requests_per_sec`, `9lives` → `_9lives`. A valid name comes back unchanged. The name is then
 * folded into a series key like any other (userKey).
 */
export function toMetricName(key: string): string {
  const s = key.replace(/[^a-zA-Z0-9_:]/gu, '_');
  return /^[0-9]/.test(s) ? '_' + s : s;
}

/** The key of a user metric: `user.` + folded name + one `.label-value` per non-empty label, sorted by label name. */
export function userKey(metric: string, labels: Readonly<Record<string, string>>): string {
  let key = USER_PREFIX + foldPart(metric);
  for (const name of Object.keys(labels).sort()) {
    const v = labels[name]!;
    if (v !== '') key += `.${name}-${foldPart(v)}`;
  }
  return key;
}

/** The metric name and labels a user key was folded from; null when it is not one. */
export function parseUserKey(key: string): { metric: string; labels: Record<string, string> } | null {
  if (!key.startsWith(USER_PREFIX)) return null;
  const [name, ...rest] = key.slice(USER_PREFIX.length).split('.');
  const metric = unfoldPart(name ?? '');
  if (!metric || !METRIC_NAME_RE.test(metric)) return null;
  const labels: Record<string, string> = {};
  let prev = '';
  for (const part of rest) {
    const dash = part.indexOf('-');
    const lname = part.slice(0, dash);
    const v = dash > 0 ? unfoldPart(part.slice(dash + 1)) : null;
    // Sorted and unique, so that one metric has exactly one key.
    if (v === null || v === '' || !LABEL_NAME_RE.test(lname) || lname <= prev) return null;
    labels[lname] = v;
    prev = lname;
  }
  return { metric, labels };
}

/** `ollama.<model>.<metric>`: the model name folded like a user key part. */
export const ollamaKey = (model: string, metric: 'vram' | 'gpu_share') => `ollama.${foldPart(model)}.${metric}`;

/** The same keys in the same order (an identity check first: most callers pass the same array again). */
export const sameKeys = (a: readonly string[], b: readonly string[]) => a === b || (a.length === b.length && a.every((k, i) => k === b[i]));
