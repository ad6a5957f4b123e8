/**
 * `gpulse push name=value … [--label k=v]…` or `gpulse push --file metrics.prom` (`-` = stdin):
 * sends your own metrics to a running agent (POST /v1/push). Names, labels and values are checked
 * here first, so a typo is a usage error naming the argument, not a round trip.
 */
import { readFileSync } from 'node:fs';
import { LABEL_NAME_RE, METRIC_NAME_RE } from '../../shared/series-key.ts';
import type { PushResult } from '../../shared/wire.ts';
import { UsageError, type ParsedValue } from '../args.ts';
import { parseValue } from '../user/prom-text.ts';
import { call, target } from './client.ts';

/** `name=value` arguments and `k=v` labels → the JSON push body. */
export function pushBody(args: readonly string[], labelArgs: readonly string[]): { metrics: Record<string, number>; labels: Record<string, string> } {
  if (!args.length) throw new UsageError('push: give name=value pairs (e.g. gpulse push loss=0.0123 --label run=42) or --file FILE');
  const metrics: Record<string, number> = {};
  for (const a of args) {
    const eq = a.indexOf('=');
    const name = a.slice(0, Math.max(0, eq)),
      raw = a.slice(eq + 1);
    if (eq < 1) throw new UsageError(`push: ${JSON.stringify(a)}: expected name=value`);
    if (!METRIC_NAME_RE.test(name))
      throw new UsageError(`push: ${JSON.stringify(name)}: bad metric name (letters, digits, _ and :, not starting with a digit)`);
    const v = parseValue(raw);
    if (v === null || !Number.isFinite(v)) throw new UsageError(`push: ${name}: ${JSON.stringify(raw)} is not a finite number`);
    if (name in metrics) throw new UsageError(`push: ${name} is given twice`);
    metrics[name] = v;
  }
  const labels: Record<string, string> = {};
  for (const l of labelArgs) {
    const eq = l.indexOf('=');
    const k = l.slice(0, Math.max(0, eq));
    if (eq < 1 || !LABEL_NAME_RE.test(k) || k.startsWith('__'))
      throw new UsageError(`--label: ${JSON.stringify(l)}: expected name=value with a label name of letters, digits and _`);
    labels[k] = l.slice(eq + 1);
  }
  return { metrics, labels };
}

export async function push(positionals: string[], flags: Record<string, ParsedValue>) {
  const file = flags.file as string | undefined;
  const labels = (flags.label as string[] | undefined) ?? [];
  let init: RequestInit;
  if (file !== undefined) {
    if (positionals.length) throw new UsageError('--file: give either --file or name=value pairs, not both');
    if (labels.length) throw new UsageError('--label: not with --file (write the labels in the file)');
    let text: string;
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (e) {
      throw new UsageError(`--file: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    init = { method: 'POST', body: text, headers: { 'content-type': 'text/plain; version=0.0.4' } };
  } else init = { method: 'POST', body: JSON.stringify(pushBody(positionals, labels)) };
  const { url, token } = target(flags);
  const r = (await (await call(`${url}/v1/push`, token, init)).json()) as PushResult;
  process.stdout.write(`pushed ${r.accepted} series: ${r.keys.join(', ')}\n`);
}
