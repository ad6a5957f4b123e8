import { describe, expect, test } from 'bun:test';
import { AlertEngine, instances, validateRule, type AlertRule } from '../../web/lib/alerts.ts';

const keys = [
  'host.cpu.util',
  'host.mem.used',
  'host.mem.total',
  'gpu0.temp',
  'gpu0.mem.used',
  'gpu0.mem.total',
  'gpu1.temp',
  'gpu1.mem.used',
  'gpu1.mem.total',
];
const rule = (p: Partial<AlertRule>): AlertRule => ({ id: 'r1', ep: '*', metric: 'gpu*.temp', op: '>', threshold: 85, forS: 60, label: 'GPU hot', ...p });

describe('AlertEngine', () => {
  test('"GPU temp > 85 °C for 60 s" fires per GPU after 60 s and resolves when it cools', () => {
    const e = new AlertEngine();
    e.setRules([rule({})], 0);
    const at = (t: number, t0: number, t1: number) =>
      e.sample('ep', t, keys, (k) => (({ 'gpu0.temp': t0, 'gpu1.temp': t1 }) as Record<string, number>)[k] ?? null);
    expect(at(0, 90, 50)).toEqual([]);
    expect(at(59_000, 91, 50)).toEqual([]);
    const fired = at(60_000, 92, 50);
    expect(fired).toHaveLength(1);
    expect(fired[0]!.alert).toMatchObject({ instance: 'gpu0', start: 0, end: null, value: 92, label: 'GPU hot' });
    expect(at(61_000, 93, 50)).toEqual([]); // fires once
    const res = at(62_000, 80, 50);
    expect(res[0]).toMatchObject({ kind: 'resolve', alert: { instance: 'gpu0', end: 62_000 } });
  });
  test('a dip below the threshold restarts the clock', () => {
    const e = new AlertEngine();
    e.setRules([rule({ forS: 10 })], 0);
    const at = (t: number, v: number) => e.sample('ep', t, keys, (k) => (k === 'gpu0.temp' ? v : null));
    at(0, 90);
    at(5000, 80);
    at(6000, 90);
    expect(at(15_000, 90)).toEqual([]);
    expect(at(16_000, 90)).toHaveLength(1);
  });
  test('"GPU memory > 95 %" uses used/total; rules can target one endpoint', () => {
    const e = new AlertEngine();
    e.setRules([rule({ id: 'm', ep: 'a', metric: 'gpu*.mem.pct', threshold: 95, forS: 0, label: 'VRAM full' })], 0);
    const g = (k: string) => (({ 'gpu1.mem.used': 96, 'gpu1.mem.total': 100, 'gpu0.mem.used': 1, 'gpu0.mem.total': 100 }) as Record<string, number>)[k] ?? null;
    expect(e.sample('b', 0, keys, g)).toEqual([]);
    const f = e.sample('a', 0, keys, g);
    expect(f.map((x) => x.alert.instance)).toEqual(['gpu1']);
  });
  test('"endpoint offline for 2 min" from connection state; null values never fire', () => {
    const e = new AlertEngine();
    e.setRules([rule({ id: 'o', metric: 'status.offline', forS: 120 }), rule({ id: 't', metric: 'host.cpu.util', threshold: 0, forS: 0 })], 0);
    expect(e.status('ep', 0, true)).toEqual([]);
    expect(e.status('ep', 120_000, true)).toHaveLength(1);
    expect(e.status('ep', 121_000, false)[0]!.kind).toBe('resolve');
    expect(e.sample('ep', 0, keys, () => null)).toEqual([]);
  });
  test('removing a rule resolves its firing alerts', () => {
    const e = new AlertEngine();
    e.setRules([rule({ forS: 0 })], 0);
    e.sample('ep', 0, keys, (k) => (k === 'gpu0.temp' ? 99 : null));
    expect(e.firing).toHaveLength(1);
    expect(e.setRules([], 5)[0]).toMatchObject({ kind: 'resolve', alert: { end: 5 } });
  });
  test('instances and validation', () => {
    expect(instances('gpu*.temp', keys).map((i) => i.instance)).toEqual(['gpu0', 'gpu1']);
    expect(instances('host.mem.pct', keys)[0]!.read((k) => (k === 'host.mem.used' ? 50 : 200))).toBe(25);
    expect(validateRule(rule({}))).toBeNull();
    expect(validateRule(rule({ metric: 'rm -rf' }))).toMatch(/metric/);
    expect(validateRule(rule({ threshold: NaN }))).toMatch(/threshold/);
    expect(validateRule(rule({ forS: -1 }))).toMatch(/for/);
  });
});
