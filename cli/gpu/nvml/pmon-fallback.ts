/**
 * Per-process utilization from `nvidia-smi pmon` for the GPUs whose driver has no
 * nvmlDeviceGetProcessUtilization (NOT_SUPPORTED): issue 12's "nvidia-smi's process queries as
 * fallback". Runs in the slow NVML worker, one pmon sample per round for all such GPUs. After a
 * failure (no nvidia-smi, a driver whose nvidia-smi has no pmon) it waits `retryMs` before trying
 * again, so a round does not spawn a failing command every few seconds.
 */
import type { ProcessUtil } from '../../../shared/nvml-messages.ts';
import { readPmon } from '../nvidia-smi.ts';

export class PmonFallback {
  #retryAt = -Infinity;

  constructor(
    readonly read: () => Promise<Map<number, ProcessUtil[]> | null> = readPmon,
    readonly retryMs = 300_000,
    readonly now: () => number = Date.now,
  ) {}

  /**
   * Fills `putil[i]` for each device i that `unsupported(i)` names, from one pmon sample keyed by
   * `indexOf(i)` (the GPU index nvidia-smi shows). A process pmon does not list was idle (0 %), as
   * with NVML's own samples; when pmon gives nothing (or output without its header row), those entries
   * stay null (unknown).
   */
  async fill(putil: (ProcessUtil[] | null)[], unsupported: (i: number) => boolean, indexOf: (i: number) => number): Promise<void> {
    const want = putil.map((u, i) => u === null && unsupported(i));
    if (!want.includes(true) || this.now() < this.#retryAt) return;
    const byGpu = await this.read();
    if (!byGpu) {
      this.#retryAt = this.now() + this.retryMs;
      return;
    }
    want.forEach((w, i) => {
      if (w) putil[i] = byGpu.get(indexOf(i)) ?? [];
    });
  }
}
