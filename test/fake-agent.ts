/**
 * A cheap stand-in for an agent, for browser tests that need many hosts: one Bun.serve on
 * 127.0.0.1 answering /v1/info, /v1/history, /v1/events, /v1/accounting and /v1/stream (a schema,
 * a snapshot, then a sample each second from `values`) with the agent's CORS headers. Forty of
 * these cost a few MB in the test process; forty real agents would take the machine.
 */
import { buildCatalog } from '../shared/catalog.ts';
import { INFO_FIELDS } from './fixtures/schema.ts';

/** The CORS headers an agent answers with (a browser on another origin reads it). */
export const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'authorization, content-type',
  'access-control-allow-private-network': 'true',
  'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
};
const enc = new TextEncoder();

export interface FakeGpu {
  util: number;
  memUsedGiB: number;
  memTotalGiB?: number;
  temp: number;
  power: number;
  throttle?: string[];
}

export interface FakeAgentOptions {
  hostname: string;
  token: string;
  gpuName?: string;
  cpu?: number;
  gpus: FakeGpu[];
}

export interface FakeAgent {
  url: string;
  opts: FakeAgentOptions;
  stop: () => void;
}

export function startFakeAgent(opts: FakeAgentOptions): FakeAgent {
  const series = buildCatalog(
    2,
    opts.gpus.map((_, i) => i),
  );
  const keys = series.map((s) => s.key);
  const schema = {
    version: '0.0.0-fake',
    hostname: opts.hostname,
    interval_ms: 1000,
    retention_s: 3600,
    capacity: 3600,
    provider: opts.gpus.length ? 'nvml' : 'none',
    driver_version: opts.gpus.length ? '550.54.15' : null,
    cuda_version: opts.gpus.length ? '12.4' : null,
    host: { cpu_model: 'Fake CPU', cores: 2, threads: 2, os: 'Linux' },
    devices: opts.gpus.map((g, i) => ({
      index: i,
      name: opts.gpuName ?? 'NVIDIA A100-SXM4-80GB',
      uuid: `GPU-fake-${opts.hostname}-${i}`,
      memory_total: (g.memTotalGiB ?? 80) * 2 ** 30,
      provider: 'nvml',
    })),
    series,
  };
  const row = (t: number) => {
    const v: Record<string, number> = {
      'host.cpu.util': opts.cpu ?? 20,
      'host.mem.used': 64 * 2 ** 30,
      'host.mem.total': 256 * 2 ** 30,
    };
    opts.gpus.forEach((g, i) => {
      // A little movement each second, as real readings have: the page redraws real changes.
      v[`gpu${i}.util`] = Math.min(100, g.util + ((Math.floor(t / 1000) + i) % 4));
      v[`gpu${i}.mem.used`] = g.memUsedGiB * 2 ** 30;
      v[`gpu${i}.mem.total`] = (g.memTotalGiB ?? 80) * 2 ** 30;
      v[`gpu${i}.temp`] = g.temp;
      v[`gpu${i}.power`] = g.power + (Math.floor(t / 1000) % 7);
    });
    return [t, ...keys.map((k) => v[k] ?? null)];
  };
  const snapshot = {
    gpus: opts.gpus.map((g, i) => ({ index: i, pstate: 'P0', throttle: g.throttle ?? [], processes: [], lost: false, mig: false, ecc_volatile: null })),
    workloads: { ollama: [] },
  };
  const timers = new Set<ReturnType<typeof setInterval>>();
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    idleTimeout: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (req.method === 'OPTIONS') return new Response(null, { status: 204, headers: CORS });
      if (path === '/healthz') return new Response('ok', { headers: CORS });
      if (req.headers.get('authorization') !== `Bearer ${opts.token}`)
        return Response.json({ error: 'unauthorized' }, { status: 401, headers: { ...CORS, 'www-authenticate': 'Bearer realm="gpulse"' } });
      const json = (b: unknown) => Response.json(b, { headers: CORS });
      if (path === '/v1/info') return json({ ...schema, ...INFO_FIELDS });
      if (path === '/v1/history') return json({ t: [], series: {} });
      if (path === '/v1/events') return json({ events: [] });
      if (path === '/v1/accounting') {
        const none = { gpu_seconds: 0, util_gpu_seconds: 0, mem_gib_hours: 0, energy_j: 0 };
        const now = Date.now();
        return json({ since: now - 86_400_000, until: now, by: 'user', tier: '1m', step_ms: 60_000, interval_ms: 1000, groups: [], gpus: [], total: none });
      }
      if (path !== '/v1/stream') return Response.json({ error: 'no route' }, { status: 404, headers: CORS });
      let timer: ReturnType<typeof setInterval> | undefined;
      return new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            const send = (s: string) => {
              try {
                c.enqueue(enc.encode(s));
              } catch {
                clearInterval(timer);
              }
            };
            send(`event: schema\ndata: ${JSON.stringify(schema)}\n\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
            send(`event: sample\ndata: ${JSON.stringify(row(Date.now()))}\n\n`);
            timer = setInterval(() => send(`event: sample\ndata: ${JSON.stringify(row(Date.now()))}\n\n`), 1000);
            timers.add(timer);
          },
          cancel() {
            clearInterval(timer);
          },
        }),
        { headers: { ...CORS, 'content-type': 'text/event-stream', 'cache-control': 'no-store' } },
      );
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    opts,
    stop: () => {
      for (const t of timers) clearInterval(t);
      server.stop(true);
    },
  };
}

/** A plausible fleet: 1 to 8 GPUs, busy or idle, nothing wrong except where a test wants it. */
export function fleetSpec(i: number, token: string): FakeAgentOptions {
  const n = [8, 4, 2, 8, 1, 4, 8, 2][i % 8]!;
  const busy = i % 3 !== 0;
  return {
    hostname: `node-${String(i + 1).padStart(2, '0')}`,
    token,
    gpuName: i % 4 === 0 ? 'NVIDIA H100 80GB HBM3' : 'NVIDIA A100-SXM4-80GB',
    cpu: 5 + ((i * 17) % 70),
    gpus: Array.from({ length: n }, (_, g) => ({
      util: busy ? 40 + ((i * 13 + g * 7) % 60) : (g * 3) % 5,
      memUsedGiB: busy ? 20 + ((i * 11 + g * 5) % 55) : 1,
      temp: busy ? 55 + ((i + g) % 20) : 34,
      power: busy ? 250 + ((i * 29 + g * 31) % 400) : 60,
      // One host near full memory (a warning), to be sorted after the critical one.
      ...(i === 5 && g === 1 ? { memUsedGiB: 78.5 } : {}),
    })),
  };
}
