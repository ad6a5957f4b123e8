import { describe, expect, test } from 'bun:test';
import { describe as describeErr } from '../../web/lib/live.ts';
import { mixedContentProblem, normalizeUrl } from '../../web/lib/state.ts';

describe('where the PWA is hosted vs where the agent is', () => {
  test.each([
    ['http:', 'http://gpu-box:9740', null],
    ['https:', 'https://gpu-box:9740', null],
    ['https:', 'http://127.0.0.1:9740', null],
    ['https:', 'http://localhost:9740', null],
  ])('page %p → agent %p: no problem', (proto, url, want) => expect(mixedContentProblem(proto, url)).toBe(want));
  test('https page → http IP literal or .local: Chrome asks for local-network permission', () => {
    expect(mixedContentProblem('https:', 'http://10.0.0.5:9740')).toMatch(/permission/);
    expect(mixedContentProblem('https:', 'http://gpu1.local:9740')).toMatch(/permission/);
  });
  test('https page → http DNS name: blocked as mixed content, with what to do instead', () => {
    expect(mixedContentProblem('https:', 'http://gpu-box.lab.example:9740')).toMatch(/mixed content.*--tls-cert/);
  });
  test('agent URLs are reduced to their origin; other schemes are refused', () => {
    expect(normalizeUrl(' http://gpu-box:9740/some/path?x=1 ')).toBe('http://gpu-box:9740');
    expect(() => normalizeUrl('ftp://x')).toThrow(/http:\/\/ or https:\/\//);
    expect(() => normalizeUrl('not a url')).toThrow();
  });
  test('network errors become something a person can act on', () => {
    expect(describeErr(new TypeError('Failed to fetch'))).toBe('agent unreachable');
    expect(describeErr(new TypeError('Permission was denied for this request to access the `loopback` address space.'))).toMatch(/local network permission/);
  });
});
