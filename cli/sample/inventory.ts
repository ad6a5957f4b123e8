/** Static host inventory from systeminformation, taken once at startup (never per tick). */
export interface Inventory { cpuModel: string | null; cores: number | null; os: string | null; memTotal: number | null }

export async function readInventory(): Promise<Inventory> {
  try {
    const si = await import('systeminformation');
    const [cpu, os] = await Promise.all([si.cpu(), si.osInfo()]);
    return {
      cpuModel: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' ') || null,
      cores: cpu.physicalCores || cpu.cores || null,
      os: [os.distro, os.release].filter(Boolean).join(' ') || os.platform || null,
      memTotal: null,
    };
  } catch {
    return { cpuModel: null, cores: null, os: null, memTotal: null };
  }
}
