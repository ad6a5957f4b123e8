/** .ci/enable-non-free on copies of both apt source formats: adds contrib and non-free once, touches nothing else. */
import { describe, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tmp } from '../helpers.ts';

function run(deb822: string | null, oneline: string | null) {
  const d = tmp('gpulse-apt-');
  const a = join(d, 'debian.sources'),
    b = join(d, 'sources.list');
  if (deb822 !== null) writeFileSync(a, deb822);
  if (oneline !== null) writeFileSync(b, oneline);
  const r = Bun.spawnSync(['bash', join(ROOT, '.ci/enable-non-free')], {
    env: { PATH: process.env.PATH!, APT_DEB822: a, APT_ONELINE: b },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return null;
    }
  };
  return { code: r.exitCode, out: r.stdout.toString(), deb822: read(a), oneline: read(b) };
}

const DEB822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;
const ONELINE = `deb http://deb.debian.org/debian bookworm main
# deb http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm main contrib
deb http://deb.debian.org/debian-security bookworm-security main contrib non-free
`;

describe('.ci/enable-non-free', () => {
  test('deb822: every Components line gets the components it lacks; nothing else changes', () => {
    const r = run(DEB822, null);
    expect(r.code).toBe(0);
    expect(r.deb822!.match(/^Components:.*$/gm)).toEqual(['Components: main contrib non-free', 'Components: main non-free contrib']);
    expect(r.deb822!.replace(/^Components:.*$/gm, '')).toBe(DEB822.replace(/^Components:.*$/gm, ''));
  });
  test('sources.list: deb and deb-src lines get them after main; comments are left alone', () => {
    const r = run(null, ONELINE);
    expect(r.code).toBe(0);
    expect(r.oneline!.split('\n')).toEqual([
      'deb http://deb.debian.org/debian bookworm main non-free contrib',
      '# deb http://deb.debian.org/debian bookworm main',
      'deb-src http://deb.debian.org/debian bookworm main non-free contrib',
      'deb http://deb.debian.org/debian-security bookworm-security main contrib non-free',
      '',
    ]);
  });
  test('a second run changes nothing and says so; missing files are fine', () => {
    const d = tmp('gpulse-apt-');
    const a = join(d, 'debian.sources');
    writeFileSync(a, DEB822);
    const env = { PATH: process.env.PATH!, APT_DEB822: a, APT_ONELINE: join(d, 'absent.list') };
    Bun.spawnSync(['bash', join(ROOT, '.ci/enable-non-free')], { env });
    const once = readFileSync(a, 'utf8');
    const again = Bun.spawnSync(['bash', join(ROOT, '.ci/enable-non-free')], { env, stdout: 'pipe' });
    expect(again.exitCode).toBe(0);
    expect(again.stdout.toString().trim()).toBe('enable-non-free: nothing to change');
    expect(readFileSync(a, 'utf8')).toBe(once);
    expect(run(null, null)).toMatchObject({ code: 0, out: 'enable-non-free: nothing to change\n' });
  });
});
