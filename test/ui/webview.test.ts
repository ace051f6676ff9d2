/**
 * Renders the real webview bundle in Chromium (playwright-core, Debian's chromium) with the real
 * host logic behind it: the page's postMessage goes to a TensorSession in this process, exactly the
 * messages the custom editor exchanges inside VS Code. Saves screenshots (docs/screenshots with npm run screenshots).
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium';
import { TensorSession, tensorHandlers } from '../../src/view/tensorSession';
import { DiffSession, diffHandlers } from '../../src/view/diffSession';
import { ELEMENT_CLASSES } from '../../src/view/protocol';
import { diffPaths } from '../../src/analysis/diff';
import { explainValue } from '../../src/analysis/explain';
import { verifyFile } from '../../src/analysis/verifyFile';
import { reportPayload } from '../../src/view/reportPayload';
import { fixture, FIXTURES, screenshotDir } from '../support/fixtures';
import { themeCss } from '../support/themes';
import { heatmapScreenFilled, openWebview } from '../support/webviewPage';
import { npyBytes } from '../support/writers';

const SHOTS = screenshotDir();
let browser: Browser;

/** Host-side time spent answering each request type (the product's own work, without the harness's transport). */
const hostMs: Record<string, number[]> = {};

/** The view in Chromium, with the same router and handlers as TensorEditorProvider and showDiffPanel behind it. */
function openView(view: string, theme: 'dark' | 'light', initial: unknown, session?: TensorSession, diff?: DiffSession): Promise<Page> {
  return openWebview(browser, {
    view,
    theme,
    initial,
    dir: SHOTS,
    handlers:
      session || diff
        ? (page) => ({
            ...(session ? tensorHandlers(session, (e) => void page.evaluate((x) => ((window as any).__explained = x), e)) : {}),
            ...(diff ? diffHandlers(diff) : {}),
          })
        : undefined,
    answered: (type, ms) => (hostMs[type] ??= []).push(ms),
  });
}

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium(['--allow-file-access-from-files']);
});
after(async () => {
  await browser?.close();
  for (const f of fs.readdirSync(SHOTS)) if (f.startsWith('.')) fs.rmSync(path.join(SHOTS, f));
});

for (const theme of ['dark', 'light'] as const) {
  test(`tensor viewer (${theme}): tree, stats, histogram, heatmap and hover on a real dump`, async () => {
    const session = new TensorSession(fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d.pt'));
    const page = await openView('tensor', theme, { file: session.file }, session);
    try {
      await page.waitForSelector('.tree li.tensor');
      const names = await page.$$eval('.tree li.tensor', (els) => els.map((e) => e.textContent));
      assert.deepEqual(names.map((n) => n!.split(' ')[0]).sort(), ['bias', 'input', 'output_xproj', 'ssm_input', 'weight']);
      await page.waitForSelector('.detail h2');
      assert.match((await page.textContent('.detail')) ?? '', /FP32 round-trip artifacts5611/);
      await page.waitForSelector('.heatmap-canvas');
      // Find an FP32-artifact element in the first page and hover it: the tooltip explains it.
      const p = await session.page('input', 0, 4096);
      const i = p.cls!.indexOf(ELEMENT_CLASSES.indexOf('fp32_artifact'));
      await heatmapScreenFilled(page);
      const box = (await page.$('.heatmap-canvas'))!;
      const bb = (await box.boundingBox())!;
      const cell = Math.max(1, Math.floor(720 / 64));
      await page.mouse.move(bb.x + (i % 64) * cell + cell / 2, bb.y + Math.floor(i / 64) * cell + cell / 2);
      await page.waitForSelector('.tooltip:not([hidden])');
      const tip = await page.textContent('.tooltip');
      assert.match(tip!, /FP32 round-trip artifact/);
      assert.match(tip!, new RegExp(`q ${p.q![i]}`));
      // The heatmap really painted: artifact (blue) pixels and on-grid pixels both present.
      const colours = await page.evaluate(() => {
        const c = document.querySelector('.heatmap-canvas') as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, Math.min(c.height, 60)).data;
        const set = new Set<string>();
        for (let k = 0; k < d.length; k += 4 * 7) set.add(`${d[k]},${d[k + 1]},${d[k + 2]}`);
        return set.size;
      });
      assert.ok(colours >= 3, `heatmap painted ${colours} colours (background, on-grid, artifact shades)`);
      await page.screenshot({ path: path.join(SHOTS, `tensor-viewer-hover-${theme}.png`) });
      await page.mouse.click(bb.x + (i % 64) * cell + cell / 2, bb.y + Math.floor(i / 64) * cell + cell / 2);
      await page.waitForFunction(() => (window as any).__explained !== undefined);
      const explained = await page.evaluate(() => (window as any).__explained);
      assert.equal(explained.class, 'fp32_artifact');
      assert.equal(explained.index, i);
      assert.deepEqual((page as any).__errors, []);
    } finally {
      await page.close();
      session.dispose();
    }
  });

  test(`explanation panel (${theme}) shows the reference case step by step`, async () => {
    const e = explainValue(1.05812216, 0.0121623231);
    const page = await openView('explain', theme, e);
    try {
      await page.waitForSelector('ol.steps li');
      const text = await page.textContent('body');
      assert.match(text!, /87\.00000762939453125/);
      assert.match(text!, /FP32 artifact/);
      assert.match(text!, /it is not a quantization error/);
      await page.screenshot({ path: path.join(SHOTS, `explain-${theme}.png`) });
    } finally {
      await page.close();
    }
  });

  test(`diff view (${theme}) puts the input guard first`, async () => {
    const report = await diffPaths(fixture('torch-2.11', 'mamba_conv1d/baseline'), fixture('torch-2.11', 'mamba_conv1d/mode2_batchB'));
    const page = await openView('diff', theme, report);
    try {
      await page.waitForSelector('.guard');
      const first = await page.$eval('#app', (a) => [...a.children].findIndex((c) => c.classList.contains('guard')));
      assert.equal(first, 2, 'the guard comes right after the title and paths');
      assert.match((await page.textContent('.guard.invalid')) ?? '', /INVALID COMPARISON: the runs processed different inputs/);
      assert.ok((await page.$$('figure.histogram canvas')).length > 0);
      await page.screenshot({ path: path.join(SHOTS, `diff-invalid-${theme}.png`), fullPage: false });
    } finally {
      await page.close();
    }
  });
}

for (const theme of ['dark', 'light'] as const) {
  test(`diff view (${theme}): a valid comparison shows the differing pair as a synchronized heatmap pair`, async () => {
    // Mode 2 against Mode 1 of the same inputs: inputs match, the SSM input differs (FP32 vs on-grid).
    const report = await diffPaths(fixture('torch-2.11', 'mamba_conv1d/mode2'), fixture('torch-2.11', 'mamba_conv1d/mode1'));
    assert.equal(report.valid, true);
    const diff = new DiffSession(report);
    const page = await openView('diff', theme, report, undefined, diff);
    try {
      await page.waitForSelector('.guard.ok');
      await page.waitForSelector('.heatmap-pair canvas');
      const differing = report.pairs.find((p) => !p.error && p.shape && p.exact_match_pct !== 100)!;
      assert.match((await page.textContent('.heatmap-pair h3')) ?? '', new RegExp(differing.key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      // Each tensor once: the copies inside the per-layer dict (same_as) get no row of their own.
      const keys = await page.$$eval('table.diff tbody tr td:first-child', (tds) => tds.map((td) => td.textContent ?? ''));
      assert.equal(keys.length, report.pairs.filter((p) => !p.same_as).length);
      assert.ok(
        report.pairs.some((p) => p.same_as),
        'the fixture holds repeated tensors',
      );
      assert.ok(
        keys.some((k) => /layer23_conv1d_ssm_input\.pt \(also layer23_conv1d\.pt:ssm_input\)/.test(k)),
        keys.join(' | '),
      );
      // Δ, A and B: three heatmaps, painted from the host's pages.
      assert.equal((await page.$$('.heatmap-pair .heatmap-scroller')).length, 3);
      await page.waitForFunction(() => document.body.dataset.heatmapPaintedAt !== undefined);
      // Codes are equal (Mode 1's FP32 SSM input rounds to Mode 2's codes): the Δq scale says so, and the histogram is still shown.
      assert.equal(differing.exact_pct, 100);
      assert.match((await page.textContent('.delta-legend')) ?? '', /every element equal/);
      assert.match((await page.textContent('.heatmap-pair figure.histogram figcaption')) ?? '', /98304 of 98304 codes equal \(100 %\)/);
      // Scrolling any of them scrolls the other two to the same row.
      const scrollers = await page.$$('.heatmap-pair .heatmap-scroller');
      const scrolled = (k: number, top: number) =>
        page.waitForFunction(([k, top]) => document.querySelectorAll('.heatmap-pair .heatmap-scroller')[k].scrollTop === top, [k, top] as const);
      await scrollers[1].evaluate((e) => {
        e.scrollTop = 200;
      });
      await Promise.all([scrolled(2, 200), scrolled(0, 200)]);
      await scrollers[2].evaluate((e) => {
        e.scrollTop = 40;
      });
      await Promise.all([scrolled(1, 40), scrolled(0, 40)]);
      await scrollers[1].evaluate((e) => {
        e.scrollTop = 0;
      });
      await Promise.all([scrolled(2, 0), scrolled(0, 0)]).catch(async (e) => {
        throw new Error(`${e.message}: ${await page.$$eval('.heatmap-pair .heatmap-scroller', (xs) => xs.map((x) => x.scrollTop).join(','))}`);
      });
      // Hovering the first element that differs shows both values and their difference.
      const [pa, pb] = await Promise.all([diff.page(differing.key, 'a', 0, 4096), diff.page(differing.key, 'b', 0, 4096)]);
      const i = pa.values.findIndex((v, k) => v !== pb.values[k]);
      assert.ok(i >= 0, 'the first page holds a difference');
      const cols = differing.shape![differing.shape!.length - 1];
      const cell = Math.max(4, Math.min(12, Math.floor(360 / cols))); // the heatmap's rule: 4–12 px cells, scrolling sideways beyond
      const canvasB = (await page.$$('.heatmap-pair .heatmap-canvas'))[2];
      await canvasB.scrollIntoViewIfNeeded(); // the pointer works in the viewport: bring the canvas fully into it first
      const bb = (await canvasB.boundingBox())!;
      // Cells are 1 px here, so the pointer's sub-pixel position can land on the row below (the full run
      // once read 'flat 512'): try the cell's centre, then a fraction of a pixel either side (inside the cell), until the tooltip names i.
      for (const dy of [0, -0.4, 0.4, -0.25]) {
        await page.mouse.move(bb.x + (i % cols) * cell + cell / 2, bb.y + Math.floor(i / cols) * cell + cell / 2 + dy);
        const named = await page
          .waitForFunction((want) => new RegExp(want).test(document.querySelector('.heatmap-pair .tooltip')?.textContent ?? ''), `flat ${i}\\b`, {
            timeout: 2000,
          })
          .then(() => true)
          .catch(() => false);
        if (named) break;
      }
      const tip = (await page.textContent('.heatmap-pair .tooltip')) ?? '';
      assert.match(tip, new RegExp(`flat ${i}`));
      assert.match(tip, /\|Δ\| /);
      // Elements that differ between the runs are marked (the theme's chart yellow) in both heatmaps.
      const marked = await page.evaluate(() =>
        [...document.querySelectorAll('.heatmap-pair .pair .heatmap-canvas')].map((c) => {
          const cv = c as HTMLCanvasElement;
          const yellow = getComputedStyle(document.body).getPropertyValue('--vscode-charts-yellow').trim() || '#cca700';
          const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(yellow)!;
          const [r, g, b] = [1, 2, 3].map((k) => parseInt(m[k], 16));
          const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, Math.min(cv.height, 40)).data;
          let n = 0;
          for (let k = 0; k < d.length; k += 4) if (Math.abs(d[k] - r) < 3 && Math.abs(d[k + 1] - g) < 3 && Math.abs(d[k + 2] - b) < 3) n++;
          return n;
        }),
      );
      assert.ok(marked[0] > 0 && marked[1] > 0, `differing elements marked in both heatmaps: ${marked}`);
      await page.screenshot({ path: path.join(SHOTS, `diff-heatmaps-${theme}.png`) });
      // Keyboard: Enter on another pair's row shows that pair instead.
      const listed = report.pairs.filter((p) => !p.same_as);
      const other = listed.findIndex((p) => !p.error && p.shape && p.key !== differing.key);
      const row = (await page.$$('table.diff tbody tr'))[other];
      await row.focus();
      await page.keyboard.press('Enter');
      await page.waitForFunction((k) => document.querySelector('.heatmap-pair h3')?.textContent?.startsWith(k), listed[other].key);
      assert.deepEqual((page as any).__errors, []);
    } finally {
      await page.close();
      diff.dispose();
    }
  });
}

for (const theme of ['dark', 'light'] as const) {
  test(`diff view (${theme}): a Δ heatmap in LSB with its scale, the largest differences jump and explain both values, per-channel profile and scatter`, async () => {
    // torch-written int8 codes of one rounding rule against another: a quarter of the codes move by one LSB.
    const dir = path.join(FIXTURES, 'rounding');
    const report = await diffPaths(path.join(dir, 'post_pow2_half_away.pt'), path.join(dir, 'post_pow2_half_even.pt'));
    const pair = report.pairs[0];
    assert.equal(pair.max_abs_int, 1);
    const diff = new DiffSession(report);
    const page = await openView('diff', theme, report, undefined, diff);
    try {
      await page.waitForSelector('.heatmap-pair .delta-legend');
      assert.equal(await page.$eval('.delta-legend', (e) => (e as HTMLElement).dataset.max), '1');
      assert.match((await page.textContent('.delta-legend')) ?? '', /−1 LSB.*\+1 LSB/);
      const equal = pair.int_diff_histogram![0];
      assert.match((await page.textContent('.heatmap-pair figure.histogram figcaption')) ?? '', new RegExp(`${equal} of ${pair.n} codes equal`));
      // The Δ heatmap paints moved codes in the scale's ends (charts blue for −1, red for +1), equal ones neutral.
      await page.waitForFunction(() => document.body.dataset.heatmapPaintedAt !== undefined);
      const ends = async (): Promise<number> =>
        page.evaluate(() => {
          const cv = document.querySelector('.heatmap-pair figure.delta canvas') as HTMLCanvasElement;
          const css = getComputedStyle(document.body);
          const rgb = (name: string) => {
            const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(css.getPropertyValue(name).trim())!;
            return [1, 2, 3].map((k) => parseInt(m[k], 16));
          };
          const want = [rgb('--vscode-charts-red'), rgb('--vscode-charts-blue')];
          const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
          let n = 0;
          for (let k = 0; k < d.length; k += 4)
            if (want.some((c) => Math.abs(d[k] - c[0]) < 3 && Math.abs(d[k + 1] - c[1]) < 3 && Math.abs(d[k + 2] - c[2]) < 3)) n++;
          return n;
        });
      // The Δ page lands after both runs' pages: the pair signals it.
      await page.waitForFunction(() => Number((document.querySelector('.heatmap-pair') as HTMLElement).dataset.deltaPages) > 0);
      assert.ok((await ends()) > 0, 'moved codes are coloured at the scale ends');
      // The largest differences: clicking one moves every heatmap's cursor there and explains both values.
      const first = pair.largest![0];
      await page.click('table.largest tbody tr');
      await page.waitForFunction((i) => (document.querySelector('.heatmap-pair') as HTMLElement).dataset.explained === String(i), first.index);
      assert.equal(await page.$eval('.heatmap-pair', (e) => (e as HTMLElement).dataset.cursor), String(first.index));
      const explained = (await page.textContent('.pair-explain')) ?? '';
      assert.match(explained, new RegExp(`Element ${first.index} \\[${first.index}\\]: Δq = [+-]1 LSB`));
      assert.ok(explained.includes(String(first.a)) && explained.includes(String(first.b)), explained);
      // Keyboard only: the Δ heatmap's cursor moves with an arrow and Enter explains the element under it.
      await page.focus('.heatmap-pair figure.delta .heatmap-scroller');
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('Enter');
      await page.waitForFunction((i) => (document.querySelector('.heatmap-pair') as HTMLElement).dataset.explained === String(i + 1), first.index);
      // The per-channel profile (a 1-D tensor: one channel per element) and the outlier channels.
      await page.waitForSelector('figure.profile');
      assert.equal(await page.$eval('figure.profile', (e) => (e as HTMLElement).dataset.channels), String(pair.n));
      assert.ok((await page.$$('table.worst-channels tbody tr')).length > 0);
      assert.match((await page.textContent('figure.profile figcaption')) ?? '', new RegExp(`${pair.n! - equal} channels differ`));
      // The whole pair beside the Δ heatmap, from the profile's read: the caption counts the moved codes,
      // and choosing a tile goes to its largest difference and explains both values.
      await page.waitForSelector('.heatmap-pair .overview-canvas');
      assert.match(
        (await page.textContent('.heatmap-pair figure.overview figcaption')) ?? '',
        new RegExp(`^whole pair, .*: ${pair.n! - equal} elements differ in \\d+ tiles, largest \\|Δ\\| 1 LSB`),
      );
      const cols = Number(await page.$eval('.heatmap-pair figure.delta canvas', (c) => (c as HTMLElement).dataset.columns));
      const o = (await diff.profile(pair.key, { cols })).overview!; // the host's kept copy: the same the webview drew
      const tile = o.problems.findIndex((p, t) => p > 0 && o.at[t] !== first.index + 1);
      const box = (await page.$('.heatmap-pair .overview-canvas'))!;
      const r = (await box.boundingBox())!;
      await page.mouse.click(r.x + ((tile % o.tileCols) + 0.5) * (r.width / o.tileCols), r.y + (Math.floor(tile / o.tileCols) + 0.5) * (r.height / o.tileRows));
      await page.waitForFunction((i) => (document.querySelector('.heatmap-pair') as HTMLElement).dataset.explained === String(i), o.at[tile]);
      assert.equal(await page.$eval('.heatmap-pair', (e) => (e as HTMLElement).dataset.cursor), String(o.at[tile]));
      await (await page.$('.heatmap-pair .heatmap-row'))!.screenshot({ path: path.join(SHOTS, `diff-overview-${theme}.png`) });
      // A against B: every moved code is off the diagonal.
      await page.waitForSelector('figure.scatter canvas[data-off-diagonal]');
      assert.equal(await page.$eval('figure.scatter canvas', (e) => (e as HTMLElement).dataset.offDiagonal), String(pair.n! - equal));
      await page.screenshot({ path: path.join(SHOTS, `diff-delta-${theme}.png`), fullPage: true });
      assert.deepEqual((page as any).__errors, []);
    } finally {
      await page.close();
      diff.dispose();
    }
  });
}

test('a 2.8M-element tensor paints its heatmap from the pages in view', async () => {
  // 2800 x 1000 float32 on the grid of s, every 16th value an FP32 round-trip artifact, as safetensors.
  const n = 2800 * 1000,
    s = Math.fround(0.0121623231);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.fround((((i * 7919) % 255) - 127) * s);
  const { writeSafetensors } = await import('../../src/formats/safetensorsWriter');
  const file = path.join(SHOTS, '.big.safetensors');
  writeSafetensors(file, [{ name: 'activations', dtype: 'float32', shape: [2800, 1000], data: x }], { activations_scale: String(s) });
  const session = new TensorSession(file);
  for (const k of Object.keys(hostMs)) delete hostMs[k];
  const page = await openView('tensor', 'dark', { file }, session);
  try {
    await page.waitForFunction(() => document.body.dataset.heatmapPaintedAt !== undefined, undefined, { timeout: 30000 });
    assert.equal(hostMs.summary.length, 1, 'one summary: the 2.8M tensor');
    const [firstPageAt, paintedAt] = await page.evaluate(() => [Number(document.body.dataset.firstPageAt), Number(document.body.dataset.heatmapPaintedAt)]);
    // The product's time to first paint: the host's summary (stats + verification of all 2.8M values) and first page,
    // plus the webview's handling and painting of that page. The harness's own transport (CDP) is left out.
    const host = hostMs.summary[0] + hostMs.page[0];
    const view = paintedAt - firstPageAt;
    // Reported, not asserted: timings belong to measurements, and this machine may be loaded.
    console.log(
      `# 2.8M-element heatmap: first paint after ${(host + view).toFixed(0)} ms: host ${host.toFixed(0)} ms (summary ${hostMs.summary[0].toFixed(0)}, first page ${hostMs.page[0].toFixed(0)}) + webview ${view.toFixed(0)} ms`,
    );
    // What keeps it fast, asserted: the first paint needs the pages in view (64K values each), not the tensor's 43.
    assert.ok(hostMs.page.length <= 4, `${hostMs.page.length} pages requested for the first screen`);
    // Scrolling to the end fetches only the pages in view.
    const before = hostMs.page.length;
    await page.$eval('.heatmap-scroller', (el) => {
      el.scrollTop = el.scrollHeight;
    });
    await heatmapScreenFilled(page, 2000); // painted at the end: past row 2000 of 2800
    assert.ok(hostMs.page.length - before <= 4, `${hostMs.page.length - before} more pages requested for the last screen`);
    assert.match((await page.textContent('.detail')) ?? '', /elements2800000/);
  } finally {
    await page.close();
    session.dispose();
  }
});

test('verification report lists every tensor with its verdict', async () => {
  const perChannel = await verifyFile(fixture('checkpoints', 'torch-2.11/fake_quant_per_channel.pt'));
  const reports = [
    await verifyFile(fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d.pt')),
    await verifyFile(fixture('torch-2.11', 'mamba_conv1d/fp32_input_batchA.pt'), { scale: 0.0121623231 }),
    perChannel,
  ];
  // What the extension sends (reportPayload), not the reports as verify returns them.
  const page = await openView('report', 'dark', reportPayload(reports, []));
  try {
    await page.waitForSelector('table.report');
    const rows = await page.$$eval('table.report tbody tr', (trs) => trs.map((t) => t.textContent));
    assert.equal(rows.length, 5 + perChannel.results.length);
    assert.ok(rows.some((r) => r!.includes('FAIL')));
    // A per-channel scale is shown as its count and range, from the figures verify found.
    const scales = perChannel.results.map((r) => r.scale).find(Array.isArray) as number[] | undefined;
    assert.ok(scales, 'the fixture has a per-channel scale');
    assert.ok(
      rows.some((r) => r!.includes(`per-channel: ${scales.length} scales in [`)),
      `a row shows the per-channel scale's count: ${rows.join(' | ')}`,
    );
    await page.screenshot({ path: path.join(SHOTS, 'report-dark.png') });
  } finally {
    await page.close();
  }
});

/** Switches the page to `theme` as VS Code does: new --vscode-* colours and a new class on the body. */
async function switchTheme(page: Page, theme: 'dark' | 'light'): Promise<void> {
  await page.evaluate(
    ([css, cls]) => {
      document.querySelector('style')!.textContent = css;
      document.body.className = cls;
    },
    [themeCss(theme), `vscode-${theme}`],
  );
}

/** The colour of the most opaque pixel of a canvas region: the ink of its text. */
async function inkOf(page: Page, selector: string, x: number, y: number, w: number, h: number): Promise<number[]> {
  return page.$eval(
    selector,
    (c, [x, y, w, h]) => {
      const d = (c as HTMLCanvasElement).getContext('2d')!.getImageData(x, y, w, h).data;
      let best = 0;
      for (let o = 0; o < d.length; o += 4) if (d[o + 3] > d[best + 3]) best = o;
      return [d[best], d[best + 1], d[best + 2]];
    },
    [x, y, w, h],
  );
}

test('compare view: runs of several layers get a per-layer chart and table with the first layer where they part marked; the chart follows a theme switch', async () => {
  const { npyBytes } = await import('../support/writers');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-ui-layers-'));
  const codes = (file: string, values: number[]): void =>
    fs.writeFileSync(file, npyBytes(`{'descr': '|i1', 'fortran_order': False, 'shape': (${values.length},), }`, Buffer.from(Int8Array.from(values).buffer)));
  // Eight layers; from layer 3 on, run B's outputs move off by a growing number of codes.
  for (const [run, breakAt] of [
    ['a', 99],
    ['b', 3],
  ] as const) {
    fs.mkdirSync(path.join(root, run));
    for (let layer = 0; layer < 8; layer++)
      codes(
        path.join(root, run, `layer0${layer}_conv1d_output.npy`),
        Array.from({ length: 32 }, (_, i) => (layer >= breakAt && i % 4 === 0 ? i + (layer - breakAt + 1) * 3 : i)),
      );
  }
  const report = await diffPaths(path.join(root, 'a'), path.join(root, 'b'));
  const page = await openView('diff', 'dark', report);
  try {
    await page.waitForSelector('table.layers');
    const rows = await page.$$eval('table.layers tbody tr', (trs) => trs.map((t) => [t.className, t.textContent]));
    assert.equal(rows.length, 8);
    assert.deepEqual(
      rows.map(([cls]) => cls),
      ['', '', '', 'first-divergence', '', '', '', ''],
    );
    assert.match(rows[3][1]!, /layer03_conv1d.*the runs part here/);
    // The chart: one slot per layer, the first divergence highlighted and named.
    const chart = page.locator('canvas.layer-chart');
    assert.equal(await chart.getAttribute('data-layers'), '8');
    assert.equal(await chart.getAttribute('data-first-divergence'), '3');
    assert.match(
      await page.locator('figure.layers figcaption').innerText(),
      /highlighted: layer03_conv1d, the first layer \(of 8, in layer order\) whose outputs differ/,
    );
    // Bars where the outputs differ (layers 3–7), none before: the canvas's bottom row is red only there.
    const bars = await page.$eval('canvas.layer-chart', (c) => {
      const canvas = c as HTMLCanvasElement,
        ctx = canvas.getContext('2d')!;
      const slot = canvas.width / 8;
      return [...Array(8).keys()].map((i) => {
        const [r, g, b] = ctx.getImageData(Math.floor(i * slot + slot / 2), canvas.height - 23, 1, 1).data;
        return r > 200 && g < 120 && b < 120;
      });
    });
    assert.deepEqual(bars, [false, false, false, true, true, true, true, true]);
    // Clicking a slot focuses that layer's row.
    const box = (await chart.boundingBox())!;
    await page.mouse.click(box.x + (5.5 * box.width) / 8, box.y + box.height / 2);
    assert.match(await page.evaluate(() => document.activeElement?.textContent ?? ''), /^layer05_conv1d/);
    await page.screenshot({ path: path.join(SHOTS, 'diff-layers-dark.png') });
    // A theme switch repaints the chart: its captions take the new foreground colour.
    const near = (rgb: number[], want: number[]): boolean => rgb.every((v, k) => Math.abs(v - want[k]) <= 4); // anti-aliased ink
    const ink = await inkOf(page, 'canvas.layer-chart', 0, 0, 120, 9);
    assert.ok(near(ink, [0xcc, 0xcc, 0xcc]), `dark theme ink ${ink}`);
    await switchTheme(page, 'light');
    // (VS Code's observer callbacks run before the page answers the next evaluate.)
    const inkAfter = await inkOf(page, 'canvas.layer-chart', 0, 0, 120, 9);
    assert.ok(near(inkAfter, [0x3b, 0x3b, 0x3b]), `light theme ink ${inkAfter}`);
    await page.screenshot({ path: path.join(SHOTS, 'diff-layers-light.png') });
  } finally {
    await page.close();
  }
});

test('tensor viewer: keyboard only — cursor, next largest deviation, Enter explains; reopening restores tensor and cursor', async () => {
  const session = new TensorSession(fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d.pt'));
  const page = await openView('tensor', 'dark', { file: session.file }, session);
  try {
    await page.waitForSelector('.heatmap-scroller');
    await page.waitForFunction(() => document.body.dataset.heatmapPaintedAt !== undefined);
    await page.focus('.heatmap-scroller');
    await page.waitForFunction(() => document.body.dataset.cursor === '0');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    const cols = (await session.summary('input')).columns;
    await page.waitForFunction((want) => document.body.dataset.cursor === want, String(1 + cols));
    assert.match((await page.textContent('.cursor-status')) ?? '', new RegExp(`flat ${1 + cols}`));
    // ] jumps to the first listed deviation after the cursor: one of the verifier's largest (this dump's are FP32 artifacts).
    const problems = (await session.summary('input')).verify!.problems;
    const want = (problems.find((p) => p.index > 1 + cols) ?? problems[0]).index;
    await page.keyboard.press(']');
    await page.waitForFunction((w) => document.body.dataset.cursor === w, String(want));
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => (window as any).__explained !== undefined);
    assert.equal((await page.evaluate(() => (window as any).__explained)).index, want);
    assert.equal(await page.evaluate(() => document.body.dataset.explained), String(want));
    // VS Code recreates a hidden webview from its saved state: same tensor, same cursor, no second summary.
    const before = hostMs.summary?.length ?? 0;
    await page.reload();
    await page.waitForFunction((w) => document.body.dataset.cursor === w, String(want));
    assert.match((await page.textContent('.tree li.selected')) ?? '', /^input /);
    assert.equal((hostMs.summary?.length ?? 0) - before, 1, 'one summary request, answered from the host-side cache');
    assert.deepEqual((page as any).__errors, []);
  } finally {
    await page.close();
    session.dispose();
  }
});

/** A [1500, 3000] FP32 .npy on the grid of 1/16 with one NaN and one value off the grid. */
function writeNeedleNpy(file: string): { nan: number; off: number; rows: number; cols: number } {
  const rows = 1500,
    cols = 3000,
    s = 0.0625;
  const x = new Float32Array(rows * cols);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 7919) % 255) * s - 127 * s;
  const nan = 1234 * cols + 2500,
    off = 77 * cols + 5;
  x[nan] = NaN;
  x[off] += s / 3;
  fs.writeFileSync(file, npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`, Buffer.from(x.buffer)));
  return { nan, off, rows, cols };
}

for (const theme of ['dark', 'light'] as const) {
  test(`tensor viewer (${theme}): the overview finds one NaN among 4.5M elements; choosing its tile moves the heatmap there, scrolled sideways`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-ui-needle-'));
    const file = path.join(dir, 'activations.npy');
    const { nan, off, cols } = writeNeedleNpy(file);
    const session = new TensorSession(file);
    const page = await openView('tensor', theme, { file }, session);
    try {
      await page.waitForFunction(() => document.body.dataset.overviewReady !== undefined, undefined, { timeout: 60000 });
      const o = await session.overview('', cols); // the same kept overview the view received
      assert.equal(await page.getAttribute('canvas.overview-canvas', 'data-problem-tiles'), '2');
      assert.match(await page.innerText('figure.overview figcaption'), /2 off grid, NaN\/Inf or out of range in 2 tiles/);
      // The heatmap keeps 4-px cells and scrolls sideways: 3000 columns do not wrap.
      assert.match(await page.innerText('.heatmap-axis'), /rows 0–\d+ of 1500 \(out channel\) · columns 0–179 of 3000 \(in feature\)$/);
      const tile = [...o.worst.keys()].find((t) => ELEMENT_CLASSES[o.worst[t]] === 'non_finite')!;
      assert.equal(o.at[tile], nan);
      await page.locator('canvas.overview-canvas').scrollIntoViewIfNeeded(); // the pointer works in the viewport
      const box = (await page.locator('canvas.overview-canvas').boundingBox())!;
      const tw = box.width / o.tileCols,
        th = box.height / o.tileRows;
      await page.mouse.click(box.x + ((tile % o.tileCols) + 0.5) * tw, box.y + (Math.floor(tile / o.tileCols) + 0.5) * th);
      await page.waitForFunction((want) => document.body.dataset.cursor === String(want), nan);
      await page.waitForFunction(() => /NaN\/Inf/.test(document.querySelector('.cursor-status')?.textContent ?? ''));
      // The heatmap's screen holds the NaN: its axis caption names the row and a column range around 2500.
      const axis = await page.innerText('.heatmap-axis');
      const [, r0, r1, c0, c1] = /rows (\d+)–(\d+) of 1500 \(out channel\) · columns (\d+)–(\d+) of 3000/.exec(axis)!.map(Number);
      assert.ok(r0 <= 1234 && 1234 <= r1 && c0 <= 2500 && 2500 <= c1, axis);
      await page.locator('.heatmap-row').scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(SHOTS, `tensor-overview-${theme}.png`) });
      // The off-grid value's tile goes there too.
      const offTile = [...o.worst.keys()].find((t) => ELEMENT_CLASSES[o.worst[t]] === 'off_grid')!;
      const again = (await page.locator('canvas.overview-canvas').boundingBox())!;
      await page.mouse.click(again.x + ((offTile % o.tileCols) + 0.5) * tw, again.y + (Math.floor(offTile / o.tileCols) + 0.5) * th);
      await page.waitForFunction((want) => document.body.dataset.cursor === String(want), off);
      await page.waitForFunction(() => /OFF GRID/.test(document.querySelector('.cursor-status')?.textContent ?? ''));
      assert.deepEqual((page as any).__errors, []);
    } finally {
      await page.close();
      session.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('tensor viewer: a per-channel weight written by PyTorch is classified on each row’s own scale; its one corrupted value is found from the overview and explained on channel 3’s scale', async () => {
  const session = new TensorSession(fixture('checkpoints', 'torch-2.11/fake_quant_per_channel_corrupted.pt'));
  const page = await openView('tensor', 'dark', { file: session.file }, session);
  try {
    await page.click('.tree li[data-name="layers.0.proj.weight"]');
    await page.waitForFunction(() => document.body.dataset.overviewReady === 'layers.0.proj.weight');
    assert.equal(await page.getAttribute('canvas.overview-canvas', 'data-problem-tiles'), '1');
    const o = await session.overview('layers.0.proj.weight', 40);
    const tile = [...o.problems.keys()].find((t) => o.problems[t] > 0)!;
    const box = (await page.locator('canvas.overview-canvas').boundingBox())!;
    await page.mouse.click(
      box.x + ((tile % o.tileCols) + 0.5) * (box.width / o.tileCols),
      box.y + (Math.floor(tile / o.tileCols) + 0.5) * (box.height / o.tileRows),
    );
    await page.waitForFunction(() => document.body.dataset.cursor === '127' && document.body.dataset.cursorDescribed === '127');
    const status = (await page.textContent('.cursor-status')) ?? '';
    assert.match(status, /\[3, 7\]/);
    assert.match(status, /scale [\d.e-]+ \(this element's channel or group\)/);
    assert.match(status, /OFF GRID/);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => (window as any).__explained?.index === 127);
    const explained = await page.evaluate(() => (window as any).__explained);
    assert.equal(explained.channel, 3);
    assert.equal(explained.class, 'off_grid');
  } finally {
    await page.close();
    session.dispose();
  }
});

for (const theme of ['dark', 'light'] as const) {
  test(`tensor viewer (${theme}): n / p walk every problem of a 1.2M-element tensor (off grid, out of range, NaN), wrapping; the out-of-range code is drawn and explained as such`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-ui-find-'));
    const rows = 600,
      cols = 2000,
      s = 0.0625;
    const x = new Float32Array(rows * cols);
    for (let i = 0; i < x.length; i++) x[i] = (((i * 7919) % 255) - 127) * s;
    const problems = [70_123, 610_000, 1_150_001];
    x[problems[0]] += s / 3; // off the grid
    x[problems[1]] = 131 * s; // on the grid, code 131 > 127
    x[problems[2]] = NaN;
    const file = path.join(dir, 'act.npy');
    fs.writeFileSync(file, npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`, Buffer.from(x.buffer)));
    const session = new TensorSession(file);
    const page = await openView('tensor', theme, { file }, session);
    try {
      await page.waitForFunction(() => document.body.dataset.heatmapPaintedAt !== undefined);
      await page.focus('.heatmap-scroller');
      await page.waitForFunction(() => document.body.dataset.cursor === '0');
      // At the jump's element: the cursor there, found as a problem, and the status line describing it (not 'loading…').
      const at = (want: number) =>
        page.waitForFunction(
          (w) =>
            document.body.dataset.cursor === String(w) && document.body.dataset.problemAt === String(w) && document.body.dataset.cursorDescribed === String(w),
          want,
        );
      for (const want of problems) {
        await page.keyboard.press('n');
        await at(want);
      }
      await page.keyboard.press('n'); // past the last: wraps to the first, as F8 does
      await at(problems[0]);
      await page.keyboard.press('p'); // before the first: wraps to the last
      await at(problems[2]);
      await page.keyboard.press('p');
      await at(problems[1]);
      const status = (await page.textContent('.cursor-status')) ?? '';
      assert.match(status, /OUT OF RANGE/);
      assert.match(status, /q 131/);
      // Drawn in the out-of-range colour (charts-orange), not as a value on the grid.
      await heatmapScreenFilled(page);
      const px = await page.evaluate((pos) => {
        const c = document.querySelector('canvas.heatmap-canvas') as HTMLCanvasElement;
        const cell = Number(c.dataset.cell),
          picCols = Number(c.dataset.columns),
          firstRow = Number(c.dataset.firstRow),
          firstCol = Number(c.dataset.firstCol);
        const r = Math.floor(pos / picCols) - firstRow,
          k = (pos % picCols) - firstCol;
        return [
          ...c
            .getContext('2d')!
            .getImageData(k * cell + cell / 2, r * cell + cell / 2, 1, 1)
            .data.slice(0, 3),
        ];
      }, problems[1]);
      const orange = await page.evaluate(() => getComputedStyle(document.body).getPropertyValue('--vscode-charts-orange').trim() || '#d18616');
      const want = [1, 3, 5].map((i) => parseInt(orange.slice(i, i + 2), 16));
      assert.deepEqual(px, want, `the out-of-range cell is ${orange}`);
      await page.screenshot({ path: path.join(SHOTS, `tensor-next-problem-${theme}.png`) });
      await page.keyboard.press('Enter');
      await page.waitForFunction((w) => (window as any).__explained?.index === w, problems[1]);
      const explained = await page.evaluate(() => (window as any).__explained);
      assert.equal(explained.class, 'out_of_range');
      assert.match(explained.steps.at(-1), /131 is outside \[-128, 127\]/);
      assert.deepEqual((page as any).__errors, []);
    } finally {
      await page.close();
      session.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('tensor viewer: an N-D tensor shown as a 2-D slice (time as rows, channels as columns); cursor, explain and next problem keep flat indices', async () => {
  const session = new TensorSession(fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d.pt'));
  const page = await openView('tensor', 'dark', { file: session.file }, session);
  try {
    await page.waitForSelector('.slice-controls');
    assert.match((await page.textContent('.tree li.selected')) ?? '', /^input /, 'a [1, 1536, 64] tensor');
    await page.selectOption('.slice-mode', 'slice');
    await page.waitForFunction(() => /\(axis 1\).*\(axis 2\)/.test(document.querySelector('.heatmap-axis')?.textContent ?? ''));
    // Rows and columns on one axis are refused with a message; choosing the other axis applies the slice.
    await page.selectOption('.slice-rows', '2');
    assert.match((await page.textContent('.slice-controls .problem')) ?? '', /two different axes/);
    await page.selectOption('.slice-cols', '1');
    await page.waitForFunction(() =>
      /rows 0–63 of 64 \(axis 2\) · columns 0–179 of 1536 \(axis 1\)$/.test(document.querySelector('.heatmap-axis')?.textContent ?? ''),
    );
    await page.focus('.heatmap-scroller');
    await page.waitForFunction(() => document.body.dataset.cursor === '0');
    await page.keyboard.press('ArrowRight');
    // One step along the columns is one channel: flat index 64 of [1, 1536, 64].
    await page.waitForFunction(() => /\[0, 1, 0\]\s+\(flat 64\)/.test(document.querySelector('.cursor-status')?.textContent ?? ''));
    const flat = await session.page('input', 64, 1);
    const value = `value ${Number(flat.values[0].toPrecision(9))}`;
    await page.waitForFunction((v) => (document.querySelector('.cursor-status')?.textContent ?? '').includes(v), value);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => (window as any).__explained?.index === 64);
    // ] goes to the next of the verifier's largest deviations by flat index, in this slice or the one holding it.
    const problems = (await session.summary('input')).verify!.problems;
    const want = (problems.find((p) => p.index > 64) ?? problems[0]).index;
    await page.keyboard.press(']');
    await page.waitForFunction((w) => new RegExp(`\\(flat ${w}\\)`).test(document.querySelector('.cursor-status')?.textContent ?? ''), want);
    assert.deepEqual((page as any).__errors, []);
  } finally {
    await page.close();
    session.dispose();
  }
});
