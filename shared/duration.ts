/** Duration parsing shared by CLI flags and PWA inputs. Units: ms, s, m/min, h, d; bare number = seconds. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|min|m|h|d)?$/;

/** Parses "1.5s", "24h", "100ms", "30" (seconds) into milliseconds; returns null when malformed. */
export function parseDuration(text: string): number | null {
  const m = DURATION_RE.exec(text.trim().toLowerCase());
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 's']!;
  return Number.isFinite(ms) ? Math.round(ms) : null;
}

/** Short human form: 86400000 → "24h", 1500 → "1.5s". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000]] as const) {
    if (ms >= size && (ms % size === 0 || unit === 's')) return `${+(ms / size).toFixed(2)}${unit}`;
  }
  return `${ms}ms`;
}
