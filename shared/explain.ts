/**
 * GPU states and agent events in plain words: throttle (clock event) reasons, common XID codes,
 * ECC counts, and event kinds. The agent sends identifiers (`sw_thermal`, `XID 79`,
 * `throttle_start`); people reading a chart should not need the NVML manual to follow them.
 */

/** NVML clock event reason bits (nvmlClocksEventReasons), the agent's name for each, and what it means. */
export const THROTTLE_REASONS: readonly { bit: number; name: string; words: string }[] = [
  { bit: 0x2, name: 'applications_clocks', words: 'clocks capped by the application clock setting' },
  { bit: 0x4, name: 'sw_power_cap', words: 'power cap: drawing at its power limit' },
  { bit: 0x8, name: 'hw_slowdown', words: 'hardware slowdown (too hot or power brake)' },
  { bit: 0x10, name: 'sync_boost', words: 'held back to match other GPUs (sync boost)' },
  { bit: 0x20, name: 'sw_thermal', words: 'too hot: software thermal slowdown' },
  { bit: 0x40, name: 'hw_thermal', words: 'too hot: hardware thermal slowdown' },
  { bit: 0x80, name: 'hw_power_brake', words: 'external power brake (power supply asked it to slow down)' },
  { bit: 0x100, name: 'display_clocks', words: 'clocks held by the display' },
];
const THROTTLE_BY_NAME = new Map(THROTTLE_REASONS.map((r) => [r.name, r.words]));

/** A throttle reason name in words; an unknown name comes back as written, with `_` as spaces. */
export const throttleWords = (name: string): string => THROTTLE_BY_NAME.get(name) ?? name.replace(/_/g, ' ');

/** The reasons set in an NVML throttle bitmask, in words (GpuIdle, bit 0x1, is not a throttle). */
export const throttleMaskWords = (mask: number): string[] => THROTTLE_REASONS.filter((r) => (mask & r.bit) !== 0).map((r) => r.words);

/** Common XID codes (NVIDIA's "XID Errors" table), short. */
export const XID_WORDS: Readonly<Record<number, string>> = {
  8: 'GPU stopped processing (driver error or hang)',
  13: 'graphics engine exception (often an application bug)',
  31: 'GPU memory page fault (often an application bug)',
  32: 'invalid or corrupted push buffer stream',
  43: 'GPU stopped processing (application fault)',
  45: 'preemptive cleanup after a previous error',
  48: 'double-bit ECC error: uncorrectable memory error',
  61: 'internal micro-controller breakpoint or warning',
  62: 'internal micro-controller halt',
  63: 'ECC page retirement or row remapping recorded',
  64: 'ECC page retirement or row remapping failed',
  68: 'video processor exception',
  69: 'graphics engine class error',
  74: 'NVLink error',
  79: 'GPU has fallen off the bus',
  92: 'high single-bit ECC error rate',
  94: 'contained ECC error (application affected)',
  95: 'uncontained ECC error (GPU reset needed)',
  109: 'context switch timeout',
  119: 'GSP firmware timeout',
  120: 'GSP firmware error',
};
export const xidWords = (xid: number): string => XID_WORDS[xid] ?? 'see NVIDIA XID documentation';

/** Volatile ECC counts since the last driver load, in words; null when there is nothing to say. */
export function eccWords(ecc: { corrected: number | null; uncorrected: number | null } | null | undefined): string | null {
  if (!ecc) return null;
  const parts: string[] = [];
  if (ecc.uncorrected) parts.push(`${ecc.uncorrected} uncorrectable memory error${ecc.uncorrected === 1 ? '' : 's'} (data was lost; reset the GPU)`);
  if (ecc.corrected) parts.push(`${ecc.corrected} corrected memory error${ecc.corrected === 1 ? '' : 's'} (repaired, no data lost)`);
  return parts.length ? parts.join('; ') : null;
}

/** Agent event kinds (docs/api.md "Events and annotations") as a heading a person reads. */
export const EVENT_KIND_WORDS: Readonly<Record<string, string>> = {
  gpu_lost: 'GPU lost',
  gpu_recovered: 'GPU recovered',
  gpu_added: 'GPU added',
  xid: 'GPU error (XID)',
  provider_error: 'GPU reader error',
  provider_fallback: 'GPU reader fallback',
  throttle_start: 'Throttling started',
  throttle_end: 'Throttling ended',
  process_start: 'Process started',
  process_end: 'Process ended',
  collector_stalled: 'Collector stalled',
  collector_failed: 'Collector failed',
  collector_recovered: 'Collector recovered',
};
/** A kind in words; one we do not know reads as its identifier with spaces ("new_thing" → "new thing"). */
export const eventKindWords = (kind: string | undefined, source: 'agent' | 'user' | 'local'): string =>
  kind ? (EVENT_KIND_WORDS[kind] ?? kind.replace(/_/g, ' ')) : source === 'agent' ? 'agent event' : 'annotation';

/**
 * An event label with its identifiers explained: throttle reasons replaced by their words, an XID
 * followed by what it means. `GPU 0 throttling: sw_thermal` → `GPU 0 throttling: too hot: software
 * thermal slowdown`; `GPU 1 XID 79` → `GPU 1 XID 79: GPU has fallen off the bus`.
 */
export function explainEvent(e: { kind?: string; label: string }): string {
  if (e.kind === 'throttle_start' || e.kind === 'throttle_end') {
    const colon = e.label.indexOf(': ');
    if (colon < 0) return e.label;
    const reasons = e.label
      .slice(colon + 2)
      .split(/,\s*/)
      .map(throttleWords);
    return `${e.label.slice(0, colon)}: ${reasons.join('; ')}`;
  }
  if (e.kind === 'xid') {
    const m = /XID (\d+)/.exec(e.label);
    return m ? `${e.label}: ${xidWords(Number(m[1]))}` : e.label;
  }
  return e.label;
}
