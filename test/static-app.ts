/** The built PWA served from its own origin, as any static host would: what `--app URL` points at. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers.ts';

export function staticApp(dir = join(ROOT, 'dist/web')): { url: string; stop: () => void } {
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const path = decodeURIComponent(new URL(req.url).pathname);
      const file = join(dir, path === '/' ? 'index.html' : path);
      if (!file.startsWith(dir) || !existsSync(file)) return new Response('not found', { status: 404 });
      return new Response(Bun.file(file));
    },
  });
  return { url: `http://127.0.0.1:${server.port}/`, stop: () => server.stop(true) };
}
