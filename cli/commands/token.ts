/** `gpulse token [--rotate]`: prints the token (creating it when missing) or rotates it. Rotation writes a new 0600 file; running agents pick it up on restart. */
import type { ParsedValue } from '../args.ts';
import { defaultTokenFile } from '../paths.ts';
import { loadToken, newToken, writeToken } from '../token.ts';

export function token(flags: Record<string, ParsedValue>) {
  const file = (flags['token-file'] as string | undefined) ?? defaultTokenFile();
  if (flags.rotate) {
    if (process.env.GPULSE_TOKEN) throw new Error('GPULSE_TOKEN is set: rotate it where it is defined');
    const t = newToken();
    writeToken(file, t);
    process.stdout.write(`${t}\n`);
    process.stderr.write(`gpulse: new token written to ${file}; restart the agent and re-pair browsers\n`);
    return;
  }
  process.stdout.write(`${loadToken(file, process.env, { create: true }).token}\n`);
}
