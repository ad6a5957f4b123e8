/**
 * Host header check against DNS rebinding: a page on evil.example whose name is re-pointed at
 * 127.0.0.1 becomes "same-origin" with the agent in the browser's eyes, so CORS no longer protects
 * it. The browser still sends `Host: evil.example`, which is what this middleware refuses (421,
 * naming the host). A missing, empty or malformed Host is a 400.
 *
 * IP literals are always accepted: rebinding needs a DNS name, and a Host that is an address is
 * what every Prometheus target and PWA endpoint added by IP sends.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.ts';

/** `*` in the list turns the check off (e.g. behind a reverse proxy that rewrites Host). */
export interface HostCheckOptions {
  allowed: readonly string[];
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const HOST_RE = /^(\[[0-9a-f:.]+(%[\w.-]+)?\]|[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?\.?)(:\d{1,5})?$/i;

export const isIpLiteral = (hostname: string) => IPV4.test(hostname) || /^\[[0-9a-f:.]+\]$/i.test(hostname);

/** Lowercase, no trailing dot, IPv6 in brackets: the one form names are compared in. */
export function normalizeHostname(name: string): string {
  let h = name.trim().toLowerCase().replace(/\.$/, '');
  if (h.includes(':') && !h.startsWith('[')) h = `[${h}]`;
  return h;
}

/** The hostname part of a Host header, or null when the header is not a valid host[:port]. */
export function hostnameOf(header: string): string | null {
  if (!HOST_RE.test(header)) return null;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(header);
  if (!m || (m[2] !== undefined && Number(m[2]) > 65535)) return null;
  return normalizeHostname(m[1]!);
}

/**
 * The names an agent answers to when the user named none: loopback always; the bind address; and
 * when bound to every interface, the machine's hostname (also its first label and `.local` form)
 * and --hostname, since that is how other machines will reach it.
 */
export function defaultAllowedHosts(bind: string, names: readonly string[]): string[] {
  const out = new Set(['localhost', '127.0.0.1', '[::1]']);
  const all = bind === '0.0.0.0' || bind === '::' || bind === '[::]';
  if (!all) out.add(normalizeHostname(bind));
  else
    for (const n of names) {
      const h = normalizeHostname(n);
      if (!h) continue;
      out.add(h);
      const short = h.split('.')[0]!;
      if (!h.startsWith('[')) {
        out.add(short);
        out.add(`${short}.local`);
      }
    }
  return [...out];
}

export function hostCheck(opts: HostCheckOptions): MiddlewareHandler {
  const any = opts.allowed.includes('*');
  const allowed = new Set(opts.allowed.map(normalizeHostname));
  return async function hostCheck(c, next) {
    // Bun builds an absolute URL only from a Host header; in-process requests (tests) carry it in the URL.
    let header = c.req.header('host');
    if (header === undefined && /^https?:\/\//.test(c.req.url)) header = new URL(c.req.url).host;
    if (!header) throw new ApiError(400, 'missing Host header', 'host');
    const name = hostnameOf(header);
    if (name === null) throw new ApiError(400, `malformed Host header ${JSON.stringify(header.slice(0, 100))}`, 'host');
    if (!any && !isIpLiteral(name) && !allowed.has(name)) {
      throw new ApiError(421, `host ${JSON.stringify(name.slice(0, 100))} is not served by this agent (add it with --allowed-host)`, 'host');
    }
    return next();
  };
}
