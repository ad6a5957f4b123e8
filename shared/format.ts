/** Human units for the table printer and the PWA. */
const BYTES = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
export function fmtBytes(v: number | null | undefined, digits = 1): string {
  if (v == null || !Number.isFinite(v)) return '—';
  let i = 0;
  let x = Math.abs(v);
  while (x >= 1024 && i < BYTES.length - 1) {
    x /= 1024;
    i++;
  }
  return `${(Math.sign(v) * x).toFixed(i === 0 ? 0 : digits)} ${BYTES[i]}`;
}
export const fmtRate = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? '—' : `${fmtBytes(v)}/s`);
export function fmtNum(v: number | null | undefined, unit = '', digits = 0): string {
  if (v == null || !Number.isFinite(v)) return '—';
  return unit ? `${v.toFixed(digits)} ${unit}` : v.toFixed(digits);
}
export function fmtUptime(s: number | null | undefined): string {
  if (s == null || !Number.isFinite(s)) return '—';
  const d = Math.floor(s / 86400),
    h = Math.floor((s % 86400) / 3600),
    m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m`;
}
/**
 * The binary unit that suits byte values up to `max`, for a chart that writes the unit once (in its
 * title) and plain numbers on a narrow axis: 19,500,000,000 → { div: 2^30, unit: 'GiB' }.
 */
export function byteScale(max: number): { div: number; unit: string } {
  let i = 0;
  let x = Math.abs(max);
  while (x >= 1024 && i < BYTES.length - 1) {
    x /= 1024;
    i++;
  }
  return { div: 1024 ** i, unit: BYTES[i]! };
}
/** A number in at most four characters before the unit: 1023, 18.6, 1.33, 0. */
export const fmtShort = (v: number) => (v === 0 ? '0' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
/** A value in its catalog unit: bytes and rates scaled, everything else with the unit after it. */
export function fmtUnit(v: number | null | undefined, unit: string): string {
  if (unit === 'B') return fmtBytes(v);
  if (unit === 'B/s') return fmtRate(v);
  return fmtNum(v, unit === 'C' ? '°C' : unit, v != null && Math.abs(v) < 10 && !Number.isInteger(v) ? 2 : 1);
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
