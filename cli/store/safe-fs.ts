/**
 * Writing files where someone else may have planted a symbolic link.
 *
 * The agent often runs as root (or as a service user) while its data and config directories may
 * be writable by a person: a link `events.json -> /etc/shadow` must not make the agent overwrite
 * /etc/shadow. The rules every write of gpulse follows, through these helpers:
 *
 *  - Never open an existing path for writing by name with symlinks followed. New content goes to
 *    a fresh temp file created with O_CREAT|O_EXCL|O_NOFOLLOW in the same directory and is then
 *    renamed over the target: rename(2) replaces a link, it never writes through one.
 *  - Files that are appended to are opened with O_NOFOLLOW and must be regular files with a
 *    single link (a hard link to another file is refused as well).
 *  - The directory itself is checked once by ensurePrivateDir: not a symlink, 0700.
 *
 * Only the last path component is checked: parents may be links on purpose (systemd's
 * DynamicUser makes /var/lib/gpulse a link into /var/lib/private). Reading the token through a
 * link stays allowed, see token.ts.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants as C,
  fchmodSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export class SafeFsError extends Error {
  override name = 'SafeFsError';
}

const errno = (e: unknown) => (e as NodeJS.ErrnoException)?.code;
const warnedDirs = new Set<string>();
const defaultWarn = (m: string) => console.error(`gpulse: warning: ${m}`);

export interface PrivateDirOptions {
  /** Where a looser mode that is left alone is reported (once per directory per process). */
  warn?: (message: string) => void;
  /** chmod 0700 a looser directory we own (default true). Shared sticky directories (/tmp) are never changed. */
  tighten?: boolean;
}

/**
 * Makes sure `path` is a real directory for gpulse's own files: created 0700 (with parents) when
 * missing; refused when it is a symbolic link or not a directory; a looser mode is tightened to
 * 0700 when we own it, and reported otherwise.
 */
export function ensurePrivateDir(path: string, opts: PrivateDirOptions = {}): void {
  const warn = opts.warn ?? defaultWarn;
  let st = lstatOrNull(path);
  if (!st) {
    try {
      mkdirSync(path, { recursive: true, mode: 0o700 });
    } catch (e) {
      if (errno(e) !== 'EEXIST') throw new SafeFsError(`cannot create directory ${path}: ${errno(e) ?? (e as Error).message}`);
    }
    st = lstatOrNull(path);
  }
  if (!st) throw new SafeFsError(`cannot create directory ${path}`);
  if (st.isSymbolicLink()) throw new SafeFsError(`${path} is a symbolic link; refusing to keep files there (use the real path instead)`);
  if (!st.isDirectory()) throw new SafeFsError(`${path} is not a directory`);
  const mode = st.mode & 0o7777;
  const me = process.getuid?.() ?? st.uid;
  const once = (m: string) => {
    if (!warnedDirs.has(path)) {
      warnedDirs.add(path);
      warn(m);
    }
  };
  if (mode & 0o077) {
    if ((opts.tighten ?? true) && st.uid === me && !(mode & 0o1000)) {
      chmodSync(path, 0o700);
      once(`${path} was mode ${(mode & 0o777).toString(8)}; tightened to 700`);
    } else once(`${path} is mode ${(mode & 0o777).toString(8)}: others can read or replace gpulse's files there (chmod 700 ${path})`);
  } else if (st.uid !== me) once(`${path} belongs to uid ${st.uid}, not this process (uid ${me}): that user can replace gpulse's files there`);
}

export interface TempFile {
  fd: number;
  path: string;
  /** fsync (unless told not to), close and rename over dir/name. */
  commit(opts?: { fsync?: boolean }): void;
  /** Close and remove the temp file. */
  discard(): void;
}

/**
 * A new, private temp file in `dir` that will replace `dir/name`: created with
 * O_CREAT|O_EXCL|O_NOFOLLOW under an unpredictable name, so a planted file or link is never opened.
 */
export function openTempFile(dir: string, name: string, mode = 0o600): TempFile {
  const path = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, mode);
  } catch (e) {
    throw new SafeFsError(`cannot create a temp file in ${dir}: ${errno(e) ?? (e as Error).message}`);
  }
  fchmodSync(fd, mode); // the umask may have removed bits; never more than asked for either way
  let open = true;
  const close = () => {
    if (open) {
      open = false;
      closeSync(fd);
    }
  };
  return {
    fd,
    path,
    commit(o = {}) {
      try {
        if (o.fsync ?? true) fsyncSync(fd);
        close();
        renameSync(path, join(dir, name));
      } catch (e) {
        try {
          close();
          unlinkSync(path);
        } catch {
          /* already gone */
        }
        throw new SafeFsError(`cannot replace ${join(dir, name)}: ${errno(e) ?? (e as Error).message}`);
      }
    },
    discard() {
      try {
        close();
        unlinkSync(path);
      } catch {
        /* already gone */
      }
    },
  };
}

/** Replaces `dir/name` with `data` atomically, never writing through a link there (see openTempFile). */
export function writeFileAtomic(dir: string, name: string, data: string | Uint8Array, mode = 0o600, opts: { fsync?: boolean } = {}): void {
  const tmp = openTempFile(dir, name, mode);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let o = 0; o < bytes.length;) o += writeSync(tmp.fd, bytes, o, bytes.length - o);
  } catch (e) {
    tmp.discard();
    throw new SafeFsError(`cannot write ${join(dir, name)}: ${errno(e) ?? (e as Error).message}`);
  }
  tmp.commit(opts);
}

/**
 * Opens `path` for appending (created `mode` if missing) without following a link, and only if it
 * is a regular file with one link. O_NONBLOCK keeps a planted FIFO from blocking the open.
 */
export function openAppendNoFollow(path: string, mode = 0o600): number {
  let fd: number;
  try {
    fd = openSync(path, C.O_WRONLY | C.O_APPEND | C.O_CREAT | C.O_NOFOLLOW | C.O_NONBLOCK, mode);
  } catch (e) {
    if (errno(e) === 'ELOOP') throw new SafeFsError(`${path} is a symbolic link; refusing to write through it`);
    throw new SafeFsError(`cannot open ${path}: ${errno(e) ?? (e as Error).message}`);
  }
  checkRegular(fd, path);
  return fd;
}

/** Reads a whole file that must not be a link or anything but a regular file (data files gpulse wrote). */
export function readFileNoFollow(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  } catch (e) {
    if (errno(e) === 'ELOOP') throw new SafeFsError(`${path} is a symbolic link; refusing to read through it`);
    throw e;
  }
  try {
    const size = checkRegular(fd, path, false);
    const buf = Buffer.alloc(size);
    let o = 0;
    for (let n; o < size && (n = readSync(fd, buf, o, size - o, o)) > 0;) o += n;
    return buf.subarray(0, o);
  } finally {
    closeSync(fd);
  }
}

function checkRegular(fd: number, path: string, closeOnError = true): number {
  const st = fstatSync(fd);
  const problem = !st.isFile() ? 'is not a regular file' : st.nlink > 1 ? `has ${st.nlink} hard links (one may be a file outside the directory)` : null;
  if (problem) {
    if (closeOnError) closeSync(fd);
    throw new SafeFsError(`${path} ${problem}; refusing to use it`);
  }
  return st.size;
}

function lstatOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch (e) {
    if (errno(e) === 'ENOENT') return null;
    throw e;
  }
}
