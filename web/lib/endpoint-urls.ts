/** Endpoint addresses: normalized before they are stored, and checked for what the browser will block. */

export function normalizeUrl(url: string): string {
  const u = new URL(url.trim());
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('the agent URL must start with http:// or https://');
  return u.origin;
}

/** A Prometheus API base URL: origin plus any path prefix (a Thanos or proxy route), without a trailing slash. */
export function normalizePromUrl(url: string): string {
  const u = new URL(url.trim());
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('the Prometheus URL must start with http:// or https://');
  return u.origin + u.pathname.replace(/\/+$/, '');
}

/** Before connecting: will an https page be allowed to reach this agent at all? */
export function mixedContentProblem(pageProtocol: string, agentUrl: string): string | null {
  let u: URL;
  try {
    u = new URL(agentUrl);
  } catch {
    return null;
  }
  if (pageProtocol !== 'https:' || u.protocol === 'https:') return null;
  const h = u.hostname;
  if (h === 'localhost' || h.endsWith('.localhost') || /^127\./.test(h) || h === '[::1]') return null;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(h) || h.startsWith('[') || h.endsWith('.local'))
    return 'Chrome will ask for permission to reach your local network; other browsers block http agents from an https page.';
  return `The browser will block http://${h} from this https page (mixed content). Open gpulse from the agent itself, from http://localhost, use the agent's IP address, or serve the agent over https (--tls-cert/--tls-key).`;
}

/**
 * Chrome's local-network permission can only be asked from a page, on a user gesture: called from
 * a button's click, with a request that declares the target address space. null: allowed.
 */
export async function askLocalNetwork(agentUrl: string): Promise<string | null> {
  const host = new URL(agentUrl).hostname;
  const space = host === 'localhost' || /^127\./.test(host) || host === '[::1]' ? 'loopback' : 'local';
  try {
    await fetch(`${agentUrl}/healthz`, { targetAddressSpace: space, cache: 'no-store' } as RequestInit);
    return null;
  } catch (e) {
    return `still blocked: ${(e as Error).message}. Allow "local network access" for this site in the browser's site settings.`;
  }
}
