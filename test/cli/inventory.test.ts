import { describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { armName, parseCpuinfo, parseOsRelease, readInventory, readLinuxInventory } from '../../cli/sample/inventory.ts';
import { BUN, ROOT, tmp } from '../helpers.ts';

const FX = join(ROOT, 'test/fixtures/inventory');

describe('Linux inventory from a fixture root', () => {
  test('x86, 2 sockets with hyperthreads: distinct (physical id, core id) pairs; Ubuntu PRETTY_NAME; MemTotal', async () => {
    // 16 logical CPUs = 2 sockets x 4 cores x 2 threads; core ids repeat across sockets.
    expect(await readInventory(join(FX, 'x86-2s'), 'linux')).toEqual({
      cpuModel: 'Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz',
      cores: 8,
      os: 'Ubuntu 22.04.4 LTS',
      memTotal: 394835604 * 1024,
    });
  });

  test('arm64 (Grace): part decoded from cpuinfo, cores from sysfs thread siblings, os-release only under /usr/lib', () => {
    expect(readLinuxInventory(join(FX, 'arm64'))).toEqual({
      cpuModel: 'ARM Neoverse-V2',
      cores: 4,
      os: 'Debian GNU/Linux 12 (bookworm)',
      memTotal: 503316480 * 1024,
    });
  });

  test('arm64 board: device-tree model (NUL stripped), (package, core_id) pairs, NAME + VERSION_ID', () => {
    expect(readLinuxInventory(join(FX, 'arm64-board'))).toEqual({
      cpuModel: 'Raspberry Pi 4 Model B Rev 1.4',
      cores: 4,
      os: 'Debian GNU/Linux 12',
      memTotal: null,
    });
  });

  test('missing files: nulls, and the kernel release when there is no os-release', () => {
    expect(readLinuxInventory(join(FX, 'missing'))).toEqual({ cpuModel: null, cores: null, os: 'Linux 6.1.0-18-amd64', memTotal: null });
    expect(readLinuxInventory(join(FX, 'does-not-exist'))).toEqual({ cpuModel: null, cores: null, os: null, memTotal: null });
  });

  test('arm64 with neither cpuinfo parts nor a model name: MIDR_EL1 from sysfs', () => {
    const root = tmp();
    const regs = join(root, 'sys/devices/system/cpu/cpu0/regs/identification');
    mkdirSync(regs, { recursive: true });
    writeFileSync(join(regs, 'midr_el1'), '0x00000000410fd0c1\n');
    expect(readLinuxInventory(root).cpuModel).toBe('ARM Neoverse-N1');
    rmSync(root, { recursive: true });
  });
});

describe('parsers', () => {
  test('cpuinfo without topology fields gives no core count (sysfs decides)', () => {
    expect(parseCpuinfo('processor\t: 0\nmodel name\t: AMD  EPYC   7763\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7763\n')).toEqual({
      model: 'AMD EPYC 7763',
      cores: null,
    });
  });
  test('big.LITTLE parts are each named once', () => {
    const block = (part: string) => `processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: ${part}\n`;
    expect(parseCpuinfo([block('0xd05'), block('0xd05'), block('0xd0b')].join('\n')).model).toBe('ARM Cortex-A55 + ARM Cortex-A76');
  });
  test('armName: unknown part by number, unknown implementer null', () => {
    expect(armName(0x41, 0xd99)).toBe('ARM part 0xd99');
    expect(armName(0xc0, 0xac3)).toBe('Ampere AmpereOne');
    expect(armName(0x99, 0xd0c)).toBeNull();
  });
  test('os-release quoting and escapes', () => {
    expect(parseOsRelease('PRETTY_NAME="Say \\"hi\\" 1.0"\n')).toBe('Say "hi" 1.0');
    expect(parseOsRelease("NAME='Arch Linux'\n")).toBe('Arch Linux');
    expect(parseOsRelease('NAME=Alpine\nVERSION_ID=3.19.1\n')).toBe('Alpine 3.19.1');
    expect(parseOsRelease('ID=x\n')).toBeNull();
  });
});

describe.if(process.platform === 'linux')('this machine', () => {
  test('real /proc and /etc agree with what the kernel reports', async () => {
    const inv = await readInventory();
    const meminfo = /^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))!;
    expect(inv.memTotal).toBe(Number(meminfo[1]) * 1024);
    const logical = readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm)!.length;
    expect(inv.cores).toBeGreaterThanOrEqual(1);
    expect(inv.cores).toBeLessThanOrEqual(logical);
    expect(inv.os).toBeTruthy();
    if (process.arch === 'x64') expect(inv.cpuModel).toBeTruthy();
  });

  test('a Linux agent never loads systeminformation', () => {
    // require.cache lists every CommonJS module loaded (systeminformation is CommonJS). The control
    // run imports it on purpose, so the probe is shown to see it when it is there.
    const probe = (extra: string) =>
      Bun.spawnSync(
        [
          BUN,
          '-e',
          `
      const { readInventory } = await import(${JSON.stringify(join(ROOT, 'cli/sample/inventory.ts'))});
      const inv = await readInventory();
      ${extra}
      const si = Object.keys(require.cache).filter((k) => k.includes('systeminformation'));
      console.log(JSON.stringify({ si: si.length, os: inv.os }));
    `,
        ],
        { cwd: ROOT, stderr: 'pipe' },
      );
    const run = (extra: string) => {
      const r = probe(extra);
      expect(r.exitCode).toBe(0);
      return JSON.parse(r.stdout.toString());
    };
    const linux = run('');
    expect(linux.si).toBe(0);
    expect(linux.os).toBeTruthy();
    expect(run(`await import('systeminformation');`).si).toBeGreaterThan(0);
  });
});
