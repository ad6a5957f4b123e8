/** `gpulse accounting [--since 7d] [--until T] [--by user|container|job|command|pod|namespace] [--json]`: who used the GPUs. */
import { ACCOUNTING_BY, type Accounting, type AccountingBy } from '../../shared/wire.ts';
import { UsageError, type ParsedValue } from '../args.ts';
import { call, parseTime, target } from './client.ts';

const fmt = (x: number, d: number) => x.toFixed(d);

/** The accounting document as an aligned table: one row per group, then the total and each GPU's energy. */
export function accountingTable(a: Accounting): string {
  const head = [a.by.toUpperCase(), 'PROCS', 'GPU-h', 'UTIL GPU-h', 'MEM GiB·h', 'ENERGY kWh', 'GPU-h PER GPU'];
  const row = (name: string, procs: string, u: Accounting['total'], per: string) => [
    name,
    procs,
    fmt(u.gpu_seconds / 3600, 2),
    fmt(u.util_gpu_seconds / 3600, 2),
    fmt(u.mem_gib_hours, 2),
    fmt(u.energy_j / 3.6e6, 3),
    per,
  ];
  const rows = a.groups.map((g) => row(g.group ?? '-', String(g.processes), g.total, g.gpus.map((x) => `${x.gpu}:${fmt(x.gpu_seconds / 3600, 2)}`).join(' ')));
  rows.push(row('TOTAL', String(a.groups.reduce((s, g) => s + g.processes, 0)), a.total, ''));
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(w[i]!) : c.padStart(w[i]!)))
      .join('  ')
      .trimEnd();
  const range = `${new Date(a.since).toISOString().slice(0, 16).replace('T', ' ')} → ${new Date(a.until).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const out = [`GPU accounting by ${a.by}, ${range} (${a.tier === '1m' ? 'per minute' : 'per hour'})`, line(head), ...rows.map(line)];
  if (a.gpus.length)
    out.push(
      '',
      `GPU energy: ${a.gpus.map((g) => `${g.gpu}: ${fmt(g.energy_j / 3.6e6, 3)} kWh (${fmt(g.unattributed_energy_j / 3.6e6, 3)} with no process)`).join(', ')}`,
    );
  return out.join('\n') + '\n';
}

export async function accounting(flags: Record<string, ParsedValue>) {
  const by = (flags.by as string | undefined) ?? 'user';
  if (!ACCOUNTING_BY.includes(by as AccountingBy)) throw new UsageError(`--by: must be one of ${ACCOUNTING_BY.join(', ')}, got ${JSON.stringify(by)}`);
  const q = new URLSearchParams({ by, since: String(parseTime('since', (flags.since as string | undefined) ?? '7d')) });
  if (flags.until) q.set('until', String(parseTime('until', flags.until as string)));
  const { url, token } = target(flags);
  const doc = (await (await call(`${url}/v1/accounting?${q}`, token)).json()) as Accounting;
  process.stdout.write(flags.json ? JSON.stringify(doc, null, 1) + '\n' : accountingTable(doc));
}
