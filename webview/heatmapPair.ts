/**
 * The diff view's synchronized heatmap pair: run A and run B of one compared tensor side by side,
 * each classified on its own grid, scrolled together; hovering an element in either shows both
 * values, their codes and the difference. Pages come from the host (DiffSession), never whole tensors.
 */
import { el, legend, showTooltip } from './components';
import { fmt } from './vscodeApi';
import { Heatmap } from './heatmap';
import { request, isCancelled } from './channel';

export interface PairInfo {
  key: string;
  shape: number[];
}

export function heatmapPair(pair: PairInfo): HTMLElement {
  const n = pair.shape.reduce((a, b) => a * b, 1);
  const cols = pair.shape.length ? pair.shape[pair.shape.length - 1] : 1;
  const tooltip = el('div', { class: 'tooltip', role: 'tooltip', hidden: '' });
  const maps: Record<'a' | 'b', Heatmap> = {} as Record<'a' | 'b', Heatmap>;
  const other = { a: 'b', b: 'a' } as const;
  const make = (side: 'a' | 'b'): Heatmap =>
    new Heatmap(
      n,
      cols,
      {
        requestPage: (start, count) =>
          request({ type: 'pairPage', key: pair.key, side, start, count }).result.then(
            (page) => {
              if (disposed) return;
              maps[side].addPage(page);
              maps[other[side]].repaint(); // its marks depend on this page too
            },
            // Shown in place of the pair (a file changed or vanished since the comparison, say).
            (err: Error) => {
              if (!disposed && !isCancelled(err)) root.replaceChildren(el('p', { class: 'problem' }, `${pair.key} (${side.toUpperCase()}): ${err.message}`));
            },
          ),
        hover: (i, x, y) => showTip(i, x, y),
        click: () => undefined,
        scrolled: (top) => maps[other[side]].scrollTo(top),
        marked: (i) => differs(i),
      },
      360,
      320,
    );
  // Marked in both heatmaps: elements whose values differ between the runs (once both pages are here).
  const differs = (i: number): boolean => {
    const a = maps.a?.element(i),
      b = maps.b?.element(i);
    return a !== undefined && b !== undefined && a.value !== b.value && !(Number.isNaN(a.value) && Number.isNaN(b.value)); // as diff counts: -0 equals 0, NaN equals NaN
  };
  maps.a = make('a');
  maps.b = make('b');

  const showTip = (i: number | null, x: number, y: number): void => {
    const a = i === null ? undefined : maps.a.element(i),
      b = i === null ? undefined : maps.b.element(i);
    if (i === null || (!a && !b)) {
      tooltip.hidden = true;
      return;
    }
    const lines = [
      `flat ${i}`,
      `A ${fmt(a?.value, 9)}${a?.q !== undefined ? `  q ${a.q}` : ''}  ${a?.cls ?? ''}`,
      `B ${fmt(b?.value, 9)}${b?.q !== undefined ? `  q ${b.q}` : ''}  ${b?.cls ?? ''}`,
    ];
    if (a && b) lines.push(`|Δ| ${fmt(Math.abs(a.value - b.value), 6)}${a.q !== undefined && b.q !== undefined ? `  |Δq| ${Math.abs(a.q - b.q)}` : ''}`);
    showTooltip(tooltip, lines, x, y);
  };

  let disposed = false;
  const root = el(
    'section',
    { class: 'heatmap-pair', 'aria-label': `heatmaps of ${pair.key} in both runs` },
    el('h3', {}, `${pair.key}: grid deviation in both runs (scrolled together)`),
    legend(
      [
        ['differs', 'differs from the other run'],
        ['exact', 'on grid'],
        ['artifact', 'FP32 artifact'],
        ['off', 'off grid'],
      ],
      '— hover for both values',
    ),
    el('div', { class: 'pair' }, el('figure', {}, el('figcaption', {}, 'A'), maps.a.root), el('figure', {}, el('figcaption', {}, 'B'), maps.b.root)),
    tooltip,
  );
  // Replies that arrive after this pair was replaced by another are dropped.
  (root as HTMLElement & { dispose?: () => void }).dispose = () => {
    disposed = true;
  };
  return root;
}
