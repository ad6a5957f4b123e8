/** `gpulse serve`: sample, keep history, serve the API and the PWA. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCaDir } from '../tls-ca-dir.ts';
import { hostname as osHostname } from 'node:os';
import { formatDuration, formatSize } from '../../shared/duration.ts';
import { ProcessIndex } from '../accounting/process-index.ts';
import { Agent } from '../agent.ts';
import { GpuReprobe } from '../gpu/reprobe.ts';
import { serveConfig, type ParsedValue, type ServeConfig } from '../args.ts';
import { selectProvider } from '../gpu/select.ts';
import { createApp } from '../http/app.ts';
import { SERVER_HARDENING } from '../http/middleware/errors.ts';
import { loadEmbeddedWeb, loadWebDir, type WebAssets } from '../http/web.ts';
import { stateDir } from '../paths.ts';
import { openHost } from '../sample/host.ts';
import { readInventory } from '../sample/inventory.ts';
import { startOllama } from '../sample/ollama.ts';
import { EventsFile, loadEvents } from '../store/events-file.ts';
import { Store } from '../store/store.ts';
import { loadToken } from '../token.ts';
import { parseDuration } from '../../shared/duration.ts';
import { buildCatalog } from '../../shared/catalog.ts';
import { pairLink } from './pair.ts';

const log = (m: string) => process.stderr.write(m + '\n');

export async function loadWeb(): Promise<WebAssets | null> {
  const embedded = (globalThis as { __GPULSE_WEB__?: Record<string, string> }).__GPULSE_WEB__;
  if (embedded) return loadEmbeddedWeb(embedded);
  return loadWebDir(new URL('../../dist/web', import.meta.url).pathname);
}

export async function serve(flags: Record<string, ParsedValue>) {
  const cfg = serveConfig(flags, { hostname: osHostname(), dataDir: stateDir() });
  const auth = cfg.noAuth ? null : loadToken(cfg.tokenFile, process.env, { create: true });
  const tls = cfg.tlsCert ? readTls(cfg) : null;
  // In a container with the host's / at --host-root, /proc and the mount table are the host's.
  const procRoot = cfg.hostRoot ? join(cfg.hostRoot, 'proc') : '/proc';
  const host = openHost(procRoot, cfg.hostRoot);
  const { provider, notes } = await selectProvider(cfg);
  // Per-client stream queue bound; an environment knob for tests and tight-memory hosts.
  const queue = Number(process.env.GPULSE_STREAM_QUEUE_BYTES) || undefined;
  // How long a stream client's socket may stay undrained (the kernel holding its bytes) before it is dropped.
  const stallMs = Number(process.env.GPULSE_STREAM_STALL_MS) || undefined;
  const store = Store.open({
    dir: cfg.dataDir,
    intervalMs: cfg.intervalMs,
    maxDiskBytes: cfg.maxDiskBytes,
    retentionMs: { raw: cfg.retentionMs, '1m': cfg.retention1mMs, '1h': cfg.retention1hMs },
    log: (m) => log(`gpulse: warning: ${m}`),
  });
  const fill = process.env.GPULSE_BENCH_FILL;
  if (fill)
    (await import('../store/synthetic.ts')).fillSynthetic(
      store,
      syntheticKeys(
        host.cpus,
        provider.devices.map((d) => d.index),
      ),
      cfg.intervalMs,
      parseDuration(fill) ?? 86_400_000,
    );
  const processIndex = ProcessIndex.open(cfg.dataDir && store.state.kind !== 'memory_only' ? cfg.dataDir : null);
  for (const w of processIndex.warnings) log(`gpulse: warning: ${w}`);
  const agent = new Agent({
    hostname: cfg.hostname,
    intervalMs: cfg.intervalMs,
    retentionMs: cfg.retentionMs,
    store,
    host,
    gpu: provider,
    providerNotes: notes,
    hubOptions: { maxQueuedBytes: queue, stallMs },
    procRoot,
    user: {
      maxSeries: cfg.maxSeries,
      pushStaleMs: cfg.pushStaleMs,
      textfileDir: cfg.textfileDir,
      exec: cfg.exec,
      execIntervalMs: cfg.execIntervalMs,
      execTimeoutMs: cfg.execTimeoutMs,
    },
    processIndex,
    maxProcesses: cfg.maxProcesses,
  });
  // No GPU at start (driver not loaded yet, library missing): keep looking, and let GPUs join when one answers.
  let reprobe: GpuReprobe | null = null;
  if (provider.kind === 'none' && cfg.gpu !== 'none') {
    const baseMs = Number(process.env.GPULSE_GPU_REPROBE_MS) || 30_000;
    reprobe = new GpuReprobe({
      baseMs,
      maxMs: 10 * baseMs,
      select: () => selectProvider(cfg),
      onFound: (s) => {
        agent.setProvider(s.provider, s.notes);
        log(`gpulse: GPU provider ${s.provider.kind} came up: ${s.provider.devices.map((d) => `[${d.index}] ${d.name}`).join(', ')}`);
      },
      onMiss: (n) => {
        agent.providerNotes = n;
      },
    });
    agent.reprobeInfo = () => reprobe!.info();
    reprobe.start();
  }
  readInventory().then((inv) => {
    agent.inventory = inv;
  });

  let events: EventsFile | null = null;
  if (cfg.dataDir && store.state.kind !== 'memory_only') {
    agent.events.load(loadEvents(cfg.dataDir, (m) => log(`gpulse: warning: ${m}`)));
    const file = (events = new EventsFile(cfg.dataDir));
    const prevChange = agent.events.onChange;
    agent.events.onChange = (e, op) => {
      prevChange?.(e, op);
      file.save(() => agent.events.all());
    };
  }
  if (notes.length && provider.kind !== 'none') agent.agentEvent('provider_fallback', `GPU provider fell back to ${provider.kind}: ${notes.join('; ')}`);

  // Ollama being absent is normal on most GPU boxes: it is not a collector error, just an empty list.
  const ollama = cfg.ollama
    ? startOllama(cfg.ollama, (m) => {
        agent.sampler.ollama = m;
      })
    : null;

  const web = await loadWeb();
  let server: ReturnType<typeof Bun.serve> | null = null;
  const app = createApp(agent, {
    token: auth?.token ?? null,
    allowOrigins: cfg.allowOrigins,
    allowedHosts: cfg.allowedHosts,
    tls: !!tls,
    metricsPublic: cfg.metricsPublic,
    web,
    clientAddress: (req) => server?.requestIP(req)?.address ?? 'unknown',
    server: () => server,
  });
  server = Bun.serve({
    ...SERVER_HARDENING,
    hostname: cfg.bind,
    port: cfg.port,
    fetch: app.fetch,
    ...(tls ? { tls } : {}),
  });
  agent.start();

  const scheme = tls ? 'https' : 'http';
  const shownHost = cfg.bind === '0.0.0.0' || cfg.bind === '::' ? osHostname() : cfg.bind.includes(':') ? `[${cfg.bind}]` : cfg.bind;
  const url = `${scheme}://${shownHost}:${server.port}`;
  const lines = [`gpulse ${agent.info().version} on ${cfg.hostname}`];
  if (provider.devices.length) {
    lines.push(
      `  GPUs (${provider.kind}${provider.driverVersion ? `, driver ${provider.driverVersion}` : ''}${provider.cudaVersion ? `, CUDA ${provider.cudaVersion}` : ''}):`,
    );
    for (const d of provider.devices) lines.push(`    [${d.index}] ${d.name}  ${d.uuid}`);
  } else lines.push('  GPUs: none — no GPU provider was found; serving host metrics only');
  for (const n of notes) lines.push(`    passed over ${n}`);
  if (reprobe)
    lines.push(
      `    looking again every ${formatDuration(reprobe.opts.baseMs)} (backing off to ${formatDuration(reprobe.opts.maxMs)}): GPUs join when a provider answers`,
    );
  const ways = [
    'POST /v1/push',
    ...(cfg.textfileDir ? [`*.prom in ${cfg.textfileDir}`] : []),
    ...cfg.exec.map((e) => `exec ${e.name} every ${formatDuration(cfg.execIntervalMs)}`),
  ];
  lines.push(`  your metrics (at most ${cfg.maxSeries} series): ${ways.join(', ')}`);
  const t = agent.tiers();
  lines.push(
    `  sampling every ${formatDuration(cfg.intervalMs)} × ${store.keys.length} series; history tiers raw ${formatDuration(t[0]!.retention_s * 1000)}, 1-minute ${formatDuration(t[1]!.retention_s * 1000)}, 1-hour ${formatDuration(t[2]!.retention_s * 1000)}, at most ${formatSize(cfg.maxDiskBytes)} on disk`,
  );
  lines.push(
    `  history: ${store.state.kind === 'ok' ? `${cfg.dataDir} (${store.rawRows} samples, ${formatSize(store.diskBytes)})` : `memory only (${agent.storage().message})`}`,
  );
  lines.push(`  serving ${url}/ (PWA${web ? '' : ' not built: run npm run build:web'}), ${url}/v1/…, ${url}/metrics`);
  lines.push(
    `  auth: ${auth ? (auth.source.kind === 'env' ? 'token from GPULSE_TOKEN' : `token in ${auth.source.path}${auth.source.created ? ' (new)' : ''}`) : 'OFF (--no-auth, loopback only)'}`,
  );
  // The pairing link carries the token: only show it to a person at a terminal, never to a log.
  if (auth && process.stderr.isTTY) lines.push(`  pair a browser: ${pairLink(url, url, auth.token)}`);
  else if (auth) lines.push('  pair a browser: run `gpulse pair` in a terminal (the link holds the token, so it is not logged here)');
  log(lines.join('\n'));

  const stop = () => {
    reprobe?.stop();
    agent.sampler.stop();
    ollama?.stop();
    events?.flush(agent.events.all());
    server?.stop(true);
    agent.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return { agent, server, stop };
}

const syntheticKeys = (cpus: number, gpus: number[]) => buildCatalog(cpus, gpus).map((s) => s.key);

function readTls(cfg: ServeConfig) {
  const read = (flag: string, p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch (e) {
      throw new Error(`--${flag}: cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const tls: { cert: string; key: string; ca?: string[]; requestCert?: boolean; rejectUnauthorized?: boolean } = {
    cert: read('tls-cert', cfg.tlsCert!),
    key: read('tls-key', cfg.tlsKey!),
  };
  const cas = [...(cfg.clientCa ? [read('client-ca', cfg.clientCa)] : []), ...(cfg.clientCaPath ? readCaDir(cfg.clientCaPath) : [])];
  if (cas.length) Object.assign(tls, { ca: cas, requestCert: true, rejectUnauthorized: true });
  return tls;
}
