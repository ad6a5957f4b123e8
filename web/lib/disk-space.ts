/**
 * Filesystem space is not a catalog series (mounts come and go; the agent reports them like df in
 * /v1/snapshot), so the host view asks for it, checked against the wire type before it is shown.
 */
import { arr, nullable, num, obj, str, validate } from '../../shared/validate.ts';
import type { FilesystemUsage } from '../../shared/wire.ts';
import { agentFetch } from './agent-api.ts';
import type { Endpoint } from './db.ts';

const fs = obj({ mount: str(4096), device: str(4096), fstype: str(256), total: num(0), used: num(0), free: num(0), avail: num(0), percent: nullable(num()) });
const shape = obj({ host: obj({ disks: arr(fs, 10_000) }) });

/** The agent's filesystems, fullest first; throws with the first bad field or the HTTP status. */
export async function readDiskSpace(ep: Pick<Endpoint, 'url' | 'token'>): Promise<FilesystemUsage[]> {
  const r = await agentFetch(ep, '/v1/snapshot');
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  const v = validate<{ host: { disks: FilesystemUsage[] } }>(shape, await r.json());
  if (!v.ok) throw new Error(`snapshot: ${v.reason}`);
  return [...v.value.host.disks].sort((a, b) => (b.percent ?? 0) - (a.percent ?? 0));
}
