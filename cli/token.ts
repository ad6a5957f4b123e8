/**
 * The access token: GPULSE_TOKEN, else a 0600 file. Only the agent (`gpulse serve`) and
 * `gpulse token` create the file (256 random bits); `pair`, `mark` and `export` only read it, since
 * a token they made up would match no running agent.
 *
 * Reading may go through a symbolic link (Kubernetes mounts secrets as links into a ..data dir)
 * as long as what it points to is a regular file of ours (or root's) that nobody else can read.
 * Writing never goes through a link: see store/safe-fs.ts.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants as C, fstatSync, openSync, readSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { configDir, defaultTokenFile } from './paths.ts';
import { ensurePrivateDir, writeFileAtomic } from './store/safe-fs.ts';

export class TokenError extends Error {
  override name = 'TokenError';
}

export const newToken = () => randomBytes(32).toString('base64url');

export type TokenSource = { kind: 'env' } | { kind: 'file'; path: string; created: boolean };

export interface LoadTokenOptions {
  /** Create the file when missing (serve and `gpulse token`); otherwise a missing token is an error saying how to make one. */
  create?: boolean;
}

export function loadToken(file: string | null, env = process.env, opts: LoadTokenOptions = {}): { token: string; source: TokenSource } {
  const fromEnv = env.GPULSE_TOKEN;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < 16) throw new TokenError('GPULSE_TOKEN is shorter than 16 characters');
    return { token: fromEnv, source: { kind: 'env' } };
  }
  const path = file ?? defaultTokenFile();
  const existing = readTokenFile(path);
  if (existing !== null) return { token: existing, source: { kind: 'file', path, created: false } };
  if (!opts.create) {
    throw new TokenError(
      `no agent token at ${path}: the agent creates it when it first starts (gpulse serve), or create one now with \`gpulse token${file ? ` --token-file ${file}` : ''}\`. For an agent running as another user (a service), pass its token with --token-file or GPULSE_TOKEN.`,
    );
  }
  const token = newToken();
  writeToken(path, token);
  return { token, source: { kind: 'file', path, created: true } };
}

/** The token in `path`, or null when there is no such file. Follows links, then checks what it reached. */
function readTokenFile(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, C.O_RDONLY | C.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new TokenError(`cannot read token file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    // Checked on the open descriptor: what is read is what was checked, even if the link changes meanwhile.
    const st = fstatSync(fd);
    if (!st.isFile()) throw new TokenError(`token file ${path} is not a regular file`);
    const mode = st.mode & 0o777;
    // Refuse a token anyone on the box can read: it would hand them every GPU host it guards.
    if (mode & 0o077) throw new TokenError(`token file ${path} is readable by group/others (mode ${mode.toString(8)}); run: chmod 600 ${path}`);
    const me = process.getuid?.() ?? st.uid;
    if (st.uid !== me && st.uid !== 0)
      throw new TokenError(`token file ${path} belongs to uid ${st.uid}: that user could change this agent's token; use a file owned by uid ${me} or root`);
    const buf = Buffer.alloc(Math.min(st.size, 4096));
    const n = readSync(fd, buf, 0, buf.length, 0);
    const token = buf.subarray(0, n).toString('utf8').trim();
    if (token.length < 16) throw new TokenError(`token file ${path} holds no usable token (under 16 characters)`);
    return token;
  } finally {
    closeSync(fd);
  }
}

/** Writes atomically with mode 0600 from the start (never briefly world-readable), never through a link. */
export function writeToken(path: string, token: string) {
  const dir = dirname(path);
  // Our own config dir is made private; a directory the user chose for --token-file is left as it is.
  if (dir === configDir()) ensurePrivateDir(dir);
  else ensurePrivateDir(dir, { tighten: false, warn: () => {} });
  writeFileAtomic(dir, basename(path), token + '\n', 0o600);
}
