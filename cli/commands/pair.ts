/**
 * `gpulse pair`: the pairing link (and a terminal QR code) that adds this agent to the PWA. By
 * default the link opens the agent's own copy of the app; with --app URL (or GPULSE_APP_URL) it
 * opens a hosted copy instead, so every agent paired that way lands in the same app, beside the others.
 */
import { UsageError, type ParsedValue } from '../args.ts';
import { loadToken } from '../token.ts';
import { qrLines } from '../qr.ts';

export function pairLink(pwaUrl: string, agentUrl: string, token: string): string {
  const u = new URL(pwaUrl);
  // A folder named without its slash gets one ("/gpulse" → "/gpulse/"): the app's assets are relative to it.
  if (!u.pathname.endsWith('/') && !/\.[^/]*$/.test(u.pathname)) u.pathname += '/';
  u.hash = `/add?url=${encodeURIComponent(agentUrl)}&token=${encodeURIComponent(token)}`;
  return u.href;
}

export function pair(flags: Record<string, ParsedValue>) {
  const { token } = loadToken((flags['token-file'] as string) ?? null);
  const agentUrl = (flags.url as string | undefined) ?? `http://${(flags.bind as string) ?? '127.0.0.1'}:${(flags.port as number) ?? 9740}`;
  const app = (flags.app as string | undefined) ?? process.env.GPULSE_APP_URL ?? agentUrl;
  const link = pairLink(appBase(app), agentUrl, token);
  process.stdout.write(`${link}\n`);
  if (process.stdout.isTTY) process.stdout.write(qrLines(link).join('\n') + '\n');
}

/** The app's address without its fragment (a pasted "https://app/#/" works); only http(s). */
export function appBase(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`--app: not a URL: ${JSON.stringify(raw)} (e.g. https://gpulse.example.org/)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`--app: must start with http:// or https://, got ${JSON.stringify(raw)}`);
  u.hash = '';
  return u.href;
}
