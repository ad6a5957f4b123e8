/** What the live catalog is made of besides the host and GPU blocks: user metrics, GPU processes, workloads. */
import type { SeriesDef } from '../../shared/catalog.ts';

export interface SeriesSource {
  /** Bumped whenever defs() would answer differently (a series joined, left, or its description changed). */
  readonly version: number;
  /** Called first each tick: retire what has been quiet too long (this may bump version). */
  prepare(now: number): void;
  defs(): readonly SeriesDef[];
  /** Writes this tick's value of each def, in defs() order, at out[at…] (NaN = no value). */
  fill(out: Float64Array, at: number, now: number): void;
}
