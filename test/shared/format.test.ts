/** The one unit formatter (shared/format.ts) and the plain-words tables (shared/explain.ts). */
import { describe, expect, test } from 'bun:test';
import { fmtNum, fmtRate, fmtTicks, fmtUnit, unitName } from '../../shared/format.ts';
import { eccWords, eventKindWords, explainEvent, throttleMaskWords, throttleWords, xidWords } from '../../shared/explain.ts';

describe('fmtUnit', () => {
  test('each catalog unit', () => {
    expect(fmtUnit(45, '%')).toBe('45.0 %');
    expect(fmtUnit(5, '%')).toBe('5.0 %');
    expect(fmtUnit(100, '%')).toBe('100 %');
    expect(fmtUnit(0, '%')).toBe('0 %');
    expect(fmtUnit(45, '%', { digits: 0 })).toBe('45 %');
    expect(fmtUnit(1.5 * 1024 ** 3, 'B')).toBe('1.5 GiB');
    expect(fmtUnit(12 * 1024 ** 2, 'B/s')).toBe('12.0 MiB/s');
    expect(fmtUnit(250, 'W')).toBe('250 W');
    expect(fmtUnit(1_234_567, 'J')).toBe('1.23 MJ');
    expect(fmtUnit(63, 'C')).toBe('63.0 °C');
    expect(fmtUnit(1410, 'MHz')).toBe('1410 MHz');
    expect(fmtUnit(3 * 3600 + 12 * 60, 's')).toBe('3h 12m');
    expect(fmtUnit(0.25, 's')).toBe('0.250 s');
    expect(fmtUnit(1.2345, '')).toBe('1.23');
  });
  test('missing values are a dash, whatever the unit', () => {
    for (const u of ['%', 'B', 'B/s', 'W', 'J', 'C', 'MHz', 's', '']) {
      expect(fmtUnit(null, u)).toBe('—');
      expect(fmtUnit(NaN, u)).toBe('—');
      expect(fmtUnit(undefined, u)).toBe('—');
    }
  });
  test('user values keep 7 significant figures', () => {
    expect(fmtUnit(0.0123457, '', { full: true })).toBe('0.0123457');
    expect(fmtUnit(1e-5, '', { full: true })).toBe('1.0000e-5');
    expect(fmtUnit(2.5, 's', { full: true })).toBe('2.5 s');
  });
  test('the short names print what they did before', () => {
    expect(fmtNum(45.4, '%')).toBe('45 %');
    expect(fmtNum(1.234, '', 2)).toBe('1.23');
    expect(fmtRate(2048)).toBe('2.0 KiB/s');
    expect(fmtRate(null)).toBe('—');
  });
  test('ticks get the decimals their step needs; captions name the unit', () => {
    expect(fmtTicks([0, 20, 40], '%')).toEqual(['0 %', '20 %', '40 %']);
    expect(fmtTicks([0, 0.5, 1], '')).toEqual(['0.0', '0.5', '1.0']);
    expect(fmtTicks([0, 128 * 1024 ** 2, 1.5 * 1024 ** 3], 'B/s')).toEqual(['0 B/s', '128 MiB/s', '1.5 GiB/s']);
    expect(unitName('C')).toBe('°C');
    expect(unitName('B/s')).toBe('bytes/s');
    expect(unitName('')).toBe('');
  });
});

describe('explain', () => {
  test('throttle reasons, by name and by NVML bit', () => {
    expect(throttleWords('hw_thermal')).toBe('too hot: hardware thermal slowdown');
    expect(throttleWords('something_new')).toBe('something new');
    expect(throttleMaskWords(0x40 | 0x4 | 0x1)).toEqual(['power cap: drawing at its power limit', 'too hot: hardware thermal slowdown']);
  });
  test('XID codes and ECC in words', () => {
    expect(xidWords(79)).toBe('GPU has fallen off the bus');
    expect(xidWords(999)).toContain('XID');
    expect(eccWords({ corrected: 0, uncorrected: 2 })).toContain('2 uncorrectable memory errors');
    expect(eccWords({ corrected: 0, uncorrected: 0 })).toBeNull();
  });
  test('event kinds and labels', () => {
    expect(eventKindWords('throttle_start', 'agent')).toBe('Throttling started');
    expect(eventKindWords(undefined, 'user')).toBe('annotation');
    expect(explainEvent({ kind: 'throttle_start', label: 'GPU 0 throttling: sw_thermal, sw_power_cap' })).toBe(
      'GPU 0 throttling: too hot: software thermal slowdown; power cap: drawing at its power limit',
    );
    expect(explainEvent({ kind: 'xid', label: 'GPU 1 XID 79' })).toBe('GPU 1 XID 79: GPU has fallen off the bus');
    expect(explainEvent({ label: 'run 42' })).toBe('run 42');
  });
});
