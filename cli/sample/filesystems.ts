/**
 * Mounted filesystems and their usage, accounted like df(1): `used` = size − free blocks, `avail`
 * = what an unprivileged user can still write (root's reserved blocks excluded), and the percent
 * is used / (used + avail), df's Use% before it rounds up. One /proc/mounts scan and one statfs
 * per mount, refreshed at most every 30 s by the host source (mounts change rarely).
 */
import { readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';

export interface Mount {
  device: string;
  mount: string;
  fstype: string;
  readonly: boolean;
}

export interface Filesystem extends Mount {
  /** Bytes: size, free (including root's reserve), available to non-root; inodes total and free. */
  size: number;
  free: number;
  avail: number;
  files: number;
  filesFree: number;
  /** 1 when statfs failed (node_exporter's node_filesystem_device_error); the sizes are then NaN. */
  error: 0 | 1;
}

/** /proc/mounts decodes spaces, tabs, newlines and backslashes as octal escapes (\040 …). */
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMounts(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const [dev, mount, fstype, opts] = line.split(' ');
    if (!dev || !mount || !fstype) continue;
    out.push({ device: unescape(dev), mount: unescape(mount), fstype, readonly: (opts ?? '').split(',').includes('ro') });
  }
  return out;
}

/** node_exporter's default mount-point and fs-type exclusions (its dashboards are written for what is left). */
const NE_MOUNT_EXCLUDE = /^\/(dev|proc|run\/credentials\/.+|sys|var\/lib\/docker\/.+|var\/lib\/containers\/storage\/.+)($|\/)/;
const NE_FSTYPE_EXCLUDE =
  /^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$/;
/**
 * Network filesystems are not statfs'ed: a hung server would block the agent's only thread (and
 * with it HTTP) for as long as the kernel waits. node_exporter runs statfs on a goroutine with a
 * timeout; we leave them out instead (documented in docs/api.md).
 */
const NETWORK_FS = /^(nfs4?|cifs|smb3?|smbfs|ncpfs|afs|ceph|glusterfs|lustre|gpfs|beegfs|9p|fuse\.(sshfs|s3fs|gcsfuse|rclone|glusterfs|cephfs))$/;

export const nodeExporterListed = (m: Mount) => !NE_MOUNT_EXCLUDE.test(m.mount) && !NE_FSTYPE_EXCLUDE.test(m.fstype) && !NETWORK_FS.test(m.fstype);

/**
 * statfs of each listed mount, once per mount point (the last mount over a path is the visible one).
 * In a container given the host's root at `hostRoot` (`--host-root`), `mountsFile` is the host init's
 * mount table (<hostRoot>/proc/1/mounts) and each mount point is reached under `hostRoot`, while the
 * labels keep the host's paths, as node_exporter's --path.rootfs does.
 */
export function scanFilesystems(
  mountsFile: string,
  hostRoot = '',
  statfs: (path: string) => { blocks: number; bfree: number; bavail: number; bsize: number; files: number; ffree: number } = statfsSync,
): Filesystem[] {
  let text: string;
  try {
    text = readFileSync(mountsFile, 'latin1');
  } catch {
    return [];
  }
  const byMount = new Map<string, Mount>();
  for (const m of parseMounts(text))
    if (nodeExporterListed(m)) {
      byMount.delete(m.mount);
      byMount.set(m.mount, m);
    }
  const out: Filesystem[] = [];
  for (const m of byMount.values()) {
    try {
      const s = statfs(hostRoot ? join(hostRoot, m.mount) : m.mount);
      out.push({ ...m, size: s.blocks * s.bsize, free: s.bfree * s.bsize, avail: s.bavail * s.bsize, files: s.files, filesFree: s.ffree, error: 0 });
    } catch {
      out.push({ ...m, size: NaN, free: NaN, avail: NaN, files: NaN, filesFree: NaN, error: 1 });
    }
  }
  return out;
}

/** df's numbers for one filesystem: used (size − free) and Use% (used / (used + avail), unrounded). */
export function dfUsage(f: Pick<Filesystem, 'size' | 'free' | 'avail'>): { used: number; percent: number | null } {
  const used = f.size - f.free;
  const denom = used + f.avail;
  return { used, percent: denom > 0 ? (used / denom) * 100 : null };
}

/**
 * The snapshot's `disks`: real block-device filesystems (device under /dev/, not squashfs,
 * iso9660 or overlay), one per device (a bind mount or btrfs subvolume shows once), with size.
 */
export function blockFilesystems(all: readonly Filesystem[]): Filesystem[] {
  const seen = new Set<string>();
  return all.filter((f) => {
    if (!f.device.startsWith('/dev/') || /^(squashfs|iso9660|overlay)$/.test(f.fstype) || seen.has(f.device) || !(f.size > 0)) return false;
    seen.add(f.device);
    return true;
  });
}
