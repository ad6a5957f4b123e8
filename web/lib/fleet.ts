/**
 * The fleet overview's rows: one per agent endpoint, read out of its state (newest row, snapshot
 * extras, status) into plain values that web/lib/health.ts can judge and web/ui/fleet-table.tsx
 * can draw. Built per render, but cheap: a handful of key lookups per GPU.
 */
import type { StoredEvent } from './db.ts';
import { hostHealth, type GpuReading, type HostHealth } from './health.ts';
import type { EpState } from './state.ts';
import { pct, val } from './values.ts';

export interface FleetRow {
  id: string;
  name: string;
  order: number;
  hostname: string | null;
  tags: string[];
  status: EpState['status'];
  /** Offline, erroring or rejected: the values shown are the last ones known, drawn dimmed. */
  dim: boolean;
  /** When the last live sample arrived (browser clock), or null if none this session. */
  lastSeen: number | null;
  cpu: number | null;
  mem: number | null;
  gpuModel: string | null;
  gpus: GpuReading[];
  health: HostHealth;
  load: number | null;
}

const DOWN = new Set(['offline', 'error', 'unauthorized']);
/** Offline, erroring or rejected: what the overview shows of it is the last thing known. */
export const isDown = (kind: string) => DOWN.has(kind);

export function fleetRow(s: EpState, now: number): FleetRow {
  const devices = s.schema?.devices ?? [];
  const gpus: GpuReading[] = devices.map((d) => {
    const p = `gpu${d.index}.`;
    const x = s.extras?.gpus.find((g) => g.index === d.index);
    return {
      index: d.index,
      util: val(s, p + 'util'),
      memUsed: val(s, p + 'mem.used'),
      memTotal: val(s, p + 'mem.total') ?? d.memory_total,
      temp: val(s, p + 'temp'),
      power: val(s, p + 'power'),
      throttle: x?.throttle ?? [],
      lost: !!(x?.lost || d.lost),
      eccUncorrected: x?.ecc_volatile?.uncorrected ?? null,
      xidAt: s.xidAt?.[d.index] ?? null,
    };
  });
  const cpu = val(s, 'host.cpu.util');
  const utils = gpus.map((g) => g.util).filter((u): u is number => u !== null);
  const models = [...new Set(devices.map((d) => d.name))];
  return {
    id: s.ep.id,
    name: s.ep.name,
    order: s.ep.order,
    hostname: s.schema?.hostname ?? null,
    tags: s.ep.tags ?? [],
    status: s.status,
    dim: isDown(s.status.kind),
    lastSeen: s.lastSeen ?? ('lastT' in s.status && s.status.lastT > 0 ? s.status.lastT : null),
    cpu,
    mem: pct(val(s, 'host.mem.used'), val(s, 'host.mem.total')),
    gpuModel: models.length ? models.join(' + ') : null,
    gpus,
    // An imported (read-only) endpoint has no connection to lose: its 'stale' status is not a problem.
    health: hostHealth(s.ep.readOnly ? 'imported' : s.status.kind, gpus, now),
    load: utils.length ? utils.reduce((a, b) => a + b, 0) / utils.length : cpu,
  };
}
