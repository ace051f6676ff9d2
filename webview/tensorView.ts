import { el, tag, divider, table, spinner, showTooltip, legend } from './components';
import { vscode, fmt } from './vscodeApi';
import { Heatmap } from './heatmap';
import { histogram } from './histogram';
import type { ToView, TreeNode, TensorSummary } from '../src/view/protocol';

/** The custom editor's view: object tree on the left, the selected tensor's stats, histogram and heatmap on the right. */
export function tensorView(app: HTMLElement): void {
  const tree = el('nav', { class: 'tree', 'aria-label': 'tensors and objects' });
  const detail = el('section', { class: 'detail' }, el('p', { class: 'hint' }, 'Select a tensor.'));
  const tooltip = el('div', { class: 'tooltip', role: 'tooltip', hidden: '' });
  app.append(el('div', { class: 'split' }, tree, detail), tooltip);
  let heatmap: Heatmap | undefined;
  let current: TensorSummary | undefined;

  const select = (name: string, item: HTMLElement): void => {
    document.body.dataset.selectedAt = String(performance.now());
    delete document.body.dataset.heatmapPaintedAt;
    delete document.body.dataset.firstPageAt;
    tree.querySelectorAll('.selected').forEach((x) => x.classList.remove('selected'));
    item.classList.add('selected');
    detail.replaceChildren(spinner());
    vscode.postMessage({ type: 'select', tensor: name });
  };

  const renderTree = (file: string, format: string, nodes: TreeNode[]): void => {
    tree.replaceChildren(el('h2', {}, `${file.split(/[\\/]/).pop()} `, tag(format)));
    const list = el('ul', { role: 'listbox' });
    for (const n of nodes) {
      const label = n.kind === 'tensor' ? `${n.name || '<root>'}  ${n.dtype}[${n.shape!.join('×')}]` : `${n.name || '<root>'} = ${n.value}`;
      const item = el('li', { role: 'option', tabindex: '0', class: n.kind }, label);
      if (n.quantization) item.append(el('span', { class: 'quant' }, n.quantization));
      if (n.kind === 'tensor') {
        item.addEventListener('click', () => select(n.name, item));
        item.addEventListener('keydown', (e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            select(n.name, item);
            e.preventDefault();
          }
          if (e.key === 'ArrowDown') (item.nextElementSibling as HTMLElement | null)?.focus();
          if (e.key === 'ArrowUp') (item.previousElementSibling as HTMLElement | null)?.focus();
        });
      }
      list.append(item);
    }
    tree.append(list);
    const first = list.querySelector('li.tensor') as HTMLElement | null;
    if (first) first.click();
  };

  const renderSummary = (s: TensorSummary): void => {
    current = s;
    const v = s.verify;
    const head = el('h2', {}, `${s.name || '<root>'} `, tag(`${s.dtype}[${s.shape.join('×')}]`));
    if (v) head.append(' ', tag(v.verdict.toUpperCase(), v.verdict === 'pass' ? 'pass' : 'fail'));
    const rows: [string, string][] = [
      ['elements', String(s.n)],
      ['min / max', `${fmt(s.stats.min)} / ${fmt(s.stats.max)}`],
      ['mean ± std', `${fmt(s.stats.mean)} ± ${fmt(s.stats.std)}`],
      ['NaN / Inf', `${s.stats.nan} / ${s.stats.inf}`],
      ['scale', s.scale !== null ? `${fmt(s.scale, 9)} (${s.scaleSource})` : s.scaleSource ? `per channel or group (${s.scaleSource})` : '–'],
      ['grid', s.grid],
    ];
    if (v) {
      rows.push(['codes', `[${fmt(v.int_min)}, ${fmt(v.int_max)}], saturated +${v.saturated_pos} / −${v.saturated_neg}`]);
      rows.push(['FP32 round-trip artifacts', `${v.fp32_artifacts} (each exactly fl32(q·s): not errors)`]);
      rows.push(['true off-grid', String(v.true_offgrid)]);
      rows.push(['largest |x/s − q| (all elements)', fmt(v.max_deviation)]);
    }
    detail.replaceChildren(head, table(['', ''], rows, 'kv'));
    if (v) for (const r of v.reasons) detail.append(el('p', { class: 'problem' }, r));
    if (v) detail.append(histogram(v.code_histogram, v.code_histogram_min, 'integer codes (log scale)'));
    detail.append(
      divider(),
      el('h3', {}, 'grid deviation'),
      legend(
        [
          ['exact', 'on grid'],
          ['artifact', 'FP32 artifact (shade = deviation)'],
          ['off', 'off grid'],
          ['nonfinite', 'NaN/Inf'],
        ],
        '— hover for the arithmetic, click to explain',
      ),
    );
    heatmap = new Heatmap(s.n, s.columns, {
      requestPage: (start, count) => vscode.postMessage({ type: 'page', tensor: s.name, start, count }),
      hover: (i, x, y) => showTip(i, x, y),
      click: (i) => {
        if (current?.scale !== null) vscode.postMessage({ type: 'explain', tensor: s.name, index: i });
      },
    });
    detail.append(heatmap.root);
  };

  const showTip = (i: number | null, x: number, y: number): void => {
    const e = i === null ? undefined : heatmap?.element(i);
    if (i === null || !e || !current) {
      tooltip.hidden = true;
      return;
    }
    const idx: number[] = [];
    let rest = i;
    for (let d = current.shape.length - 1; d >= 0; d--) {
      idx.unshift(rest % current.shape[d]);
      rest = Math.floor(rest / current.shape[d]);
    }
    const lines = [`[${idx.join(', ')}]  (flat ${i})`, `value ${fmt(e.value, 9)}`];
    if (current.scale !== null) lines.push(`scale ${fmt(current.scale, 9)}`);
    if (e.q !== undefined) lines.push(`q ${e.q}`);
    if (e.dev !== undefined) lines.push(`deviation ${e.dev.toExponential(3)}`);
    if (e.cls)
      lines.push(
        e.cls === 'fp32_artifact'
          ? 'FP32 round-trip artifact (x == fl32(q·s))'
          : e.cls === 'off_grid'
            ? 'OFF GRID (x ≠ fl32(q·s))'
            : e.cls === 'exact'
              ? 'exactly on the grid'
              : e.cls,
      );
    showTooltip(tooltip, lines, x, y);
  };

  window.addEventListener('message', (ev: MessageEvent<ToView>) => {
    const m = ev.data;
    if (m.type === 'tree') renderTree(m.file, m.format, m.nodes);
    else if (m.type === 'summary') renderSummary(m.summary);
    else if (m.type === 'page' && heatmap && current && m.page.tensor === current.name) {
      if (!document.body.dataset.firstPageAt) document.body.dataset.firstPageAt = String(performance.now());
      heatmap.addPage(m.page);
    } else if (m.type === 'error') detail.replaceChildren(el('p', { class: 'problem' }, m.message));
  });
  vscode.postMessage({ type: 'ready' });
}
