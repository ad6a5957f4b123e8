/**
 * The deployment files' structure, read with a small YAML-subset reader (no dependency): the
 * DaemonSet has what the README promises (NVIDIA runtime, hostPID, read-only /proc and /sys, a
 * hostPath data dir, /healthz probes on the served port), and every flag, environment variable,
 * port and image tag they name is one the agent and the package really have.
 */
import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, serveConfig, SERVE_FLAGS } from '../../cli/args.ts';
import { ROOT } from '../helpers.ts';
import { parseYaml, type Yaml } from './yaml-subset.ts';

type Obj = { [k: string]: Yaml };
const obj = (y: Yaml | undefined): Obj => {
  if (!y || typeof y !== 'object' || Array.isArray(y)) throw new Error(`expected a map, got ${JSON.stringify(y)}`);
  return y;
};
const arr = (y: Yaml | undefined): Yaml[] => {
  if (!Array.isArray(y)) throw new Error(`expected a list, got ${JSON.stringify(y)}`);
  return y;
};
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

const VERSION = JSON.parse(read('package.json')).version;
/** GPULSE_* variables the agent reads: one per serve flag with an env twin, plus the token. */
const KNOWN_ENV = new Set([
  ...Object.entries(SERVE_FLAGS)
    .filter(([, s]) => 'env' in s && s.env)
    .map(([f]) => `GPULSE_${f.replace(/-/g, '_').toUpperCase()}`),
  'GPULSE_TOKEN',
  'GPULSE_URL',
]);
const DEFAULT_PORT = serveConfig(parseArgs([], {}).flags, { hostname: 'h', dataDir: null }).port;
/** A serve command line must parse and pass serve's cross-checks. */
const validServe = (args: string[], env: Record<string, string> = {}) => {
  const p = parseArgs(args.map(String), env);
  expect(p.command).toBe('serve');
  return serveConfig(p.flags, { hostname: 'h', dataDir: '/d' });
};

describe('the YAML-subset reader', () => {
  test('reads maps, lists of maps, scalars, flow lists and quoted strings; refuses what it does not know', () => {
    expect(parseYaml('a: 1\nb:\n  - x: "q # not a comment"\n    y: [1, \'two\', "t,3"]\n  - plain # comment\nc: {}\nd:\n- e\n')).toEqual({
      a: 1,
      b: [{ x: 'q # not a comment', y: [1, 'two', 't,3'] }, 'plain'],
      c: {},
      d: ['e'],
    });
    expect(() => parseYaml('a: &anchor 1\n')).toThrow('line 1: unsupported YAML');
    expect(() => parseYaml('a: 1\na: 2\n')).toThrow('line 2: duplicate key a');
    expect(() => parseYaml('a:\n\tb: 1\n')).toThrow('line 2: tab character');
  });
});

describe('deploy/kubernetes/daemonset.yaml', () => {
  const ds = obj(parseYaml(read('deploy/kubernetes/daemonset.yaml')));
  const pod = obj(obj(obj(ds.spec).template).spec);
  const c = obj(arr(pod.containers).find((x) => obj(x).name === 'gpulse'));
  const volumes = new Map(arr(pod.volumes).map((v) => [obj(v).name as string, obj(v)]));
  const mounts = arr(c.volumeMounts).map(obj);
  const env = Object.fromEntries(
    arr(c.env)
      .map(obj)
      .map((e) => [e.name as string, e]),
  );

  test('a DaemonSet selecting its own pods', () => {
    expect(ds).toMatchObject({ apiVersion: 'apps/v1', kind: 'DaemonSet' });
    expect(obj(obj(ds.spec).selector).matchLabels).toEqual(obj(obj(obj(ds.spec).template).metadata).labels);
  });
  test('NVIDIA runtime class, host PID namespace for process attribution, no GPU reserved', () => {
    expect(pod).toMatchObject({ runtimeClassName: 'nvidia', hostPID: true });
    expect(env.NVIDIA_VISIBLE_DEVICES).toMatchObject({ value: 'all' });
    expect(env.NVIDIA_DRIVER_CAPABILITIES!.value).toContain('utility');
    expect(JSON.stringify(c.resources)).not.toContain('nvidia.com/gpu');
  });
  test('/proc and /sys of the host read-only, its root for --host-root, a hostPath data dir', () => {
    for (const name of mounts.map((m) => m.name as string)) expect(volumes.has(name)).toBe(true);
    const at = (path: string) => mounts.find((m) => m.mountPath === path)!;
    for (const [path, host] of [
      ['/host/proc', '/proc'],
      ['/host/sys', '/sys'],
      ['/host', '/'],
    ] as const) {
      expect(at(path).readOnly).toBe(true);
      expect(obj(volumes.get(at(path).name as string)!.hostPath).path).toBe(host);
    }
    const data = at('/var/lib/gpulse');
    expect(data.readOnly ?? false).toBe(false);
    expect(obj(volumes.get(data.name as string)!.hostPath)).toEqual({ path: '/var/lib/gpulse', type: 'DirectoryOrCreate' });
    const cfg = validServe(arr(c.args) as string[], { GPULSE_PORT: String(env.GPULSE_PORT!.value) });
    expect(cfg.hostRoot).toBe('/host');
  });
  test('probes on /healthz at the port the agent listens on', () => {
    const port = arr(c.ports)
      .map(obj)
      .find((p) => p.name === 'http')!;
    expect(port.containerPort).toBe(Number(env.GPULSE_PORT!.value));
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) expect(obj(c[probe]).httpGet).toEqual({ path: '/healthz', port: 'http' });
  });
  test('non-root, read-only root filesystem, no capabilities; the init container only chowns', () => {
    expect(obj(pod.securityContext)).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(obj(c.securityContext)).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    const init = obj(arr(pod.initContainers)[0]);
    expect(init.command).toEqual(['chown', '10001:10001', '/var/lib/gpulse']);
    expect(obj(init.securityContext).capabilities).toEqual({ drop: ['ALL'], add: ['CHOWN'] });
  });
  test('every GPULSE_ variable is one the agent reads; the image is this version', () => {
    for (const name of Object.keys(env).filter((n) => n.startsWith('GPULSE_'))) expect(KNOWN_ENV).toContain(name);
    for (const x of [c, obj(arr(pod.initContainers)[0])]) expect(x.image).toBe(`gpulse:${VERSION}`);
  });
});

describe('deploy/docker-compose.yml and the Dockerfile', () => {
  const compose = obj(parseYaml(read('deploy/docker-compose.yml')));
  const svc = obj(obj(compose.services).gpulse);
  const dockerfile = read('Dockerfile');

  test('compose: a valid serve command, host PID, the declared volume, NVIDIA devices, this version', () => {
    expect(validServe(arr(svc.command) as string[]).hostRoot).toBe('/host');
    expect(svc.pid).toBe('host');
    const named = arr(svc.volumes)
      .map((v) => String(v).split(':')[0]!)
      .filter((v) => !v.startsWith('/'));
    for (const v of named) expect(Object.keys(obj(compose.volumes))).toContain(v);
    expect(arr(svc.volumes)).toContain('/:/host:ro,rslave');
    expect(obj(arr(obj(obj(obj(svc.deploy).resources).reservations).devices)[0])).toMatchObject({ driver: 'nvidia', count: 'all' });
    expect(svc.image).toBe(`gpulse:${VERSION}`);
    for (const name of Object.keys(obj(svc.environment))) expect(KNOWN_ENV).toContain(name);
  });
  test('Dockerfile: a build stage, then the binary alone, as a non-root user, on the default port', () => {
    const froms = dockerfile.match(/^FROM .*/gm)!;
    expect(froms).toHaveLength(2);
    expect(froms[0]).toMatch(/ AS build$/);
    expect(dockerfile).toMatch(/^RUN npm ci .*$/m);
    expect(dockerfile).toMatch(/^RUN npm run build/m);
    expect(dockerfile.match(/^COPY .*/gm)!.filter((l) => l.includes('--from=build'))).toEqual(['COPY --from=build /src/dist/gpulse /usr/local/bin/gpulse']);
    expect(dockerfile).toMatch(/^USER 10001:10001$/m);
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${DEFAULT_PORT}$`, 'm'));
    for (const name of dockerfile.match(/\bGPULSE_[A-Z_]+(?==)/g)!) expect(KNOWN_ENV).toContain(name);
  });
  test("the compose health check is the image's, on /healthz", () => {
    const m = /^HEALTHCHECK .*\\\n\s+CMD (\[.*\])$/m.exec(dockerfile)!;
    const image = JSON.parse(m[1]!) as string[];
    const composeTest = arr(obj(svc.healthcheck).test) as string[];
    expect(composeTest[0]).toBe('CMD');
    expect(composeTest.slice(1)).toEqual(image.map((s) => s.replace('${GPULSE_PORT:-9740}', String(DEFAULT_PORT))));
    expect(image.join(' ')).toContain('GET /healthz');
  });
});
