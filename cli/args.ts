/**
 * argv + env → typed config. Every bad flag or value throws UsageError naming the flag
 * (main.ts prints it on one line and exits 2). Each serve flag is also GPULSE_<FLAG>; the flag wins.
 */
import { parseDuration, parseSize } from '../shared/duration.ts';
import { defaultAllowedHosts, hostnameOf } from './http/middleware/host-check.ts';
import { parseExecSpec, type ExecSpec } from './user/exec.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** list: repeatable and comma-split; repeat: repeatable, taken whole (a value may hold commas). */
type Kind = 'string' | 'bool' | 'duration' | 'port' | 'list' | 'size' | 'int' | 'repeat';
interface Spec {
  kind: Kind;
  env?: boolean;
}

export const SERVE_FLAGS = {
  bind: { kind: 'string', env: true },
  port: { kind: 'port', env: true },
  hostname: { kind: 'string', env: true },
  interval: { kind: 'duration', env: true },
  retention: { kind: 'duration', env: true },
  'retention-1m': { kind: 'duration', env: true },
  'retention-1h': { kind: 'duration', env: true },
  'max-disk': { kind: 'size', env: true },
  'data-dir': { kind: 'string', env: true },
  'token-file': { kind: 'string', env: true },
  'no-auth': { kind: 'bool', env: true },
  'allow-origin': { kind: 'list', env: true },
  'tls-cert': { kind: 'string', env: true },
  'tls-key': { kind: 'string', env: true },
  'client-ca': { kind: 'string', env: true },
  gpu: { kind: 'string', env: true },
  'nvml-lib': { kind: 'string', env: true },
  'sysfs-root': { kind: 'string', env: true },
  ollama: { kind: 'string', env: true },
  'metrics-public': { kind: 'bool', env: true },
  'no-persist': { kind: 'bool', env: true },
  'allowed-host': { kind: 'list', env: true },
  'client-capath': { kind: 'string', env: true },
  'client-auth-required': { kind: 'bool', env: true },
  'host-root': { kind: 'string', env: true },
  'textfile-dir': { kind: 'string', env: true },
  exec: { kind: 'repeat' },
  'exec-interval': { kind: 'duration', env: true },
  'exec-timeout': { kind: 'duration', env: true },
  'max-series': { kind: 'int', env: true },
  'push-stale': { kind: 'duration', env: true },
  'max-processes': { kind: 'int', env: true },
} as const satisfies Record<string, Spec>;

/** How `push` and `accounting` reach an agent (as mark and export). */
const CLIENT_FLAGS = { url: { kind: 'string' }, 'token-file': SERVE_FLAGS['token-file'], port: SERVE_FLAGS.port } as const satisfies Record<string, Spec>;

/**
 * nvitop monitor-web's spellings, accepted with the same meanings so its command lines and unit
 * files work unchanged (README "Coming from nvitop monitor-web"). An alias applies only where the
 * command has the target flag and no flag of its own by that name (`import --host` stays import's).
 */
export const FLAG_ALIASES: Readonly<Record<string, string>> = {
  'bind-address': 'bind',
  host: 'hostname',
  certfile: 'tls-cert',
  keyfile: 'tls-key',
  'client-cafile': 'client-ca',
};
/** The only single-dash flags: monitor-web's. Anything else starting with one dash is a usage error. */
export const SHORT_FLAGS: Readonly<Record<string, string>> = { B: 'bind', H: 'hostname', p: 'port' };

export const COMMAND_FLAGS: Record<string, Record<string, Spec>> = {
  serve: SERVE_FLAGS,
  snapshot: {
    json: { kind: 'bool' },
    gpu: SERVE_FLAGS.gpu,
    'nvml-lib': SERVE_FLAGS['nvml-lib'],
    'sysfs-root': SERVE_FLAGS['sysfs-root'],
    ollama: SERVE_FLAGS.ollama,
    'host-root': SERVE_FLAGS['host-root'],
  },
  pair: { url: { kind: 'string' }, app: { kind: 'string' }, 'token-file': SERVE_FLAGS['token-file'], bind: SERVE_FLAGS.bind, port: SERVE_FLAGS.port },
  token: { rotate: { kind: 'bool' }, 'token-file': SERVE_FLAGS['token-file'] },
  mark: { url: { kind: 'string' }, end: { kind: 'bool' }, color: { kind: 'string' }, 'token-file': SERVE_FLAGS['token-file'], port: SERVE_FLAGS.port },
  export: {
    url: { kind: 'string' },
    since: { kind: 'string' },
    until: { kind: 'string' },
    format: { kind: 'string' },
    'token-file': SERVE_FLAGS['token-file'],
    port: SERVE_FLAGS.port,
  },
  service: { 'data-dir': SERVE_FLAGS['data-dir'], bind: SERVE_FLAGS.bind, port: SERVE_FLAGS.port },
  push: { ...CLIENT_FLAGS, label: { kind: 'repeat' }, file: { kind: 'string' } },
  accounting: { ...CLIENT_FLAGS, since: { kind: 'string' }, until: { kind: 'string' }, by: { kind: 'string' }, json: { kind: 'bool' } },
  import: {
    'data-dir': SERVE_FLAGS['data-dir'],
    interval: SERVE_FLAGS.interval,
    retention: SERVE_FLAGS.retention,
    'retention-1m': SERVE_FLAGS['retention-1m'],
    'retention-1h': SERVE_FLAGS['retention-1h'],
    'max-disk': SERVE_FLAGS['max-disk'],
    'skip-bad': { kind: 'bool' },
    host: { kind: 'string' },
  },
};

export type ParsedValue = string | boolean | number | string[];
export interface Parsed {
  command: string;
  positionals: string[];
  flags: Record<string, ParsedValue>;
}

const envName = (flag: string) => `GPULSE_${flag.replace(/-/g, '_').toUpperCase()}`;

/** `label` is the flag as the user spelled it (`--port`, `-p`, `--bind-address`): errors name what was typed. */
function convert(label: string, kind: Kind, raw: string): ParsedValue {
  switch (kind) {
    case 'duration': {
      const ms = parseDuration(raw);
      if (ms === null || ms <= 0) throw new UsageError(`${label}: invalid duration ${JSON.stringify(raw)} (use e.g. 500ms, 1s, 5m, 24h, 7d)`);
      return ms;
    }
    case 'size': {
      const b = parseSize(raw);
      if (b === null || b <= 0) throw new UsageError(`${label}: invalid size ${JSON.stringify(raw)} (use e.g. 500MB, 1GiB, 2g)`);
      return b;
    }
    case 'port': {
      if (!/^\d+$/.test(raw) || Number(raw) > 65535) throw new UsageError(`${label}: invalid port ${JSON.stringify(raw)} (0-65535)`);
      return Number(raw);
    }
    case 'bool': {
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off|)$/i.test(raw)) return false;
      throw new UsageError(`${label}: expected true or false, got ${JSON.stringify(raw)}`);
    }
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    case 'repeat':
      return [raw];
    case 'int': {
      if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 1e9)
        throw new UsageError(`${label}: expected a whole number from 1, got ${JSON.stringify(raw)}`);
      return Number(raw);
    }
    default:
      return raw;
  }
}

export function parseArgs(argv: string[], env: Record<string, string | undefined> = process.env): Parsed {
  let command = 'serve';
  let rest = argv;
  if (argv[0] && !argv[0].startsWith('-')) {
    command = argv[0];
    rest = argv.slice(1);
  }
  const specs = COMMAND_FLAGS[command];
  if (!specs) throw new UsageError(`unknown command ${JSON.stringify(command)} (try --help)`);
  const flags: Record<string, ParsedValue> = {};
  const positionals: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--') {
      positionals.push(...rest.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    // --name[=value], or one of the short flags as -p 9740, -p9740 or -p=9740.
    let name: string, label: string, inline: string | null;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      label = eq < 0 ? arg : arg.slice(0, eq);
      inline = eq < 0 ? null : arg.slice(eq + 1);
      const typed = label.slice(2);
      name = specs[typed] ? typed : FLAG_ALIASES[typed] && specs[FLAG_ALIASES[typed]] ? FLAG_ALIASES[typed] : typed;
      if (!specs[name]) throw new UsageError(`unknown flag ${label} for ${command}`);
    } else {
      const target = SHORT_FLAGS[arg[1]!];
      label = arg.slice(0, 2);
      if (!target || !specs[target])
        throw new UsageError(
          `unknown flag ${label} (flags are spelled --name; the short ones are ${
            Object.keys(SHORT_FLAGS)
              .filter((k) => specs[SHORT_FLAGS[k]!])
              .map((k) => '-' + k)
              .join(', ') || 'not accepted here'
          })`,
        );
      name = target;
      inline = arg.length > 2 ? arg.slice(arg[2] === '=' ? 3 : 2) : null;
    }
    const spec = specs[name]!;
    let raw: string;
    if (spec.kind === 'bool') raw = inline ?? 'true';
    else if (inline !== null) raw = inline;
    else {
      const next = rest[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new UsageError(`${label}: missing value`);
      raw = next;
      i++;
    }
    const val = convert(label, spec.kind, raw);
    flags[name] = spec.kind === 'list' || spec.kind === 'repeat' ? [...((flags[name] as string[]) ?? []), ...(val as string[])] : val;
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (name in flags || !spec.env) continue;
    const raw = env[envName(name)];
    if (raw !== undefined && raw !== '') {
      try {
        flags[name] = convert(`--${name}`, spec.kind, raw);
      } catch (e) {
        throw new UsageError(`${envName(name)}: ${(e as Error).message.replace(/^--[\w-]+: /, '')}`);
      }
    }
  }
  return { command, positionals, flags };
}

export interface ServeConfig {
  bind: string;
  port: number;
  hostname: string;
  intervalMs: number;
  retentionMs: number;
  retention1mMs: number;
  retention1hMs: number;
  maxDiskBytes: number;
  dataDir: string | null;
  tokenFile: string | null;
  noAuth: boolean;
  allowOrigins: string[];
  /** Host header names accepted (IP literals always are); '*' turns the check off. */
  allowedHosts: string[];
  tlsCert: string | null;
  tlsKey: string | null;
  clientCa: string | null;
  /** A directory of PEM CA certificates for client certificates (monitor-web's --client-capath). */
  clientCaPath: string | null;
  /** The host's / as mounted in a container: /proc, process and filesystem reads go through it. */
  hostRoot: string | null;
  gpu: 'auto' | 'nvml' | 'nvidia-smi' | 'amd' | 'none';
  nvmlLib: string | null;
  sysfsRoot: string;
  ollama: string | null;
  metricsPublic: boolean;
  textfileDir: string | null;
  exec: ExecSpec[];
  execIntervalMs: number;
  execTimeoutMs: number;
  maxSeries: number;
  pushStaleMs: number;
  maxProcesses: number;
}

export const isLoopback = (addr: string) => /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/i.test(addr);
const GPU_CHOICES = ['auto', 'nvml', 'nvidia-smi', 'amd', 'none'] as const;

/** Cross-flag validation for serve: what cannot be checked flag by flag. */
export function serveConfig(f: Record<string, ParsedValue>, defaults: { hostname: string; dataDir: string | null }): ServeConfig {
  const s = (k: string) => (f[k] as string | undefined) ?? null;
  const gpu = (s('gpu') ?? 'auto') as ServeConfig['gpu'];
  if (!GPU_CHOICES.includes(gpu)) throw new UsageError(`--gpu: must be one of ${GPU_CHOICES.join(', ')}, got ${JSON.stringify(gpu)}`);
  const intervalMs = (f.interval as number | undefined) ?? 1000;
  if (intervalMs < 100) throw new UsageError(`--interval: minimum is 0.1s, got ${intervalMs}ms`);
  const retentionMs = (f.retention as number | undefined) ?? 14 * 86_400_000;
  if (retentionMs < intervalMs) throw new UsageError('--retention: must be at least one interval');
  const retention1mMs = (f['retention-1m'] as number | undefined) ?? 90 * 86_400_000;
  if (retention1mMs < 60_000) throw new UsageError('--retention-1m: must be at least 1m');
  const retention1hMs = (f['retention-1h'] as number | undefined) ?? 730 * 86_400_000;
  if (retention1hMs < 3_600_000) throw new UsageError('--retention-1h: must be at least 1h');
  const maxDiskBytes = (f['max-disk'] as number | undefined) ?? 1024 ** 3;
  if (maxDiskBytes < 16 * 1024 ** 2) throw new UsageError('--max-disk: must be at least 16MiB');
  const bind = s('bind') ?? '127.0.0.1';
  const noAuth = f['no-auth'] === true;
  if (noAuth && !isLoopback(bind)) throw new UsageError(`--no-auth: refused because --bind ${bind} is not a loopback address`);
  const tlsCert = s('tls-cert'),
    tlsKey = s('tls-key'),
    clientCa = s('client-ca'),
    clientCaPath = s('client-capath');
  if ((tlsCert === null) !== (tlsKey === null)) throw new UsageError(tlsCert ? '--tls-key: required with --tls-cert' : '--tls-cert: required with --tls-key');
  if (clientCa && !tlsCert) throw new UsageError('--client-ca: requires --tls-cert and --tls-key');
  if (clientCaPath && !tlsCert) throw new UsageError('--client-capath: requires --tls-cert and --tls-key');
  // Any client CA already makes certificates required; the flag alone (monitor-web refuses it too) would require nothing.
  if (f['client-auth-required'] === true && !clientCa && !clientCaPath)
    throw new UsageError('--client-auth-required: needs --client-ca (--client-cafile) or --client-capath');
  for (const o of (f['allow-origin'] as string[] | undefined) ?? []) {
    if (o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o))
      throw new UsageError(`--allow-origin: ${JSON.stringify(o)} is not an origin (scheme://host[:port], no path)`);
  }
  const ollama = s('ollama') ?? 'http://127.0.0.1:11434';
  if (ollama !== 'off' && !/^https?:\/\/[^\s]+$/.test(ollama)) throw new UsageError(`--ollama: must be an http(s) URL or off, got ${JSON.stringify(ollama)}`);
  const origins = ((f['allow-origin'] as string[] | undefined) ?? []).filter((o) => o !== '*');
  const exec: ExecSpec[] = [];
  for (const raw of (f.exec as string[] | undefined) ?? []) {
    const spec = parseExecSpec(raw);
    if (typeof spec === 'string') throw new UsageError(`--exec: ${spec}`);
    if (exec.some((e) => e.name === spec.name)) throw new UsageError(`--exec: the name ${spec.name} is given twice`);
    exec.push(spec);
  }
  const execIntervalMs = (f['exec-interval'] as number | undefined) ?? 10_000;
  const execTimeoutMs = (f['exec-timeout'] as number | undefined) ?? Math.min(5_000, execIntervalMs);
  if (execTimeoutMs > execIntervalMs)
    throw new UsageError(`--exec-timeout: must not be longer than --exec-interval (${execIntervalMs / 1000}s), so runs never pile up`);
  const extraHosts = (f['allowed-host'] as string[] | undefined) ?? [];
  for (const h of extraHosts) {
    if (h !== '*' && hostnameOf(h) !== h.toLowerCase().replace(/\.$/, ''))
      throw new UsageError(`--allowed-host: ${JSON.stringify(h)} is not a host name (no scheme, port or path)`);
  }
  const hostname = s('hostname') ?? defaults.hostname;
  const hostRoot = s('host-root');
  if (hostRoot !== null && !hostRoot.startsWith('/')) throw new UsageError(`--host-root: must be an absolute path, got ${JSON.stringify(hostRoot)}`);
  return {
    bind,
    port: (f.port as number | undefined) ?? 9740,
    hostname,
    intervalMs,
    retentionMs,
    retention1mMs,
    retention1hMs,
    maxDiskBytes,
    dataDir: f['no-persist'] === true ? null : (s('data-dir') ?? defaults.dataDir),
    tokenFile: s('token-file'),
    noAuth,
    allowOrigins: origins,
    allowedHosts: [...new Set([...defaultAllowedHosts(bind, [defaults.hostname, hostname]), ...extraHosts.map((h) => h.toLowerCase())])],
    tlsCert,
    tlsKey,
    clientCa,
    clientCaPath,
    hostRoot,
    gpu,
    nvmlLib: s('nvml-lib'),
    sysfsRoot: s('sysfs-root') ?? '/',
    ollama: ollama === 'off' ? null : ollama,
    metricsPublic: f['metrics-public'] === true,
    textfileDir: s('textfile-dir'),
    exec,
    execIntervalMs,
    execTimeoutMs,
    maxSeries: (f['max-series'] as number | undefined) ?? 1000,
    pushStaleMs: (f['push-stale'] as number | undefined) ?? 300_000,
    maxProcesses: (f['max-processes'] as number | undefined) ?? 64,
  };
}
