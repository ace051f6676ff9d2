/**
 * The whole tensor at a glance beside its heatmap: one cell per overview tile in the colour of the
 * tile's worst element (NaN/Inf, off grid, code out of range, FP32 artifact shaded by its deviation, exact), with the
 * heatmap's screen outlined; choosing a tile moves the heatmap to the tile's worst element. A compared
 * pair's overview (measure `delta`) shades each tile by its largest |Δ| instead, equal tiles neutral.
 */
import { el, themedCanvas } from './components';
import { fmt } from './vscodeApi';
import { palette, fillRect } from './heatmap';
import { ELEMENT_CLASSES, NO_CLASS } from '../src/view/protocol';
import type { Overview } from '../src/view/protocol';

const clampPx = (room: number, tiles: number): number => Math.max(1, Math.min(12, Math.floor(room / tiles)));

export interface OverviewMap {
  root: HTMLElement;
  /** The heatmap's screen moved: outline these picture rows and columns. */
  showViewport(rows: [number, number], cols: [number, number]): void;
}

/** Tiles a pair's overview marks wider than they are, when this few differ: one differing element among millions is seen. */
const MARKED_DIFFERING_TILES = 64;

export function overviewMap(o: Overview, jump: (position: number) => void, width = 120, height = 360, unit = ''): OverviewMap {
  const tw = clampPx(width, o.tileCols),
    th = clampPx(height, o.tileRows);
  const delta = o.measure === 'delta';
  let top = 0;
  for (let t = 0; t < o.peak.length; t++) if (Number.isFinite(o.peak[t]) && o.peak[t] > top) top = o.peak[t];
  const problemTiles = o.problems.reduce((a, p) => a + (p > 0 ? 1 : 0), 0),
    problems = o.problems.reduce((a, p) => a + p, 0);
  let view: { rows: [number, number]; cols: [number, number] } | undefined;
  const canvas = themedCanvas(o.tileCols * tw, o.tileRows * th, `overview of all ${o.n} elements in ${o.tileRows} × ${o.tileCols} tiles`, (ctx, colour) => {
    const P = palette();
    const img = ctx.createImageData(ctx.canvas.width, ctx.canvas.height);
    for (let t = 0; t < o.worst.length; t++) {
      const c = o.worst[t],
        cls = c === NO_CLASS ? null : ELEMENT_CLASSES[c];
      const strength = top > 0 ? o.peak[t] / top : 0;
      const [px, alpha] = delta
        ? // A pair: equal tiles as the Δ heatmap's equal cells, any difference visible (0.3), the largest full strength.
          o.peak[t] === 0
          ? [P.onGrid, 0.35]
          : !Number.isFinite(o.peak[t])
            ? [P.nonFinite, 1]
            : [P.off, 0.3 + 0.7 * Math.min(1, strength)]
        : cls === 'non_finite'
          ? [P.nonFinite, 1]
          : cls === 'off_grid'
            ? [P.off, 1]
            : cls === 'out_of_range'
              ? [P.outOfRange, 1]
              : cls === 'fp32_artifact'
                ? [P.artifact, 0.35 + 0.65 * strength]
                : cls === 'exact'
                  ? [P.onGrid, 0.35]
                  : cls === 'code'
                    ? [P.artifact, 0.15 + 0.85 * strength] // codes: shaded by |code|
                    : [P.value, 0.08 + 0.8 * strength]; // values on no grid: shaded by |value|
      fillRect(img, (t % o.tileCols) * tw, Math.floor(t / o.tileCols) * th, tw, th, px, alpha, P.bg);
    }
    ctx.putImageData(img, 0, 0);
    // A tile with a problem may be a pixel or two: mark it at least 5 px wide so one NaN in 268M is seen.
    for (let t = 0; t < o.problems.length; t++) {
      if (!o.problems[t] || (delta && problemTiles > MARKED_DIFFERING_TILES)) continue;
      const cls = ELEMENT_CLASSES[o.worst[t]];
      ctx.fillStyle = delta
        ? colour('--vscode-charts-red', '#f14c4c')
        : cls === 'non_finite'
          ? colour('--vscode-charts-purple', '#b180d7')
          : cls === 'out_of_range'
            ? colour('--vscode-charts-orange', '#d18616')
            : colour('--vscode-charts-red', '#f14c4c');
      const cx = (t % o.tileCols) * tw + tw / 2,
        cy = Math.floor(t / o.tileCols) * th + th / 2;
      const side = Math.max(5, tw, th);
      ctx.fillRect(Math.max(0, cx - side / 2), Math.max(0, cy - side / 2), side, side);
    }
    if (view) {
      const r0 = Math.floor(view.rows[0] / o.rowsPerTile),
        r1 = Math.floor(view.rows[1] / o.rowsPerTile),
        c0 = Math.floor(view.cols[0] / o.colsPerTile),
        c1 = Math.floor(view.cols[1] / o.colsPerTile);
      ctx.strokeStyle = colour('--vscode-focusBorder', '#007fd4');
      ctx.lineWidth = 1;
      ctx.strokeRect(c0 * tw + 0.5, r0 * th + 0.5, Math.max(2, (c1 - c0 + 1) * tw - 1), Math.max(2, (r1 - r0 + 1) * th - 1));
    }
  });
  canvas.classList.add('overview-canvas');
  canvas.dataset.problemTiles = String(problemTiles);
  const tileAt = (e: MouseEvent): number | null => {
    const r = canvas.getBoundingClientRect();
    const tc = Math.floor((e.clientX - r.left) / tw),
      tr = Math.floor((e.clientY - r.top) / th);
    return tc >= 0 && tc < o.tileCols && tr >= 0 && tr < o.tileRows ? tr * o.tileCols + tc : null;
  };
  const what = o.measure === 'deviation' ? '|x/s − q|' : o.measure === 'delta' ? '|Δ|' : '|value|';
  canvas.addEventListener('mousemove', (e) => {
    const t = tileAt(e);
    if (t === null) return;
    const tr = Math.floor(t / o.tileCols),
      tc = t % o.tileCols;
    const c = o.worst[t];
    const where = `rows ${tr * o.rowsPerTile}–${Math.min(o.rows, (tr + 1) * o.rowsPerTile) - 1}, columns ${tc * o.colsPerTile}–${Math.min(o.cols, (tc + 1) * o.colsPerTile) - 1}: `;
    canvas.title = delta
      ? `${where}${o.problems[t]} elements differ, largest ${what} ${fmt(o.peak[t])}${unit}; click to go there and explain both values`
      : `${where}worst ${c === NO_CLASS ? 'value' : ELEMENT_CLASSES[c].replace('_', ' ')}, ${o.problems[t]} problems (off grid, NaN/Inf or out of range), largest ${what} ${fmt(o.peak[t])}; click to go there`;
  });
  canvas.addEventListener('click', (e) => {
    const t = tileAt(e);
    if (t !== null && o.at[t] >= 0) jump(o.at[t]);
  });
  const tiling = `${o.rows} × ${o.cols} in ${o.tileRows} × ${o.tileCols} tiles of ${o.rowsPerTile} × ${o.colsPerTile}`;
  const caption = el(
    'figcaption',
    {},
    delta
      ? `whole pair, ${tiling}: ` +
          (problems ? `${problems} elements differ in ${problemTiles} tiles, largest ${what} ${fmt(top)}${unit}` : 'no element differs') +
          '; click a tile to go to its largest difference'
      : `whole tensor, ${tiling}: ` +
          (problems ? `${problems} off grid, NaN/Inf or out of range in ${problemTiles} tiles` : 'no value off grid, none NaN/Inf, none out of range') +
          '; click a tile to go to its worst element',
  );
  return {
    root: el('figure', { class: 'overview' }, canvas, caption),
    showViewport(rows, cols) {
      view = { rows, cols };
      canvas.repaint();
    },
  };
}
