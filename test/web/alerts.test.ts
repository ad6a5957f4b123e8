import { describe, expect, test } from 'bun:test';
import { AlertEngine, instances, type Change } from '../../web/lib/alerts.ts';
import { countFiring, isSilenced, shown, step, type Alert } from '../../web/lib/alert-lifecycle.ts';
import { normalizeRule, validateRule, type Rule } from '../../web/lib/alert-rules.ts';
import type { GpuHealth } from '../../web/lib/alert-eval.ts';

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
const base = { id: 'r1', ep: '*', label: '', forS: 60, enabled: true, silencedUntil: null, created: 0 };
const rule = (p: Record<string, unknown> = {}): Rule => {
  const r = validateRule({ ...base, kind: 'threshold', metric: 'gpu*.temp', op: '>', threshold: 85, label: 'GPU hot', ...p });
  if (!r.ok) throw new Error(r.error);
  return r.rule;
};
const health = (kind: string, p: Record<string, unknown> = {}): Rule => rule({ kind, label: '', ...p });
const temps =
  (t0: number | null, t1: number | null = 50) =>
  (k: string) =>
    (({ 'gpu0.temp': t0, 'gpu1.temp': t1 }) as Record<string, number | null>)[k] ?? null;
const gpu = (index: number, p: Partial<GpuHealth> = {}): GpuHealth => ({ index, throttle: [], lost: false, ecc_volatile: null, ...p });
const engine = (rules: Rule[], records: Alert[] = [], now = 0) => {
  const e = new AlertEngine();
  e.load(records, rules, now);
  return e;
};
const sample = (e: AlertEngine, t: number, get: (k: string) => number | null, gpus: GpuHealth[] | null = null, ep = 'ep') =>
  e.sample(ep, { keys, get, gpus }, t);
const kinds = (c: Change) => c.notes.map((n) => `${n.kind}:${n.alert.instance}`);

describe('threshold rules: pending → firing → resolved', () => {
  test('"GPU temp > 85 for 60 s" fires per GPU after 60 s, once, and resolves when it cools', () => {
    const e = engine([rule()]);
    expect(kinds(sample(e, 0, temps(90)))).toEqual([]);
    expect(e.all.map((a) => a.state)).toEqual(['pending']);
    expect(kinds(sample(e, 59_000, temps(91)))).toEqual([]);
    const fired = sample(e, 60_000, temps(92));
    expect(kinds(fired)).toEqual(['fire:gpu0']);
    expect(fired.put[0]).toMatchObject({ id: 'r1|ep|gpu0', state: 'firing', since: 0, start: 60_000, end: null, value: 92, label: 'GPU hot' });
    expect(kinds(sample(e, 61_000, temps(93)))).toEqual([]);
    const res = sample(e, 62_000, temps(80));
    expect(kinds(res)).toEqual(['resolve:gpu0']);
    expect(res.put[0]).toMatchObject({ state: 'resolved', start: 60_000, end: 62_000 });
    expect(shown(e.all)).toHaveLength(1);
  });
  test('a dip below the threshold cancels the pending alert and restarts the clock', () => {
    const e = engine([rule({ forS: 10 })]);
    sample(e, 0, temps(90));
    expect(sample(e, 5000, temps(80)).del).toEqual(['r1|ep|gpu0']);
    sample(e, 6000, temps(90));
    expect(kinds(sample(e, 15_000, temps(90)))).toEqual([]);
    expect(kinds(sample(e, 16_000, temps(90)))).toEqual(['fire:gpu0']);
  });
  test('firing again reuses the one record per (rule, subject): never two rows for one key', () => {
    const e = engine([rule({ forS: 0 })]);
    sample(e, 0, temps(90));
    sample(e, 1000, temps(80));
    expect(kinds(sample(e, 2000, temps(95)))).toEqual(['fire:gpu0']);
    expect(e.all).toHaveLength(1);
    expect(shown(e.all)[0]).toMatchObject({ state: 'firing', start: 2000, end: null });
  });
  test('memory % uses used/total; a rule can target one endpoint; a missing value is no breach', () => {
    const e = engine([rule({ ep: 'a', metric: 'gpu*.mem.pct', threshold: 95, forS: 0 })]);
    const g = (k: string) => (({ 'gpu1.mem.used': 96, 'gpu1.mem.total': 100, 'gpu0.mem.used': 1, 'gpu0.mem.total': 100 }) as Record<string, number>)[k] ?? null;
    expect(kinds(sample(e, 0, g, null, 'b'))).toEqual([]);
    expect(kinds(sample(e, 0, g, null, 'a'))).toEqual(['fire:gpu1']);
    expect(kinds(sample(e, 1000, () => null, null, 'a'))).toEqual(['resolve:gpu1']);
  });
  test('user metrics: any catalog key, one subject', () => {
    const e = engine([rule({ metric: 'user.loss', op: '<', threshold: 0.1, forS: 0 })]);
    expect(kinds(e.sample('ep', { keys: ['user.loss'], get: () => 0.05, gpus: null }, 0))).toEqual(['fire:user']);
  });
});

describe('rules change: edit, disable, delete', () => {
  test('an edit keeps the open alert while its condition still holds, and resolves it when it does not', () => {
    const e = engine([rule({ forS: 0 })]);
    sample(e, 0, temps(90));
    expect(kinds(e.setRules([rule({ forS: 0, threshold: 88 })], 1000))).toEqual([]);
    expect(kinds(sample(e, 2000, temps(90)))).toEqual([]);
    expect(e.all[0]).toMatchObject({ state: 'firing', start: 0 });
    e.setRules([rule({ forS: 0, threshold: 95, label: 'GPU very hot' })], 3000);
    const c = sample(e, 4000, temps(90));
    expect(kinds(c)).toEqual(['resolve:gpu0']);
    expect(c.put[0]!.label).toBe('GPU very hot');
  });
  test('disabling or deleting a rule resolves its alerts; a disabled rule evaluates nothing', () => {
    const e = engine([rule({ forS: 0 })]);
    sample(e, 0, temps(90));
    expect(kinds(e.setRules([rule({ forS: 0, enabled: false })], 5))).toEqual(['resolve:gpu0']);
    expect(kinds(sample(e, 10, temps(99)))).toEqual([]);
    e.setRules([rule({ forS: 0 })], 20);
    expect(kinds(sample(e, 30, temps(99)))).toEqual(['fire:gpu0']);
    expect(kinds(e.setRules([], 40))).toEqual(['resolve:gpu0']);
  });
});

describe('restart and handover', () => {
  test('a new engine loaded from the stored records continues: no second fire, resolves when the condition ended meanwhile', () => {
    const first = engine([rule({ forS: 0 })]);
    const stored = sample(first, 0, temps(90)).put;
    const again = engine([rule({ forS: 0 })], stored, 100_000);
    expect(kinds(sample(again, 100_000, temps(91)))).toEqual([]);
    expect(again.all).toHaveLength(1);
    const later = engine([rule({ forS: 0 })], again.all, 200_000);
    expect(kinds(sample(later, 200_000, temps(40)))).toEqual(['resolve:gpu0']);
  });
  test('a pending alert carries its "since" across a handover', () => {
    const first = engine([rule({ forS: 60 })]);
    const stored = sample(first, 0, temps(90)).put;
    expect(kinds(sample(engine([rule({ forS: 60 })], stored), 60_000, temps(90)))).toEqual(['fire:gpu0']);
  });
  test('a GPU that is gone resolves its alert; so does an endpoint that is removed', () => {
    const e = engine([rule({ forS: 0 })]);
    sample(e, 0, temps(90, 90));
    expect(kinds(e.sample('ep', { keys: ['gpu0.temp'], get: temps(90), gpus: null }, 1000))).toEqual(['resolve:gpu1']);
    expect(kinds(e.tick([], 2000))).toEqual(['resolve:gpu0']);
  });
});

describe('silences', () => {
  test('a silenced rule or alert still changes state but notifies nobody and is not counted', () => {
    const r = rule({ forS: 0, silencedUntil: 10_000 });
    const e = engine([r]);
    const c = sample(e, 0, temps(90));
    expect(c.put[0]!.state).toBe('firing');
    expect(c.notes).toEqual([]);
    expect(countFiring(e.all, [r], 5000)).toBe(0);
    expect(countFiring(e.all, [r], 10_000)).toBe(1);
    expect(isSilenced(e.all[0]!, r, 9999)).toBe(true);
  });
  test('per-alert silence: only that subject is quiet', () => {
    const r = rule({ forS: 0 });
    const e = engine([r]);
    sample(e, 0, temps(90, 90));
    e.silenceAlert('r1|ep|gpu1', 60_000);
    expect(countFiring(e.all, [r], 1000)).toBe(1);
    expect(kinds(sample(e, 1000, temps(50, 50)))).toEqual(['resolve:gpu0']);
    e.silenceAlert('r1|ep|gpu1', null);
    expect(
      isSilenced(
        e.all.find((a) => a.instance === 'gpu1')!,
        r,
        1000,
      ),
    ).toBe(false);
  });
});

describe('health rules', () => {
  test('throttling for any reason but idle, per GPU, with the reasons', () => {
    const e = engine([health('throttle', { forS: 0 })]);
    expect(kinds(sample(e, 0, () => null, [gpu(0, { throttle: ['gpu_idle'] }), gpu(1)]))).toEqual([]);
    const c = sample(e, 1000, () => null, [gpu(0, { throttle: ['hw_thermal', 'sw_power_cap'] }), gpu(1)]);
    expect(kinds(c)).toEqual(['fire:gpu0']);
    expect(c.put[0]!.detail).toBe('hw_thermal, sw_power_cap');
    expect(kinds(sample(e, 1500, () => null, null))).toEqual([]); // no snapshot yet: unknown, still firing
    expect(kinds(sample(e, 2000, () => null, [gpu(0), gpu(1)]))).toEqual(['resolve:gpu0']);
  });
  test('GPU lost fires, recovers', () => {
    const e = engine([health('gpu_lost', { forS: 0 })]);
    expect(kinds(sample(e, 0, () => null, [gpu(0), gpu(1, { lost: true })]))).toEqual(['fire:gpu1']);
    expect(kinds(sample(e, 1000, () => null, [gpu(0), gpu(1)]))).toEqual(['resolve:gpu1']);
  });
  test('ECC: an increase of the uncorrected count fires (the first count is the baseline) and clears after the hold', () => {
    const e = engine([health('ecc', { forS: 60 })]);
    const ecc = (n: number) => [gpu(0, { ecc_volatile: { corrected: 0, uncorrected: n } })];
    expect(kinds(sample(e, 0, () => null, ecc(3)))).toEqual([]);
    expect(kinds(sample(e, 1000, () => null, ecc(3)))).toEqual([]);
    const c = sample(e, 2000, () => null, ecc(4));
    expect(kinds(c)).toEqual(['fire:gpu0']);
    expect(c.put[0]!.detail).toBe('4 uncorrected');
    expect(kinds(e.tick(['ep'], 61_000))).toEqual([]);
    expect(kinds(sample(e, 62_000, () => null, ecc(4)))).toEqual(['resolve:gpu0']);
  });
  test('XID: a new event fires; the same event again (a reconnect backfill) does not; old events are not new', () => {
    const e = engine([health('xid', { forS: 3600, created: 1000 })]);
    const xid = (t: number, id = 79) => ({ t, kind: 'xid', scope: 'gpu0', label: `GPU 0 XID ${id}` });
    expect(kinds(e.event('ep', xid(500), 2000))).toEqual([]);
    const c = e.event('ep', xid(3000), 3000);
    expect(kinds(c)).toEqual(['fire:gpu0']);
    expect(c.put[0]!.detail).toBe('XID 79');
    expect(kinds(e.event('ep', xid(3000), 4000))).toEqual([]);
    expect(kinds(e.event('ep', { t: 5000, kind: 'throttle_start', scope: 'gpu0', label: 'x' }, 5000))).toEqual([]);
    expect(kinds(e.tick(['ep'], 3000 + 3_599_000))).toEqual([]);
    expect(kinds(e.tick(['ep'], 3000 + 3_600_000))).toEqual(['resolve:gpu0']);
    // After a reload the stored mark still stops the replayed event.
    const again = engine([health('xid', { forS: 3600, created: 1000 })], e.all);
    expect(kinds(again.event('ep', xid(3000), 5_000_000))).toEqual([]);
    expect(kinds(again.event('ep', xid(6000, 48), 5_000_000))).toEqual(['fire:gpu0']);
  });
  test('host silent for N s: from when this leader started, reset by each sample', () => {
    const e = engine([health('silent', { forS: 10 })], [], 0);
    expect(kinds(e.tick(['ep'], 9000))).toEqual([]);
    const c = e.tick(['ep'], 10_000);
    expect(kinds(c)).toEqual(['fire:host']);
    expect(c.put[0]!.label).toBe('host silent for 10s');
    sample(e, 11_000, temps(20));
    expect(kinds(e.tick(['ep'], 12_000))).toEqual(['resolve:host']);
    expect(kinds(e.tick(['other'], 12_000))).toEqual(['fire:host']);
  });
});

describe('pure pieces', () => {
  test('step: not holding with no record is nothing', () => {
    expect(step(undefined, rule(), 'ep', 'gpu0', { holds: false, value: 1, detail: null }, 0)).toEqual({ next: null, note: null, changed: false });
  });
  test('instances and validation name the field that is wrong', () => {
    expect(instances('gpu*.temp', keys).map((i) => i.instance)).toEqual(['gpu0', 'gpu1']);
    expect(instances('host.mem.pct', keys)[0]!.read((k) => (k === 'host.mem.used' ? 50 : 200))).toBe(25);
    const bad = (p: Record<string, unknown>) => {
      const r = validateRule({ ...base, kind: 'threshold', metric: 'gpu0.temp', op: '>', threshold: 1, ...p });
      return r.ok ? null : r.error;
    };
    expect(bad({})).toBeNull();
    expect(bad({ metric: 'rm -rf' })).toMatch(/^metric: "rm -rf"/);
    expect(bad({ threshold: NaN })).toMatch(/^threshold/);
    expect(bad({ forS: -1 })).toMatch(/^for/);
    expect(bad({ kind: 'nope' })).toMatch(/^kind: "nope"/);
    expect(bad({ kind: 'silent', forS: 0 })).toMatch(/^for/);
  });
  test('rules stored by an older gpulse are read: threshold by default, status.offline as host silent', () => {
    const old = { id: 'o', ep: '*', metric: 'status.offline', op: '>', threshold: 0, forS: 120, label: 'offline for 2m' };
    expect(normalizeRule(old)).toMatchObject({ kind: 'silent', forS: 120, enabled: true, silencedUntil: null });
    expect(normalizeRule({ ...old, metric: 'gpu*.temp' })).toMatchObject({ kind: 'threshold', metric: 'gpu*.temp' });
    expect(normalizeRule({ id: 'x' })).toBeNull();
  });
});
