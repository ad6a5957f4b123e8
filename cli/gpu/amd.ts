/** AMD GPUs through amdgpu sysfs/hwmon (nvml.md §8), under --sysfs-root so tests use a fixture tree. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { G, GPU_WIDTH } from '../../shared/catalog.ts';
import type { DeviceInfo } from '../../shared/wire.ts';
import { emptyExtras, type GpuExtras, type GpuProvider, type GpuReading } from './provider.ts';

const readNum = (p: string): number => {
  try {
    const v = Number(readFileSync(p, 'latin1').trim());
    return Number.isFinite(v) ? v : NaN;
  } catch {
    return NaN;
  }
};
const readStr = (p: string): string | null => {
  try {
    return readFileSync(p, 'latin1').trim() || null;
  } catch {
    return null;
  }
};

interface Card {
  dir: string;
  hwmon: string | null;
}

/** Current level of a pp_dpm_* table: the line marked with `*`, e.g. "1: 1000Mhz *". */
export function dpmCurrent(text: string | null): number {
  const m = text && /(\d+)\s*Mhz\s*\*/i.exec(text);
  return m ? Number(m[1]) : NaN;
}

export function openAmd(opts: { sysfsRoot: string }): GpuProvider {
  const drm = join(opts.sysfsRoot, 'sys/class/drm');
  let entries: string[];
  try {
    entries = readdirSync(drm)
      .filter((n) => /^card\d+$/.test(n))
      .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  } catch {
    throw new Error(`no ${drm}`);
  }
  const cards: Card[] = [];
  const devices: DeviceInfo[] = [];
  for (const name of entries) {
    const dir = join(drm, name, 'device');
    if (readStr(join(dir, 'vendor')) !== '0x1002') continue;
    let hwmon: string | null = null;
    try {
      const h = readdirSync(join(dir, 'hwmon')).find((n) => n.startsWith('hwmon'));
      if (h) hwmon = join(dir, 'hwmon', h);
    } catch {
      /* no hwmon */
    }
    const index = cards.length;
    cards.push({ dir, hwmon });
    devices.push({
      index,
      provider: 'amd',
      name: readStr(join(dir, 'product_name')) ?? `AMD GPU ${readStr(join(dir, 'device')) ?? ''}`.trim(),
      uuid: readStr(join(dir, 'unique_id')) ?? `AMD-${name}`,
      memory_total: readNum(join(dir, 'mem_info_vram_total')) || null,
    });
  }
  return new AmdProvider(cards, devices);
}

class AmdProvider implements GpuProvider {
  readonly kind = 'amd' as const;
  readonly driverVersion = null;
  readonly cudaVersion = null;
  constructor(
    readonly cards: Card[],
    readonly devices: DeviceInfo[],
  ) {}

  async read(): Promise<GpuReading> {
    const values = new Float64Array(this.cards.length * GPU_WIDTH).fill(NaN);
    const extras: GpuExtras[] = [];
    let missing = 0;
    this.cards.forEach((c, i) => {
      const o = i * GPU_WIDTH;
      const d = (f: string) => readNum(join(c.dir, f));
      const h = (f: string) => (c.hwmon ? readNum(join(c.hwmon, f)) : NaN);
      values[o + G.util] = d('gpu_busy_percent');
      if (Number.isNaN(values[o + G.util]!)) missing++;
      values[o + G['mem_bw.util']] = d('mem_busy_percent');
      values[o + G['mem.used']] = d('mem_info_vram_used');
      values[o + G['mem.total']] = d('mem_info_vram_total');
      values[o + G.temp] = h('temp1_input') / 1000;
      const avg = h('power1_average');
      values[o + G.power] = (Number.isNaN(avg) ? h('power1_input') : avg) / 1e6;
      values[o + G['power.limit']] = h('power1_cap') / 1e6;
      const pwm = h('pwm1'),
        pwmMax = h('pwm1_max');
      values[o + G.fan] = pwmMax > 0 ? (pwm * 100) / pwmMax : NaN;
      const sclk = h('freq1_input') / 1e6;
      values[o + G['clock.sm']] = Number.isNaN(sclk) ? dpmCurrent(readStr(join(c.dir, 'pp_dpm_sclk'))) : sclk;
      const mclk = h('freq2_input') / 1e6;
      values[o + G['clock.mem']] = Number.isNaN(mclk) ? dpmCurrent(readStr(join(c.dir, 'pp_dpm_mclk'))) : mclk;
      extras.push(emptyExtras());
    });
    // The tree vanished (driver unloaded, device unplugged): say so rather than report a row of nulls as fine.
    if (missing && missing === this.cards.length) throw new Error('amdgpu sysfs files are gone');
    return { values, extras };
  }

  drainEvents() {
    return [];
  }
  close() {}
}
