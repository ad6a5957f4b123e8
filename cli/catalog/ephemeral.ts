/**
 * Series that come and go with what the agent observes (GPU processes, Ollama models): each round
 * says what exists now and its values; what is missing reads null, and after `retireMs` of that it
 * leaves the live catalog (history keeps it). At most `max` series: quiet ones make way first, and
 * past that newcomers are refused and counted, never growing the catalog without bound.
 */
import type { SeriesDef } from '../../shared/catalog.ts';
import type { SeriesSource } from './source.ts';

/** present: in the last full round (a present series may still have no value: an unsupported reading). */
interface Entry<D> {
  def: D;
  value: number;
  present: boolean;
  quietSince: number | null;
}

export class EphemeralSeries<D extends SeriesDef> implements SeriesSource {
  version = 0;
  /** Newcomers refused because the cap was reached, since start. */
  refused = 0;
  #entries = new Map<string, Entry<D>>();
  #order: Entry<D>[] = [];
  #orderVersion = -1;

  /** same: whether two descriptions of one key are equal (a changed one is a catalog change); JSON equality by default. */
  constructor(
    readonly retireMs: number,
    readonly max: number,
    readonly same: (a: D, b: D) => boolean = (a, b) => JSON.stringify(a) === JSON.stringify(b),
  ) {}

  get size(): number {
    return this.#entries.size;
  }
  has(key: string): boolean {
    return this.#entries.has(key);
  }
  value(key: string): number {
    return this.#entries.get(key)?.value ?? NaN;
  }

  /**
   * This round's series and values. Returns the keys refused by the cap. `quietOthers`: whatever
   * is not in this round is gone and reads null from now on (a full listing); without it, only these change.
   */
  sync(now: number, current: Iterable<readonly [D, number]>, quietOthers = true): string[] {
    const seen = new Set<string>();
    const refused: string[] = [];
    for (const [def, value] of current) {
      seen.add(def.key);
      let e = this.#entries.get(def.key);
      if (!e) {
        if (this.#entries.size >= this.max && !this.#evictOne(now)) {
          refused.push(def.key);
          continue;
        }
        e = { def, value, present: true, quietSince: null };
        this.#entries.set(def.key, e);
        this.version++;
      } else if (!this.same(e.def, def)) {
        e.def = def;
        this.version++;
      }
      e.value = value;
      e.present = true;
    }
    if (quietOthers)
      for (const e of this.#entries.values())
        if (!seen.has(e.def.key)) {
          e.value = NaN;
          e.present = false;
        }
    this.refused += refused.length;
    return refused;
  }

  /** The longest-quiet series goes, to make room; false when every series is live. */
  #evictOne(now: number): boolean {
    let worst: Entry<D> | null = null;
    for (const e of this.#entries.values()) {
      if (e.present) continue;
      if (!worst || (e.quietSince ?? now) < (worst.quietSince ?? now)) worst = e;
    }
    if (!worst) return false;
    this.#entries.delete(worst.def.key);
    this.version++;
    return true;
  }

  prepare(now: number) {
    for (const e of this.#entries.values()) {
      if (e.present) {
        e.quietSince = null;
        continue;
      }
      e.quietSince ??= now;
      if (now - e.quietSince >= this.retireMs) {
        this.#entries.delete(e.def.key);
        this.version++;
      }
    }
  }

  #rebuild() {
    if (this.#orderVersion === this.version) return;
    this.#order = [...this.#entries.values()];
    this.#orderVersion = this.version;
  }

  defs(): readonly D[] {
    this.#rebuild();
    return this.#order.map((e) => e.def);
  }

  fill(out: Float64Array, at: number) {
    this.#rebuild();
    const o = this.#order;
    for (let i = 0; i < o.length; i++) out[at + i] = o[i]!.value;
  }
}
