/**
 * User series (textfile, push, exec) as one catalog source. Each series remembers its last value,
 * when it came, and how long it stays valid; a series with no valid value reads null and, after
 * `retireMs` of that, leaves the live catalog (its history stays). The number of user series is
 * capped: a push that would pass the cap is refused whole, a file or command over it loses the
 * series past the cap (and says so in /v1/info), never growing the catalog without bound.
 */
import type { Unit, UserSeries, UserSource } from '../../shared/catalog.ts';
import type { SeriesSource } from '../catalog/source.ts';
import { familyOf, labelText, type PromFamily, type PromSample } from './prom-text.ts';

export interface RegistryOptions {
  maxSeries: number;
  /** A series with no valid value for this long leaves the live catalog. */
  retireMs: number;
}

/** sig: owner and family (help, type, unit) as one string: an unchanged description is found without rebuilding the entry. */
interface Entry {
  def: UserSeries;
  owner: string;
  sig: string;
  value: number;
  updatedAt: number;
  validMs: number;
  quietSince: number | null;
}

export type ApplyResult = { ok: true; keys: string[]; dropped: number } | { ok: false; kind: 'cap'; limit: number; held: number; added: number };

/** Units we can name in the catalog; anything else is kept as written in `prom_unit` with unit ''. */
const UNITS: Record<string, Unit> = {
  seconds: 's',
  bytes: 'B',
  joules: 'J',
  watts: 'W',
  celsius: 'C',
  percent: '%',
  bytes_per_second: 'B/s',
  megahertz: 'MHz',
};

/** The catalog entry of a sample: unit from `# UNIT`, else from a `_seconds`/`_bytes` suffix. */
export function userDef(s: Pick<PromSample, 'metric' | 'labels' | 'key'>, fam: PromFamily, source: UserSource): UserSeries {
  const suffix = /_(seconds|bytes)(?:_total)?$/.exec(s.metric)?.[1] ?? null;
  const promUnit = fam.unit ?? suffix;
  return {
    key: s.key,
    label: s.metric + labelText(s.labels),
    unit: (promUnit && UNITS[promUnit]) || '',
    scope: 'user',
    precision: 'full',
    metric: s.metric,
    labels: s.labels,
    help: fam.help,
    type: fam.type,
    prom_unit: promUnit,
    source,
  };
}

export class UserRegistry implements SeriesSource {
  version = 0;
  #entries = new Map<string, Entry>();
  #defs: UserSeries[] = [];
  #order: Entry[] = [];
  #defsVersion = -1;

  constructor(readonly opts: RegistryOptions) {}

  get size(): number {
    return this.#entries.size;
  }
  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /**
   * Takes values from one owner (`textfile:<file>`, `push`, `exec:<name>`), valid for `validMs`.
   * atomic: all or nothing against the cap (push). Otherwise series past the cap are dropped and
   * counted. With `replace`, the owner's series missing from this batch go quiet (a file rewritten
   * without them, a command that stopped printing them).
   */
  apply(
    owner: string,
    source: UserSource,
    samples: readonly PromSample[],
    families: ReadonlyMap<string, PromFamily>,
    now: number,
    o: { validMs: number; atomic: boolean; replace: boolean },
  ): ApplyResult {
    const fresh = samples.filter((s) => !this.#entries.has(s.key));
    const room = this.opts.maxSeries - this.#entries.size;
    if (fresh.length > room) {
      // Quiet series make way for new ones; a refused push changes nothing, not even that.
      const quiet = [...this.#entries.values()].filter((e) => !this.#valid(e, now));
      if (o.atomic && fresh.length > room + quiet.length)
        return { ok: false, kind: 'cap', limit: this.opts.maxSeries, held: this.#entries.size, added: fresh.length };
      this.#evict(quiet, fresh.length - room, now);
    }
    const free = this.opts.maxSeries - this.#entries.size;
    let allowed = Math.max(0, free);
    const keys: string[] = [];
    let dropped = 0;
    for (const s of samples) {
      let e = this.#entries.get(s.key);
      const fam = familyOf(families, s.metric);
      const sig = `${owner}\0${fam.help}\0${fam.type}\0${fam.unit}`;
      if (!e) {
        if (allowed <= 0) {
          dropped++;
          continue;
        }
        allowed--;
        e = { def: userDef(s, fam, source), owner, sig, value: NaN, updatedAt: now, validMs: o.validMs, quietSince: null };
        this.#entries.set(s.key, e);
        this.version++;
      } else if (e.sig !== sig) {
        // Described differently (new HELP, another source): the catalog entry changes, so does the schema.
        e.def = userDef(s, fam, source);
        e.sig = sig;
        this.version++;
      }
      e.owner = owner;
      e.value = s.value;
      e.updatedAt = now;
      e.validMs = o.validMs;
      e.quietSince = null;
      keys.push(s.key);
    }
    if (o.replace) {
      const given = new Set(keys);
      for (const e of this.#entries.values()) if (e.owner === owner && !given.has(e.def.key)) e.value = NaN;
    }
    return { ok: true, keys, dropped };
  }

  /** Every series of an owner reads null from now on (its file was removed or broke, its command failed). */
  silence(owner: string) {
    for (const e of this.#entries.values()) if (e.owner === owner) e.value = NaN;
  }

  #valid(e: Entry, now: number): boolean {
    return e.value === e.value && now - e.updatedAt <= e.validMs;
  }

  /** Makes room under the cap by retiring the longest-quiet series first. */
  #evict(quiet: Entry[], n: number, now: number) {
    quiet.sort((a, b) => (a.quietSince ?? now) - (b.quietSince ?? now));
    for (const e of quiet.slice(0, n)) {
      this.#entries.delete(e.def.key);
      this.version++;
    }
  }

  prepare(now: number) {
    for (const e of this.#entries.values()) {
      if (this.#valid(e, now)) {
        e.quietSince = null;
        continue;
      }
      e.quietSince ??= now;
      if (now - e.quietSince >= this.opts.retireMs) {
        this.#entries.delete(e.def.key);
        this.version++;
      }
    }
  }

  #rebuild() {
    if (this.#defsVersion === this.version) return;
    this.#order = [...this.#entries.values()];
    this.#defs = this.#order.map((e) => e.def);
    this.#defsVersion = this.version;
  }

  defs(): readonly UserSeries[] {
    this.#rebuild();
    return this.#defs;
  }

  fill(out: Float64Array, at: number, now: number) {
    this.#rebuild();
    const order = this.#order;
    for (let i = 0; i < order.length; i++) {
      const e = order[i]!;
      out[at + i] = this.#valid(e, now) ? e.value : NaN;
    }
  }

  /** The newest value of a series (for /metrics), NaN when it has none. */
  current(key: string, now: number): number {
    const e = this.#entries.get(key);
    return e && this.#valid(e, now) ? e.value : NaN;
  }
}
