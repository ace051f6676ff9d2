/**
 * Virtualized canvas heatmap of grid deviation: only the visible rows are painted, from pages of
 * values fetched on demand, so a multi-million-element tensor paints immediately and scrolls smoothly.
 */
import type { Page, ElementClassName } from '../src/view/protocol';

const PAGE = 1 << 16;

export interface HeatmapHooks {
  requestPage(start: number, count: number): void;
  hover(index: number | null, px: number, py: number): void;
  click(index: number): void;
  /** Called when the user scrolls this heatmap (the diff view keeps its pair in step). */
  scrolled?(top: number): void;
  /** Elements to mark whatever their class (the diff view: values that differ from the other run). */
  marked?(index: number): boolean;
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
  private following = false; // the next scroll event was caused by scrollTo, not the user

  constructor(
    private n: number,
    private cols: number,
    private hooks: HeatmapHooks,
    private width = 720,
    private height = 360,
  ) {
    this.cols = Math.max(1, Math.min(cols, 512));
    this.cell = Math.max(1, Math.floor(width / this.cols));
    this.rows = Math.ceil(n / this.cols);
    this.root = document.createElement('div');
    this.root.className = 'heatmap';
    this.scroller.className = 'heatmap-scroller';
    this.scroller.style.height = `${height}px`;
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
      if (!this.following) this.hooks.scrolled?.(this.scroller.scrollTop);
      this.following = false;
    });
    this.scroller.addEventListener('keydown', (e) => {
      const step = e.key === 'PageDown' ? height : e.key === 'PageUp' ? -height : e.key === 'ArrowDown' ? this.cell : e.key === 'ArrowUp' ? -this.cell : 0;
      if (step) {
        this.scroller.scrollTop += step;
        e.preventDefault();
      }
    });
    this.canvas.addEventListener('mousemove', (e) => this.hooks.hover(this.indexAt(e), e.clientX, e.clientY));
    this.canvas.addEventListener('mouseleave', () => this.hooks.hover(null, 0, 0));
    this.canvas.addEventListener('click', (e) => {
      const i = this.indexAt(e);
      if (i !== null) this.hooks.click(i);
    });
    this.paint();
  }

  /** Scrolls to `top` without reporting it back through `scrolled` (no echo between a pair). */
  scrollTo(top: number): void {
    if (this.scroller.scrollTop === top) return;
    this.following = true;
    this.scroller.scrollTop = top;
    requestAnimationFrame(() => {
      this.following = false;
    }); // in case the browser fired no scroll event
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
    return { value: p.values[k], q: p.q?.[k], dev: p.dev?.[k], cls: p.cls?.[k] };
  }

  addPage(p: Page): void {
    this.pages.set(Math.floor(p.start / PAGE), p);
    for (const d of p.dev ?? []) if (d > this.maxDev) this.maxDev = d;
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
          if (!e) {
            px = P.pending;
            alpha = 0.25;
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
    // When real values first reach the screen (for the paint-time test and for anyone profiling).
    if (this.pages.size && !document.body.dataset.heatmapPaintedAt) document.body.dataset.heatmapPaintedAt = String(performance.now());
  }
}
