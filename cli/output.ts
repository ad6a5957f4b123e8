/**
 * Writing a command's output so that all of it arrives, or the command fails.
 *
 * `process.stdout.write(big); process.exit(0)` loses whatever the pipe had not taken yet (Bun cut
 * `gpulse export | cat` at 128 KiB, with exit 0). writeAll() hands the data over in pieces, waits
 * for each to be accepted (backpressure), and rejects on a write error.
 *
 * Exit status on errors, decided like standard Unix tools:
 *  - EPIPE (the reader went away, as in `gpulse export | head`): exit 141 without a message, what a
 *    shell reports for `cat big | head` (128 + SIGPIPE). The reader already has what it wanted;
 *    `set -o pipefail` scripts see the same status as with cat.
 *  - anything else (ENOSPC on a full disk, EIO, EBADF): a message naming the error, exit 1.
 */

/** Ends a command with an exit status (and a message, unless quiet). main.ts turns it into the exit. */
export class ExitError extends Error {
  override name = 'ExitError';
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
  }
}

export const SIGPIPE_STATUS = 141;
const PIECE = 64 * 1024;

type Out = Pick<NodeJS.WritableStream, 'write' | 'on' | 'off'>;

/** Writes `data` to `out` in 64 KiB pieces, each accepted before the next; rejects with an ExitError. */
export async function writeAll(data: string | Uint8Array, out: Out = process.stdout, what = 'stdout'): Promise<void> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let failed: Error | null = null;
  const onError = (e: Error) => {
    failed ??= e;
  };
  out.on('error', onError);
  try {
    for (let o = 0; o < bytes.length && !failed; o += PIECE) {
      const piece = bytes.subarray(o, Math.min(o + PIECE, bytes.length));
      await new Promise<void>((resolve) => {
        out.write(piece, (e?: Error | null) => {
          if (e) failed ??= e;
          resolve();
        });
      });
    }
  } finally {
    out.off('error', onError);
  }
  if (failed) throw toExit(failed, what);
}

export function toExit(e: Error, what: string): ExitError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EPIPE') return new ExitError(SIGPIPE_STATUS);
  return new ExitError(1, `cannot write to ${what}: ${code ? `${code} (${e.message.replace(/^\w+:\s*/, '')})` : e.message}`);
}
