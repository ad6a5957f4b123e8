/**
 * One endpoint's state in this tab: its status, catalog, the live window in memory (the newest row
 * and a tail of recent rows for sparklines and live charts) (its history is in IndexedDB: web/lib/series.ts reads it). Every tab
 * holds one per endpoint and applies the same messages to it (web/lib/state.ts), so a follower
 * shows what the leader shows. Views read it as `EpState`.
 */
import type { EndpointStatus, PromHost, TabMessage } from '../../shared/tab-messages.ts';
import type { Schema, SnapshotExtras } from '../../shared/wire.ts';
import { sameKeys } from '../../shared/series-key.ts';
import type { Endpoint } from './db.ts';
import type { LastKnown } from './last-known.ts';

export type { SnapshotExtras };

export interface EpState {
  readonly ep: Endpoint;
  readonly status: EndpointStatus;
  readonly schema: Schema | null;
  readonly keys: string[];
  /** The newest row ([t, ...values]) and a tail of recent rows for sparklines and live charts. */
  readonly last: (number | null)[] | null;
  readonly tail: (number | null)[][];
  readonly extras: SnapshotExtras | null;
  /**
   * When a sample last arrived (this browser's clock), kept across reloads with `last` and
   * `extras` (web/lib/last-known.ts): an offline endpoint shows its last values and how old they
   * are instead of nothing. null: never seen.
   */
  readonly lastSeen: number | null;
  /**
   * Bumped when stored history changes other than by live rows (a backfill, an import, pruning,
   * events), so charts re-read IndexedDB; live rows reach charts through `tail`, from memory.
   */
  readonly rev: number;
  /** GPU index → time of the newest XID event seen (agent clock), for the overview's health rules (web/lib/health.ts). */
  readonly xidAt: Readonly<Record<number, number>>;
  /** A Prometheus source: what the leader's last poll found (web/lib/prom-poller.ts); null before the first. */
  readonly prom: PromState | null;
}

/** The newest hosts and when they came; `error`: the last poll failed (the hosts are the last good ones). */
export interface PromState {
  hosts: PromHost[] | null;
  at: number;
  error: string | null;
}

/** Rows kept in memory per endpoint (an hour at 1 s). */
export const TAIL = 3600;

export class EndpointStore implements EpState {
  status: EndpointStatus;
  schema: Schema | null;
  keys: string[];
  last: (number | null)[] | null = null;
  tail: (number | null)[][] = [];
  extras: SnapshotExtras | null = null;
  lastSeen: number | null = null;
  rev = 0;
  xidAt: Record<number, number> = {};
  prom: PromState | null = null;

  constructor(
    public ep: Endpoint,
    schema: Schema | null,
  ) {
    this.schema = schema;
    this.keys = schema ? schema.series.map((x) => x.key) : [];
    // An import is all there is: it never connects, so it is never "connecting".
    this.status = ep.readOnly ? { kind: 'stale', lastT: 0 } : { kind: 'connecting', attempt: 0 };
  }

  setStatus(status: EndpointStatus) {
    this.status = status;
    if ((status.kind === 'live' || status.kind === 'stale') && status.lastT > (this.lastSeen ?? 0)) this.lastSeen = status.lastT;
  }

  setSchema(schema: Schema) {
    this.schema = schema;
    const keys = schema.series.map((x) => x.key);
    // `last` is indexed by `keys`: a catalog that changed makes the old row unreadable.
    if (!sameKeys(keys, this.keys)) {
      this.keys = keys;
      this.last = null;
      this.tail = [];
    }
  }

  setExtras(extras: SnapshotExtras) {
    this.extras = extras;
  }

  /** Rows in time order; a new leader's replay repeats rows this tab already shows, and those are skipped. */
  addRows(keys: string[], rows: (number | null)[][]) {
    // Every frame: compared key by key, not joined into two strings of a few hundred keys each.
    if (!sameKeys(keys, this.keys)) {
      this.keys = keys;
      this.tail = [];
    }
    const lastShown = (this.tail[this.tail.length - 1]?.[0] as number | undefined) ?? -Infinity;
    for (const r of rows) if ((r[0] as number) > lastShown) this.tail.push(r);
    if (this.tail.length > TAIL) this.tail.splice(0, this.tail.length - TAIL);
    this.last = this.tail[this.tail.length - 1] ?? this.last;
  }

  setProm(m: Extract<TabMessage, { type: 'prom' }>) {
    this.prom = m.hosts ? { hosts: m.hosts, at: m.at, error: null } : { hosts: this.prom?.hosts ?? null, at: this.prom?.at ?? 0, error: m.error };
  }

  noteXid(gpu: number, t: number) {
    if (!(t <= (this.xidAt[gpu] ?? -Infinity))) this.xidAt = { ...this.xidAt, [gpu]: t };
  }

  /** Stored history changed: views re-read it. */
  touch() {
    this.rev++;
  }

  /** What was stored at the last visit, for an endpoint this tab has not heard from yet. */
  restore(k: LastKnown) {
    if (this.last) return;
    if (!this.schema || sameKeys(k.keys, this.keys)) {
      this.keys = k.keys;
      this.last = k.last;
    }
    this.extras ??= k.extras;
    this.lastSeen ??= k.seen;
  }

  /** The newest values as a record to keep (null: nothing to keep yet). */
  lastKnown(): LastKnown | null {
    return this.last && this.lastSeen !== null ? { keys: this.keys, last: this.last, extras: this.extras, seen: this.lastSeen } : null;
  }
}
