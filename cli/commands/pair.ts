/** `gpulse pair`: the pairing link (and a terminal QR code) that adds this agent to the PWA. */
import type { ParsedValue } from '../args.ts';
import { loadToken } from '../token.ts';
import { qrLines } from '../qr.ts';

export function pairLink(pwaUrl: string, agentUrl: string, token: string): string {
  return `${pwaUrl.replace(/\/$/, '')}/#/add?url=${encodeURIComponent(agentUrl)}&token=${encodeURIComponent(token)}`;
}

export function pair(flags: Record<string, ParsedValue>) {
  const { token } = loadToken((flags['token-file'] as string) ?? null);
  const agentUrl = (flags.url as string | undefined) ?? `http://${(flags.bind as string) ?? '127.0.0.1'}:${(flags.port as number) ?? 9740}`;
  const link = pairLink(agentUrl, agentUrl, token);
  process.stdout.write(`${link}\n`);
  if (process.stdout.isTTY) process.stdout.write(qrLines(link).join('\n') + '\n');
}
