#!/usr/bin/env bun
/** Entry point: argv → command. The only place that exits or prints usage. */
import { parseArgs, UsageError } from './args.ts';
import { ExitError } from './output.ts';
import { VERSION } from './version.ts';

const HELP = `gpulse ${VERSION} — GPU + host monitor

usage: gpulse [command] [flags]

commands:
  serve                 sample host + GPUs, keep history, serve the API and PWA (default)
  snapshot [--json]     take one sample and print it
  pair [--url URL] [--app APP_URL]   print the pairing link (and a QR code on a terminal); --app (or
                        GPULSE_APP_URL): a hosted copy of the app, so agents pair into one app
  token [--rotate]      print (or rotate) the access token
  mark LABEL [--url URL]   add an annotation to a running agent; mark [LABEL] --end ends the newest open one
  export [--url URL] [--since T] [--until T] [--format csv|json]
  push NAME=VALUE… [--label K=V]… | push --file FILE.prom   send your own metrics to a running agent
  accounting [--since 7d] [--until T] [--by user|container|job|command|pod|namespace] [--json]
  import FILE… [--skip-bad] [--host NAME]   load gpulse CSV/JSON or otto JSON exports (agent stopped; serve's --data-dir etc.)
  service               print a systemd unit for this binary

serve flags (also GPULSE_<FLAG>, e.g. GPULSE_PORT):
  --bind ADDR (127.0.0.1)  --port N (9740)  --hostname NAME  --interval DUR (1s, min 0.1s)
  --retention DUR (raw, 14d)  --retention-1m DUR (90d)  --retention-1h DUR (730d)  --max-disk SIZE (1GiB)
  --data-dir DIR  --no-persist  --token-file PATH  --no-auth (loopback only)
  --allow-origin ORIGIN  --allowed-host NAME  --tls-cert PATH --tls-key PATH  --client-ca PATH
  --client-capath DIR  --client-auth-required  --gpu auto|nvml|nvidia-smi|amd|none  --nvml-lib PATH
  --sysfs-root DIR  --host-root DIR (the host's / in a container)  --ollama URL|off  --metrics-public
  --textfile-dir DIR  --exec NAME='COMMAND' (repeatable)  --exec-interval DUR (10s)  --exec-timeout DUR (5s)
  --max-series N (1000)  --push-stale DUR (5m)  --max-processes N (64)
nvitop monitor-web spellings: -B/--bind-address, -H/--host, -p, --certfile, --keyfile, --client-cafile
durations: 500ms, 1s, 5m (or 5min), 2h, 7d (also sec, minutes, hours, days); a bare number is seconds
`;

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (argv.includes('--version') || argv.includes('-V')) {
    process.stdout.write(`gpulse ${VERSION}\n`);
    return 0;
  }
  try {
    const { command, positionals, flags } = parseArgs(argv);
    if (positionals.length && command !== 'mark' && command !== 'import' && command !== 'push')
      throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} for ${command}`);
    switch (command) {
      case 'serve':
        await (await import('./commands/serve.ts')).serve(flags);
        return -1;
      case 'snapshot':
        await (await import('./commands/snapshot.ts')).snapshot(flags);
        return 0;
      case 'pair':
        (await import('./commands/pair.ts')).pair(flags);
        return 0;
      case 'token':
        (await import('./commands/token.ts')).token(flags);
        return 0;
      case 'mark':
        await (await import('./commands/client.ts')).mark(positionals, flags);
        return 0;
      case 'export':
        await (await import('./commands/client.ts')).exportHistory(flags);
        return 0;
      case 'import':
        return await (await import('./commands/import.ts')).importCommand(positionals, flags);
      case 'push':
        await (await import('./commands/push.ts')).push(positionals, flags);
        return 0;
      case 'accounting':
        await (await import('./commands/accounting.ts')).accounting(flags);
        return 0;
      case 'service':
        (await import('./commands/service.ts')).service(flags);
        return 0;
    }
    return 0;
  } catch (e) {
    // An output error (see output.ts): EPIPE ends quietly with 141, anything else says what failed.
    if (e instanceof ExitError) {
      if (e.message) process.stderr.write(`gpulse: ${e.message}\n`);
      return e.code;
    }
    const err = e as Error;
    process.stderr.write(`gpulse: ${err.message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  // serve keeps running (-1); everything else exits with its code.
  if (code >= 0) process.exit(code);
}
