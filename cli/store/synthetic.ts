/**
 * Synthetic history for benchmarks (GPULSE_BENCH_FILL=24h|30d): `span` of plausible GPU-box rows up
 * to now, written through the store like real ticks. Each series behaves like its kind does on a
 * busy box: totals and limits constant, utilizations at 0 or near 100 with noise, temperatures
 * drifting, clocks on a few steps, memory in MiB steps, counters rising, byte rates noisy.
 */
import { quantize } from '../../shared/chunk/index.ts';
import type { Store } from './store.ts';

/** A small deterministic PRNG (mulberry32): the same fill every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Gen = (i: number) => number;

/** A value generator for a series key, by what the key measures. */
export function generatorFor(key: string, seed: number): Gen {
  const r = prng(seed);
  const busy = (i: number) => Math.floor(i / 1800 + seed) % 3 !== 0; // jobs of ~30 min, idle a third of the time
  const m = key.replace(/^(host|gpu\d+)\./, '');
  if (m === 'mem.total' || m === 'swap.total') return () => 85_899_345_920;
  if (m === 'power.limit') return () => 700;
  if (m === 'fan') return () => NaN; // datacenter GPUs report no fan
  if (m === 'util' || m === 'mem_bw.util' || m === 'cpu.util' || /^cpu\d+\.util$/.test(m)) {
    return (i) => (busy(i) ? Math.min(100, Math.max(0, 97 + Math.round((r() - 0.5) * 6))) : r() < 0.9 ? 0 : Math.round(r() * 5));
  }
  if (m === 'enc.util' || m === 'dec.util') return () => 0;
  if (m === 'temp') {
    let x = 40;
    return (i) => {
      x += ((busy(i) ? 78 : 38) - x) * 0.01 + (r() - 0.5) * 0.3;
      return Math.round(x);
    };
  }
  if (m === 'power') return (i) => (busy(i) ? 620 + (r() - 0.5) * 60 : 70 + r() * 5);
  if (m === 'clock.sm') return (i) => (busy(i) ? [1980, 1965, 1950][Math.floor(r() * 3)]! : 345);
  if (m === 'clock.mem') return () => 2619;
  if (m === 'mem.used') {
    let x = 0;
    return (i) => {
      const want = busy(i) ? 70_000 : 500;
      if (x < want) x += Math.ceil((want - x) / 30);
      else if (x > want) x = want;
      return x * 1_048_576;
    };
  }
  if (m === 'energy') {
    let e = 1e9;
    return (i) => (e += busy(i) ? 620 + (r() - 0.5) * 60 : 70);
  }
  if (m === 'pcie.rx' || m === 'pcie.tx') return (i) => (busy(i) ? Math.round(2e8 + r() * 1e8) : Math.round(r() * 1e5));
  if (m === 'net.rx' || m === 'net.tx' || m === 'disk.read' || m === 'disk.write') return () => Math.round(r() < 0.7 ? r() * 2e4 : r() * 5e7);
  if (m.startsWith('load')) {
    let x = 8;
    return () => (x = Math.max(0, x + (r() - 0.5) * 0.2));
  }
  if (m === 'uptime') return (i) => 1_000_000 + i;
  if (m === 'mem.used' || m === 'swap.used') return () => 3e10 + Math.round(r() * 100) * 4096;
  return () => r() * 100;
}

/** Fills `span` ms of history ending now; returns the rows written. */
export function fillSynthetic(store: Store, keys: readonly string[], intervalMs: number, span: number, now = Date.now()): number {
  store.setKeys(keys);
  const gens = keys.map((k, i) => generatorFor(k, i + 1));
  const row = new Float64Array(keys.length);
  const end = Math.floor(now / intervalMs) * intervalMs - intervalMs;
  const n = Math.floor(span / intervalMs);
  let written = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < row.length; c++) row[c] = quantize(gens[c]!(i));
    if (store.append(end - (n - 1 - i) * intervalMs, row)) written++;
  }
  return written;
}
