/**
 * What the PWA ships, gzipped: every script in dist/web, and the part a first visit loads before
 * anything shows (the scripts index.html names, with the chunks they import statically).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function jsSizes(web: string): { totalKiB: number; initialKiB: number } {
  const gz = (f: string) => Bun.gzipSync(readFileSync(join(web, f))).length;
  const all = readdirSync(join(web, 'assets')).filter((f) => f.endsWith('.js'));
  const total = all.reduce((s, f) => s + gz(join('assets', f)), 0);
  const html = readFileSync(join(web, 'index.html'), 'utf8');
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    // Static imports only (`from"./x.js"`, `import"./x.js"`); `import("./x.js")` is loaded on use.
    for (const m of readFileSync(join(web, 'assets', f), 'utf8').matchAll(/(?:from|import)\s*"\.\/([\w.-]+\.js)"/g)) visit(m[1]!);
  };
  for (const m of html.matchAll(/<script[^>]+src="\.\/assets\/([\w.-]+\.js)"/g)) visit(m[1]!);
  const initial = [...seen].reduce((s, f) => s + gz(join('assets', f)), 0);
  return { totalKiB: +(total / 1024).toFixed(1), initialKiB: +(initial / 1024).toFixed(1) };
}
