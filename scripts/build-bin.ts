/**
 * dist/gpulse: one executable (bun build --compile --minify) with the PWA from dist/web and the
 * NVML worker embedded. `--release` also cross-compiles linux-x64 and linux-arm64 with SHA-256 sums.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const web = join(root, 'dist/web');
const gen = join(root, 'dist/.embed');
rmSync(gen, { recursive: true, force: true });
mkdirSync(gen, { recursive: true });

// An entry that embeds every built PWA file (with {type:'file'}) and hands the table to the agent.
const files: string[] = [];
const walk = (d: string) => {
  for (const n of readdirSync(d)) {
    const p = join(d, n);
    statSync(p).isDirectory() ? walk(p) : files.push(p);
  }
};
try {
  walk(web);
} catch {
  throw new Error('dist/web is missing: run `bun scripts/build-web.ts` first');
}
const lines = files.map((f, i) => `import f${i} from ${JSON.stringify(relative(gen, f))} with { type: 'file' };`);
lines.push(`(globalThis as any).__GPULSE_WEB__ = {${files.map((f, i) => `${JSON.stringify('/' + relative(web, f))}: f${i}`).join(', ')}};`);
lines.push(`const { main } = await import('../../cli/main.ts');`);
lines.push(`const code = await main(process.argv.slice(2));`);
lines.push(`if (code >= 0) process.exit(code);`);
writeFileSync(join(gen, 'entry.ts'), lines.join('\n') + '\n');

const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const targets = process.argv.includes('--release')
  ? [
      ['bun-linux-x64', 'gpulse-linux-x64'],
      ['bun-linux-arm64', 'gpulse-linux-arm64'],
    ]
  : [[null, 'gpulse']];
const sums: string[] = [];
const outIdx = process.argv.indexOf('--outfile');
for (const [target, name] of targets) {
  const out = outIdx > 0 && !target ? process.argv[outIdx + 1]! : join(root, 'dist', name!);
  const args = [
    'build',
    '--compile',
    '--minify',
    '--sourcemap',
    `--define`,
    `GPULSE_VERSION="${version}"`,
    join(gen, 'entry.ts'),
    join(root, 'cli/gpu/nvml/worker.ts'),
    '--outfile',
    out,
  ];
  if (target) args.splice(2, 0, `--target=${target}`);
  const r = Bun.spawnSync([process.execPath, ...args], { stdout: 'inherit', stderr: 'inherit' });
  if (r.exitCode !== 0) process.exit(r.exitCode ?? 1);
  const hash = createHash('sha256').update(readFileSync(out)).digest('hex');
  sums.push(`${hash}  ${name}`);
  console.log(`${relative(root, out)}: ${(statSync(out).size / 1048576).toFixed(1)} MiB`);
}
if (targets.length > 1) writeFileSync(join(root, 'dist/SHA256SUMS'), sums.join('\n') + '\n');
