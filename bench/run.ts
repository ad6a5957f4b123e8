/** npm run bench: every benchmark in turn; raw results to bench/results.json (BENCHMARKS.md quotes them). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const results: Record<string, unknown> = { date: new Date().toISOString() };
for (const name of ['micro', 'agent', 'pwa']) {
  console.error(`bench/${name}.ts …`);
  const r = Bun.spawnSync([process.execPath, join(root, `bench/${name}.ts`), ...process.argv.slice(2)], { stdout: 'pipe', stderr: 'inherit' });
  if (r.exitCode !== 0) { console.error(`bench/${name}.ts failed`); process.exit(1); }
  results[name] = JSON.parse(r.stdout.toString());
  console.log(name, r.stdout.toString());
}
writeFileSync(join(root, 'bench/results.json'), JSON.stringify(results, null, 1) + '\n');
