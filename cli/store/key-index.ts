/**
 * Which series keys history can answer for: the live catalog's, every key the catalog has had
 * since start, and every key in stored groups (scanned once, on the first key not found otherwise).
 * So `keys=` accepts a process or user series after it left the live catalog, while it is held.
 */
import { TIERS } from './segments.ts';
import type { Store } from './store.ts';

export class KeyIndex {
  #ever = new Set<string>();
  #scanned = false;

  constructor(readonly store: Store) {
    this.note(store.keys);
  }

  /** Keys of a new catalog (called whenever it changes). */
  note(keys: readonly string[]) {
    for (const k of keys) this.#ever.add(k);
  }

  has(key: string): boolean {
    if (this.#ever.has(key)) return true;
    if (this.#scanned) return false;
    this.#scanned = true;
    for (const tier of TIERS) {
      for (const ref of this.store.refs[tier]) for (const k of this.store.dir(ref)?.chunks.keys() ?? []) this.#ever.add(k);
    }
    return this.#ever.has(key);
  }
}
