import { el, tag, divider, table, spinner, showTooltip, legend, button, onActivate } from './components';
import { vscode, fmt } from './vscodeApi';
import { Heatmap } from './heatmap';
import { overviewMap, OverviewMap } from './overview';
import { histogram } from './histogram';
import { request, isCancelled, Pending } from './channel';
import type { TreeNode, TensorSummary, Page, Overview, FoundProblem } from '../src/view/protocol';
import { naturalLayout, sliceIndex, sliceProblem, unravel, Slice } from '../src/view/layout';

/** What the view restores when VS Code recreates it (a tab switched back to): the tensor, scroll and cursor. */
interface ViewState {
  tensor?: string;
  scrollTop?: number;
  scrollLeft?: number;
  cursor?: number | null;
  /** The 2-D slice shown of an N-D tensor (absent: the whole tensor in its natural layout). */
  slice?: Slice | null;
}

/** The custom editor's view: object tree on the left, the selected tensor's stats, histogram and heatmap on the right. */
export function tensorView(app: HTMLElement): void {
  const tree = el('nav', { class: 'tree', 'aria-label': 'tensors and objects' });
  const detail = el('section', { class: 'detail' }, el('p', { class: 'hint' }, 'Select a tensor.'));
  const tooltip = el('div', { class: 'tooltip', role: 'tooltip', hidden: '' });
  app.append(el('div', { class: 'split' }, tree, detail), tooltip);
  let heatmap: Heatmap | undefined;
  // The flat index of a heatmap position (the identity unless a slice is shown).
  let flatOf: (i: number) => number = (i) => i;
  let current: TensorSummary | undefined;
  let pendingSummary: Pending<TensorSummary> | undefined;
  let pendingOverview: Pending<Overview> | undefined;
  let pendingSearch: Pending<FoundProblem> | undefined;
  const saved: ViewState = (vscode.getState() as ViewState | undefined) ?? {};
  const remember = (patch: ViewState): void => {
    Object.assign(saved, patch);
    vscode.setState(saved);
  };

  const showProblem = (message: string): void => {
    detail.replaceChildren(el('p', { class: 'problem' }, message));
  };

  const select = (name: string, item: HTMLElement, restore?: ViewState): void => {
    document.body.dataset.selectedAt = String(performance.now());
    delete document.body.dataset.heatmapPaintedAt;
    delete document.body.dataset.firstPageAt;
    tree.querySelectorAll('.selected').forEach((x) => x.classList.remove('selected'));
    item.classList.add('selected');
    pendingSummary?.cancel(); // another tensor chosen: the previous summary is no longer wanted
    pendingOverview?.cancel();
    if (!restore) remember({ tensor: name, scrollTop: 0, scrollLeft: 0, cursor: null, slice: null });
    const progressText = el('span', { class: 'progress-text' }, 'reading…');
    const pending = request({ type: 'summary', tensor: name }, (done, total) => {
      progressText.textContent = `reading ${Math.floor((100 * done) / Math.max(1, total))}% (${done.toLocaleString()} of ${total.toLocaleString()} element passes)`;
    });
    pendingSummary = pending;
    detail.replaceChildren(
      el(
        'div',
        { class: 'waiting', role: 'status' },
        spinner(),
        progressText,
        button('Cancel', () => pending.cancel()),
      ),
    );
    pending.result.then(
      (summary) => {
        if (pendingSummary !== pending) return;
        pendingSummary = undefined;
        renderSummary(summary, restore);
      },
      (err: Error) => {
        if (pendingSummary !== pending) return;
        pendingSummary = undefined;
        if (isCancelled(err))
          detail.replaceChildren(
            el('p', { class: 'hint cancelled' }, `Summary of ${name || '<root>'} cancelled. `),
            button('Compute again', () => select(name, item)),
          );
        else showProblem(err.message);
      },
    );
  };

  const renderTree = (file: string, format: string, nodes: TreeNode[]): void => {
    tree.replaceChildren(el('h2', {}, `${file.split(/[\\/]/).pop()} `, tag(format)));
    const list = el('ul', { role: 'listbox' });
    for (const n of nodes) {
      const label = n.kind === 'tensor' ? `${n.name || '<root>'}  ${n.dtype}[${n.shape!.join('×')}]` : `${n.name || '<root>'} = ${n.value}`;
      const item = el('li', { role: 'option', tabindex: '0', class: n.kind }, label);
      item.dataset.name = n.name;
      if (n.quantization) item.append(el('span', { class: 'quant' }, n.quantization));
      if (n.kind === 'tensor') {
        onActivate(item, () => select(n.name, item));
        item.addEventListener('keydown', (e) => {
          if (e.key === 'ArrowDown') (item.nextElementSibling as HTMLElement | null)?.focus();
          if (e.key === 'ArrowUp') (item.previousElementSibling as HTMLElement | null)?.focus();
        });
      }
      list.append(item);
    }
    tree.append(list);
    const items = [...list.querySelectorAll('li.tensor')] as HTMLElement[];
    const again = saved.tensor !== undefined ? items.find((li) => li.dataset.name === saved.tensor) : undefined;
    if (again) select(saved.tensor!, again, { ...saved });
    else if (items[0]) items[0].click();
  };

  const renderSummary = (s: TensorSummary, restore?: ViewState): void => {
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
          ['ongrid', 'on grid (shade = |q|)'],
          ['artifact', 'FP32 artifact (shade = deviation)'],
          ['off', 'off grid'],
          ['outofrange', 'code out of range'],
          ['nonfinite', 'NaN/Inf'],
        ],
        '— hover for the arithmetic, click to explain',
      ),
    );
    const status = el('p', { class: 'cursor-status', 'aria-live': 'polite' }, 'Focus the heatmap for a keyboard cursor: arrows move it, Enter explains.');
    // `cursorDescribed` marks when the line shows the element's own facts rather than 'loading…' (its page may still be on the way).
    const showCursor = (i: number): void => {
      status.textContent = describe(i).join(' · ');
      if (heatmap?.element(i)) document.body.dataset.cursorDescribed = String(i);
      else delete document.body.dataset.cursorDescribed;
    };
    // An N-D tensor can be shown as one 2-D slice: two axes as rows and columns, an index for each other axis.
    const slice = restore?.slice && !sliceProblem(s.shape, restore.slice) ? restore.slice : undefined;
    const index = slice ? sliceIndex(s.shape, slice) : undefined;
    flatOf = index ? index.flatOf : (i) => i;
    const showSlice = (next: Slice | undefined, flat?: number): void => {
      const pos = next && flat !== undefined ? sliceIndex(s.shape, next).sliceOf(flat) : (flat ?? null);
      remember({ slice: next ?? null, cursor: pos, scrollTop: 0, scrollLeft: 0 });
      renderSummary(s, { slice: next ?? null, cursor: pos });
    };
    if (s.shape.length >= 3) detail.append(sliceControls(s.shape, slice, (next) => showSlice(next)));
    const problems = v?.problems ?? [];
    const nav = el('div', { class: 'problem-nav' });
    const pictureN = index ? index.n : s.n;
    // Next/previous problem: every element off its grid, NaN/Inf or with a code out of range, in
    // picture order, searched host-side (the whole tensor if need be); wraps as VS Code's F8 does.
    const jumpProblem = (dir: 1 | -1): void => {
      const h = heatmap;
      if (!h) return;
      const edge = dir > 0 ? -1 : pictureN;
      pendingSearch?.cancel();
      const find = (from: number, wrapped: boolean): void => {
        const pending = request({ type: 'findProblem', tensor: s.name, from, dir, cols: h.columns, ...(slice ? { slice } : {}) }, (done, total) => {
          status.textContent = `looking for the ${dir > 0 ? 'next' : 'previous'} problem: ${Math.floor((100 * done) / Math.max(1, total))}% read`;
        });
        pendingSearch = pending;
        pending.result.then(
          (found) => {
            if (heatmap !== h || pendingSearch !== pending) return;
            if (found.at !== null) {
              document.body.dataset.problemAt = String(found.at);
              h.jumpTo(found.at);
            } else if (!wrapped && from !== edge) find(edge, true);
            else status.textContent = 'no problems: every element is on its grid, finite and in range';
          },
          (err: Error) => {
            if (!isCancelled(err) && heatmap === h) status.textContent = `next problem: ${err.message}`;
          },
        );
      };
      find(h.cursor ?? edge, false);
    };
    // The verifier's largest deviations (FP32 artifacts included), by flat index: possibly in another slice.
    const jumpWorst = (dir: 1 | -1): void => {
      if (!heatmap || !problems.length) return;
      const at = heatmap.cursor !== null ? flatOf(heatmap.cursor) : dir > 0 ? -1 : s.n;
      const next = dir > 0 ? problems.find((p) => p.index > at) : [...problems].reverse().find((p) => p.index < at);
      const target = next ?? (dir > 0 ? problems[0] : problems[problems.length - 1]); // wraps, as VS Code's next problem does
      const pos = index ? index.sliceOf(target.index) : target.index;
      if (pos !== null) heatmap.jumpTo(pos);
      // In another slice: show the slice that holds it (same axes, the problem's indices elsewhere).
      else showSlice({ ...slice!, at: unravel(target.index, s.shape) }, target.index);
    };
    if (v || s.stats.nan || s.stats.inf) {
      nav.append(
        button('◀ Previous problem', () => jumpProblem(-1)),
        button('Next problem ▶', () => jumpProblem(1)),
        el('span', { class: 'hint' }, ` off grid, NaN/Inf or out of range, anywhere in the ${index ? 'slice' : 'tensor'} (keys n / p, F8)`),
      );
    }
    if (problems.length) {
      nav.append(
        el('br'),
        button('◀ Larger deviation', () => jumpWorst(-1)),
        button('Larger deviation ▶', () => jumpWorst(1)),
        el('span', { class: 'hint' }, ` ${problems.length} largest |x/s − q| (the verifier's worst ${v!.problems_listed}, by index; keys [ / ])`),
      );
    }
    const layout = naturalLayout(s.shape, s.name);
    let map: OverviewMap | undefined;
    // Pages answer the heatmap that asked: after a slice change the same tensor gets a new heatmap,
    // and a page of the old layout must not land in it.
    const mine: Heatmap = (heatmap = new Heatmap(
      index ? index.n : s.n,
      index ? index.cols : layout.cols,
      {
        requestPage: (start, count, block) =>
          request({ type: 'page', tensor: s.name, start, count, ...(slice ? { slice } : {}), ...(block ? { block } : {}) }).result.then(
            (page: Page) => {
              if (current !== s || heatmap !== mine) return;
              if (!document.body.dataset.firstPageAt) document.body.dataset.firstPageAt = String(performance.now());
              mine.addPage(page);
              // The cursor's element may be the one that was loading.
              const at = mine.cursor;
              if (at !== null && mine.element(at) && (page.block || (at >= page.start && at < page.start + page.values.length))) showCursor(at);
            },
            (err: Error) => {
              if (!isCancelled(err) && heatmap === mine) status.textContent = `page at ${start}: ${err.message}`;
            },
          ),
        hover: (i, x, y) => showTip(i, x, y),
        click: (i) => explain(s, flatOf(i)),
        cursorMoved: (i) => {
          remember({ cursor: i, scrollTop: heatmap?.scrollTop ?? 0, scrollLeft: heatmap?.scrollLeft ?? 0 });
          showCursor(i);
          document.body.dataset.cursor = String(i);
        },
        scrolled: (top, left) => remember({ scrollTop: top, scrollLeft: left }),
        viewport: (rows, cols) => map?.showViewport(rows, cols),
        key: (e) => {
          if (e.key === 'n' || (e.key === 'F8' && !e.shiftKey)) jumpProblem(1);
          else if (e.key === 'p' || (e.key === 'F8' && e.shiftKey)) jumpProblem(-1);
          else if (e.key === ']') jumpWorst(1);
          else if (e.key === '[') jumpWorst(-1);
          else return;
          e.preventDefault();
        },
      },
      720,
      360,
      slice ? { row: `axis ${slice.rows}`, col: `axis ${slice.cols}` } : { row: layout.rowLabel, col: layout.colLabel },
    ));
    // The whole tensor beside the heatmap, once the host has read it all (kept there: instant on a tab switch).
    const overviewSlot = el('div', { class: 'overview-slot' });
    const progressText = el('span', { class: 'progress-text' }, 'overview: reading…');
    const pending = request({ type: 'overview', tensor: s.name, cols: mine.columns, ...(slice ? { slice } : {}) }, (done, total) => {
      progressText.textContent = `overview: reading ${Math.floor((100 * done) / Math.max(1, total))}%`;
    });
    // The previous heatmap's overview is no longer wanted (cancelled after this request, so the same one is joined, not restarted).
    pendingOverview?.cancel();
    pendingOverview = pending;
    overviewSlot.append(
      el(
        'p',
        { class: 'waiting', role: 'status' },
        progressText,
        button('Cancel', () => pending.cancel()),
      ),
    );
    pending.result.then(
      (o) => {
        if (heatmap !== mine) return;
        map = overviewMap(o, (pos) => mine.jumpTo(pos));
        overviewSlot.replaceChildren(map.root);
        mine.repaint(); // reports the screen, which the overview outlines
        document.body.dataset.overviewReady = s.name;
      },
      (err: Error) => {
        if (heatmap !== mine) return;
        overviewSlot.replaceChildren(
          isCancelled(err)
            ? el(
                'p',
                { class: 'hint cancelled' },
                'Overview cancelled. ',
                button('Read again', () => renderSummary(s, { cursor: mine.cursor, scrollTop: mine.scrollTop, slice: slice ?? null })),
              )
            : el('p', { class: 'problem' }, `overview: ${err.message}`),
        );
      },
    );
    detail.append(nav, el('div', { class: 'heatmap-row' }, mine.root, overviewSlot), status);
    if (restore?.cursor !== undefined && restore.cursor !== null) mine.jumpTo(restore.cursor, false);
    else if (restore?.scrollTop || restore?.scrollLeft) mine.scrollTo(restore.scrollTop ?? 0, restore.scrollLeft ?? 0);
  };

  const explain = (s: TensorSummary, i: number): void => {
    if (s.scale === null && !s.scaleSource) return; // codes, or a tensor judged on no grid: nothing to explain
    request({ type: 'explain', tensor: s.name, index: i }).result.then(
      (e) => {
        document.body.dataset.explained = String(e.index);
      },
      (err: Error) => {
        if (!isCancelled(err)) showTooltip(tooltip, [err.message], 20, 20);
      },
    );
  };

  /** The element's N-D index, value and grid facts (hover tooltip and keyboard status line). */
  const describe = (i: number): string[] => {
    const e = heatmap?.element(i);
    if (!current) return [];
    const flat = flatOf(i);
    const idx = unravel(flat, current.shape);
    const lines = [`[${idx.join(', ')}]  (flat ${flat})`];
    if (!e) return [...lines, 'loading…'];
    lines.push(`value ${fmt(e.value, 9)}`);
    if (e.scale !== undefined) lines.push(`scale ${fmt(e.scale, 9)} (this element's channel or group)`);
    else if (current.scale !== null) lines.push(`scale ${fmt(current.scale, 9)}`);
    if (e.q !== undefined && e.cls !== 'non_finite') lines.push(`q ${e.q}`);
    if (e.dev !== undefined && e.cls !== 'non_finite') lines.push(`deviation ${e.dev.toExponential(3)}`);
    if (e.cls)
      lines.push(
        e.cls === 'fp32_artifact'
          ? 'FP32 round-trip artifact (x == fl32(q·s))'
          : e.cls === 'off_grid'
            ? 'OFF GRID (x ≠ fl32(q·s))'
            : e.cls === 'out_of_range'
              ? 'OUT OF RANGE (on the grid, but its code is outside the INT range)'
              : e.cls === 'exact'
                ? 'exactly on the grid'
                : e.cls === 'non_finite'
                  ? 'NaN/Inf'
                  : e.cls,
      );
    return lines;
  };

  const showTip = (i: number | null, x: number, y: number): void => {
    if (i === null || !heatmap?.element(i) || !current) {
      tooltip.hidden = true;
      return;
    }
    showTooltip(tooltip, describe(i), x, y);
  };

  void request({ type: 'tree' }).result.then(
    (t) => renderTree(t.file, t.format, t.nodes),
    (err: Error) => showProblem(err.message),
  );
}

/** The slicing controls of an N-D tensor: whole tensor or a 2-D slice, its two axes and the other axes' indices. */
function sliceControls(shape: number[], slice: Slice | undefined, apply: (s: Slice | undefined) => void): HTMLElement {
  const nd = shape.length;
  const axisSelect = (cls: string, label: string, value: number): HTMLSelectElement => {
    const sel = el('select', { class: cls, 'aria-label': label });
    shape.forEach((len, d) => sel.append(el('option', { value: String(d) }, `axis ${d} (${len})`)));
    sel.value = String(value);
    return sel;
  };
  const mode = el(
    'select',
    { class: 'slice-mode', 'aria-label': 'what the heatmap shows' },
    el('option', { value: 'whole' }, 'whole tensor'),
    el('option', { value: 'slice' }, '2-D slice'),
  );
  mode.value = slice ? 'slice' : 'whole';
  const rows = axisSelect('slice-rows', 'axis shown as rows', slice?.rows ?? nd - 2);
  const cols = axisSelect('slice-cols', 'axis shown as columns', slice?.cols ?? nd - 1);
  const at = shape.map((len, d) => {
    const input = el('input', {
      type: 'number',
      class: 'slice-at',
      min: '0',
      max: String(len - 1),
      value: String(slice?.at[d] ?? 0),
      'aria-label': `index of axis ${d}`,
      'data-axis': String(d),
    });
    return input;
  });
  const problem = el('span', { class: 'problem', role: 'status' });
  const current = (): Slice => ({ rows: Number(rows.value), cols: Number(cols.value), at: at.map((i) => Number(i.value)) });
  const sync = (): void => {
    const on = mode.value === 'slice';
    for (const c of [rows, cols, ...at]) c.disabled = !on;
    at.forEach((input, d) => (input.disabled = !on || d === Number(rows.value) || d === Number(cols.value)));
  };
  const changed = (): void => {
    sync();
    if (mode.value !== 'slice') return apply(undefined);
    const s = current();
    const why = sliceProblem(shape, s);
    problem.textContent = why ?? '';
    if (!why) apply(s);
  };
  for (const c of [mode, rows, cols, ...at]) c.addEventListener('change', changed);
  sync();
  return el(
    'div',
    { class: 'slice-controls' },
    'Show ',
    mode,
    ': rows ',
    rows,
    ' columns ',
    cols,
    ' at ',
    ...at.flatMap((a, d) => [`[${d}] `, a, ' ']),
    problem,
  );
}
