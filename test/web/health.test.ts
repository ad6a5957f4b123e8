/** Fleet health rules, sorting and filtering (web/lib/health.ts), and rows read from endpoint state (web/lib/fleet.ts). */
import { describe, expect, test } from 'bun:test';
import { fleetRow } from '../../web/lib/fleet.ts';
import { EndpointStore } from '../../web/lib/endpoint-store.ts';
import { gpuProblems, HEALTH, hostHealth, matchesFilter, parseTags, sortHosts, type GpuReading } from '../../web/lib/health.ts';
import type { EpState } from '../../web/lib/state.ts';

const NOW = 1_700_000_000_000;
const gpu = (over: Partial<GpuReading> = {}): GpuReading => ({
  index: 0,
  util: 50,
  memUsed: 10e9,
  memTotal: 80e9,
  temp: 60,
  power: 200,
  throttle: [],
  lost: false,
  eccUncorrected: 0,
  xidAt: null,
  ...over,
});
const codes = (g: GpuReading) => gpuProblems(g, NOW).map((p) => `${p.code}:${p.level}`);

describe('GPU health', () => {
  test('a healthy GPU has no problems; benign clock reasons are not throttling', () => {
    expect(codes(gpu())).toEqual([]);
    expect(codes(gpu({ throttle: ['applications_clocks', 'display_clocks', 'sync_boost'] }))).toEqual([]);
  });
  test('each problem is named, with its level', () => {
    expect(codes(gpu({ lost: true }))).toEqual(['lost:crit']);
    expect(codes(gpu({ xidAt: NOW - 60_000 }))).toEqual(['xid:crit']);
    expect(codes(gpu({ xidAt: NOW - HEALTH.xidHoldMs - 1 }))).toEqual([]);
    expect(codes(gpu({ eccUncorrected: 3 }))).toEqual(['ecc:crit']);
    expect(codes(gpu({ eccUncorrected: null }))).toEqual([]);
    expect(codes(gpu({ throttle: ['sw_power_cap'] }))).toEqual(['throttle:warn']);
    expect(codes(gpu({ throttle: ['sw_power_cap', 'hw_thermal'] }))).toEqual(['throttle:crit']);
    expect(codes(gpu({ temp: HEALTH.hotWarnC }))).toEqual(['hot:warn']);
    expect(codes(gpu({ temp: HEALTH.hotCritC + 2 }))).toEqual(['hot:crit']);
    expect(codes(gpu({ memUsed: 79e9 }))).toEqual(['mem-full:warn']);
    expect(codes(gpu({ memUsed: 79e9, memTotal: null }))).toEqual([]);
    expect(gpuProblems(gpu({ throttle: ['hw_slowdown', 'applications_clocks'] }), NOW)[0]!.text).toBe('throttled: hw_slowdown');
  });
  test('a host is as bad as its worst GPU or its connection', () => {
    expect(hostHealth('live', [gpu(), gpu({ index: 1 })], NOW).level).toBe('ok');
    expect(hostHealth('live', [gpu(), gpu({ index: 1, temp: 85 })], NOW).level).toBe('warn');
    expect(hostHealth('offline', [gpu()], NOW).level).toBe('crit');
    expect(hostHealth('stale', [], NOW).level).toBe('warn');
    expect(hostHealth('connecting', [], NOW).level).toBe('ok');
    expect(hostHealth('unauthorized', [], NOW).problems.map((p) => p.text)).toEqual(['token rejected']);
  });
});

describe('sorting and filtering', () => {
  const host = (name: string, order: number, status: string, gpus: GpuReading[], load: number | null = null) => ({
    name,
    order,
    load,
    health: hostHealth(status, gpus, NOW),
  });
  const fleet = [
    host('b-ok', 0, 'live', [gpu()], 90),
    host('a-hot', 1, 'live', [gpu({ temp: 85 })], 10),
    host('c-thermal', 2, 'live', [gpu({ throttle: ['hw_thermal'] })], 20),
    host('d-offline', 3, 'offline', [gpu()]),
    host('e-two', 4, 'live', [gpu({ lost: true }), gpu({ index: 1, eccUncorrected: 1 })], 0),
    host('f-idle', 5, 'live', [gpu()], 5),
  ];
  const names = (mode: Parameters<typeof sortHosts>[1]) => sortHosts(fleet, mode).map((h) => h.name);
  test('problems first: critical hosts (most critical problems first), then warnings, then by name (stable as loads move)', () => {
    expect(names('problems')).toEqual(['e-two', 'c-thermal', 'd-offline', 'a-hot', 'b-ok', 'f-idle']);
    const busier = fleet.map((h) => (h.name === 'f-idle' ? { ...h, load: 99 } : h));
    expect(sortHosts(busier, 'problems').map((h) => h.name)).toEqual(['e-two', 'c-thermal', 'd-offline', 'a-hot', 'b-ok', 'f-idle']);
  });
  test('by name (numeric-aware), by load, and the user order', () => {
    expect(names('name')).toEqual(['a-hot', 'b-ok', 'c-thermal', 'd-offline', 'e-two', 'f-idle']);
    expect(names('load')).toEqual(['b-ok', 'c-thermal', 'a-hot', 'f-idle', 'e-two', 'd-offline']);
    expect(names('custom')).toEqual(fleet.map((h) => h.name));
    expect(sortHosts([host('gpu10', 0, 'live', []), host('gpu9', 1, 'live', [])], 'name').map((h) => h.name)).toEqual(['gpu9', 'gpu10']);
  });
  test('the filter matches name, hostname or tag; every word must match; tag: matches tags only', () => {
    expect(matchesFilter('', 'x', null, [])).toBe(true);
    expect(matchesFilter('RACK', 'rack-3', null, [])).toBe(true);
    expect(matchesFilter('dgx', 'box', 'dgx-07', [])).toBe(true);
    expect(matchesFilter('prod', 'box', null, ['Prod', 'a100'])).toBe(true);
    expect(matchesFilter('prod a100', 'box', null, ['prod'])).toBe(false);
    expect(matchesFilter('tag:a100', 'a100-test', null, [])).toBe(false);
    expect(matchesFilter('tag:a100', 'box', null, ['a100'])).toBe(true);
  });
  test('tags are parsed from free text; a bad one is named', () => {
    expect(parseTags(' prod, a100  rack-3,prod ')).toEqual(['prod', 'a100', 'rack-3']);
    expect(parseTags('')).toEqual([]);
    expect(() => parseTags('ok bad<tag>')).toThrow('tag "bad<tag>"');
  });
});

describe('fleet rows from endpoint state', () => {
  const keys = ['host.cpu.util', 'host.mem.used', 'host.mem.total', 'gpu0.util', 'gpu0.mem.used', 'gpu0.mem.total', 'gpu0.temp', 'gpu0.power'];
  type Mutable<T> = { -readonly [K in keyof T]: T[K] };
  const state = (over: Partial<EpState> = {}): Mutable<EpState> =>
    ({
      ep: { id: 'e1', name: 'box', url: 'http://x:9740', token: 't', order: 0, added: 0, tags: ['prod'] },
      status: { kind: 'live', lastT: NOW - 1000 },
      schema: { hostname: 'box-h', devices: [{ index: 0, name: 'NVIDIA H100 80GB HBM3', uuid: 'u', memory_total: 80e9, provider: 'nvml' }] },
      keys,
      last: [NOW, 12, 4e9, 8e9, 97, 70e9, 80e9, 91, 650],
      tail: [],
      extras: {
        gpus: [{ index: 0, pstate: 'P0', throttle: ['hw_thermal'], processes: [], lost: false, mig: null, ecc_volatile: null }],
        workloads: { ollama: [] },
      },
      rev: 0,
      ...over,
    }) as unknown as EpState;
  test('values, health and load come from the newest row and the snapshot extras', () => {
    const r = fleetRow(state(), NOW);
    expect(r.gpus[0]).toMatchObject({ util: 97, memUsed: 70e9, temp: 91, power: 650, throttle: ['hw_thermal'] });
    expect(r.cpu).toBe(12);
    expect(r.mem).toBe(50);
    expect(r.load).toBe(97);
    expect(r.health.level).toBe('crit');
    expect(r.health.problems.map((p) => p.code)).toEqual(['throttle', 'hot']);
    expect(r.gpuModel).toBe('NVIDIA H100 80GB HBM3');
    expect(r.tags).toEqual(['prod']);
    expect(r.dim).toBe(false);
  });
  test('an offline host keeps its last values, dimmed, with when it was last seen', () => {
    const r = fleetRow(state({ status: { kind: 'offline', retryAt: NOW + 5000, attempt: 2, message: 'agent unreachable' }, lastSeen: NOW - 180_000 }), NOW);
    expect(r.dim).toBe(true);
    expect(r.lastSeen).toBe(NOW - 180_000);
    expect(r.gpus[0]!.util).toBe(97);
  });
  test('an imported (read-only) endpoint is not a problem for being stale', () => {
    const s = state({ status: { kind: 'stale', lastT: 0 } });
    expect(fleetRow(s, NOW).health.problems.map((p) => p.code)).toEqual(['unreachable', 'throttle', 'hot']);
    s.ep = { ...s.ep, readOnly: true };
    expect(fleetRow(s, NOW).health.problems.map((p) => p.code)).toEqual(['throttle', 'hot']);
  });
  test('an XID event marks its GPU', () => {
    const s = state({ extras: null });
    const store = new EndpointStore(s.ep, null);
    store.noteXid(0, NOW - 1000);
    store.noteXid(0, NOW - 5000); // an older one (a replay) does not move it back
    expect(store.xidAt).toEqual({ 0: NOW - 1000 });
    s.xidAt = store.xidAt;
    expect(fleetRow(s, NOW).health.problems.map((p) => p.code)).toContain('xid');
  });
});
