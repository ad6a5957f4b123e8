/**
 * Events on a chart: a dashed line at a point, a shaded band over a range (drawn on the canvas),
 * and their labels as HTML over the plot, laid out by layoutLabels so they never overlap: a
 * crowded run becomes one "N events" marker whose tooltip lists them.
 */
import type uPlot from 'uplot';
import { layoutLabels, type LabelIn } from '../lib/label-layout.ts';

export interface Mark {
  t: number;
  end?: number | null;
  label: string;
  color?: string | null;
  /** `host`, `gpu<N>`, or none for the whole endpoint (chart-plan.ts marksFor). */
  scope?: string | null;
}

const MAX_LABEL = 48;
const FONT_PX = 11;

export function drawMarks(u: uPlot, marks: readonly Mark[], fallbackColor: string) {
  const ctx = u.ctx;
  const { top, height } = u.bbox;
  const dpr = devicePixelRatio;
  ctx.save();
  for (const m of marks) {
    const x0 = Math.round(u.valToPos(m.t, 'x', true));
    if (!Number.isFinite(x0)) continue;
    const color = m.color || fallbackColor;
    if (m.end && m.end > m.t) {
      const x1 = Math.round(u.valToPos(m.end, 'x', true));
      // globalAlpha, not a suffix on the colour: annotation colours may be #rgb as well as #rrggbb.
      ctx.globalAlpha = 0.13;
      ctx.fillStyle = color;
      ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
      ctx.globalAlpha = 1;
    }
    ctx.strokeStyle = color;
    ctx.lineWidth = dpr;
    ctx.setLineDash([4 * dpr, 3 * dpr]);
    ctx.beginPath();
    ctx.moveTo(x0, top);
    ctx.lineTo(x0, top + height);
    ctx.stroke();
  }
  ctx.restore();
}

/** Rebuilds the label layer (a div inside uPlot's `.u-over`) for the current scale. */
export function placeLabels(u: uPlot, layer: HTMLElement, marks: readonly Mark[], fallbackColor: string) {
  // Nothing to place and nothing placed: the common case costs nothing.
  if (!marks.length && !layer.firstChild) return;
  // uPlot sets the overlay's width itself; reading clientWidth instead would force a layout per chart per draw.
  const width = parseFloat(u.over.style.width) || u.over.clientWidth;
  const [min, max] = [u.scales.x?.min ?? -Infinity, u.scales.x?.max ?? Infinity];
  const ctx = u.ctx;
  ctx.save();
  ctx.font = `${FONT_PX}px system-ui, sans-serif`;
  const items: LabelIn[] = [];
  for (const m of marks) {
    if ((m.end ?? m.t) < min || m.t > max) continue;
    // A band that began before the visible range is labelled at the left edge; an event at the
    // newest instant can sit a pixel past the right edge as the clock moves on.
    const x = Math.min(width, Math.max(0, u.valToPos(m.t, 'x')));
    const text = m.label.length > MAX_LABEL ? m.label.slice(0, MAX_LABEL - 1) + '…' : m.label;
    items.push({ x, width: ctx.measureText(text).width + 8, text: m.label, color: m.color || fallbackColor });
  }
  ctx.restore();
  layer.replaceChildren(
    ...layoutLabels(items, width, 6, 72).map((p) => {
      const el = document.createElement('span');
      el.style.left = `${p.x}px`;
      el.style.color = p.color;
      if (p.kind === 'label') {
        el.className = 'mark-label';
        el.textContent = p.text.length > MAX_LABEL ? p.text.slice(0, MAX_LABEL - 1) + '…' : p.text;
        el.title = p.text;
      } else {
        el.className = 'mark-cluster';
        el.textContent = `● ${p.texts.length} events`;
        el.title = p.texts.join('\n');
      }
      return el;
    }),
  );
}
