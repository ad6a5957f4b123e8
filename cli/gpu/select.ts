/** Provider choice: auto tries nvml → nvidia-smi → amd → none and records why each was passed over. */
import type { ServeConfig } from '../args.ts';
import { noGpu, type GpuProvider } from './provider.ts';

export interface Selection {
  provider: GpuProvider;
  notes: string[];
}

export async function selectProvider(cfg: Pick<ServeConfig, 'gpu' | 'nvmlLib' | 'sysfsRoot' | 'intervalMs'>): Promise<Selection> {
  const order = cfg.gpu === 'auto' ? (['nvml', 'nvidia-smi', 'amd'] as const) : cfg.gpu === 'none' ? [] : [cfg.gpu];
  const notes: string[] = [];
  for (const kind of order) {
    try {
      const p = await open(kind, cfg);
      if (p.devices.length) return { provider: p, notes };
      p.close();
      notes.push(`${kind}: no devices found`);
    } catch (e) {
      notes.push(`${kind}: ${(e as Error).message}`);
    }
  }
  return { provider: noGpu, notes };
}

async function open(kind: 'nvml' | 'nvidia-smi' | 'amd', cfg: Pick<ServeConfig, 'nvmlLib' | 'sysfsRoot' | 'intervalMs'>): Promise<GpuProvider> {
  switch (kind) {
    case 'nvml':
      return (await import('./nvml/provider.ts')).openNvml({ lib: cfg.nvmlLib ?? process.env.GPULSE_NVML_LIB ?? null, intervalMs: cfg.intervalMs });
    case 'nvidia-smi':
      return (await import('./nvidia-smi.ts')).openNvidiaSmi({ intervalMs: cfg.intervalMs });
    case 'amd':
      return (await import('./amd.ts')).openAmd({ sysfsRoot: cfg.sysfsRoot });
  }
}
