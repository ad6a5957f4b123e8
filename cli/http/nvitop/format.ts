/**
 * nvitop's human-readable formats, so monitor-web's JSON reads the same from gpulse:
 * bytes2human (nvitop.api.utils) and monitor-web's format_duration.
 */
const KiB = 1024,
  MiB = KiB ** 2,
  GiB = KiB ** 3,
  TiB = KiB ** 4,
  PiB = KiB ** 5;
export const UNITS = { KiB, MiB, GiB, TiB, PiB } as const;

/** nvitop's bytes2human: the unit and decimals by size, never below `minUnit`; "N/A" for an unknown value. */
export function bytes2human(bytes: number, minUnit = 1): string {
  if (!Number.isFinite(bytes)) return 'N/A';
  const b = Math.round(bytes);
  if (b < KiB && minUnit < KiB) return `${b}B`;
  if (b < MiB && minUnit <= KiB) return `${Math.round(b / KiB)}KiB`;
  if (b < 100 * MiB && minUnit <= MiB) return `${(b / MiB).toFixed(2)}MiB`;
  if (b < 1000 * MiB && minUnit <= MiB) return `${(b / MiB).toFixed(1)}MiB`;
  if (b < 20 * GiB && minUnit <= MiB) return `${Math.round(b / MiB)}MiB`;
  if (b < 100 * GiB && minUnit <= GiB) return `${(b / GiB).toFixed(2)}GiB`;
  if (b < 1000 * GiB && minUnit <= GiB) return `${(b / GiB).toFixed(1)}GiB`;
  if (b < 100 * TiB && minUnit <= TiB) return `${(b / TiB).toFixed(2)}TiB`;
  if (b < 1000 * TiB && minUnit <= TiB) return `${(b / TiB).toFixed(1)}TiB`;
  if (b < 100 * PiB) return `${(b / PiB).toFixed(2)}PiB`;
  return `${(b / PiB).toFixed(1)}PiB`;
}

/** monitor-web's format_duration: the largest unit that divides exactly (1d, 12h, 30m), else seconds as Python's "%g". */
export function formatRetention(seconds: number): string {
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${pyG(seconds)}s`;
}

/** Python's format(x, 'g'): six significant digits, trailing zeros dropped, exponent form outside 1e-4 … 1e6. */
function pyG(x: number): string {
  if (x === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(x)));
  if (exp < -4 || exp >= 6) {
    const [m, e] = x.toExponential(5).split('e');
    const n = Number(e);
    return `${m!.replace(/\.?0+$/, '')}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return x
    .toPrecision(6)
    .replace(/(\.\d*?)0+$/, '$1')
    .replace(/\.$/, '');
}
