/** The access token: GPULSE_TOKEN, else a 0600 file (created with 256 random bits on first use). */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { defaultTokenFile } from './paths.ts';

export class TokenError extends Error { override name = 'TokenError'; }

export const newToken = () => randomBytes(32).toString('base64url');

export type TokenSource = { kind: 'env' } | { kind: 'file'; path: string; created: boolean };

export function loadToken(file: string | null, env = process.env): { token: string; source: TokenSource } {
  const fromEnv = env.GPULSE_TOKEN;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < 16) throw new TokenError('GPULSE_TOKEN is shorter than 16 characters');
    return { token: fromEnv, source: { kind: 'env' } };
  }
  const path = file ?? defaultTokenFile();
  if (existsSync(path)) {
    const mode = statSync(path).mode & 0o777;
    // Refuse a token anyone on the box can read: it would hand them every GPU host it guards.
    if (mode & 0o077) throw new TokenError(`token file ${path} is readable by group/others (mode ${mode.toString(8)}); run: chmod 600 ${path}`);
    const token = readFileSync(path, 'utf8').trim();
    if (token.length < 16) throw new TokenError(`token file ${path} holds no usable token (under 16 characters)`);
    return { token, source: { kind: 'file', path, created: false } };
  }
  const token = newToken();
  writeToken(path, token);
  return { token, source: { kind: 'file', path, created: true } };
}

/** Writes atomically with mode 0600 from the start (never briefly world-readable). */
export function writeToken(path: string, token: string) {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, token + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
