/**
 * Ollama's running models as series, not only in the snapshot: per model its VRAM (`size_vram`)
 * and the share of it on the GPU (`size_vram / size`, the processor split `ollama ps` shows as
 * "100% GPU" or "48%/52% CPU/GPU"). A model that unloads reads null, then leaves the catalog.
 */
import type { WorkloadSeries } from '../../shared/catalog.ts';
import { ollamaKey } from '../../shared/series-key.ts';
import type { OllamaModel } from '../../shared/wire.ts';
import { EphemeralSeries } from '../catalog/ephemeral.ts';
import type { SeriesSource } from '../catalog/source.ts';

/** % of a model's weights in GPU memory; null when Ollama did not say. */
export const gpuShare = (m: OllamaModel): number => (m.size && m.vram !== null ? Math.min(100, (m.vram / m.size) * 100) : NaN);

export class OllamaSeries implements SeriesSource {
  readonly series: EphemeralSeries<WorkloadSeries>;
  #last: unknown = null;

  constructor(
    readonly models: () => readonly OllamaModel[],
    retireMs: number,
    max = 64,
  ) {
    this.series = new EphemeralSeries(retireMs, max);
  }

  get version(): number {
    return this.series.version;
  }

  prepare(now: number) {
    const list = this.models();
    // The poller replaces the list when Ollama answers (every 5 s): nothing to do between answers.
    if (list !== this.#last) {
      this.#last = list;
      this.series.sync(
        now,
        list.flatMap((m): [WorkloadSeries, number][] => [
          [
            { key: ollamaKey(m.name, 'vram'), label: `Ollama ${m.name} VRAM`, unit: 'B', scope: 'workload', workload: 'ollama', model: m.name, metric: 'vram' },
            m.vram ?? NaN,
          ],
          [
            {
              key: ollamaKey(m.name, 'gpu_share'),
              label: `Ollama ${m.name} on GPU`,
              unit: '%',
              scope: 'workload',
              workload: 'ollama',
              model: m.name,
              metric: 'gpu_share',
            },
            gpuShare(m),
          ],
        ]),
      );
    }
    this.series.prepare(now);
  }

  defs(): readonly WorkloadSeries[] {
    return this.series.defs();
  }
  fill(out: Float64Array, at: number) {
    this.series.fill(out, at);
  }
}
