/**
 * The live catalog: the sampler's host and GPU blocks, then each dynamic source's series. It is
 * rebuilt at a tick when any part changed, and that tick's row already has the new layout, so the
 * agent can send the new `schema` right before the first sample that uses it.
 */
import { isExactKey, type SeriesDef } from '../../shared/catalog.ts';
import type { SeriesSource } from './source.ts';

export interface BuiltinPart {
  readonly catalog: readonly SeriesDef[];
  readonly catalogVersion: number;
}

export class LiveCatalog {
  defs: SeriesDef[] = [];
  keys: string[] = [];
  /** 1 where a column is sent and stored unrounded (user series). */
  exact = new Uint8Array(0);
  /** Where each source's block starts in the row. */
  #offsets: number[] = [];
  #seen: number[];

  constructor(
    readonly builtin: BuiltinPart,
    readonly sources: readonly SeriesSource[],
  ) {
    this.#seen = [-1, ...sources.map(() => -1)];
    this.refresh(Date.now());
  }

  get width(): number {
    return this.defs.length;
  }
  get builtinWidth(): number {
    return this.builtin.catalog.length;
  }

  /** Lets sources retire quiet series, then rebuilds if anything changed. True when it did. */
  refresh(now: number): boolean {
    for (const s of this.sources) s.prepare(now);
    // Runs every tick: compare versions without building anything.
    let same = this.builtin.catalogVersion === this.#seen[0];
    for (let i = 0; same && i < this.sources.length; i++) same = this.sources[i]!.version === this.#seen[i + 1];
    if (same) return false;
    this.#seen = [this.builtin.catalogVersion, ...this.sources.map((s) => s.version)];
    const defs: SeriesDef[] = [...this.builtin.catalog];
    this.#offsets = [];
    for (const s of this.sources) {
      this.#offsets.push(defs.length);
      defs.push(...s.defs());
    }
    const keys = defs.map((d) => d.key);
    const changed = keys.length !== this.keys.length || keys.some((k, i) => k !== this.keys[i]) || JSON.stringify(defs) !== JSON.stringify(this.defs);
    this.defs = defs;
    this.keys = keys;
    this.exact = Uint8Array.from(keys, (k) => (isExactKey(k) ? 1 : 0));
    return changed;
  }

  /** Writes every source's values after the built-in block (which the caller fills). */
  fill(row: Float64Array, now: number) {
    this.sources.forEach((s, i) => s.fill(row, this.#offsets[i]!, now));
  }
}
