/** Prometheus text format 0.0.4: families of samples, escaped label values, numbers without noise. */

/** untyped: a user metric given without # TYPE. */
export type MetricType = 'gauge' | 'counter' | 'untyped';
export interface Family {
  name: string;
  help: string;
  type: MetricType;
  lines: string[];
}

const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
export const labels = (l: Record<string, string>) =>
  '{' +
  Object.entries(l)
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(',') +
  '}';

/**
 * Integers as they are; other values to 10 significant digits, except from a million up, where
 * three decimals are kept (node_time_seconds keeps its milliseconds, a CPU-seconds counter its
 * hundredths).
 */
export function num(x: number): string {
  if (Number.isInteger(x)) return String(x);
  if (Math.abs(x) >= 1e6) return x.toFixed(3).replace(/\.?0+$/, '');
  return x
    .toPrecision(10)
    .replace(/\.?0+$/, '')
    .replace(/\.?0+e/, 'e');
}

/** Collects families in order; `sample` skips non-finite values (unknown is omitted, never 0). */
export class Exposition {
  readonly families: Family[] = [];
  family(name: string, help: string, type: MetricType): Family {
    const f: Family = { name, help, type, lines: [] };
    this.families.push(f);
    return f;
  }
  static sample(f: Family, l: Record<string, string>, x: number) {
    if (Number.isFinite(x)) f.lines.push(`${f.name}${labels(l)} ${num(x)}`);
  }
  /** A family with no samples is left out entirely. */
  render(): string {
    let out = '';
    for (const f of this.families) {
      if (!f.lines.length) continue;
      out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n${f.lines.join('\n')}\n`;
    }
    return out;
  }
}
