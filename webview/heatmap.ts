/**
 * Virtualized canvas heatmap of grid deviation: only the visible rows are painted, from pages of
 * values fetched on demand, so a multi-million-element tensor paints immediately and scrolls smoothly.
 */
import { ELEMENT_CLASSES, MAX_PAGE as PAGE, BLOCK_COLS, BLOCK_ROWS } from '../src/view/protocol';
import type { Page, PageBlock, ElementClassName } from '../src/view/protocol';
import { onThemeChange } from './components';

export interface HeatmapHooks {
  /** Positions [start, start + count), or, for a picture wider than BLOCK_COLS, the block of it (start is its first position). */
  requestPage(start: number, count: number, block?: PageBlock): void;
  hover(index: number | null, px: number, py: number): void;
  click(index: number): void;
  /** Called when the user scrolls this heatmap (the diff view keeps its pair in step). */
  scrolled?(top: number, left: number): void;
  /** The picture rows and columns on screen changed (the overview draws where the heatmap is). */
  viewport?(rows: [first: number, last: number], cols: [first: number, last: number]): void;
  /** Elements to mark whatever their class (the diff view: values that differ from the other run). */
  marked?(index: number): boolean;
  /** The keyboard cursor moved to `index` (arrows, Home/End, a jump). */
  cursorMoved?(index: number): void;
  /** A key the heatmap does not handle itself (the viewer's next/previous problem). */
  key?(e: KeyboardEvent): void;
  /** Colours element i instead of its grid class (the diff view's Δ heatmap): a palette entry and its strength 0–1. */
  shade?(index: number): { colour: Shade; alpha: number } | undefined;
}

/** The palette a heatmap paints with (theme colours, read at every paint). */
export type Shade = 'exact' | 'onGrid' | 'value' | 'artifact' | 'off' | 'outOfRange' | 'nonFinite' | 'mark' | 'pending';

/** What the rows and the columns of the picture are (`channel`, `time`), for the axis caption. */
export interface AxisLabels {
  row: string;
  col: string;
}

/** Pages kept per heatmap (about 1.4 MB each with q, deviation and class): scrolling through a 1 GiB tensor stays bounded. */
const KEPT_PAGES = 48;

/** Cells are square and at most this many pixels: a [1536, 1, 4] weight is 4 narrow columns, not 4 giant cells. */
const MAX_CELL = 12;
/** ...and at least this many: a picture wider than the box scrolls sideways instead of shrinking to unreadable 1-px cells. */
const MIN_CELL = 4;
/** A vector (a picture of one row) wraps at this many columns instead. */
const WRAP_VECTOR = 512;

/** The heatmap's colours as RGB, from the theme's variables (read at every paint, so a theme switch shows). */
export function palette(): Record<Shade | 'bg', number[]> {
  const css = getComputedStyle(document.body);
  const rgb = (name: string, fallback: string): number[] => {
    const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(css.getPropertyValue(name).trim() || fallback);
    return m ? [1, 2, 3].map((i) => parseInt(m[i], 16)) : [128, 128, 128];
  };
  return {
    bg: rgb('--vscode-editor-background', '#1e1e1e'),
    exact: rgb('--vscode-editorWidget-background', '#2d2d2d'),
    onGrid: rgb('--vscode-charts-green', '#89d185'),
    value: rgb('--vscode-foreground', '#cccccc'),
    artifact: rgb('--vscode-charts-blue', '#3794ff'),
    off: rgb('--vscode-charts-red', '#f14c4c'),
    outOfRange: rgb('--vscode-charts-orange', '#d18616'),
    nonFinite: rgb('--vscode-charts-purple', '#b180d7'),
    pending: rgb('--vscode-editorLineNumber-foreground', '#858585'),
    mark: rgb('--vscode-charts-yellow', '#cca700'),
  };
}

/** Paints the rectangle (x0, y0, w, h) of `img` in `rgb` blended over `bg` at `alpha`, clipped to the image. */
export function fillRect(img: ImageData, x0: number, y0: number, w: number, h: number, rgb: number[], alpha: number, bg: number[]): void {
  const r = rgb[0] * alpha + bg[0] * (1 - alpha),
    g = rgb[1] * alpha + bg[1] * (1 - alpha),
    b = rgb[2] * alpha + bg[2] * (1 - alpha);
  for (let y = y0; y < Math.min(img.height, y0 + h); y++)
    for (let x = x0; x < Math.min(img.width, x0 + w); x++) {
      const o = (y * img.width + x) * 4;
      img.data[o] = r;
      img.data[o + 1] = g;
      img.data[o + 2] = b;
      img.data[o + 3] = 255;
    }
}

export class Heatmap {
  readonly root: HTMLElement;
  private canvas = document.createElement('canvas');
  private scroller = document.createElement('div');
  private spacer = document.createElement('div');
  private pages = new Map<number, Page>();
  private requested = new Set<number>();
  private cell: number;
  private rows: number;
  private maxDev = 0;
  private maxAbs = 0;
  // Where scrollTo last put this heatmap: a scroll event that lands there is that move, not the user's.
  private followedTo = '';
  private cursorAt: number | null = null;
  private axis = document.createElement('p');
  private readonly wantedCols: number;
  // A picture wider than BLOCK_COLS is paged in blocks (BLOCK_ROWS × BLOCK_COLS), keyed row-major over the blocks.
  private readonly blocked: boolean;
  private readonly blockCols: number;

  constructor(
    private n: number,
    private cols: number,
    private hooks: HeatmapHooks,
    private width = 720,
    private height = 360,
    private labels: AxisLabels = { row: 'row', col: 'column' },
  ) {
    this.wantedCols = Math.max(1, cols);
    this.cols = n <= this.wantedCols ? Math.min(this.wantedCols, WRAP_VECTOR) : this.wantedCols;
    this.cell = Math.max(MIN_CELL, Math.min(MAX_CELL, Math.floor(width / this.cols)));
    this.rows = Math.ceil(n / this.cols);
    this.blockCols = Math.ceil(this.cols / BLOCK_COLS);
    this.blocked = this.cols > BLOCK_COLS;
    this.root = document.createElement('div');
    this.root.className = 'heatmap';
    this.scroller.className = 'heatmap-scroller';
    const sideways = this.cols * this.cell > width ? 16 : 0; // room for the horizontal scroll bar
    this.scroller.style.height = `${Math.max(this.cell, Math.min(height, this.rows * this.cell)) + sideways}px`; // a small tensor gets a small box, not an empty one
    this.scroller.style.width = `${Math.min(width, this.cols * this.cell) + 16}px`;
    this.scroller.tabIndex = 0;
    this.scroller.setAttribute('role', 'img');
    this.scroller.setAttribute('aria-label', `grid deviation heatmap, ${n} elements, ${this.cols} per row`);
    this.spacer.style.height = `${this.rows * this.cell}px`;
    this.spacer.style.width = `${this.cols * this.cell}px`;
    this.canvas.width = Math.min(width, this.cols * this.cell);
    this.canvas.height = Math.min(height, this.rows * this.cell);
    this.canvas.className = 'heatmap-canvas';
    this.scroller.append(this.canvas, this.spacer);
    this.root.append(this.scroller);
    this.scroller.addEventListener('scroll', () => {
      this.paint();
      const at = `${this.scroller.scrollTop},${this.scroller.scrollLeft}`;
      if (at === this.followedTo) this.followedTo = '';
      else this.hooks.scrolled?.(this.scroller.scrollTop, this.scroller.scrollLeft);
    });
    // The keyboard cursor: arrows move it by an element or a row, PageUp/PageDown by a screen,
    // Home/End to the ends; Enter or Space asks for the element's explanation (as a click does).
    this.scroller.addEventListener('keydown', (e) => {
      const screen = Math.max(1, Math.floor(height / this.cell)) * this.cols;
      const at = this.cursorAt ?? this.firstVisible();
      const moves: Record<string, number> = {
        ArrowRight: at + 1,
        ArrowLeft: at - 1,
        ArrowDown: at + this.cols,
        ArrowUp: at - this.cols,
        PageDown: at + screen,
        PageUp: at - screen,
        Home: 0,
        End: this.n - 1,
      };
      if (e.key in moves && this.n > 0) {
        this.jumpTo(Math.max(0, Math.min(this.n - 1, moves[e.key])));
        e.preventDefault();
      } else if ((e.key === 'Enter' || e.key === ' ') && this.cursorAt !== null) {
        this.hooks.click(this.cursorAt);
        e.preventDefault();
      } else this.hooks.key?.(e);
    });
    this.scroller.addEventListener('focus', () => {
      if (this.cursorAt === null && this.n > 0) this.jumpTo(this.firstVisible());
    });
    this.axis.className = 'heatmap-axis';
    this.root.prepend(this.axis);
    // Paint again in the new colours on a theme switch; a heatmap replaced by another (a new tensor,
    // pair or slice) stops listening once it is out of the page.
    onThemeChange(this.root, () => this.paint());
    this.canvas.addEventListener('mousemove', (e) => this.hooks.hover(this.indexAt(e), e.clientX, e.clientY));
    this.canvas.addEventListener('mouseleave', () => this.hooks.hover(null, 0, 0));
    this.canvas.addEventListener('click', (e) => {
      const i = this.indexAt(e);
      if (i !== null) this.hooks.click(i);
    });
    this.paint();
  }

  /** The keyboard cursor's element, if it has one. */
  get cursor(): number | null {
    return this.cursorAt;
  }

  /** The scroll offset (kept in the webview's state across tab switches). */
  get scrollTop(): number {
    return this.scroller.scrollTop;
  }

  get scrollLeft(): number {
    return this.scroller.scrollLeft;
  }

  /** The picture's columns (after a vector's wrap): position i is at row ⌊i / columns⌋. */
  get columns(): number {
    return this.cols;
  }

  /** Moves the cursor to element `i`, scrolling its row into view (centred if it was off screen), and focuses the heatmap. */
  jumpTo(i: number, focus = true): void {
    if (!(i >= 0 && i < this.n)) return;
    this.cursorAt = i;
    const rowTop = Math.floor(i / this.cols) * this.cell,
      view = this.canvas.height;
    const colLeft = (i % this.cols) * this.cell,
      viewW = this.canvas.width;
    const top = this.scroller.scrollTop,
      left = this.scroller.scrollLeft;
    // Its scroll event reports the move through `scrolled`, as a user's scroll does.
    if (rowTop < top || rowTop + this.cell > top + view) this.scroller.scrollTop = Math.max(0, rowTop - Math.floor(view / 2));
    if (colLeft < left || colLeft + this.cell > left + viewW) this.scroller.scrollLeft = Math.max(0, colLeft - Math.floor(viewW / 2));
    if (focus && document.activeElement !== this.scroller) this.scroller.focus({ preventScroll: true });
    this.paint();
    this.hooks.cursorMoved?.(i);
  }

  private firstVisible(): number {
    return Math.min(this.n - 1, Math.floor(this.scroller.scrollTop / this.cell) * this.cols + Math.floor(this.scroller.scrollLeft / this.cell));
  }

  /** Scrolls to `top` (and `left`) without reporting it back through `scrolled` (no echo between heatmaps kept in step). */
  scrollTo(top: number, left = this.scroller.scrollLeft): void {
    if (this.scroller.scrollTop === top && this.scroller.scrollLeft === left) return;
    this.scroller.scrollTop = top;
    this.scroller.scrollLeft = left;
    // Recorded as the browser clamped it, so the scroll event it causes is recognised.
    this.followedTo = `${this.scroller.scrollTop},${this.scroller.scrollLeft}`;
  }

  private indexAt(e: MouseEvent): number | null {
    const r = this.canvas.getBoundingClientRect();
    const col = Math.floor((e.clientX - r.left + this.scroller.scrollLeft) / this.cell);
    const row = Math.floor((e.clientY - r.top + this.scroller.scrollTop) / this.cell);
    const i = row * this.cols + col;
    return col >= 0 && col < this.cols && i >= 0 && i < this.n ? i : null;
  }

  /** The key of the page that holds position i. */
  private pageOf(i: number): number {
    if (!this.blocked) return Math.floor(i / PAGE);
    const row = Math.floor(i / this.cols);
    return Math.floor(row / BLOCK_ROWS) * this.blockCols + Math.floor((i - row * this.cols) / BLOCK_COLS);
  }

  element(i: number): { value: number; q?: number; dev?: number; cls?: ElementClassName; scale?: number } | undefined {
    const p = this.pages.get(this.pageOf(i));
    if (!p) return undefined;
    let k = i - p.start;
    if (p.block) {
      const row = Math.floor(i / this.cols);
      k = (row - p.block.row) * p.block.cols + (i - row * this.cols - p.block.col);
    }
    return { value: p.values[k], q: p.q?.[k], dev: p.dev?.[k], cls: p.cls ? ELEMENT_CLASSES[p.cls[k]] : undefined, scale: p.scales?.[k] };
  }

  addPage(p: Page): void {
    const pg = this.pageOf(p.start);
    this.pages.set(pg, p);
    if (this.pages.size > KEPT_PAGES) {
      // Drop the page farthest from the one in view; it is asked for again if the user scrolls back.
      const here = this.pageOf(this.firstVisible());
      let far = pg,
        dist = -1;
      for (const k of this.pages.keys())
        if (Math.abs(k - here) > dist && k !== pg) {
          far = k;
          dist = Math.abs(k - here);
        }
      this.pages.delete(far);
      this.requested.delete(far);
    }
    if (p.dev) for (let k = 0; k < p.dev.length; k++) if (p.dev[k] > this.maxDev) this.maxDev = p.dev[k];
    for (let k = 0; k < p.values.length; k++) {
      const a = Math.abs(p.values[k]);
      if (a > this.maxAbs && a !== Infinity) this.maxAbs = a;
    }
    this.paint();
  }

  /** Paints again (the diff view, when the other run's page arrives and changes what is marked). */
  repaint(): void {
    this.paint();
  }

  private paint(): void {
    // Keep the canvas in view: it sits at the scroll offset inside the scroller.
    this.canvas.style.transform = `translate(${this.scroller.scrollLeft}px, ${this.scroller.scrollTop}px)`;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const firstRow = Math.floor(this.scroller.scrollTop / this.cell);
    const visibleRows = Math.ceil(this.canvas.height / this.cell) + 1;
    const firstCol = Math.floor(this.scroller.scrollLeft / this.cell);
    const visibleCols = Math.min(this.cols - firstCol, Math.ceil(this.canvas.width / this.cell) + 1);
    // The pages that hold the cells on screen: runs of positions, or the blocks the screen overlaps.
    const lastVisibleRow = Math.min(this.rows, firstRow + visibleRows) - 1;
    if (this.blocked) {
      for (let br = Math.floor(firstRow / BLOCK_ROWS); br <= Math.floor(lastVisibleRow / BLOCK_ROWS); br++)
        for (let bc = Math.floor(firstCol / BLOCK_COLS); bc <= Math.floor((firstCol + visibleCols - 1) / BLOCK_COLS); bc++) {
          const pg = br * this.blockCols + bc;
          if (this.pages.has(pg) || this.requested.has(pg)) continue;
          this.requested.add(pg);
          const block: PageBlock = {
            row: br * BLOCK_ROWS,
            col: bc * BLOCK_COLS,
            rows: Math.min(BLOCK_ROWS, this.rows - br * BLOCK_ROWS),
            cols: Math.min(BLOCK_COLS, this.cols - bc * BLOCK_COLS),
            pictureCols: this.cols,
          };
          this.hooks.requestPage(block.row * this.cols + block.col, block.rows * block.cols, block);
        }
    } else {
      const first = firstRow * this.cols,
        last = Math.min(this.n, (lastVisibleRow + 1) * this.cols);
      for (let pg = Math.floor(first / PAGE); pg * PAGE < last; pg++) {
        if (!this.pages.has(pg) && !this.requested.has(pg)) {
          this.requested.add(pg);
          this.hooks.requestPage(pg * PAGE, PAGE);
        }
      }
    }
    const P = palette();
    const color = (name: string, fallback: string): string => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
    const img = ctx.createImageData(this.canvas.width, this.canvas.height);
    let pendingCells = 0;
    for (let r = 0; r < visibleRows; r++) {
      for (let c = 0; c < visibleCols; c++) {
        const i = (firstRow + r) * this.cols + firstCol + c;
        let px = P.bg;
        let alpha = 1;
        if (i < this.n) {
          const e = this.element(i);
          if (!e && r * this.cell < this.canvas.height) pendingCells++;
          const shaded = e && this.hooks.shade?.(i);
          if (!e) {
            px = P.pending;
            alpha = 0.25;
          } else if (shaded) {
            px = P[shaded.colour];
            alpha = shaded.alpha;
          } else if (this.hooks.marked?.(i)) px = P.mark;
          else if (e.cls === 'off_grid') px = P.off;
          else if (e.cls === 'out_of_range') px = P.outOfRange;
          else if (e.cls === 'fp32_artifact') {
            px = P.artifact;
            alpha = 0.35 + 0.65 * (this.maxDev ? (e.dev ?? 0) / this.maxDev : 1);
          } else if (e.cls === 'non_finite') px = P.nonFinite;
          else if (e.cls === 'code') {
            px = P.artifact;
            alpha = 0.15 + 0.85 * Math.min(1, Math.abs(e.value) / 128);
          } else if (e.cls === 'exact') {
            // On the grid: green, shaded by |q| so a tensor wholly on its grid still shows its structure.
            px = P.onGrid;
            alpha = 0.12 + 0.5 * Math.min(1, Math.abs(e.q ?? 0) / 128);
          } else if (!e.cls) {
            // Judged on no grid: the values themselves, shaded by |value|.
            px = Number.isFinite(e.value) ? P.value : P.nonFinite;
            alpha = Number.isFinite(e.value) ? 0.08 + 0.8 * (this.maxAbs ? Math.abs(e.value) / this.maxAbs : 0) : 1;
          } else px = P.exact;
        }
        fillRect(img, c * this.cell, r * this.cell, this.cell, this.cell, px, alpha, P.bg);
      }
    }
    ctx.putImageData(img, 0, 0);
    // Cells on screen still waiting for their page: 0 once a jump's screen is filled (the paint benchmark waits for it).
    this.scroller.dataset.pendingCells = String(pendingCells);
    // Where the picture sits on the canvas, for tests that read a cell's pixels.
    Object.assign(this.canvas.dataset, { firstRow: String(firstRow), firstCol: String(firstCol), cell: String(this.cell), columns: String(this.cols) });
    if (this.cursorAt !== null) {
      const row = Math.floor(this.cursorAt / this.cols) - firstRow;
      if (row >= 0 && row < visibleRows) {
        ctx.strokeStyle = color('--vscode-focusBorder', '#007fd4');
        ctx.lineWidth = 2;
        const side = Math.max(this.cell, 6);
        const x = ((this.cursorAt % this.cols) - firstCol) * this.cell + this.cell / 2 - side / 2,
          y = row * this.cell + this.cell / 2 - side / 2;
        ctx.strokeRect(x, y, side, side);
      }
    }
    const lastRow = Math.min(this.rows, firstRow + Math.floor(this.canvas.height / this.cell)) - 1;
    const lastCol = Math.min(this.cols, firstCol + Math.floor(this.canvas.width / this.cell)) - 1;
    const wrapped = this.cols < this.wantedCols ? ` (the ${this.wantedCols} elements wrap over ${Math.ceil(this.wantedCols / this.cols)} lines)` : '';
    const colsShown =
      lastCol < this.cols - 1 || firstCol > 0 ? `columns ${firstCol}–${Math.max(firstCol, lastCol)} of ${this.cols}` : `columns 0–${this.cols - 1}`;
    this.axis.textContent = `rows ${firstRow}–${Math.max(firstRow, lastRow)} of ${this.rows} (${this.labels.row}) · ${colsShown} (${this.labels.col})${wrapped}`;
    this.hooks.viewport?.([firstRow, Math.max(firstRow, lastRow)], [firstCol, Math.max(firstCol, lastCol)]);
    // When real values first reach the screen (for the paint-time test and for anyone profiling).
    if (this.pages.size && !document.body.dataset.heatmapPaintedAt) document.body.dataset.heatmapPaintedAt = String(performance.now());
  }
}
