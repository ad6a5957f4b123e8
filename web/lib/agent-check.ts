/**
 * Before an agent is saved (Add form, pairing link): ask its /v1/info with the token and, when that
 * fails, say why in words a person can act on. A browser hides why a cross-origin fetch failed
 * (every cause is one TypeError), so the causes are told apart by what else is known: the page's
 * scheme (mixed content), and a no-cors probe that succeeds when the agent answers at all (then the
 * failure was CORS or the local-network permission, not the network).
 */
import { mixedContentProblem, normalizeUrl } from './endpoint-urls.ts';

export type CheckResult =
  | { kind: 'ok'; url: string; hostname: string; version: string; info: unknown }
  | { kind: 'bad-url'; message: string }
  | { kind: 'mixed-content'; message: string }
  | { kind: 'unreachable'; message: string }
  | { kind: 'blocked'; message: string }
  | { kind: 'bad-token'; status: number; message: string }
  | { kind: 'not-agent'; message: string }
  | { kind: 'http-error'; status: number; message: string };

export interface CheckEnv {
  /** location.protocol of the page doing the check. */
  pageProtocol: string;
  fetchImpl?: typeof fetch;
  /** Bound on each request, so a black-holed address fails in seconds, not minutes. */
  timeoutMs?: number;
}

/** Only what identifies a gpulse agent; the stream validates the rest (a bad schema shows on the endpoint). */
function agentShape(j: unknown): { hostname: string; version: string } | string {
  if (!j || typeof j !== 'object' || Array.isArray(j)) return 'its /v1/info is not a JSON object';
  const o = j as Record<string, unknown>;
  if (typeof o.version !== 'string') return 'its /v1/info has no "version"';
  if (!Array.isArray(o.series)) return 'its /v1/info has no "series" list';
  if (typeof o.interval_ms !== 'number') return 'its /v1/info has no "interval_ms"';
  return { hostname: typeof o.hostname === 'string' ? o.hostname : '', version: o.version };
}

export async function checkAgent(rawUrl: string, token: string, env: CheckEnv): Promise<CheckResult> {
  const f = env.fetchImpl ?? fetch;
  const timeoutMs = env.timeoutMs ?? 8000;
  let url: string;
  try {
    url = normalizeUrl(rawUrl);
  } catch (e) {
    return { kind: 'bad-url', message: `not a usable agent URL: ${(e as Error).message}` };
  }
  if (!token.trim()) return { kind: 'bad-token', status: 0, message: 'a token is needed: run `gpulse token` on the agent machine' };
  const mixed = mixedContentProblem(env.pageProtocol, url);
  let res: Response;
  try {
    res = await f(`${url}/v1/info`, { headers: { authorization: `Bearer ${token.trim()}` }, cache: 'no-store', signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    if (mixed) return { kind: 'mixed-content', message: `mixed content: ${mixed}` };
    if ((e as Error).name === 'TimeoutError')
      return { kind: 'unreachable', message: `unreachable: ${url} did not answer within ${Math.round(timeoutMs / 1000)} s` };
    // Reachable at all? An opaque no-cors answer means something listens there.
    const answered = await f(`${url}/healthz`, { mode: 'no-cors', cache: 'no-store', signal: AbortSignal.timeout(timeoutMs) }).then(
      () => true,
      () => false,
    );
    if (!answered)
      return { kind: 'unreachable', message: `unreachable: nothing answered at ${url} (is the agent running, and is the address and port right?)` };
    return {
      kind: 'blocked',
      message:
        `blocked by the browser: ${url} answers, but this page may not read it (CORS or the local-network permission). ` +
        `Allow "local network access" for this site; an agent running with --no-auth also needs --allow-origin ${globalThis.location?.origin ?? 'ORIGIN'}.`,
    };
  }
  if (res.status === 401 || res.status === 403)
    return { kind: 'bad-token', status: res.status, message: `bad token: the agent refused it (HTTP ${res.status}); copy it again with \`gpulse token\`` };
  const body = await res.text().catch(() => '');
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = json && typeof (json as { error?: unknown }).error === 'string' ? (json as { error: string }).error : res.statusText;
    return json === undefined
      ? { kind: 'not-agent', message: `not a gpulse agent: ${url}/v1/info answered HTTP ${res.status} without JSON` }
      : { kind: 'http-error', status: res.status, message: `the agent answered HTTP ${res.status}: ${err}` };
  }
  if (json === undefined) return { kind: 'not-agent', message: `not a gpulse agent: ${url}/v1/info did not answer JSON` };
  const shape = agentShape(json);
  if (typeof shape === 'string') return { kind: 'not-agent', message: `not a gpulse agent: ${shape}` };
  return { kind: 'ok', url, ...shape, info: json };
}
