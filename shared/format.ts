/**
 * Human units for the table printer and the PWA. `fmtUnit` is the one formatter: it takes a unit
 * as the catalog names it (shared/catalog.ts `Unit`), so charts, legends, bars and tables print
 * the same value the same way. The other exports are thin names for the commonest calls.
 */
import type { Unit } from './catalog.ts';

const BYTES = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
const DASH = '—';
const bad = (v: number | null | undefined): v is null | undefined => v == null || !Number.isFinite(v);

export function fmtBytes(v: number | null | undefined, digits = 1): string {
  if (bad(v)) return DASH;
  let i = 0;
  let x = Math.abs(v);
  while (x >= 1024 && i < BYTES.length - 1) {
    x /= 1024;
    i++;
  }
  return `${(Math.sign(v) * x).toFixed(i === 0 ? 0 : digits)} ${BYTES[i]}`;
}

export function fmtUptime(s: number | null | undefined): string {
  if (bad(s)) return DASH;
  const d = Math.floor(s / 86400),
    h = Math.floor((s % 86400) / 3600),
    m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m`;
}
/** How long ago `t` was, coarsely ("12 s ago", "3 min ago", "2 h ago", "5 d ago"); `now` for tests. */
export function fmtAgo(t: number | null | undefined, now = Date.now()): string {
  if (t == null || !Number.isFinite(t)) return '—';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** Digits that keep about three significant figures: 0.123, 1.23, 12.3, 123. */
const autoDigits = (v: number) => {
  const a = Math.abs(v);
  return a === 0 || a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
};

/** SI prefixes for units that are not bytes (J → kJ → MJ). */
function si(v: number, unit: string, digits?: number): string {
  const steps = ['', 'k', 'M', 'G', 'T'];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1000 && i < steps.length - 1) {
    x /= 1000;
    i++;
  }
  return `${x.toFixed(digits ?? autoDigits(x))} ${steps[i]}${unit}`;
}

/** A user value as sent (full float64 precision end to end), trimmed only for display. */
const full = (v: number) => (Math.abs(v) >= 1e6 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(4) : String(+v.toPrecision(7)));

export interface FmtOptions {
  /** Fixed decimals instead of about three significant figures. */
  digits?: number;
  /** Keep up to 7 significant figures (user metrics are never rounded on the wire). */
  full?: boolean;
}

/**
 * One value in the catalog's unit: `%` → "45 %", `B` → "1.5 GiB", `B/s` → "12.0 MiB/s",
 * `W` → "250 W", `J` → "1.2 MJ", `C` → "63 °C", `MHz` → "1410 MHz", `s` → "3h 12m" (or "0.25 s"),
 * `''` → a plain number. An unknown unit string is printed after the number. null/NaN → "—".
 */
export function fmtUnit(v: number | null | undefined, unit: Unit | string, opts: FmtOptions = {}): string {
  if (bad(v)) return DASH;
  const num = (x: number) => (opts.full ? full(x) : x.toFixed(opts.digits ?? autoDigits(x)));
  switch (unit) {
    case '%':
      // One decimal is what a percentage can say: "5.0 %", "64.7 %", "100 %".
      return `${opts.full ? full(v) : v.toFixed(opts.digits ?? (v === 0 || Math.abs(v) >= 100 ? 0 : 1))} %`;
    case 'B':
      return fmtBytes(v, opts.digits ?? 1);
    case 'B/s':
      return `${fmtBytes(v, opts.digits ?? 1)}/s`;
    case 'J':
      return opts.full ? `${full(v)} J` : si(v, 'J', opts.digits);
    case 'C':
      return `${num(v)} °C`;
    case 's':
      return Math.abs(v) >= 60 && !opts.full ? fmtUptime(v) : `${num(v)} s`;
    case '':
      return num(v);
    default:
      return `${num(v)} ${unit}`;
  }
}

export const fmtRate = (v: number | null | undefined) => fmtUnit(v, 'B/s');
/** A number with fixed decimals and an optional unit suffix (the CLI's tables). */
export const fmtNum = (v: number | null | undefined, unit = '', digits = 0): string => fmtUnit(v, unit, { digits });

/** A unit as an axis caption names it: `C` → "°C", `B/s` → "bytes/s", `''` → "" (dimensionless). */
export function unitName(unit: Unit | string): string {
  return ({ C: '°C', B: 'bytes', 'B/s': 'bytes/s', J: 'joules', s: 'seconds' } as Record<string, string>)[unit] ?? unit;
}

/** Tick labels: as many decimals as the tick step needs, so 0, 20, 40 % are not "20.0 %". */
export function fmtTicks(ticks: readonly number[], unit: Unit | string): string[] {
  // Byte ticks fall on binary steps (chart.tsx): "256 MiB/s", not "256.0 MiB/s".
  if (unit === 'B' || unit === 'B/s' || unit === 's') return ticks.map((v) => fmtUnit(v, unit).replace(/\.0(?= )/, ''));
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : Math.abs(ticks[0] ?? 1);
  const digits = step >= 1 || step === 0 ? 0 : Math.min(6, Math.ceil(-Math.log10(step)));
  if (unit === 'J') return ticks.map((v) => fmtUnit(v, unit));
  return ticks.map((v) => fmtUnit(v, unit, { digits }));
}
