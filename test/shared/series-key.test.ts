/** Key folding for user metrics: documented form, one-to-one, URL-safe. */
import { describe, expect, test } from 'bun:test';
import { foldPart, ollamaKey, parseUserKey, unfoldPart, userKey } from '../../shared/series-key.ts';

describe('userKey()', () => {
  test('the documented examples', () => {
    expect(userKey('loss', { run: '42' })).toBe('user.loss.run-42');
    expect(userKey('gpu_temp:max', { zone: 'x y', host: 'a.b' })).toBe('user.gpu_temp~3Amax.host-a~2Eb.zone-x~20y');
    expect(userKey('up', {})).toBe('user.up');
  });
  test('labels are sorted and empty values dropped (as Prometheus treats them), so one series has one key', () => {
    expect(userKey('m', { b: '2', a: '1' })).toBe(userKey('m', { a: '1', b: '2' }));
    expect(userKey('m', { a: '1', b: '' })).toBe('user.m.a-1');
  });
  test('separators inside values are escaped: no two label sets share a key', () => {
    const a = userKey('m', { a: 'x.b-y' });
    const b = userKey('m', { a: 'x', b: 'y' });
    expect(a).not.toBe(b);
    expect(a).toBe('user.m.a-x~2Eb~2Dy');
    expect(userKey('m', { a: '~2E' })).toBe('user.m.a-~7E2E');
  });
  test('keys are URL-safe and free of commas whatever the input', () => {
    const k = userKey('m', { v: 'ä/€?&=,#%"\\\n 😀' });
    expect(k).toMatch(/^[A-Za-z0-9_.~-]+$/);
    expect(encodeURIComponent(k)).toBe(k);
  });
  test('parseUserKey undoes userKey (round trip over awkward values)', () => {
    const cases: [string, Record<string, string>][] = [
      ['loss', { run: '42' }],
      ['a:b', { x: '.-~', y: 'ä😀\n"' }],
      ['n', {}],
      ['n', { l: '-' }],
    ];
    for (const [m, l] of cases) expect(parseUserKey(userKey(m, l))).toEqual({ metric: m, labels: Object.fromEntries(Object.entries(l).sort()) });
  });
  test('parseUserKey refuses what userKey never makes', () => {
    for (const k of ['host.cpu.util', 'user.', 'user.1abc', 'user.m.b-1.a-2', 'user.m.a-1.a-2', 'user.m.a-', 'user.m.a', 'user.m.a-~ZZ', 'user.m.a-~FF'])
      expect(parseUserKey(k)).toBeNull();
  });
  test('foldPart / unfoldPart', () => {
    expect(foldPart('llama3.1:8b')).toBe('llama3~2E1~3A8b');
    expect(unfoldPart('llama3~2E1~3A8b')).toBe('llama3.1:8b');
    expect(ollamaKey('llama3.1:8b', 'vram')).toBe('ollama.llama3~2E1~3A8b.vram');
  });
});
