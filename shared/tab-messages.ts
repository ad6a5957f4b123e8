/**
 * What the PWA's tabs tell each other on the `gpulse` BroadcastChannel. The leader tab (Web Locks)
 * holds the agent connections and sends what they deliver; any tab sends `endpoints`, `rules`,
 * `silence-alert` and `kick` after a change the leader must act on. A message from another tab is checked like an
 * agent payload (`parseTabMessage`): an older or newer build of the app can be open in another tab
 * during an update, so a message that is not what this build expects is dropped, never thrown on.
 */
import { arr, num, nullable, obj, oneOf, optional, schemaCheck, snapshotExtrasCheck, str, validate, type Check, type Validation } from './validate.ts';
import type { Schema, SnapshotExtras } from './wire.ts';
import type { AlertMsg } from './alerts.ts';

export const TAB_CHANNEL = 'gpulse';
/** The longest text a tab message carries (an agent's error, an alert's detail): longer is cut where it is made. */
export const TAB_TEXT_MAX = 4096;
export const clipText = (s: string) => (s.length > TAB_TEXT_MAX ? `${s.slice(0, TAB_TEXT_MAX - 1)}…` : s);

export type EndpointStatus =
  | { kind: 'connecting'; attempt: number }
  /** lastT: when the last sample arrived, on this browser's clock (agents' clocks may be skewed). */
  | { kind: 'live'; lastT: number }
  | { kind: 'stale'; lastT: number }
  | { kind: 'offline'; retryAt: number; attempt: number; message: string }
  | { kind: 'unauthorized' }
  | { kind: 'error'; message: string; retryAt: number; attempt: number };

/** One GPU of a host a Prometheus source knows (web/lib/prom-fleet.ts builds them from DCGM families). */
export interface PromGpu {
  gpu: string;
  model: string;
  util: number | null;
  /** bytes */
  memUsed: number | null;
  memTotal: number | null;
  temp: number | null;
  power: number | null;
}
export interface PromHost {
  /** the scrape target (`instance` label), the join key */
  instance: string;
  name: string;
  cpu: number | null;
  gpus: PromGpu[];
}

export type TabMessage =
  | { type: 'status'; id: string; status: EndpointStatus }
  | { type: 'schema'; id: string; schema: Schema }
  /** `history`: rows of stored history (a backfill's recent hour), drawn at once rather than at the next render slot */
  | { type: 'rows'; id: string; keys: string[]; rows: (number | null)[][]; history?: true }
  | { type: 'extras'; id: string; extras: SnapshotExtras }
  /** Stored history or events of endpoint `id` changed other than by live rows: views re-read. */
  | { type: 'stored'; id: string }
  /** An XID on GPU `gpu` of endpoint `id` at `t` (the agent's event time), for the overview's health flags. */
  | { type: 'xid'; id: string; gpu: number; t: number }
  /** The endpoint list (or a per-endpoint setting) changed in IndexedDB: re-read it. */
  | { type: 'endpoints' }
  /** Alerts (shared/alerts.ts): the leader's records, rules changed, a silence request. */
  | AlertMsg
  /** Reconnect endpoint `id` now (only the leader holds connections). */
  | { type: 'kick'; id: string }
  /** A Prometheus source's poll by the leader (web/lib/prom-poller.ts): its hosts, or why it failed (hosts null). */
  | { type: 'prom'; id: string; at: number; hosts: PromHost[] | null; error: string | null };

export type TabMessageType = TabMessage['type'];

const id = str(256);
const count = num(0);
const statusChecks: Record<EndpointStatus['kind'], Record<string, Check>> = {
  connecting: { attempt: count },
  live: { lastT: num() },
  stale: { lastT: num() },
  offline: { retryAt: num(), attempt: count, message: str(TAB_TEXT_MAX) },
  unauthorized: {},
  error: { retryAt: num(), attempt: count, message: str(TAB_TEXT_MAX) },
};
/** A discriminated union: `kind` first, then that kind's fields. */
const statusCheck: Check = (v, p) => {
  const k = obj({ kind: oneOf(...Object.keys(statusChecks)) })(v, p);
  return k ?? obj(statusChecks[(v as EndpointStatus).kind])(v, p);
};
const row: Check = (v, p) => {
  const e = arr(nullable(num()), 1_000_000)(v, p);
  if (e) return e;
  return (v as unknown[]).length === 0 || typeof (v as unknown[])[0] !== 'number' ? `${p}: expected [t, ...values]` : null;
};
const isTrue: Check = (v, p) => (v === true ? null : `${p}: expected true`);
const alertRecord = obj({
  id: str(1024),
  rule: str(256),
  ep: id,
  instance: str(256),
  label: str(TAB_TEXT_MAX),
  state: oneOf('pending', 'firing', 'resolved'),
  since: num(),
  start: nullable(num()),
  end: nullable(num()),
  value: nullable(num()),
  detail: nullable(str(TAB_TEXT_MAX)),
  silencedUntil: nullable(num()),
  lastHit: nullable(num()),
  mark: nullable(num()),
});

const nnum = nullable(num());
const promGpu = obj({ gpu: str(256), model: str(1024), util: nnum, memUsed: nnum, memTotal: nnum, temp: nnum, power: nnum });
const promHost = obj({ instance: str(1024), name: str(1024), cpu: nnum, gpus: arr(promGpu, 1024) });

const messageChecks: Record<TabMessageType, Record<string, Check>> = {
  status: { id, status: statusCheck },
  schema: { id, schema: schemaCheck },
  rows: { id, keys: arr(str(256), 1_000_000), rows: arr(row, 1_000_000), history: optional(isTrue) },
  extras: { id, extras: snapshotExtrasCheck },
  stored: { id },
  xid: { id, gpu: num(0), t: num() },
  endpoints: {},
  alerts: { records: arr(alertRecord, 100_000) },
  rules: {},
  'silence-alert': { id: str(1024), until: nullable(num()) },
  kick: { id },
  prom: { id, at: num(), hosts: nullable(arr(promHost, 100_000)), error: nullable(str(TAB_TEXT_MAX)) },
};

const check: Check = (v, p) => {
  const t = obj({ type: oneOf(...Object.keys(messageChecks)) })(v, p);
  if (t) return t;
  const m = v as TabMessage;
  const e = obj(messageChecks[m.type])(v, p);
  if (e) return e;
  // Every row as wide as the key list: a view indexes values by key position.
  if (m.type === 'rows') {
    const bad = m.rows.findIndex((r) => r.length !== m.keys.length + 1);
    if (bad >= 0) return `rows[${bad}]: expected ${m.keys.length + 1} items (t and one per key), got ${m.rows[bad]!.length}`;
  }
  return null;
};

/** A received message, checked: `{ ok: false, reason }` names the first bad field. */
export const validateTabMessage = (v: unknown): Validation<TabMessage> => validate<TabMessage>(check, v);

/** The received message, or null (dropped) when it is not one this build understands. */
export function parseTabMessage(v: unknown): TabMessage | null {
  const r = validateTabMessage(v);
  return r.ok ? r.value : null;
}
