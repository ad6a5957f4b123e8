/**
 * Serves the PWA from an exact-match asset table (no filesystem path is ever built from the URL,
 * so there is no traversal and no directory listing), with a CSP that still lets the app reach
 * any agent the user adds (connect-src http: https:).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import type { Hono } from 'hono';
import { safePath } from './middleware/errors.ts';

export interface WebAsset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
}
export type WebAssets = Map<string, WebAsset>;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};
const typeOf = (p: string) => TYPES[extname(p)] ?? 'application/octet-stream';

export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' http: https:; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/** Reads a built PWA directory (dist/web) into memory. */
export function loadWebDir(dir: string): WebAssets | null {
  if (!existsSync(join(dir, 'index.html'))) return null;
  const out: WebAssets = new Map();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set('/' + relative(dir, p).split('\\').join('/'), { body: new Uint8Array(readFileSync(p)), type: typeOf(p) });
    }
  };
  walk(dir);
  return out;
}

/** Assets embedded into the compiled binary by scripts/build-bin.ts (path → embedded file path). */
export async function loadEmbeddedWeb(table: Record<string, string>): Promise<WebAssets> {
  const out: WebAssets = new Map();
  for (const [path, file] of Object.entries(table)) out.set(path, { body: new Uint8Array(await Bun.file(file).arrayBuffer()), type: typeOf(path) });
  return out;
}

export function staticWeb(app: Hono, assets: WebAssets) {
  app.get('*', (c) => {
    const path = safePath(c.req.raw);
    const a = assets.get(path === '/' ? '/index.html' : path);
    if (!a) return c.json({ error: `no route GET ${path}` }, 404);
    // Hashed assets never change; the shell, manifest and service worker must revalidate.
    const immutable = /\/assets\/.+-[a-z0-9]{8,}\.\w+$/.test(path);
    return new Response(a.body, {
      headers: { ...SECURITY_HEADERS, 'content-type': a.type, 'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache' },
    });
  });
}
