/** shared/validate.ts: real agent payloads pass; each wrong type is refused with the path of the first bad field. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import {
  validateAccounting,
  validateAccountingTimeline,
  validateEvent,
  validateEvents,
  validateHistory,
  validateInfo,
  validateRow,
  validateSchema,
  validateSnapshotExtras,
  validateStreamEvent,
} from '../../shared/validate.ts';
import { auth, fakeNvml, readSse, startAgent, type RunningAgent } from '../helpers.ts';

describe('payloads from a real agent pass', () => {
  let a: RunningAgent;
  beforeAll(async () => {
    a = await startAgent(['--interval', '200ms', '--gpu', 'nvml'], {
      GPULSE_NVML_LIB: fakeNvml('default'),
      FAKE_NVML_GPUS: '2',
      FAKE_NVML_PROCS: `0:${process.pid}:512`,
    });
    await fetch(a.url + '/v1/events', { method: 'POST', body: JSON.stringify({ label: 'run', end_t: Date.now() + 1000, color: '#0f0' }), ...auth(a.token) });
    await Bun.sleep(800);
  });
  afterAll(async () => {
    await a?.stop();
  });
  const get = async (p: string) => (await fetch(a.url + p, auth(a.token))).json();

  test('info, history (plain and minmax), events', async () => {
    expect(validateInfo(await get('/v1/info'))).toMatchObject({ ok: true });
    expect(validateHistory(await get('/v1/history'))).toMatchObject({ ok: true });
    expect(validateHistory(await get('/v1/history?agg=minmax&step=1000'))).toMatchObject({ ok: true });
    const ev = await get('/v1/events');
    expect(validateEvents(ev)).toMatchObject({ ok: true });
    for (const e of ev.events) expect(validateEvent(e)).toMatchObject({ ok: true });
  });
  test('accounting and its timeline (both metrics)', async () => {
    const acc = await get('/v1/accounting?by=user&since=0');
    expect(acc.groups.length).toBeGreaterThan(0); // the fake reports this process: the shape is checked with a group in it
    expect(validateAccounting(acc)).toMatchObject({ ok: true });
    for (const metric of ['mem', 'sm']) {
      const tl = await get(`/v1/accounting/timeline?by=user&metric=${metric}&since=${Date.now() - 60_000}`);
      expect(validateAccountingTimeline(tl)).toMatchObject({ ok: true });
    }
  });
  test('stream: schema, snapshot extras, samples and events', async () => {
    const res = await fetch(a.url + '/v1/stream', auth(a.token));
    const msgs = await readSse(res, (m) => m.filter((x) => x.event === 'sample').length >= 2);
    const schema = JSON.parse(msgs.find((m) => m.event === 'schema')!.data);
    expect(validateSchema(schema)).toMatchObject({ ok: true });
    expect(validateSnapshotExtras(JSON.parse(msgs.find((m) => m.event === 'snapshot')!.data))).toMatchObject({ ok: true });
    for (const m of msgs.filter((x) => x.event === 'sample')) expect(validateRow(JSON.parse(m.data), schema.series.length)).toMatchObject({ ok: true });
  });
});

const schema = {
  version: '0.1.0',
  hostname: 'h',
  interval_ms: 1000,
  retention_s: 60,
  capacity: 60,
  provider: 'nvml',
  driver_version: null,
  cuda_version: null,
  host: { cpu_model: null, cores: 1, threads: 1, os: null },
  devices: [{ index: 0, name: 'GPU', uuid: 'GPU-1', memory_total: 1, provider: 'nvml' }],
  series: [{ key: 'host.cpu.util', label: 'CPU', unit: '%', scope: 'host' }],
};
const reason = (r: { ok: boolean; reason?: string }) => (r.ok ? 'ok' : r.reason);

describe('wrong types are refused with the path of the first bad field', () => {
  test.each([
    [{ ...schema, hostname: 42 }, 'hostname: expected a string, got number'],
    [{ ...schema, hostname: { evil: true } }, 'hostname: expected a string, got object'],
    [{ ...schema, interval_ms: 0 }, 'interval_ms: must be at least 1, got 0'],
    [{ ...schema, interval_ms: '1000' }, 'interval_ms: expected a finite number, got string'],
    [{ ...schema, devices: [{ ...schema.devices[0], name: null }] }, 'devices[0].name: expected a string, got null'],
    [{ ...schema, host: { ...schema.host, threads: 1.5 } }, 'host.threads: expected an integer, got 1.5'],
    [{ ...schema, series: [...schema.series, ...schema.series] }, 'series[1].key: "host.cpu.util" appears twice'],
    [{ ...schema, series: 'nope' }, 'series: expected an array, got string'],
    [{ ...schema, version: 'x'.repeat(300) }, 'version: longer than 256 characters'],
    [null, 'payload: expected an object, got null'],
  ])('schema %#', (payload, want) => expect(reason(validateSchema(payload))).toBe(want));

  test('snapshot extras, events, history and rows', () => {
    const gpu = { index: 0, pstate: 'P0', throttle: [], processes: [], lost: false, mig: null };
    expect(reason(validateSnapshotExtras({ gpus: [gpu], workloads: { ollama: [] } }))).toBe('ok');
    expect(reason(validateSnapshotExtras({ gpus: [{ ...gpu, processes: [{ pid: 'x' }] }], workloads: { ollama: [] } }))).toBe(
      'gpus[0].processes[0].pid: expected a finite number, got string',
    );
    expect(reason(validateSnapshotExtras({ gpus: [gpu] }))).toBe('workloads: expected an object, got undefined');
    const ev = { id: 'u-1', t: 1000, label: 'x', source: 'user' };
    expect(reason(validateEvent(ev))).toBe('ok');
    expect(reason(validateEvent({ ...ev, source: 'root' }))).toBe('source: expected one of agent, user, got "root"');
    expect(reason(validateStreamEvent({ ...ev, op: 'delete' }))).toBe('ok');
    expect(reason(validateStreamEvent({ ...ev, label: 7 }))).toBe('label: expected a string, got number');
    expect(reason(validateEvents({ events: {} }))).toBe('events: expected an array, got object');
  });

  test("/v1/events: a bad event (an older agent's #rgba colour) is dropped alone, with its reason", () => {
    const ev = { id: 'u-1', t: 1000, label: 'x', source: 'user' as const };
    const list = [ev, { ...ev, id: 'u-2', t: 'soon' }, { ...ev, id: 'u-3', color: '#f00a' }, { ...ev, id: 'u-4', color: '#0f0' }];
    expect(validateEvents({ events: list })).toEqual({
      ok: true,
      value: {
        events: [ev, { ...ev, id: 'u-4', color: '#0f0' }],
        dropped: ['events[1].t: expected a finite number, got string', 'events[2].color: expected #rgb or #rrggbb'],
      },
    });
    expect(reason(validateHistory({ t: [1, 2], series: { a: [1, null] } }))).toBe('ok');
    expect(reason(validateHistory({ t: [1, 2], series: { a: [1] } }))).toBe('series.a: 1 values for 2 times');
    expect(reason(validateHistory({ t: [1, 2], series: { a: [1, 'x'] } }))).toBe('series.a[1]: expected a finite number, got string');
    expect(reason(validateHistory({ t: [1, 2], series: { a: [1, 2] }, min: { a: [1] } }))).toBe('min.a: 1 values for 2 times');
    expect(reason(validateRow([1000, 1, null], 2))).toBe('ok');
    expect(reason(validateRow([1000, 1], 2))).toBe('row: expected 3 items (t and 2 values), got 2');
    expect(reason(validateRow([0, 1, 2], 2))).toBe('row[0]: must be at least 1, got 0');
    expect(reason(validateRow([1000, Infinity, 2], 2))).toBe('row[1]: expected a finite number or null, got Infinity');
  });
});

describe('accounting answers', () => {
  const use = { gpu_seconds: 60, util_gpu_seconds: 30, mem_gib_hours: 0.5, energy_j: 9000 };
  const acc = {
    since: 1,
    until: 2,
    by: 'user',
    tier: '1m',
    step_ms: 60_000,
    interval_ms: 1000,
    groups: [{ group: 'alice', processes: 1, total: use, gpus: [{ gpu: 0, ...use }] }],
    gpus: [{ gpu: 0, energy_j: 9000, unattributed_energy_j: 0 }],
    total: use,
  };
  const tl = { since: 1, until: 2, by: 'user', metric: 'sm', tier: 'raw', step_ms: 1000, t: [1000, 2000], groups: [{ group: null, values: [0.5, 1] }] };
  test.each([
    [acc, 'ok'],
    [{ ...acc, groups: [{ ...acc.groups[0], total: { ...use, mem_gib_hours: '5' } }] }, 'groups[0].total.mem_gib_hours: expected a finite number, got string'],
    [{ ...acc, groups: {} }, 'groups: expected an array, got object'],
    [{ ...acc, groups: [{ ...acc.groups[0], group: 7 }] }, 'groups[0].group: expected a string, got number'],
    [{ ...acc, groups: [{ ...acc.groups[0], gpus: [{ ...use, gpu: -1 }] }] }, 'groups[0].gpus[0].gpu: must be at least 0, got -1'],
    [{ ...acc, by: 'root' }, 'by: expected one of user, container, job, command, pod, namespace, got "root"'],
    [{ ...acc, total: undefined }, 'total: expected an object, got undefined'],
  ])('accounting %#', (payload, want) => expect(reason(validateAccounting(payload))).toBe(want));
  test.each([
    [tl, 'ok'],
    [{ ...tl, groups: [{ group: 'bob', values: [1] }] }, 'groups[0].values: 1 values for 2 times'],
    [{ ...tl, groups: [{ group: 'bob', values: [1, null] }] }, 'groups[0].values[1]: expected a finite number, got null'],
    [{ ...tl, metric: 'power' }, 'metric: expected one of mem, sm, got "power"'],
    [{ ...tl, t: 'now' }, 't: expected an array, got string'],
  ])('timeline %#', (payload, want) => expect(reason(validateAccountingTimeline(payload))).toBe(want));
});

test('an event colour is #rgb or #rrggbb only: it goes into a style, where url(…) would make the browser fetch', () => {
  const ev = { id: 'e1', t: 1, label: 'run', source: 'user' as const };
  expect(validateEvent({ ...ev, color: '#0f0' })).toMatchObject({ ok: true });
  expect(validateEvent({ ...ev, color: '#00ff00' })).toMatchObject({ ok: true });
  expect(validateEvent({ ...ev, color: 'url(//evil/x)' })).toMatchObject({ ok: false, reason: 'color: expected #rgb or #rrggbb' });
});
