/**
 * Duration parsing shared by CLI flags and PWA inputs. Units: ms, s, m/min, h, d; bare number =
 * seconds. The long spellings (sec, secs, second(s), mins, minute(s), hr, hrs, hour(s), day(s))
 * are nvitop monitor-web's, accepted so its command lines work unchanged.
 */
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
};
const DURATION_RE = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)?$/;

/** Parses "1.5s", "24h", "100ms", "30" (seconds) into milliseconds; returns null when malformed. */
export function parseDuration(text: string): number | null {
  const m = DURATION_RE.exec(text.trim().toLowerCase());
  const unit = m && Object.hasOwn(UNIT_MS, m[2] ?? 's') ? UNIT_MS[m[2] ?? 's'] : undefined;
  if (!m || unit === undefined) return null;
  const ms = Number(m[1]) * unit;
  return Number.isFinite(ms) ? Math.round(ms) : null;
}

/** Short human form: 86400000 → "24h", 1500 → "1.5s". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && (ms % size === 0 || unit === 's')) return `${+(ms / size).toFixed(2)}${unit}`;
  }
  return `${ms}ms`;
}

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1e12,
  tib: 1024 ** 4,
};
const SIZE_RE = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/;

/** Parses "1GiB", "500MB", "2g", "1048576" (bytes) into bytes; returns null when malformed. */
export function parseSize(text: string): number | null {
  const m = SIZE_RE.exec(text.trim().toLowerCase());
  if (!m) return null;
  const unit = UNIT_BYTES[m[2] || 'b'];
  if (unit === undefined) return null;
  const n = Math.round(Number(m[1]) * unit);
  return Number.isFinite(n) ? n : null;
}

/** Short human form in binary units: 1073741824 → "1 GiB". */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ['TiB', 1024 ** 4],
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const)
    if (bytes >= size) return `${+(bytes / size).toFixed(1)} ${unit}`;
  return `${bytes} B`;
}
