/**
 * Static host inventory, taken once at startup (never per tick). On Linux it is read straight from
 * /proc, /sys and os-release (pure parsers below, so fixtures test them); systeminformation (~17 MiB
 * of RSS) is imported lazily and only on other platforms, so a Linux agent never loads it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMeminfo } from './proc.ts';

export interface Inventory {
  cpuModel: string | null;
  cores: number | null;
  os: string | null;
  memTotal: number | null;
}

const NONE: Inventory = { cpuModel: null, cores: null, os: null, memTotal: null };

/** `root` is the filesystem root the Linux files are read under (a fixture tree in tests). */
export async function readInventory(root = '/', platform: NodeJS.Platform = process.platform): Promise<Inventory> {
  if (platform === 'linux') return readLinuxInventory(root);
  try {
    const si = await import('systeminformation');
    const [cpu, os, mem] = await Promise.all([si.cpu(), si.osInfo(), si.mem()]);
    return {
      cpuModel: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' ') || null,
      cores: cpu.physicalCores || cpu.cores || null,
      os: [os.distro, os.release].filter(Boolean).join(' ') || os.platform || null,
      memTotal: mem.total || null,
    };
  } catch {
    return { ...NONE };
  }
}

export function readLinuxInventory(root = '/'): Inventory {
  const read = (p: string): string | null => {
    try {
      return readFileSync(join(root, p), 'utf8');
    } catch {
      return null;
    }
  };
  const cpuinfo = parseCpuinfo(read('proc/cpuinfo') ?? '');
  const mem = read('proc/meminfo');
  const memTotal = mem === null ? NaN : parseMeminfo(mem).memTotal;
  let cpuModel = cpuinfo.model;
  if (!cpuModel) {
    const midr = read('sys/devices/system/cpu/cpu0/regs/identification/midr_el1');
    const v = midr === null ? NaN : Number(midr.trim());
    if (Number.isFinite(v)) cpuModel = armName((v >>> 24) & 0xff, (v >>> 4) & 0xfff);
  }
  cpuModel ??= clean(read('proc/device-tree/model'));
  let os: string | null = null;
  for (const p of ['etc/os-release', 'usr/lib/os-release']) {
    const text = read(p);
    if (text !== null && (os = parseOsRelease(text))) break;
  }
  // No os-release at all (busybox-style images): the kernel release is still something.
  if (!os) {
    const k = clean(read('proc/sys/kernel/osrelease'));
    os = k ? `Linux ${k}` : null;
  }
  return { cpuModel, cores: cpuinfo.cores ?? sysfsCores(root), os, memTotal: memTotal > 0 ? memTotal : null };
}

/**
 * /proc/cpuinfo: the model (x86 `model name`; arm64 has none, so `CPU implementer`/`CPU part` are
 * decoded) and physical cores = distinct (physical id, core id) pairs (null when those are absent).
 */
export function parseCpuinfo(text: string): { model: string | null; cores: number | null } {
  let model: string | null = null;
  const pairs = new Set<string>();
  const arm: string[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const f: Record<string, string> = {};
    for (const line of block.split('\n')) {
      const c = line.indexOf(':');
      if (c > 0) f[line.slice(0, c).trim()] = line.slice(c + 1).trim();
    }
    model ??= clean(f['model name'] ?? null);
    if (f['physical id'] !== undefined && f['core id'] !== undefined) pairs.add(`${f['physical id']}/${f['core id']}`);
    if (f['CPU implementer'] && f['CPU part']) {
      const name = armName(Number(f['CPU implementer']), Number(f['CPU part']));
      if (name && !arm.includes(name)) arm.push(name);
    }
  }
  // big.LITTLE parts are listed once each: "ARM Cortex-A76 + ARM Cortex-A55".
  return { model: model ?? (arm.length ? arm.join(' + ') : null), cores: pairs.size || null };
}

/** Physical cores from sysfs: distinct thread-sibling sets (one per core), else (package, core_id) pairs. */
export function sysfsCores(root = '/'): number | null {
  const base = join(root, 'sys/devices/system/cpu');
  let cpus: string[];
  try {
    cpus = readdirSync(base).filter((d) => /^cpu\d+$/.test(d));
  } catch {
    return null;
  }
  const siblings = new Set<string>();
  const pairs = new Set<string>();
  for (const cpu of cpus) {
    const t = (f: string) => {
      try {
        return readFileSync(join(base, cpu, 'topology', f), 'utf8').trim();
      } catch {
        return null;
      }
    };
    const sib = t('thread_siblings_list') ?? t('thread_siblings');
    if (sib) siblings.add(sib);
    const pkg = t('physical_package_id'),
      core = t('core_id');
    if (pkg !== null && core !== null) pairs.add(`${pkg}/${core}`);
  }
  return siblings.size || pairs.size || null;
}

/** os-release(5): PRETTY_NAME, else NAME + VERSION_ID. Values may be quoted with " or ' and use \ escapes. */
export function parseOsRelease(text: string): string | null {
  const v: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let s = m[2]!.trim();
    const q = s[0];
    if ((q === '"' || q === "'") && s.endsWith(q) && s.length >= 2) s = s.slice(1, -1);
    if (q === '"') s = s.replace(/\\([\\$"`])/g, '$1');
    v[m[1]!] = s;
  }
  return clean(v.PRETTY_NAME ?? null) ?? clean([v.NAME, v.VERSION_ID].filter(Boolean).join(' '));
}

const clean = (s: string | null): string | null => s?.replace(/\0/g, '').replace(/\s+/g, ' ').trim() || null;

// MIDR implementer and part numbers (a few, the ones seen on GPU hosts and boards); see lscpu's table.
const IMPLEMENTERS: Record<number, string> = {
  0x41: 'ARM',
  0x4e: 'NVIDIA',
  0x51: 'Qualcomm',
  0x61: 'Apple',
  0xc0: 'Ampere',
  0x48: 'HiSilicon',
  0x46: 'Fujitsu',
};
const ARM_PARTS: Record<number, string> = {
  0xd03: 'Cortex-A53',
  0xd05: 'Cortex-A55',
  0xd07: 'Cortex-A57',
  0xd08: 'Cortex-A72',
  0xd09: 'Cortex-A73',
  0xd0a: 'Cortex-A75',
  0xd0b: 'Cortex-A76',
  0xd0c: 'Neoverse-N1',
  0xd0d: 'Cortex-A77',
  0xd40: 'Neoverse-V1',
  0xd41: 'Cortex-A78',
  0xd42: 'Cortex-A78AE',
  0xd49: 'Neoverse-N2',
  0xd4f: 'Neoverse-V2',
  0xd80: 'Cortex-A520',
  0xd81: 'Cortex-A720',
  0xd84: 'Neoverse-V3',
  0xd8e: 'Neoverse-N3',
};
const OTHER_PARTS: Record<number, Record<number, string>> = { 0xc0: { 0xac3: 'AmpereOne' }, 0x4e: { 0x004: 'Carmel' } };

/** "ARM Neoverse-V2"; an unknown part is still named by number ("ARM part 0xd99"); unknown implementer: null. */
export function armName(implementer: number, part: number): string | null {
  const vendor = IMPLEMENTERS[implementer];
  if (!vendor || !Number.isFinite(part)) return null;
  const name = (implementer === 0x41 ? ARM_PARTS : (OTHER_PARTS[implementer] ?? {}))[part];
  return `${vendor} ${name ?? `part 0x${part.toString(16).padStart(3, '0')}`}`;
}
