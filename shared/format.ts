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
/** How long ago `t` was: "12 s ago", "3 min ago", "2 h ago", "4 d ago". */
export function fmtAgo(t: number, now: number): string {
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}
