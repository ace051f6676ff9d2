/**
 * Virtualized canvas heatmap of grid deviation: only the visible rows are painted, from pages of
 * values fetched on demand, so a multi-million-element tensor paints immediately and scrolls smoothly.
 */
import { ELEMENT_CLASSES, MAX_PAGE as PAGE } from '../src/view/protocol';
import type { Page, ElementClassName } from '../src/view/protocol';

export interface HeatmapHooks {
  requestPage(start: number, count: number): void;
  hover(index: number | null, px: number, py: number): void;
  click(index: number): void;
  /** Called when the user scrolls this heatmap (the diff view keeps its pair in step). */
  scrolled?(top: number): void;
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
export type Shade = 'exact' | 'artifact' | 'off' | 'nonFinite' | 'mark' | 'pending';

/** What the rows and the columns of the picture are (`channel`, `time`), for the axis caption. */
export interface AxisLabels {
  row: string;
  col: string;
}

/** Pages kept per heatmap (about 1.4 MB each with q, deviation and class): scrolling through a 1 GiB tensor stays bounded. */
const KEPT_PAGES = 48;

/** Cells are square and at most this many pixels: a [1536, 1, 4] weight is 4 narrow columns, not 4 giant cells. */
const MAX_CELL = 12;

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
  // Where scrollTo last put this heatmap: a scroll event that lands there is that move, not the user's.
  private followedTo = NaN;
  private cursorAt: number | null = null;
  private axis = document.createElement('p');
  private readonly wantedCols: number;

  constructor(
    private n: number,
    private cols: number,
    private hooks: HeatmapHooks,
    private width = 720,
    private height = 360,
    private labels: AxisLabels = { row: 'row', col: 'column' },
  ) {
    this.wantedCols = Math.max(1, cols);
    this.cols = Math.max(1, Math.min(cols, 512));
    this.cell = Math.max(1, Math.min(MAX_CELL, Math.floor(width / this.cols)));
    this.rows = Math.ceil(n / this.cols);
    this.root = document.createElement('div');
    this.root.className = 'heatmap';
    this.scroller.className = 'heatmap-scroller';
    this.scroller.style.height = `${Math.max(this.cell, Math.min(height, this.rows * this.cell))}px`; // a small tensor gets a small box, not an empty one
    this.scroller.style.width = `${this.cols * this.cell + 16}px`;
    this.scroller.tabIndex = 0;
    this.scroller.setAttribute('role', 'img');
    this.scroller.setAttribute('aria-label', `grid deviation heatmap, ${n} elements, ${this.cols} per row`);
    this.spacer.style.height = `${this.rows * this.cell}px`;
    this.canvas.width = this.cols * this.cell;
    this.canvas.height = Math.min(height, this.rows * this.cell);
    this.canvas.className = 'heatmap-canvas';
    this.scroller.append(this.canvas, this.spacer);
    this.root.append(this.scroller);
    this.scroller.addEventListener('scroll', () => {
      this.paint();
      const top = this.scroller.scrollTop;
      if (top === this.followedTo) this.followedTo = NaN;
      else this.hooks.scrolled?.(top);
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
    // VS Code swaps the body's theme class on a theme change: paint again in the new colours.
    // A heatmap replaced by another (a new tensor, pair or slice) stops listening once it is out of the page.
    const theme = new MutationObserver(() => (this.root.isConnected ? this.paint() : theme.disconnect()));
    theme.observe(document.body, { attributes: true, attributeFilter: ['class'] });
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

  /** Moves the cursor to element `i`, scrolling its row into view (centred if it was off screen), and focuses the heatmap. */
  jumpTo(i: number, focus = true): void {
    if (!(i >= 0 && i < this.n)) return;
    this.cursorAt = i;
    const rowTop = Math.floor(i / this.cols) * this.cell,
      view = this.canvas.height;
    const top = this.scroller.scrollTop;
    // Its scroll event reports the move through `scrolled`, as a user's scroll does.
    if (rowTop < top || rowTop + this.cell > top + view) this.scroller.scrollTop = Math.max(0, rowTop - Math.floor(view / 2));
    if (focus && document.activeElement !== this.scroller) this.scroller.focus({ preventScroll: true });
    this.paint();
    this.hooks.cursorMoved?.(i);
  }

  private firstVisible(): number {
    return Math.min(this.n - 1, Math.floor(this.scroller.scrollTop / this.cell) * this.cols);
  }

  /** Scrolls to `top` without reporting it back through `scrolled` (no echo between heatmaps kept in step). */
  scrollTo(top: number): void {
    if (this.scroller.scrollTop === top) return;
    this.scroller.scrollTop = top;
    // Recorded as the browser clamped it, so the scroll event it causes is recognised.
    this.followedTo = this.scroller.scrollTop;
  }

  private indexAt(e: MouseEvent): number | null {
    const r = this.canvas.getBoundingClientRect();
    const col = Math.floor((e.clientX - r.left) / this.cell);
    const row = Math.floor((e.clientY - r.top + this.scroller.scrollTop) / this.cell);
    const i = row * this.cols + col;
    return col >= 0 && col < this.cols && i >= 0 && i < this.n ? i : null;
  }

  element(i: number): { value: number; q?: number; dev?: number; cls?: ElementClassName } | undefined {
    const p = this.pages.get(Math.floor(i / PAGE));
    if (!p) return undefined;
    const k = i - p.start;
    return { value: p.values[k], q: p.q?.[k], dev: p.dev?.[k], cls: p.cls ? ELEMENT_CLASSES[p.cls[k]] : undefined };
  }

  addPage(p: Page): void {
    const pg = Math.floor(p.start / PAGE);
    this.pages.set(pg, p);
    if (this.pages.size > KEPT_PAGES) {
      // Drop the page farthest from the one in view; it is asked for again if the user scrolls back.
      const here = Math.floor(this.firstVisible() / PAGE);
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
    this.paint();
  }

  /** Paints again (the diff view, when the other run's page arrives and changes what is marked). */
  repaint(): void {
    this.paint();
  }

  private paint(): void {
    // Keep the canvas in view: it sits at the scroll offset inside the scroller.
    this.canvas.style.transform = `translateY(${this.scroller.scrollTop}px)`;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const firstRow = Math.floor(this.scroller.scrollTop / this.cell);
    const visibleRows = Math.ceil(this.canvas.height / this.cell) + 1;
    const first = firstRow * this.cols,
      last = Math.min(this.n, (firstRow + visibleRows) * this.cols);
    for (let pg = Math.floor(first / PAGE); pg * PAGE < last; pg++) {
      if (!this.pages.has(pg) && !this.requested.has(pg)) {
        this.requested.add(pg);
        this.hooks.requestPage(pg * PAGE, PAGE);
      }
    }
    const css = getComputedStyle(document.body);
    const color = (name: string, fallback: string): string => css.getPropertyValue(name).trim() || fallback;
    const bg = color('--vscode-editor-background', '#1e1e1e');
    const exact = color('--vscode-editorWidget-background', '#2d2d2d');
    const artifact = color('--vscode-charts-blue', '#3794ff');
    const off = color('--vscode-charts-red', '#f14c4c');
    const nonFinite = color('--vscode-charts-purple', '#b180d7');
    const pending = color('--vscode-editorLineNumber-foreground', '#858585');
    const mark = color('--vscode-charts-yellow', '#cca700');
    const img = ctx.createImageData(this.canvas.width, this.canvas.height);
    const rgb = (c: string): number[] => {
      const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(c);
      return m ? [1, 2, 3].map((i) => parseInt(m[i], 16)) : [128, 128, 128];
    };
    const P = { bg: rgb(bg), exact: rgb(exact), artifact: rgb(artifact), off: rgb(off), nonFinite: rgb(nonFinite), pending: rgb(pending), mark: rgb(mark) };
    for (let r = 0; r < visibleRows; r++) {
      for (let c = 0; c < this.cols; c++) {
        const i = (firstRow + r) * this.cols + c;
        let px = P.bg;
        let alpha = 1;
        if (i < this.n) {
          const e = this.element(i);
          const shaded = e && this.hooks.shade?.(i);
          if (!e) {
            px = P.pending;
            alpha = 0.25;
          } else if (shaded) {
            px = P[shaded.colour];
            alpha = shaded.alpha;
          } else if (this.hooks.marked?.(i)) px = P.mark;
          else if (e.cls === 'off_grid') px = P.off;
          else if (e.cls === 'fp32_artifact') {
            px = P.artifact;
            alpha = 0.35 + 0.65 * (this.maxDev ? (e.dev ?? 0) / this.maxDev : 1);
          } else if (e.cls === 'non_finite') px = P.nonFinite;
          else if (e.cls === 'code') {
            px = P.artifact;
            alpha = 0.15 + 0.85 * Math.min(1, Math.abs(e.value) / 128);
          } else px = P.exact;
        }
        for (let y = 0; y < this.cell; y++) {
          const yy = r * this.cell + y;
          if (yy >= this.canvas.height) break;
          for (let x = 0; x < this.cell; x++) {
            const o = (yy * this.canvas.width + c * this.cell + x) * 4;
            img.data[o] = px[0] * alpha + P.bg[0] * (1 - alpha);
            img.data[o + 1] = px[1] * alpha + P.bg[1] * (1 - alpha);
            img.data[o + 2] = px[2] * alpha + P.bg[2] * (1 - alpha);
            img.data[o + 3] = 255;
          }
        }
      }
    }
    ctx.putImageData(img, 0, 0);
    if (this.cursorAt !== null) {
      const row = Math.floor(this.cursorAt / this.cols) - firstRow;
      if (row >= 0 && row < visibleRows) {
        ctx.strokeStyle = color('--vscode-focusBorder', '#007fd4');
        ctx.lineWidth = 2;
        const side = Math.max(this.cell, 6);
        const x = (this.cursorAt % this.cols) * this.cell + this.cell / 2 - side / 2,
          y = row * this.cell + this.cell / 2 - side / 2;
        ctx.strokeRect(x, y, side, side);
      }
    }
    const lastRow = Math.min(this.rows, firstRow + Math.floor(this.canvas.height / this.cell)) - 1;
    const wrapped = this.cols < this.wantedCols ? ` (each row of ${this.wantedCols} wraps over ${Math.ceil(this.wantedCols / this.cols)} lines)` : '';
    this.axis.textContent = `rows ${firstRow}–${Math.max(firstRow, lastRow)} of ${this.rows} (${this.labels.row}) · columns 0–${this.cols - 1} (${this.labels.col})${wrapped}`;
    // When real values first reach the screen (for the paint-time test and for anyone profiling).
    if (this.pages.size && !document.body.dataset.heatmapPaintedAt) document.body.dataset.heatmapPaintedAt = String(performance.now());
  }
}
