/**
 * Every agent payload the PWA consumes, checked against the types in wire.ts before anything is
 * shown or stored. An agent is someone else's program: a wrong type in one field (a numeric
 * hostname) once blanked the whole PWA for good, because the bad value was kept in IndexedDB.
 *
 * Each validator returns a discriminated union: `{ ok: true, value }`, or `{ ok: false, reason }`
 * where the reason names the path of the first bad field ("devices[1].name: expected a string,
 * got number"). Objects may carry extra fields (newer agents add some); strings and arrays have
 * size bounds so one field cannot carry a whole frame's worth of text.
 */
import type { SeriesDef } from './catalog.ts';
import type { Accounting, AccountingTimeline, AgentEvent, History, Info, Schema, SnapshotExtras } from './wire.ts';
import { ACCOUNTING_BY, EVENT_COLOR_RE } from './wire.ts';

export type Validation<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A check returns the first problem under `path`, or null. */
export type Check = (v: unknown, path: string) => string | null;

const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v);
const at = (path: string, key: string | number) => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);
const bad = (path: string, what: string, v: unknown) => `${path || 'payload'}: expected ${what}, got ${typeName(v)}`;

// ---- building blocks ----
const MAX_STRING = 65_536;
export const str =
  (max = MAX_STRING): Check =>
  (v, p) =>
    typeof v !== 'string' ? bad(p, 'a string', v) : v.length > max ? `${p}: longer than ${max} characters` : null;
export const num =
  (min = -Infinity): Check =>
  (v, p) =>
    typeof v !== 'number' || !Number.isFinite(v) ? bad(p, 'a finite number', v) : v < min ? `${p}: must be at least ${min}, got ${v}` : null;
export const int =
  (min = -Infinity): Check =>
  (v, p) =>
    num(min)(v, p) ?? (Number.isInteger(v) ? null : `${p}: expected an integer, got ${v}`);
export const bool: Check = (v, p) => (typeof v === 'boolean' ? null : bad(p, 'true or false', v));
export const nullable =
  (c: Check): Check =>
  (v, p) =>
    v === null ? null : c(v, p);
/** Absent (undefined) is fine; present must pass. */
export const optional =
  (c: Check): Check =>
  (v, p) =>
    v === undefined ? null : c(v, p);
export const oneOf =
  (...values: string[]): Check =>
  (v, p) =>
    typeof v === 'string' && values.includes(v)
      ? null
      : `${p}: expected one of ${values.join(', ')}, got ${typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : typeName(v)}`;
export const arr =
  (c: Check, max = 100_000): Check =>
  (v, p) => {
    if (!Array.isArray(v)) return bad(p, 'an array', v);
    if (v.length > max) return `${p}: more than ${max} items`;
    for (let i = 0; i < v.length; i++) {
      const e = c(v[i], at(p, i));
      if (e) return e;
    }
    return null;
  };
export const obj =
  (shape: Record<string, Check>): Check =>
  (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad(p, 'an object', v);
    for (const [k, c] of Object.entries(shape)) {
      const e = c((v as Record<string, unknown>)[k], at(p, k));
      if (e) return e;
    }
    return null;
  };
/** An object used as a map: every value passes `c`. */
export const record =
  (c: Check, max = 100_000): Check =>
  (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad(p, 'an object', v);
    const keys = Object.keys(v);
    if (keys.length > max) return `${p}: more than ${max} keys`;
    for (const k of keys) {
      const e = c((v as Record<string, unknown>)[k], at(p, k));
      if (e) return e;
    }
    return null;
  };
const all =
  (...cs: Check[]): Check =>
  (v, p) => {
    for (const c of cs) {
      const e = c(v, p);
      if (e) return e;
    }
    return null;
  };

export function validate<T>(check: Check, v: unknown): Validation<T> {
  const reason = check(v, '');
  return reason === null ? { ok: true, value: v as T } : { ok: false, reason };
}

// ---- the payloads ----
const name = str(1024);
const nstr = nullable(str(4096));
const nnum = nullable(num());
const time = num(1); // epoch milliseconds; 0 and negatives are never real sample times

const seriesDef = obj({ key: str(256), label: str(1024), unit: str(16), scope: str(256) });
const device = obj({
  index: int(0),
  name,
  uuid: str(256),
  memory_total: nnum,
  provider: str(64),
  pci_bus_id: optional(nstr),
  lost: optional(bool),
  mig: optional(nullable(bool)),
});
const hostInfo = obj({ cpu_model: nstr, cores: nullable(int(0)), threads: int(0), os: nstr });

const schemaShape = {
  version: str(256),
  hostname: name,
  interval_ms: num(1),
  retention_s: num(0),
  capacity: int(0),
  provider: str(64),
  driver_version: nstr,
  cuda_version: nstr,
  host: hostInfo,
  devices: arr(device, 1024),
  series: all(arr(seriesDef), uniqueKeys),
};
function uniqueKeys(v: unknown, p: string): string | null {
  const seen = new Set<string>();
  for (const [i, s] of (v as SeriesDef[]).entries()) {
    if (seen.has(s.key)) return `${p}[${i}].key: ${JSON.stringify(s.key)} appears twice`;
    seen.add(s.key);
  }
  return null;
}

/** A schema as a building block (cross-tab messages carry one: shared/tab-messages.ts). */
export const schemaCheck: Check = obj(schemaShape);
export const validateSchema = (v: unknown) => validate<Schema>(schemaCheck, v);

export const validateInfo = (v: unknown) =>
  validate<Info>(
    obj({
      ...schemaShape,
      status: oneOf('warming_up', 'ready', 'stalled', 'failed'),
      collector_error: nstr,
      buffer: obj({ count: int(0), oldest: nnum, newest: nnum }),
      clients: int(0),
      provider_notes: arr(str(4096), 100),
      // Optional: an agent without history tiers is still followed live (the PWA then skips backfill).
      tiers: optional(arr(obj({ tier: oneOf('raw', '1m', '1h'), step_ms: num(1), retention_s: num(0), oldest: nnum, newest: nnum }), 16)),
    }),
    v,
  );

const proc = obj({ pid: int(0), user: nstr, command: nstr, gpu_mem: nnum, container: nstr, type: optional(oneOf('compute', 'graphics')) });
const ollamaModel = obj({ name, size: nnum, vram: nnum, expires_at: nstr });

/** The stream's `snapshot` event (shared/wire.ts `SnapshotExtras`). */
export const snapshotExtrasCheck: Check = obj({
  gpus: arr(
    obj({
      index: int(0),
      pstate: nullable(str(16)),
      throttle: arr(str(64), 64),
      processes: arr(proc, 10_000),
      lost: bool,
      mig: nullable(bool),
      ecc_volatile: optional(nullable(obj({ corrected: nnum, uncorrected: nnum }))),
    }),
    1024,
  ),
  workloads: obj({ ollama: arr(ollamaModel, 1000) }),
});
export const validateSnapshotExtras = (v: unknown) => validate<SnapshotExtras>(snapshotExtrasCheck, v);

const eventShape = {
  id: str(128),
  t: time,
  label: str(4096),
  end_t: optional(nullable(num(0))),
  source: oneOf('agent', 'user'),
  // Only what the agent itself accepts (wire.ts EVENT_COLOR_RE).
  color: optional(nullable((v, p) => (typeof v === 'string' && EVENT_COLOR_RE.test(v) ? null : `${p}: expected #rgb or #rrggbb`))),
  kind: optional(str(64)),
  scope: optional(str(64)),
};
export const validateEvent = (v: unknown) => validate<AgentEvent>(obj(eventShape), v);
/** An event on the stream: an added one, or an update/delete carrying `op`. */
export const validateStreamEvent = (v: unknown) =>
  validate<AgentEvent & { op?: 'update' | 'delete' }>(obj({ ...eventShape, op: optional(oneOf('add', 'update', 'delete')) }), v);
/**
 * /v1/events: a list of events. An event that fails its check is dropped alone, its reason kept in
 * `dropped`, so one bad event (a colour saved by an older agent) does not hide all the others.
 */
export function validateEvents(v: unknown): Validation<{ events: AgentEvent[]; dropped: string[] }> {
  const list = validate<{ events: unknown[] }>(obj({ events: arr(() => null, 100_000) }), v);
  if (!list.ok) return list;
  const events: AgentEvent[] = [];
  const dropped: string[] = [];
  const check = obj(eventShape);
  list.value.events.forEach((e, i) => {
    const reason = check(e, `events[${i}]`);
    if (reason) dropped.push(reason);
    else events.push(e as AgentEvent);
  });
  return { ok: true, value: { events, dropped } };
}

const column = arr(nullable(num()), 10_000_000);
/** /v1/history: every column as long as `t`. (Times are not required to increase: an agent whose clock stepped back may hold such rows.) */
export const validateHistory = (v: unknown) =>
  validate<History>(
    all(
      obj({ t: arr(time, 10_000_000), series: record(column, 100_000), min: optional(record(column)), max: optional(record(column)), step: optional(num(0)) }),
      (h, p) => {
        const { t, series, min, max } = h as History;
        for (const [name, cols] of [
          ['series', series],
          ['min', min],
          ['max', max],
        ] as const) {
          for (const [k, c] of Object.entries(cols ?? {})) if (c.length !== t.length) return `${at(at(p, name), k)}: ${c.length} values for ${t.length} times`;
        }
        return null;
      },
    ),
    v,
  );

// ---- accounting (/v1/accounting and /v1/accounting/timeline) ----
const by = oneOf(...ACCOUNTING_BY);
// Values are finite numbers; no lower bound, so a rounding artefact (-0.1 J unattributed) does not hide a host.
const usage = { gpu_seconds: num(), util_gpu_seconds: num(), mem_gib_hours: num(), energy_j: num() };
const group = nullable(str(4096));

/** /v1/accounting: GPU use per group over a range. */
export const validateAccounting = (v: unknown) =>
  validate<Accounting>(
    obj({
      since: num(0),
      until: num(0),
      by,
      tier: oneOf('1m', '1h'),
      step_ms: num(1),
      interval_ms: num(1),
      groups: arr(obj({ group, processes: int(0), total: obj(usage), gpus: arr(obj({ gpu: int(0), ...usage }), 1024) }), 100_000),
      gpus: arr(obj({ gpu: int(0), energy_j: num(), unattributed_energy_j: num() }), 1024),
      total: obj(usage),
    }),
    v,
  );

/** /v1/accounting/timeline: each group's values as long as `t`. */
export const validateAccountingTimeline = (v: unknown) =>
  validate<AccountingTimeline>(
    all(
      obj({
        since: num(0),
        until: num(0),
        by,
        metric: oneOf('mem', 'sm'),
        tier: oneOf('raw', '1m', '1h'),
        step_ms: num(1),
        t: arr(time, 100_000),
        groups: arr(obj({ group, values: arr(num(), 100_000) }), 10_000),
      }),
      (d, p) => {
        const { t, groups } = d as AccountingTimeline;
        for (const [i, g] of groups.entries())
          if (g.values.length !== t.length) return `${at(at(at(p, 'groups'), i), 'values')}: ${g.values.length} values for ${t.length} times`;
        return null;
      },
    ),
    v,
  );

/** One sample frame: [t, ...values] with exactly `width` finite-or-null values. */
export function validateRow(row: unknown, width: number): Validation<(number | null)[]> {
  if (!Array.isArray(row)) return { ok: false, reason: bad('row', 'an array', row) };
  if (row.length !== width + 1) return { ok: false, reason: `row: expected ${width + 1} items (t and ${width} values), got ${row.length}` };
  const e = time(row[0], 'row[0]');
  if (e) return { ok: false, reason: e };
  for (let i = 1; i < row.length; i++) {
    const v = row[i];
    if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) return { ok: false, reason: bad(`row[${i}]`, 'a finite number or null', v) };
  }
  return { ok: true, value: row as (number | null)[] };
}
