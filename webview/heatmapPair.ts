/**
 * The diff view's pair section: where and how much two runs of one tensor differ. A diverging Δ heatmap
 * (B − A, in LSB where both runs have codes) with its colour scale, laid out in the tensor's natural
 * 2-D view; run A and run B on their own grids, scrolled together; the |Δq| histogram; the largest
 * differences, each a jump that explains both values; a per-channel profile and, from the same read, an
 * overview of the whole pair beside the Δ heatmap (|Δ| per tile, a tile a jump); A against B for small
 * tensors. Pages come from the host (DiffSession), each fetched once and shared by the three heatmaps.
 */
import { el, legend, showTooltip, table, selectableTable, themedCanvas } from './components';
import { fmt } from './vscodeApi';
import { Heatmap, Shade } from './heatmap';
import { histogram } from './histogram';
import { request, isCancelled } from './channel';
import { naturalLayout, unravel, TensorLayout } from '../src/view/layout';
import { pairCoding, elementDelta } from '../src/view/pairCodes';
import { MAX_PAGE } from '../src/view/protocol';
import type { Page, PageBlock, PairExplained, PairSide, ChannelProfile, ComparedPair, Overview } from '../src/view/protocol';
import { overviewMap, OverviewMap } from './overview';

type Side = 'a' | 'b';
type MapName = Side | 'd';

/** Tensors up to one page are also drawn as an A-against-B scatter. */
const SCATTER_MAX = MAX_PAGE;
const PANE_WIDTH = 360;
/** Page fetches remembered per run (the three heatmaps share them). */
const FETCHED_KEPT = 64;

const product = (xs: number[]): number => xs.reduce((a, b) => a * b, 1);

export function heatmapPair(pair: ComparedPair): HTMLElement {
  const shape = pair.shape ?? [];
  const n = product(shape);
  const layout = naturalLayout(shape, pair.name || pair.key);
  const coding = pairCoding(pair);
  const unit = coding.lsb ? 'LSB' : 'value';
  // The colour scale's end: the table's own max |Δq| (or max |Δ|), so the legend and the figures agree.
  const scaleMax = (coding.lsb ? pair.max_abs_int : pair.max_abs_diff) ?? 0;
  const tooltip = el('div', { class: 'tooltip', role: 'tooltip', hidden: '' });
  let disposed = false;

  // Each page of each run is asked for once; the Δ heatmap waits for both.
  const fetched: Record<Side, Map<string, Promise<Page>>> = { a: new Map(), b: new Map() };
  const fetchPage = (side: Side, start: number, count: number, block?: PageBlock): Promise<Page> => {
    const at = `${start}:${count}`;
    let p = fetched[side].get(at);
    if (!p) {
      p = request({ type: 'pairPage', key: pair.key, side, start, count, ...(block ? { block } : {}) }).result;
      fetched[side].set(at, p);
      // Bounded: the oldest fetch is forgotten (the heatmaps keep what they show; a page is asked for again if needed).
      if (fetched[side].size > FETCHED_KEPT) fetched[side].delete(fetched[side].keys().next().value!);
    }
    return p;
  };
  const failed = (side: string) => (err: Error) => {
    // Shown in place of the pair (a file changed or vanished since the comparison, say).
    if (!disposed && !isCancelled(err)) root.replaceChildren(el('p', { class: 'problem' }, `${pair.key} (${side}): ${err.message}`));
  };

  const maps = {} as Record<MapName, Heatmap>;
  let deltaOverview: OverviewMap | undefined;
  const others = (m: MapName): Heatmap[] => (['d', 'a', 'b'] as const).filter((x) => x !== m).map((x) => maps[x]);
  const shadeDelta = (i: number): { colour: Shade; alpha: number } | undefined => {
    const e = maps.d.element(i);
    if (!e) return undefined;
    const v = e.value;
    if (v === 0) return { colour: 'exact', alpha: 1 };
    if (!Number.isFinite(v)) return { colour: 'nonFinite', alpha: 1 };
    // Any difference stays visible (0.3), the largest is full strength.
    return { colour: v > 0 ? 'off' : 'artifact', alpha: 0.3 + 0.7 * Math.min(1, Math.abs(v) / (scaleMax || Math.abs(v))) };
  };
  const make = (m: MapName): Heatmap =>
    new Heatmap(
      n,
      layout.cols,
      {
        requestPage: (start, count, block) => {
          if (m === 'd')
            Promise.all([fetchPage('a', start, count, block), fetchPage('b', start, count, block)]).then(([pa, pb]) => {
              if (disposed) return;
              maps.d.addPage(deltaPage(pa, pb));
              root.dataset.deltaPages = String(Number(root.dataset.deltaPages ?? 0) + 1); // for tests and profiling
            }, failed('Δ'));
          else
            fetchPage(m, start, count, block).then((page) => {
              if (disposed) return;
              maps[m].addPage(page);
              maps[m === 'a' ? 'b' : 'a'].repaint(); // its marks depend on this page too
            }, failed(m.toUpperCase()));
        },
        hover: (i, x, y) => showTip(i, x, y),
        click: (i) => select(i, m),
        scrolled: (top, left) => others(m).forEach((h) => h.scrollTo(top, left)),
        marked: m === 'd' ? undefined : (i) => differs(i),
        shade: m === 'd' ? shadeDelta : undefined,
        viewport: m === 'd' ? (rows, cols) => deltaOverview?.showViewport(rows, cols) : undefined,
        cursorMoved: (i) => {
          for (const h of others(m)) if (h.cursor !== i) h.jumpTo(i, false);
          root.dataset.cursor = String(i);
        },
      },
      PANE_WIDTH,
      m === 'd' ? 320 : 240,
      { row: layout.rowLabel, col: layout.colLabel },
    );
  const deltaPage = (pa: Page, pb: Page): Page => {
    const values = new Float32Array(pa.values.length);
    for (let k = 0; k < values.length; k++) values[k] = elementDelta(coding, pa.values[k], pb.values[k]);
    return { tensor: pair.key, start: pa.start, values, ...(pa.block ? { block: pa.block } : {}) };
  };
  // Marked in A and B: elements whose values differ (as diff counts them: -0 equals 0, NaN equals NaN).
  const differs = (i: number): boolean => {
    const a = maps.a?.element(i),
      b = maps.b?.element(i);
    return a !== undefined && b !== undefined && a.value !== b.value && !(Number.isNaN(a.value) && Number.isNaN(b.value));
  };
  maps.d = make('d');
  maps.a = make('a');
  maps.b = make('b');

  const coords = (i: number): string => `[${unravel(i, shape).join(', ')}]`;
  const showTip = (i: number | null, x: number, y: number): void => {
    const a = i === null ? undefined : maps.a.element(i),
      b = i === null ? undefined : maps.b.element(i);
    if (i === null || (!a && !b)) {
      tooltip.hidden = true;
      return;
    }
    const lines = [
      `flat ${i}  ${coords(i)}`,
      `A ${fmt(a?.value, 9)}${a?.q !== undefined ? `  q ${a.q}` : ''}  ${a?.cls ?? ''}`,
      `B ${fmt(b?.value, 9)}${b?.q !== undefined ? `  q ${b.q}` : ''}  ${b?.cls ?? ''}`,
    ];
    if (a && b) {
      const d = elementDelta(coding, a.value, b.value);
      lines.push(`|Δ| ${fmt(Math.abs(Math.fround(b.value - a.value)), 6)}${coding.lsb ? `  Δq ${d > 0 ? '+' : ''}${d} LSB` : ''}`);
    }
    showTooltip(tooltip, lines, x, y);
  };

  // Selecting an element (a largest difference, a click, Enter on the cursor): every heatmap jumps
  // there and both values are explained, each on the grid the comparison used for its run.
  const explained = el('div', { class: 'pair-explain', 'aria-live': 'polite' });
  const select = (i: number, from?: MapName): void => {
    for (const m of ['d', 'a', 'b'] as const) if (m !== from) maps[m].jumpTo(i, false);
    if (from) maps[from].jumpTo(i);
    request({ type: 'pairExplain', key: pair.key, index: i }).result.then(
      (e) => {
        if (disposed) return;
        explained.replaceChildren(...explanation(e));
        root.dataset.explained = String(e.index);
      },
      (err: Error) => {
        if (!disposed && !isCancelled(err)) explained.replaceChildren(el('p', { class: 'problem' }, err.message));
      },
    );
  };

  // The whole pair beside the Δ heatmap, from the profile's read: where the runs differ, the screen outlined.
  const overviewSlot = el('div', { class: 'overview-slot' }, el('p', { class: 'hint waiting' }, 'overview: reading both runs…'));
  const profile = profileSection(pair.key, maps.d.columns, layout, unit, select, (o) => {
    if (disposed) return;
    deltaOverview = overviewMap(o, select, 120, 320, coding.lsb ? ' LSB' : '');
    overviewSlot.replaceChildren(deltaOverview.root);
    maps.d.repaint(); // reports the screen, which the overview outlines
    root.dataset.overviewReady = pair.key;
  });

  const histo = pair.int_diff_histogram
    ? histogram(
        pair.int_diff_histogram,
        0,
        `${pair.key}: |Δq| histogram in LSB (last bin 64+, log scale): ${pair.int_diff_histogram[0]} of ${pair.n} codes equal (${fmt(pair.exact_pct, 5)} %)`,
      )
    : el(
        'p',
        { class: 'hint histogram-none' },
        'No |Δq| histogram: a run has no codes here (neither integer codes nor a per-tensor scale), so differences are in the values’ unit.',
      );

  const largest = pair.largest?.length
    ? selectableTable(
        ['flat index', 'index', 'A', 'B', '|Δ|', ...(coding.lsb ? ['Δq (LSB)'] : [])],
        pair.largest.map((l) => [
          l.index,
          coords(l.index),
          fmt(l.a, 9),
          fmt(l.b, 9),
          fmt(l.abs_diff),
          ...(coding.lsb ? [String(elementDelta(coding, l.a, l.b))] : []),
        ]),
        'largest',
        (k) => select(pair.largest![k].index),
        'jump there and explain both values',
      )
    : el('p', { class: 'hint' }, 'No element differs.');

  const root = el(
    'section',
    { class: 'heatmap-pair', 'aria-label': `where and how much ${pair.key} differs between the runs` },
    el('h3', {}, `${pair.key}: where and how much the runs differ`),
    el(
      'p',
      { class: 'hint' },
      `[${shape.join(', ')}] shown as ${layout.rowLabel} × ${layout.colLabel} (${layout.rows} × ${layout.cols}); Δ = B − A ${coding.lsb ? 'in codes (LSB), each run on its own scale' : 'in value units'}.`,
    ),
    deltaLegend(scaleMax, unit),
    el(
      'div',
      { class: 'heatmap-row' },
      el('figure', { class: 'delta' }, el('figcaption', {}, `Δ (B − A)${coding.lsb ? ', LSB' : ''}`), maps.d.root),
      overviewSlot,
    ),
    histo,
    el('h4', {}, 'Largest differences'),
    largest,
    explained,
    el('h4', {}, 'Per channel'),
    profile.root,
    el('h4', {}, 'Both runs on their own grids (scrolled together)'),
    legend(
      [
        ['differs', 'differs from the other run'],
        ['ongrid', 'on grid'],
        ['artifact', 'FP32 artifact'],
        ['off', 'off grid'],
      ],
      '— hover for both values',
    ),
    el('div', { class: 'pair' }, el('figure', {}, el('figcaption', {}, 'A'), maps.a.root), el('figure', {}, el('figcaption', {}, 'B'), maps.b.root)),
    ...(n > 0 && n <= SCATTER_MAX ? [scatter(pair.key, n, fetchPage)] : []),
    tooltip,
  );
  root.dataset.scaleMax = String(scaleMax);
  // Replies that arrive after this pair was replaced by another are dropped.
  (root as HTMLElement & { dispose?: () => void }).dispose = () => {
    disposed = true;
    profile.cancel();
  };
  return root;
}

/** The Δ heatmap's colour scale: −max … 0 … +max, with what equal and NaN look like. */
function deltaLegend(max: number, unit: string): HTMLElement {
  const u = unit === 'LSB' ? ' LSB' : '';
  return el(
    'div',
    { class: 'delta-legend', 'data-max': String(max) },
    el('span', { class: 'delta-end' }, `−${fmt(max)}${u}`),
    el('span', { class: 'delta-scale', role: 'img', 'aria-label': `colour scale from −${fmt(max)} (blue) through 0 to +${fmt(max)} (red)${u}` }),
    el('span', { class: 'delta-end' }, `+${fmt(max)}${u}`),
    el('span', { class: 'swatch exact' }),
    'equal ',
    el('span', { class: 'swatch nonfinite' }),
    'NaN or ∞ in one run only',
    max === 0 ? el('strong', {}, ' — every element equal') : '',
  );
}

function explanation(e: PairExplained): HTMLElement[] {
  const rows: [string, (s: PairSide) => string][] = [
    ['x', (s) => fmt(s.value, 9)],
    ['scale (source)', (s) => (s.scale === null ? '–' : `${fmt(s.scale, 9)} (${s.scale_source ?? '?'})`)],
    ['q = rint(x / s)', (s) => (s.q === null ? '–' : String(s.q))],
    ['fl32(q · s)', (s) => fmt(s.roundtrip, 9)],
    ['|x/s − q|', (s) => (s.deviation === null ? '–' : s.deviation.toExponential(6))],
    ['class', (s) => s.class ?? 'not judged'],
  ];
  const dq = e.a.q !== null && e.b.q !== null ? e.b.q - e.a.q : null;
  return [
    el('h4', {}, `Element ${e.index} [${e.coords.join(', ')}]${dq === null ? '' : `: Δq = ${dq > 0 ? '+' : ''}${dq} LSB`}`),
    table(
      ['', 'A', 'B'],
      rows.map(([label, f]) => [label, f(e.a), f(e.b)]),
      'pair-explained',
    ),
    el(
      'div',
      { class: 'pair' },
      el('details', {}, el('summary', {}, 'A, step by step'), el('ol', { class: 'steps' }, ...e.a.steps.map((s) => el('li', {}, s)))),
      el('details', {}, el('summary', {}, 'B, step by step'), el('ol', { class: 'steps' }, ...e.b.steps.map((s) => el('li', {}, s)))),
    ),
  ];
}

/**
 * Max (bars) and mean (line) |Δ| per channel, read host-side with progress, the worst channels as jumps;
 * the same read gives the pair's overview (`cols` wide), handed to `overview` for the slot beside the Δ heatmap.
 */
function profileSection(
  key: string,
  cols: number,
  layout: TensorLayout,
  unit: string,
  jump: (i: number) => void,
  overview: (o: Overview) => void,
): { root: HTMLElement; cancel: () => void } {
  const box = el('div', { class: 'channel-profile' }, el('p', { class: 'hint' }, 'Reading both runs for the per-channel profile…'));
  const pending = request({ type: 'pairProfile', key, cols }, (done, total) => {
    box.firstElementChild!.textContent = `Reading both runs for the per-channel profile… ${Math.round((100 * done) / Math.max(1, total))} %`;
  });
  pending.result.then(
    (p) => {
      box.replaceChildren(...profileChart(p, layout, unit, jump));
      if (p.overview) overview(p.overview);
    },
    (err: Error) => {
      if (!isCancelled(err)) box.replaceChildren(el('p', { class: 'problem' }, `per-channel profile: ${err.message}`));
    },
  );
  return { root: box, cancel: () => pending.cancel() };
}

function profileChart(p: ChannelProfile, layout: TensorLayout, unit: string, jump: (i: number) => void): HTMLElement[] {
  const what = unit === 'LSB' ? '|Δq| (LSB)' : '|Δ|';
  const width = 720,
    height = 120;
  let top = 0;
  for (const v of p.max) if (Number.isFinite(v) && v > top) top = v;
  top ||= 1;
  const entries = p.max.length;
  // More channels than pixels: each bar is a bucket of channels (its largest max, its mean of means).
  const per = Math.ceil(entries / width),
    bars = Math.ceil(entries / per);
  const bucketMax = new Float64Array(bars),
    bucketMean = new Float64Array(bars);
  for (let c = 0; c < entries; c++) {
    const k = Math.floor(c / per);
    if (p.max[c] > bucketMax[k]) bucketMax[k] = p.max[c];
    bucketMean[k] += p.mean[c] / Math.min(per, entries - k * per);
  }
  const canvas = themedCanvas(width, height, `max and mean ${what} for each of ${p.channels} channels`, (ctx, colour) => {
    const bw = width / bars;
    const y = (v: number): number => height - 2 - (Number.isFinite(v) ? Math.min(1, v / top) : 1) * (height - 4);
    ctx.fillStyle = colour('--vscode-charts-red', '#f14c4c');
    bucketMax.forEach((v, k) => v > 0 && ctx.fillRect(k * bw, y(v), Math.max(1, bw - (bw > 3 ? 1 : 0)), height - 2 - y(v)));
    ctx.strokeStyle = colour('--vscode-charts-blue', '#3794ff');
    ctx.beginPath();
    bucketMean.forEach((v, k) => (k ? ctx.lineTo(k * bw + bw / 2, y(v)) : ctx.moveTo(bw / 2, y(v))));
    ctx.stroke();
  });
  const worst = [...p.max.keys()]
    .filter((c) => p.max[c] > 0)
    .sort((x, y) => p.max[y] - p.max[x] || p.mean[y] - p.mean[x])
    .slice(0, 8);
  const caption = el(
    'figcaption',
    {},
    `max ${what} (bars) and mean (line) per channel along axis ${p.axis} (${p.channels} channels, 0 … ${p.channels - 1}${per * p.group > 1 ? `, ${per * p.group} to a bar` : ''}); ` +
      (worst.length ? `${p.max.filter((m) => m > 0).length}${p.group > 1 ? ` groups of ${p.group}` : ''} channels differ` : 'no channel differs'),
  );
  const out: HTMLElement[] = [el('figure', { class: 'histogram profile', 'data-channels': String(p.channels) }, canvas, caption)];
  if (worst.length)
    out.push(
      selectableTable(
        [p.group > 1 ? `channels (groups of ${p.group})` : 'channel', `max ${what}`, `mean ${what}`],
        worst.map((c) => [p.group > 1 ? `${c * p.group}–${Math.min(p.channels, (c + 1) * p.group) - 1}` : c, fmt(p.max[c]), fmt(p.mean[c], 4)]),
        'worst-channels',
        (k) => jump(worst[k] * p.group * layout.channelStride),
        'jump to the channel’s first element',
      ),
    );
  return out;
}

/** A against B, one dot per element, for tensors of one page; dots off the diagonal differ. */
function scatter(key: string, n: number, fetchPage: (side: Side, start: number, count: number) => Promise<Page>): HTMLElement {
  const size = 260;
  const cap = el('figcaption', {}, `${key}: A (across) against B (up), ${n} elements; the diagonal is A = B`);
  let pages: [Page, Page] | undefined;
  const canvas = themedCanvas(size, size, `run A against run B, ${n} elements`, (ctx, colour) => {
    if (!pages) return;
    const [pa, pb] = pages;
    let lo = Infinity,
      hi = -Infinity;
    for (const v of [...pa.values, ...pb.values])
      if (Number.isFinite(v)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    if (!(hi > lo)) hi = lo + 1;
    const at = (v: number): number => 4 + ((v - lo) / (hi - lo)) * (size - 8);
    ctx.strokeStyle = colour('--vscode-editorLineNumber-foreground', '#858585');
    ctx.beginPath();
    ctx.moveTo(at(lo), size - at(lo));
    ctx.lineTo(at(hi), size - at(hi));
    ctx.stroke();
    const same = colour('--vscode-charts-blue', '#3794ff'),
      other = colour('--vscode-charts-red', '#f14c4c');
    for (let k = 0; k < pa.values.length; k++) {
      const x = pa.values[k],
        y = pb.values[k];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      ctx.fillStyle = x !== y ? other : same;
      ctx.fillRect(at(x) - 1, size - at(y) - 1, 2, 2);
    }
  });
  Promise.all([fetchPage('a', 0, n), fetchPage('b', 0, n)]).then(
    ([pa, pb]) => {
      pages = [pa, pb];
      canvas.repaint();
      let off = 0;
      for (let k = 0; k < pa.values.length; k++) if (Number.isFinite(pa.values[k]) && Number.isFinite(pb.values[k]) && pa.values[k] !== pb.values[k]) off++;
      cap.textContent += `; ${off} off it`;
      canvas.dataset.offDiagonal = String(off);
    },
    () => undefined, // the heatmaps above report a failed page
  );
  return el('figure', { class: 'histogram scatter' }, canvas, cap);
}
