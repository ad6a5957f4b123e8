/**
 * Event labels on a chart without overlap: labels are laid left to right; a run of labels that
 * would touch collapses into one marker ("3 events") whose tooltip lists them. So ten events in a
 * minute read as a marker, not an illegible strip.
 */
export interface LabelIn {
  /** Left edge in CSS pixels inside the plot. */
  x: number;
  /** Rendered width of the label text in CSS pixels. */
  width: number;
  text: string;
  color: string;
}
export type Placed = { kind: 'label'; x: number; text: string; color: string } | { kind: 'cluster'; x: number; texts: string[]; color: string };

/** Labels with at least `gap` px between them; clusters where they would not fit. Clamped inside [0, plotWidth]. */
export function layoutLabels(items: readonly LabelIn[], plotWidth: number, gap = 6, clusterWidth = 24): Placed[] {
  const sorted = items.filter((i) => Number.isFinite(i.x) && i.x >= 0 && i.x <= plotWidth).sort((a, b) => a.x - b.x);
  const runs: LabelIn[][] = [];
  let end = -Infinity;
  for (const it of sorted) {
    const run = runs[runs.length - 1];
    // Where the label would start once kept inside the plot (one at the right edge moves left).
    const start = Math.max(0, Math.min(it.x, plotWidth - it.width));
    if (run && start < end + gap) {
      run.push(it);
      // A cluster is narrow: once collapsed, the run only reaches as far as its marker.
      end = Math.max(run[0]!.x + clusterWidth, it.x + clusterWidth);
    } else {
      runs.push([it]);
      end = start + it.width;
    }
  }
  return runs.map((run): Placed => {
    const first = run[0]!;
    if (run.length === 1) return { kind: 'label', x: Math.max(0, Math.min(first.x, plotWidth - first.width)), text: first.text, color: first.color };
    return { kind: 'cluster', x: Math.max(0, Math.min(first.x, plotWidth - clusterWidth)), texts: run.map((r) => r.text), color: first.color };
  });
}
