/**
 * The tensor viewer as a user sees it, on a 1 GiB tensor: the real webview bundle in Chromium (Debian's
 * chromium through playwright-core) with the custom editor's TensorSession behind it in this process.
 * Measured: time from opening to the first painted heatmap (the summary of all 268M elements comes
 * first), time from a jump (the heatmap scrolled to a random place) until every visible cell is painted,
 * the overview's arrival, and the webview's JS heap. Peer in the same run: the host's own time for the
 * same screens (TensorSession answering the pages), so the webview's share shows.
 * The bridge carries pages as base64 JSON through Playwright, slower than VS Code's postMessage of typed
 * arrays: the webview figures are upper bounds.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Frame } from 'playwright-core';
import { launchChromium } from '../test/support/chromium';
import { TensorSession, tensorHandlers } from '../src/view/tensorSession';
import { openWebview } from '../test/support/webviewPage';
import { writeTensor } from './viewer';

export interface ViewerPaintBench {
  first_paint_ms: number;
  overview_ms: number;
  jump_paint_ms_median: number;
  jump_paint_ms_max: number;
  jumps: number;
  host_page_ms_median: number;
  /** This harness's transport of one reply into the page (base64 through Playwright): VS Code's postMessage replaces it. */
  bridge_ms_median: number;
  webview_heap_mb: number;
  note: string;
}

/**
 * Scrolls the heatmap of `view` (a page, or VS Code's webview frame) to `jumps` places drawn from a fixed
 * seed, and times each until the heatmap reports no visible cell waiting for its page.
 */
export async function timeJumps(view: Pick<Frame, 'evaluate'>, jumps: number): Promise<number[]> {
  let seed = 5;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const times: number[] = [];
  for (let k = 0; k < jumps; k++) {
    const [top, left] = [rnd(), rnd()];
    times.push(
      await view.evaluate(
        async ([top, left]) => {
          const s = document.querySelector('.heatmap-scroller') as HTMLElement;
          const t0 = performance.now();
          s.scrollTop = top * (s.scrollHeight - s.clientHeight);
          s.scrollLeft = left * (s.scrollWidth - s.clientWidth);
          s.dispatchEvent(new Event('scroll'));
          while (s.dataset.pendingCells !== '0') await new Promise((r) => requestAnimationFrame(r));
          return performance.now() - t0;
        },
        [top, left],
      ),
    );
  }
  return times;
}

export async function benchViewerPaint(dir: string): Promise<ViewerPaintBench> {
  const file = path.join(dir, 'viewer_paint_1gib.safetensors');
  writeTensor(file);
  const session = new TensorSession(file);
  const pageMs: number[] = [],
    bridgeMs: number[] = [];
  const browser = await launchChromium(['--allow-file-access-from-files', '--enable-precise-memory-info']);
  try {
    const page = await openWebview(browser, {
      view: 'tensor',
      theme: 'dark',
      initial: { file },
      dir,
      handlers: () => tensorHandlers(session),
      answered: (type, ms) => type === 'page' && pageMs.push(ms),
      bridged: (ms) => bridgeMs.push(ms),
    });
    await page.waitForFunction(() => document.body.dataset.heatmapPaintedAt !== undefined, undefined, { timeout: 120000, polling: 50 });
    const first_paint_ms = Number(await page.evaluate(() => document.body.dataset.heatmapPaintedAt));
    await page.waitForFunction(() => document.body.dataset.overviewReady !== undefined, undefined, { timeout: 300000, polling: 100 });
    const overview_ms = await page.evaluate(() => performance.now());
    const jumps = 20;
    pageMs.length = 0;
    bridgeMs.length = 0;
    const times = await timeJumps(page, jumps);
    const heap = await page.evaluate(() => (performance as any).memory?.usedJSHeapSize ?? NaN);
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    return {
      first_paint_ms,
      overview_ms,
      jump_paint_ms_median: med(times),
      jump_paint_ms_max: Math.max(...times),
      jumps,
      host_page_ms_median: med(pageMs),
      bridge_ms_median: med(bridgeMs),
      webview_heap_mb: heap / 2 ** 20,
      note: 'Chromium headless with the real webview bundle; host = TensorSession in the bench process; pages bridged as base64 JSON through Playwright (bridge_ms_median per reply; VS Code posts typed arrays): upper bounds',
    };
  } finally {
    await browser.close();
    session.dispose();
    fs.rmSync(file, { force: true });
  }
}
