import { el, tag, table, divider, onActivate, themedCanvas } from './components';
import { fmt } from './vscodeApi';
import { heatmapPair } from './heatmapPair';

/** The explanation panel: the FP32 arithmetic of one element, step by step. */
export function explainView(app: HTMLElement, e: any): void {
  app.append(
    el(
      'h2',
      {},
      'FP32 round-trip explanation ',
      tag(
        e.class === 'fp32_artifact' ? 'FP32 artifact' : e.class === 'off_grid' ? 'OFF GRID' : e.class === 'out_of_range' ? 'OUT OF RANGE' : 'exact',
        e.class === 'off_grid' || e.class === 'out_of_range' ? 'fail' : 'pass',
      ),
    ),
  );
  if (e.tensor !== undefined) app.append(el('p', { class: 'hint' }, `tensor ${e.tensor || '<root>'}, element ${e.index}, scale from ${e.scale_source}`));
  app.append(el('ol', { class: 'steps' }, ...e.steps.map((s: string) => el('li', {}, s))));
  app.append(
    divider(),
    table(
      ['quantity', 'FP32', 'exact decimal / bits'],
      [
        ['x', fmt(e.value, 9), `${e.value_exact}  ${e.value_hex}`],
        ['s', fmt(e.scale_f32, 9), `${e.scale_exact}  ${e.scale_hex}`],
        ['x / s', fmt(e.quotient, 10), e.quotient_exact],
        ['q = rint(x/s)', String(e.q), ''],
        ['q · s', '', e.product_exact],
        ['fl32(q · s)', fmt(e.roundtrip, 9), `${e.roundtrip_exact}  ${e.roundtrip_hex}`],
        ['deviation', e.deviation.toExponential(8), `round-trip bound ${e.artifact_bound.toExponential(8)}`],
      ],
    ),
  );
  app.append(
    el(
      'p',
      { class: 'hint' },
      'Reference case: 87 × 0.0121623231 = 1.0581221097, stored as FP32 1.05812216, divides back to 87.00000763: deviation 7.62939453e-06, an FP32 round-trip artifact, not a quantization error.',
    ),
  );
}

/** The side-by-side comparison of two runs; the input guard comes first and loudly. */
export function diffView(app: HTMLElement, r: any): void {
  app.append(el('h2', {}, 'Compare runs'), el('p', { class: 'paths' }, `A: ${r.a}`, el('br'), `B: ${r.b}`));
  if (!r.valid) app.append(el('div', { class: 'guard invalid', role: 'alert' }, el('strong', {}, 'INVALID COMPARISON: '), r.reason));
  else if (r.reason) app.append(el('div', { class: 'guard warn', role: 'status' }, r.reason));
  else app.append(el('div', { class: 'guard ok', role: 'status' }, 'Inputs match: both runs processed the same inputs.'));
  // Several layers: one row each, in layer order, with the first layer where the runs part marked.
  if ((r.layers ?? []).length > 1) {
    const layers = table(
      ['layer', 'lowest SQNR dB', 'codes equal %', 'max |Δq|', 'inputs', ''],
      r.layers.map((l: any) => [
        l.layer,
        fmt(l.sqnr_db, 5),
        fmt(l.exact_pct, 5),
        fmt(l.max_abs_int),
        l.input_guard,
        l.first_divergence ? '← the runs part here' : '',
      ]),
      'layers',
    );
    const rows = [...layers.querySelectorAll('tbody tr')] as HTMLElement[];
    rows.forEach((tr, i) => r.layers[i].first_divergence && tr.classList.add('first-divergence'));
    app.append(
      el('h3', {}, 'Per layer'),
      layerChart(r.layers, (i) => rows[i].focus()),
      layers,
    );
  }
  // Each tensor once: a pair marked same_as (the same tensor in its own file and inside the per-layer dict) is named beside the first.
  const pairs = r.pairs.filter((p: any) => !p.same_as);
  const alsoAs = (p: any): string => {
    const same = r.pairs.filter((x: any) => x.same_as === p.key).map((x: any) => x.key);
    return same.length ? ` (also ${same.join(', ')})` : '';
  };
  const summary = table(
    ['tensor', 'input?', 'max |Δ|', 'mean |Δ|', 'exact %', 'codes equal %', 'max |Δq|', 'mean |Δq|', 'SQNR dB', 'cosine'],
    pairs.map((p: any) =>
      p.error
        ? [p.key, p.is_input ? 'yes' : '', p.error, '', '', '', '', '', '', '']
        : [
            p.key + alsoAs(p),
            p.is_input ? (r.inputs_match === false ? 'DIFFERS' : 'yes') : '',
            fmt(p.max_abs_diff),
            fmt(p.mean_abs_diff),
            fmt(p.exact_match_pct, 5),
            fmt(p.exact_pct, 5),
            fmt(p.max_abs_int),
            fmt(p.mean_abs_int),
            fmt(p.sqnr_db, 5),
            fmt(p.cosine, 8),
          ],
    ),
    'diff',
  );
  app.append(summary);
  // Selecting a row (click, Enter or Space) shows where and how much that pair differs, below the
  // table; the first pair that differs is shown to begin with.
  const slot = el('div', { class: 'pair-slot' });
  let shown: (HTMLElement & { dispose?: () => void }) | undefined;
  const show = (p: any, row: Element): void => {
    shown?.dispose?.();
    summary.querySelectorAll('tr.selected').forEach((x) => x.classList.remove('selected'));
    row.classList.add('selected');
    shown = heatmapPair(p);
    slot.replaceChildren(shown);
  };
  const rows = [...summary.querySelectorAll('tbody tr')];
  pairs.forEach((p: any, k: number) => {
    if (p.error || !p.shape) return;
    const row = rows[k];
    row.classList.add('selectable');
    row.setAttribute('title', 'show where and how much the runs differ');
    onActivate(row as HTMLElement, () => show(p, row));
  });
  app.append(slot);
  const firstDiffering = pairs.findIndex((p: any) => !p.error && p.shape && p.exact_match_pct !== 100);
  const initial = firstDiffering >= 0 ? firstDiffering : pairs.findIndex((p: any) => !p.error && p.shape);
  if (initial >= 0) show(pairs[initial], rows[initial]);
  if (r.only_in_a.length || r.only_in_b.length)
    app.append(el('p', { class: 'hint' }, `only in A: ${r.only_in_a.join(', ') || '–'}; only in B: ${r.only_in_b.join(', ') || '–'}`));
}

/**
 * One slot per layer, in layer order: max |Δq| as a bar (log scale, so off-by-one layers show beside
 * large breaks), the lowest SQNR as a dot (its own scale, at the top where the outputs are identical),
 * the first layer whose outputs differ highlighted, and a mark under layers whose own inputs differ.
 * Clicking a slot focuses that layer's table row.
 */
function layerChart(layers: any[], pick: (i: number) => void, width = 720, height = 160): HTMLElement {
  const n = layers.length;
  const first = layers.findIndex((l) => l.first_divergence);
  const maxInt = Math.max(1, ...layers.map((l) => (Number.isFinite(l.max_abs_int) ? l.max_abs_int : 0)));
  const sqnrs = layers.map((l) => l.sqnr_db).filter((v) => typeof v === 'number' && Number.isFinite(v));
  const lo = Math.min(0, ...sqnrs),
    hi = Math.max(1, ...sqnrs);
  const plotTop = 20,
    plotBottom = height - 22;
  const bw = width / Math.max(1, n);
  const canvas = themedCanvas(width, height, `per-layer chart of ${n} layers`, (ctx, colour) => {
    if (first >= 0) {
      ctx.fillStyle = colour('--vscode-charts-yellow', '#cca700');
      ctx.globalAlpha = 0.3;
      ctx.fillRect(first * bw, 0, Math.max(2, bw), height);
      ctx.globalAlpha = 1;
    }
    layers.forEach((l, i) => {
      const x = i * bw;
      if (l.max_abs_int > 0) {
        const h = (Math.log1p(l.max_abs_int) / Math.log1p(maxInt)) * (plotBottom - plotTop);
        ctx.fillStyle = colour('--vscode-charts-red', '#f14c4c');
        ctx.fillRect(x + bw * 0.2, plotBottom - h, Math.max(1, bw * 0.6), h);
      }
      const identical = l.sqnr_db === null && l.exact_pct === 100;
      if (identical || Number.isFinite(l.sqnr_db)) {
        const y = identical ? plotTop : plotBottom - ((l.sqnr_db - lo) / (hi - lo)) * (plotBottom - plotTop);
        ctx.fillStyle = colour('--vscode-charts-blue', '#3794ff');
        ctx.beginPath();
        ctx.arc(x + bw / 2, y, Math.min(4, Math.max(2, bw / 4)), 0, 2 * Math.PI);
        ctx.fill();
      }
      if (l.input_guard === 'differ') {
        ctx.fillStyle = colour('--vscode-charts-purple', '#b180d7');
        ctx.fillRect(x + bw * 0.2, plotBottom + 3, Math.max(1, bw * 0.6), 4);
      }
    });
    // Layer numbers under the slots: each one where they fit, else the first and the last.
    ctx.fillStyle = colour('--vscode-foreground', '#ccc');
    ctx.font = '10px sans-serif';
    layers.forEach((l, i) => {
      if (bw < 24 && i !== 0 && i !== n - 1) return;
      const label = String(l.index ?? i);
      ctx.fillText(label, Math.min(width - ctx.measureText(label).width, Math.max(0, i * bw + bw / 2 - ctx.measureText(label).width / 2)), height - 3);
    });
    ctx.fillText(`max |Δq| ${maxInt} (bars, log)`, 2, 10);
    const right = `SQNR ${Math.round(lo)}–${Math.round(hi)} dB (dots; top: identical)`;
    ctx.fillText(right, width - ctx.measureText(right).width - 2, 10);
  });
  canvas.classList.add('layer-chart');
  canvas.dataset.layers = String(n);
  canvas.dataset.firstDivergence = String(first);
  canvas.addEventListener('click', (e) => {
    const i = Math.floor((e.clientX - canvas.getBoundingClientRect().left) / bw);
    if (i >= 0 && i < n) pick(i);
  });
  const caption =
    first >= 0
      ? `highlighted: ${layers[first].layer}, the first layer (of ${n}, in layer order) whose outputs differ`
      : `the outputs of all ${n} layers are equal`;
  const differ = layers.filter((l) => l.input_guard === 'differ').length;
  return el(
    'figure',
    { class: 'histogram layers' },
    canvas,
    el('figcaption', {}, caption + (differ ? `; ${differ} layers' own inputs differ (marked below)` : '')),
  );
}

/** A tensor's scale in the report: one value, or a per-channel scale as reportPayload summarizes it. */
function scaleCell(scale: any): string {
  if (scale && typeof scale === 'object' && 'channels' in scale) return `per-channel: ${scale.channels} scales in [${fmt(scale.min, 4)}, ${fmt(scale.max, 4)}]`;
  return fmt(scale, 9);
}

/** Report of an explorer "Verify INT8 grid" run over files or folders (src/view/reportPayload.ts). */
export function reportView(app: HTMLElement, d: any): void {
  const results = d.reports.flatMap((r: any) => r.results.map((x: any) => ({ file: r.file, ...x })));
  const failed = results.filter((x: any) => x.verdict === 'fail').length;
  const head = el('h2', {}, 'INT8 grid report ', tag(`${results.length - failed} pass`, 'pass'), ' ', tag(`${failed} fail`, failed ? 'fail' : 'pass'));
  if (d.failures.length) head.append(' ', tag(`${d.failures.length} unreadable`, 'fail'));
  app.append(head);
  app.append(
    table(
      ['file', 'tensor', 'verdict', 'scale (source)', 'codes', 'saturated', 'FP32 artifacts', 'true off-grid', 'max deviation'],
      results.map((x: any) => [
        x.file.split(/[\\/]/).slice(-2).join('/'),
        x.name || '<root>',
        x.verdict.toUpperCase(),
        `${scaleCell(x.scale)} (${x.scale_source})`,
        `[${fmt(x.int_min)}, ${fmt(x.int_max)}]`,
        `+${x.saturated_pos} / −${x.saturated_neg}`,
        x.fp32_artifacts,
        x.true_offgrid,
        fmt(x.max_deviation),
      ]),
      'report',
    ),
  );
  if (d.failures.length)
    app.append(
      el('h3', {}, 'Unreadable files'),
      table(
        ['file', 'error'],
        d.failures.map((f: any) => [f.file, f.error]),
      ),
    );
}
