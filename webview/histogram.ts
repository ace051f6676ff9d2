import { el, themedCanvas } from './components';

/** Bar chart of integer codes (or |Δq|) on a canvas, theme-coloured. */
export function histogram(counts: number[], firstLabel: number, title: string, width = 720, height = 140): HTMLElement {
  const max = Math.max(1, ...counts);
  const canvas = themedCanvas(width, height, title, (ctx, colour) => {
    ctx.fillStyle = colour('--vscode-charts-blue', '#3794ff');
    const bw = width / Math.max(1, counts.length);
    counts.forEach((c, i) => {
      if (!c) return;
      // log scale: saturation spikes and rare codes stay visible together
      const h = Math.max(1, (Math.log1p(c) / Math.log1p(max)) * (height - 16));
      ctx.fillRect(i * bw, height - 14 - h, Math.max(1, bw - 0.5), h);
    });
    ctx.fillStyle = colour('--vscode-foreground', '#ccc');
    ctx.font = '10px sans-serif';
    ctx.fillText(String(firstLabel), 0, height - 2);
    const lastLabel = String(firstLabel + counts.length - 1);
    ctx.fillText(lastLabel, width - ctx.measureText(lastLabel).width, height - 2);
  });
  return el('figure', { class: 'histogram' }, canvas, el('figcaption', {}, title));
}
