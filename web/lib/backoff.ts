/** Exponential backoff with ±30 % jitter, so a fleet of tabs does not reconnect in lockstep. */
export function backoffMs(attempt: number, base = 1000, cap = 30_000, rand = Math.random): number {
  const exp = Math.min(cap, base * 2 ** Math.max(0, attempt));
  return Math.round(exp * (0.7 + 0.6 * rand()));
}
