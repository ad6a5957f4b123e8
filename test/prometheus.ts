/** A real Prometheus for tests (Debian's `prometheus` package), scraping gpulse agents every second. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tmp } from './helpers.ts';

export const PROMETHEUS = Bun.which('prometheus');

export interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
}

/**
 * Prometheus on 127.0.0.1 scraping `targets` (host:port) every second as job `gpulse`; with `token`
 * it sends it as a bearer credential. `args` go on its command line (e.g. `--web.cors.origin=.*`).
 */
export function startPrometheus(targets: string[], opts: { token?: string; args?: string[] } = {}): RunningPrometheus {
  if (!PROMETHEUS) throw new Error('prometheus is not installed');
  const dir = tmp('gpulse-prom-');
  const port = freePort();
  const auth = opts.token ? `    authorization: { credentials_file: ${join(dir, 'token')} }\n` : '';
  if (opts.token) writeFileSync(join(dir, 'token'), opts.token);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: gpulse
${auth}    static_configs: [{ targets: [${targets.map((t) => `'${t}'`).join(', ')}] }]
`,
  );
  const proc = Bun.spawn(
    [
      PROMETHEUS,
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(opts.args ?? []),
    ],
    { stdout: 'ignore', stderr: 'ignore' },
  );
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      proc.kill();
      await proc.exited;
    },
  };
}
