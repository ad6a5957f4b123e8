/** Builds the PWA into dist/web: hashed JS/CSS, index.html, service worker with its precache list, manifest, icons. */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { deflateSync } from 'node:zlib';
import { crc32 } from '../shared/chunk/crc32.ts';
import { jsSizes } from './js-size.ts';

const root = new URL('..', import.meta.url).pathname;
const out = process.env.GPULSE_WEB_OUT ?? join(root, 'dist/web'); // another folder: a build beside the one tests serve
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const app = await Bun.build({
  entrypoints: [join(root, 'web/main.tsx')],
  outdir: join(out, 'assets'),
  // Views opened later are their own chunks (web/ui/lazy.tsx); index.html loads only the entry.
  splitting: true,
  naming: { entry: '[name]-[hash].[ext]', chunk: 'chunk-[hash].[ext]', asset: '[name]-[hash].[ext]' },
  // GPULSE_WEB_DEBUG=1 keeps names, for readable profiles.
  minify: process.env.GPULSE_WEB_DEBUG ? { whitespace: true, syntax: true, identifiers: false } : true,
  target: 'browser',
  sourcemap: 'none',
  define: { 'process.env.NODE_ENV': '"production"' },
});
if (!app.success) {
  for (const l of app.logs) console.error(l);
  process.exit(1);
}
const assets = app.outputs.map((o) => './' + relative(out, o.path));
const entry = app.outputs.filter((o) => o.kind === 'entry-point' && o.path.endsWith('.js')).map((o) => './' + relative(out, o.path));
const cssFiles = assets.filter((a) => a.endsWith('.css'));

let html = readFileSync(join(root, 'web/index.html'), 'utf8');
html = html.replace('<!--CSS-->', cssFiles.map((c) => `<link rel="stylesheet" href="${c}">`).join('\n'));
html = html.replace('<!--JS-->', entry.map((j) => `<script type="module" src="${j}"></script>`).join('\n'));
writeFileSync(join(out, 'index.html'), html);

writeFileSync(join(out, 'icon-192.png'), icon(192));
writeFileSync(join(out, 'icon-512.png'), icon(512));
writeFileSync(
  join(out, 'manifest.webmanifest'),
  JSON.stringify(
    {
      name: 'gpulse',
      short_name: 'gpulse',
      description: 'GPU and host monitor',
      start_url: './',
      scope: './',
      display: 'standalone',
      background_color: '#0f1115',
      theme_color: '#0f1115',
      icons: [
        { src: './icon-192.png', sizes: '192x192', type: 'image/png' },
        { src: './icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any maskable' },
      ],
    },
    null,
    2,
  ),
);

const shell = ['./', './index.html', './manifest.webmanifest', './icon-192.png', './icon-512.png', ...assets];
const buildId = createHash('sha256')
  .update(shell.join() + assets.map((a) => readFileSync(join(out, a))).join(''))
  .digest('hex')
  .slice(0, 12);
const sw = await Bun.build({
  entrypoints: [join(root, 'web/sw.ts')],
  minify: true,
  target: 'browser',
  define: { PRECACHE: JSON.stringify(shell), BUILD_ID: JSON.stringify(buildId) },
});
if (!sw.success) {
  for (const l of sw.logs) console.error(l);
  process.exit(1);
}
writeFileSync(join(out, 'sw.js'), await sw.outputs[0]!.text());

const size = jsSizes(out);
const cssGz = cssFiles.reduce((s, f) => s + Bun.gzipSync(readFileSync(join(out, f))).length, 0);
console.log(
  `dist/web: JS ${size.initialKiB} KiB gzipped at first load, ${size.totalKiB} KiB in all, CSS ${(cssGz / 1024).toFixed(1)} KiB gzipped, build ${buildId}`,
);

/** A PNG icon drawn in code: a dark rounded square with a pulse line (no image tooling needed). */
function icon(size: number): Uint8Array {
  const px = new Uint8Array(size * size * 4);
  const r = size * 0.18;
  const line = (x: number) => {
    const u = x / size;
    const h = u < 0.3 ? 0.55 : u < 0.4 ? 0.55 - (u - 0.3) * 3.5 : u < 0.5 ? 0.2 + (u - 0.4) * 6 : u < 0.58 ? 0.8 - (u - 0.5) * 3.1 : 0.55;
    return h * size;
  };
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      const cx = Math.min(x, size - 1 - x),
        cy = Math.min(y, size - 1 - y);
      const inside = !(cx < r && cy < r && (r - cx) ** 2 + (r - cy) ** 2 > r * r);
      if (!inside) continue;
      const onLine = x > size * 0.12 && x < size * 0.88 && Math.abs(y - line(x)) < size * 0.035;
      px.set(onLine ? [74, 222, 128, 255] : [15, 17, 21, 255], i);
    }
  const raw = new Uint8Array(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) raw.set(px.subarray(y * size * 4, (y + 1) * size * 4), y * (size * 4 + 1) + 1);
  const chunk = (type: string, data: Uint8Array) => {
    const b = new Uint8Array(12 + data.length);
    const v = new DataView(b.buffer);
    v.setUint32(0, data.length);
    b.set(new TextEncoder().encode(type), 4);
    b.set(data, 8);
    v.setUint32(8 + data.length, crc32(b.subarray(4, 8 + data.length)));
    return b;
  };
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, size);
  hv.setUint32(4, size);
  ihdr[8] = 8;
  ihdr[9] = 6;
  const parts = [new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))];
  const outb = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    outb.set(p, o);
    o += p.length;
  }
  return outb;
}
