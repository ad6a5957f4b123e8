/** `gpulse service` from a source checkout must not install the Bun executable as gpulse. */
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { installLines, runningFromSource } from '../../cli/commands/service.ts';
import { BUN, ROOT, tmp } from '../helpers.ts';

describe('gpulse service', () => {
  test('run from the source checkout (Bun from node_modules): prints the build step, never copies Bun', () => {
    const r = Bun.spawnSync([BUN, join(ROOT, 'cli/main.ts'), 'service'], { env: { PATH: process.env.PATH!, HOME: tmp() } });
    const out = r.stdout.toString();
    expect(r.exitCode).toBe(0);
    expect(out).toContain(`cd ${ROOT} && npm ci && npm run build`);
    expect(out).toContain(`sudo install -m 0755 ${ROOT}/dist/gpulse /usr/local/bin/gpulse`);
    expect(out).not.toContain(BUN);
    expect(out).not.toMatch(/node_modules|bun\.exe|cp \S*bun/);
    expect(out).toContain('ExecStart=/usr/local/bin/gpulse serve --bind 127.0.0.1 --port 9740');
  });
  test('a compiled executable is recognised by its embedded module path', () => {
    expect(runningFromSource('/$bunfs/root/entry')).toBe(false);
    expect(runningFromSource('B:/~BUN/root/entry')).toBe(false);
    expect(runningFromSource(join(ROOT, 'cli/commands/service.ts'))).toBe(true);
    expect(installLines(false, '/tmp/dl/gpulse', ROOT)).toContain('sudo install -m 0755 /tmp/dl/gpulse /usr/local/bin/gpulse && gpulse service');
    // Already installed there: nothing to copy.
    expect(installLines(false, '/usr/local/bin/gpulse', ROOT)).toStartWith('# Install: gpulse service |');
  });
});
