/**
 * The real webview bundle in Chromium with the real host logic behind it: the page's postMessage goes
 * to a MessageRouter in this process running the same handlers the custom editor and the diff panel
 * run inside VS Code. Shared by the UI tests and the viewer's paint benchmark.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Browser, Frame, Page } from 'playwright-core';
import { ToHost, ToView } from '../../src/view/protocol';
import { MessageRouter, Handlers } from '../../src/view/router';
import { REPO_ROOT } from './fixtures';
import { themeCss } from './themes';

function html(view: string, theme: 'dark' | 'light', initial: unknown): string {
  const data = JSON.stringify(initial).replace(/</g, '\\u003c');
  return `<!DOCTYPE html><html><head><meta charset="UTF-8"><style>${themeCss(theme)}</style>
<link rel="stylesheet" href="file://${REPO_ROOT}/media/quant-lens.css"></head><body data-view="${view}"><div id="app"></div>
<script>window.QUANT_LENS_INITIAL = ${data};</script><script src="file://${REPO_ROOT}/dist/webview.js"></script></body></html>`;
}

export interface WebviewOptions {
  view: string;
  theme: 'dark' | 'light';
  initial: unknown;
  /** The host's handlers (absent: a view that makes no requests). */
  handlers?: (page: Page) => Handlers;
  /** Where the page's HTML file is written. */
  dir: string;
  /** Called with each answered request's type and the host's time on it (the product's work, without this bridge's transport). */
  answered?: (type: string, ms: number) => void;
  /** Called with the time this bridge took to carry one reply into the page (VS Code's postMessage takes its place in the product). */
  bridged?: (ms: number) => void;
}

export async function openWebview(browser: Browser, o: WebviewOptions): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  if (o.handlers) {
    // VS Code carries typed arrays across postMessage; this bridge sends one JSON string (Playwright's
    // per-value argument protocol is slow for 64K-element pages) with typed arrays as base64.
    const sent: Record<number, string> = {};
    const router = new MessageRouter(o.handlers(page), async (m: ToView) => {
      if (m.kind !== 'progress') o.answered?.(sent[m.id], performance.now() - Number(sent[-m.id]));
      const t0 = performance.now();
      await page.evaluate(
        async (json) => {
          // Typed arrays come back from base64 through a data: URL (the browser's own decoder; a
          // character loop took ~100 ms per 64K-element page): decode them all, then build the message.
          const isTyped = (v: any): boolean => v && typeof v === 'object' && typeof v.__typed === 'string';
          const encoded: { __typed: string; b64: string }[] = [];
          JSON.parse(json, (_k, v) => (isTyped(v) && encoded.push(v), v));
          const decoded = await Promise.all(
            encoded.map((v) =>
              fetch(`data:application/octet-stream;base64,${v.b64}`)
                .then((r) => r.arrayBuffer())
                .then((buf) => new (window as any)[v.__typed](buf)),
            ),
          );
          let next = 0;
          window.postMessage(
            JSON.parse(json, (_k, v) => (isTyped(v) ? decoded[next++] : v)),
            '*',
          );
        },
        JSON.stringify(m, (_k, v) =>
          ArrayBuffer.isView(v) ? { __typed: v.constructor.name, b64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') } : v,
        ),
      );
      if (m.kind === 'reply') o.bridged?.(performance.now() - t0);
    });
    await page.exposeFunction('__toHost', (m: ToHost) => {
      if (m.kind === 'request') {
        sent[m.id] = m.request.type;
        sent[-m.id] = String(performance.now());
      }
      return router.receive(m);
    });
    page.on('close', () => router.dispose());
    await page.addInitScript(() => {
      // As VS Code keeps a webview's state while it is hidden and recreated: here across a reload.
      (window as any).acquireVsCodeApi = () => ({
        postMessage: (m: unknown) => (window as any).__toHost(m),
        getState: () => JSON.parse(sessionStorage.getItem('ql-state') ?? 'null') ?? undefined,
        setState: (s: unknown) => sessionStorage.setItem('ql-state', JSON.stringify(s)),
      });
    });
  }
  const file = path.join(o.dir, `.${o.view}-${o.theme}.html`);
  fs.writeFileSync(file, html(o.view, o.theme, o.initial));
  await page.goto(`file://${file}`);
  (page as any).__errors = errors;
  return page;
}

/**
 * Waits until the tensor heatmap's screen is painted with no cell still waiting for its page, its first
 * row past `pastRow` when given (after a scroll). An element on that screen is then there to describe.
 */
export async function heatmapScreenFilled(target: Page | Frame, pastRow = -1): Promise<void> {
  await target.waitForFunction((row) => {
    const scroller = document.querySelector('.heatmap-scroller') as HTMLElement | null;
    const canvas = document.querySelector('canvas.heatmap-canvas') as HTMLElement | null;
    return scroller?.dataset.pendingCells === '0' && Number(canvas?.dataset.firstRow ?? -1) > row;
  }, pastRow);
}
