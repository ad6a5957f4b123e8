/** `gpulse snapshot [--json]`: one sample, printed like gpustat (or as /v1/snapshot JSON). */
import { hostname } from 'node:os';
import { fmtBytes, fmtNum, fmtRate, fmtUptime } from '../../shared/format.ts';
import { strictJson } from '../../shared/json.ts';
import type { Snapshot } from '../../shared/wire.ts';
import { Agent } from '../agent.ts';
import { serveConfig, type ParsedValue } from '../args.ts';
import { selectProvider } from '../gpu/select.ts';
import { openHost } from '../sample/host.ts';
import { readInventory } from '../sample/inventory.ts';
import { startOllama } from '../sample/ollama.ts';
import { writeAll } from '../output.ts';

export async function snapshot(flags: Record<string, ParsedValue>) {
  const cfg = serveConfig(
    {
      gpu: flags.gpu ?? 'auto',
      'nvml-lib': flags['nvml-lib'] ?? '',
      'sysfs-root': flags['sysfs-root'] ?? '/',
      ollama: flags.ollama ?? 'http://127.0.0.1:11434',
      interval: 250,
      ...(flags['host-root'] ? { 'host-root': flags['host-root'] } : {}),
    } as Record<string, ParsedValue>,
    { hostname: hostname(), dataDir: null },
  );
  if (!flags['nvml-lib']) cfg.nvmlLib = null;
  const { provider, notes } = await selectProvider(cfg);
  const procRoot = cfg.hostRoot ? `${cfg.hostRoot}/proc` : '/proc';
  const agent = new Agent({
    hostname: cfg.hostname,
    intervalMs: 250,
    retentionMs: 1000,
    host: openHost(procRoot, cfg.hostRoot),
    gpu: provider,
    providerNotes: notes,
    procRoot,
  });
  const [inv, models] = await Promise.all([
    readInventory(),
    cfg.ollama
      ? (() => {
          const p = startOllama(cfg.ollama!, () => {}, 1e9);
          return p.poll().finally(() => p.stop());
        })()
      : Promise.resolve(null),
  ]);
  agent.inventory = inv;
  agent.sampler.ollama = models ?? [];
  // Two ticks a quarter second apart: utilization and rates need a delta.
  const t0 = Date.now();
  await agent.sampler.tick(t0);
  await Bun.sleep(250);
  await agent.sampler.tick(t0 + 250);
  const snap = agent.snapshot();
  agent.stop();
  await writeAll(flags.json ? strictJson(snap) + '\n' : renderTable(snap, provider.kind, notes));
}

const pad = (s: string, n: number) => (s.length >= n ? s.slice(0, n) : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

export function renderTable(s: Snapshot, provider: string, notes: string[]): string {
  const h = s.host;
  const out: string[] = [];
  out.push(`${s.hostname}  ${new Date(s.t).toISOString()}  ${provider === 'none' ? 'no GPU provider' : provider}`);
  out.push(
    `host  cpu ${fmtNum(h.cpu.util, '%')} (${h.cpu.threads} threads)  mem ${fmtBytes(h.memory.used)} / ${fmtBytes(h.memory.total)}  swap ${fmtBytes(h.swap.used)} / ${fmtBytes(h.swap.total)}  load ${h.load.map((x) => fmtNum(x, '', 2)).join(' ')}  up ${fmtUptime(h.uptime_s)}  net ↓${fmtRate(h.network.rx_bps)} ↑${fmtRate(h.network.tx_bps)}`,
  );
  for (const g of s.gpus) {
    const mem = `${fmtBytes(g.mem_used)} / ${fmtBytes(g.mem_total)}`;
    const pow = `${fmtNum(g.power_w, 'W')} / ${fmtNum(g.power_limit_w, 'W')}`;
    out.push(
      `[${g.index}] ${pad(g.name, 24)} | ${lpad(fmtNum(g.temp_c, '°C'), 6)} ${lpad(fmtNum(g.util, '%'), 5)} | ${lpad(mem, 22)} | ${lpad(pow, 15)}${g.lost ? ' | LOST' : ''}${g.throttle.length ? ` | throttle: ${g.throttle.join(',')}` : ''}`,
    );
    for (const p of g.processes)
      out.push(
        `      ${pad(p.user ?? '?', 10)} ${lpad(String(p.pid), 7)}  ${lpad(fmtBytes(p.gpu_mem), 10)}  ${(p.command ?? '?').slice(0, 60)}${p.container ? `  [${p.container}]` : ''}`,
      );
  }
  if (!s.gpus.length) out.push('no GPUs' + (notes.length ? ` (${notes.join('; ')})` : ''));
  for (const m of s.workloads.ollama) out.push(`ollama  ${m.name}  vram ${fmtBytes(m.vram)}  until ${m.expires_at ?? '—'}`);
  return out.join('\n') + '\n';
}
