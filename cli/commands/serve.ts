/** `gpulse serve`: sample, keep history, serve the API and the PWA. */
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { formatDuration } from '../../shared/duration.ts';
import { Agent } from '../agent.ts';
import { serveConfig, type ParsedValue, type ServeConfig } from '../args.ts';
import { selectProvider } from '../gpu/select.ts';
import { createApp } from '../http/app.ts';
import { SERVER_HARDENING } from '../http/middleware/errors.ts';
import { loadEmbeddedWeb, loadWebDir, type WebAssets } from '../http/web.ts';
import { stateDir } from '../paths.ts';
import { openHost } from '../sample/host.ts';
import { readInventory } from '../sample/inventory.ts';
import { startOllama } from '../sample/ollama.ts';
import { HistoryFile } from '../store/persist.ts';
import { loadToken } from '../token.ts';
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
  const host = openHost();
  const { provider, notes } = await selectProvider(cfg);
  // Per-client stream queue bound; an environment knob for tests and tight-memory hosts.
  const queue = Number(process.env.GPULSE_STREAM_QUEUE_BYTES) || undefined;
  // How long a stream client's socket may stay undrained (the kernel holding its bytes) before it is dropped.
  const stallMs = Number(process.env.GPULSE_STREAM_STALL_MS) || undefined;
  const agent = new Agent({ hostname: cfg.hostname, intervalMs: cfg.intervalMs, retentionMs: cfg.retentionMs, host, gpu: provider, providerNotes: notes, hubOptions: { maxQueuedBytes: queue, stallMs } });
  readInventory().then((inv) => { agent.inventory = inv; });

  let history: HistoryFile | null = null;
  if (cfg.dataDir) {
    const loaded = HistoryFile.load(cfg.dataDir, agent.ring.keys, agent.ring.capacity, (m) => log(`gpulse: warning: ${m}`));
    if (loaded.ring) agent.ring = loaded.ring;
    agent.events.load(loaded.events);
    history = new HistoryFile(cfg.dataDir, agent.ring.keys, agent.ring.capacity);
    history.rewrite(agent.ring);
    agent.onRow = (t, v) => history!.append(t, v, agent.ring);
    const prevChange = agent.events.onChange;
    agent.events.onChange = (e, op) => { prevChange?.(e, op); history!.saveEvents(agent.events.all()); };
  }
  if (process.env.GPULSE_BENCH_FILL === '1') (await import('../store/synthetic.ts')).fillSynthetic(agent.ring, cfg.intervalMs);
  if (notes.length && provider.kind !== 'none') agent.agentEvent('provider_fallback', `GPU provider fell back to ${provider.kind}: ${notes.join('; ')}`);

  // Ollama being absent is normal on most GPU boxes: it is not a collector error, just an empty list.
  const ollama = cfg.ollama ? startOllama(cfg.ollama, (m) => { agent.sampler.ollama = m; }) : null;

  const web = await loadWeb();
  let server: ReturnType<typeof Bun.serve> | null = null;
  const app = createApp(agent, {
    token: auth?.token ?? null, allowOrigins: cfg.allowOrigins, allowedHosts: cfg.allowedHosts, tls: !!tls, metricsPublic: cfg.metricsPublic, web,
    clientAddress: (req) => server?.requestIP(req)?.address ?? 'unknown', server: () => server,
  });
  server = Bun.serve({
    ...SERVER_HARDENING, hostname: cfg.bind, port: cfg.port, fetch: app.fetch,
    ...(tls ? { tls } : {}),
  });
  agent.start();

  const scheme = tls ? 'https' : 'http';
  const shownHost = cfg.bind === '0.0.0.0' || cfg.bind === '::' ? osHostname() : cfg.bind.includes(':') ? `[${cfg.bind}]` : cfg.bind;
  const url = `${scheme}://${shownHost}:${server.port}`;
  const lines = [`gpulse ${agent.info().version} on ${cfg.hostname}`];
  if (provider.devices.length) {
    lines.push(`  GPUs (${provider.kind}${provider.driverVersion ? `, driver ${provider.driverVersion}` : ''}${provider.cudaVersion ? `, CUDA ${provider.cudaVersion}` : ''}):`);
    for (const d of provider.devices) lines.push(`    [${d.index}] ${d.name}  ${d.uuid}`);
  } else lines.push('  GPUs: none — no GPU provider was found; serving host metrics only');
  for (const n of notes) lines.push(`    passed over ${n}`);
  lines.push(`  sampling every ${formatDuration(cfg.intervalMs)}, retention ${formatDuration(cfg.retentionMs)} = ${agent.capacity} samples × ${agent.ring.keys.length} series (${(agent.ring.bytes / 1048576).toFixed(1)} MiB)`);
  if (agent.ring.bytes > 256 * 1048576) lines.push(`  warning: a full history ring takes ${(agent.ring.bytes / 1048576).toFixed(0)} MiB of memory (and twice that on disk); lower --retention or raise --interval`);
  lines.push(`  history: ${cfg.dataDir ? `${cfg.dataDir} (${agent.ring.count} samples restored)` : 'memory only'}`);
  lines.push(`  serving ${url}/ (PWA${web ? '' : ' not built: run npm run build:web'}), ${url}/v1/…, ${url}/metrics`);
  lines.push(`  auth: ${auth ? (auth.source.kind === 'env' ? 'token from GPULSE_TOKEN' : `token in ${auth.source.path}${auth.source.created ? ' (new)' : ''}`) : 'OFF (--no-auth, loopback only)'}`);
  // The pairing link carries the token: only show it to a person at a terminal, never to a log.
  if (auth && process.stderr.isTTY) lines.push(`  pair a browser: ${pairLink(url, url, auth.token)}`);
  else if (auth) lines.push('  pair a browser: run `gpulse pair` in a terminal (the link holds the token, so it is not logged here)');
  log(lines.join('\n'));

  const stop = () => {
    agent.sampler.stop();
    ollama?.stop();
    history?.close(agent.events.all());
    server?.stop(true);
    agent.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return { agent, server, stop };
}

function readTls(cfg: ServeConfig) {
  const read = (flag: string, p: string) => { try { return readFileSync(p, 'utf8'); } catch (e) { throw new Error(`--${flag}: cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); } };
  const tls: { cert: string; key: string; ca?: string; requestCert?: boolean; rejectUnauthorized?: boolean } = { cert: read('tls-cert', cfg.tlsCert!), key: read('tls-key', cfg.tlsKey!) };
  if (cfg.clientCa) Object.assign(tls, { ca: read('client-ca', cfg.clientCa), requestCert: true, rejectUnauthorized: true });
  return tls;
}
