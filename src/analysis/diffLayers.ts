/**
 * "Find the layer that breaks": the pairs of a run comparison grouped by layer (`layerNN_<op>_<role>`
 * files and per-layer dicts `layerNN_<op>.pt`), in layer order, with the figures that say whether
 * and how much the runs part there, and the first layer where they leave the grid.
 */
import { dumpStem } from '../formats/dumpFiles';
import { splitLayerName } from './roles';
import type { PairResult } from './diff';

export interface LayerDiff {
  /** `layer23_conv1d`, or the file, for a dump outside the layerNN naming. */
  layer: string;
  /** NN of layerNN (null outside the naming): the order of the table. */
  index: number | null;
  /** Tensor pairs compared in the layer, its inputs included. */
  pairs: number;
  /** Lowest SQNR over the layer's output pairs (dB; null where every output is identical or none was comparable). */
  sqnr_db: number | null;
  /** Largest |Δq| over the layer's output pairs compared as codes. */
  max_abs_int: number | null;
  /** Percentage of output codes equal, over every output element compared as codes. */
  exact_pct: number | null;
  /** Whether the layer's own inputs matched: `match`, `differ`, or `none` (no input dumped). */
  input_guard: 'match' | 'differ' | 'none';
  /** True for the first layer, in layer order, whose outputs differ. */
  first_divergence: boolean;
}

const outputDiffers = (p: PairResult): boolean =>
  Boolean(p.error) || (p.exact_pct !== null && p.exact_pct !== undefined ? p.exact_pct < 100 : (p.exact_match_pct ?? 100) < 100);

export function layerTable(pairs: PairResult[]): LayerDiff[] {
  const groups = new Map<string, PairResult[]>();
  for (const p of pairs) {
    const stem = dumpStem(p.file);
    const layer = splitLayerName(stem).layer ?? p.file;
    if (!groups.has(layer)) groups.set(layer, []);
    groups.get(layer)!.push(p);
  }
  const rows: LayerDiff[] = [...groups].map(([layer, ps]) => {
    const outputs = ps.filter((p) => !p.is_input && !p.error);
    const coded = outputs.filter((p) => p.exact_pct !== null && p.exact_pct !== undefined && p.n);
    const codeElements = coded.reduce((a, p) => a + (p.n ?? 0), 0);
    const sqnrs = outputs.map((p) => p.sqnr_db).filter((v): v is number => v !== null && v !== undefined && Number.isFinite(v));
    const inputs = ps.filter((p) => p.is_input);
    const idx = /^layer(\d+)_/i.exec(layer);
    return {
      layer,
      index: idx ? Number(idx[1]) : null,
      pairs: ps.length,
      sqnr_db: sqnrs.length ? Math.min(...sqnrs) : null,
      max_abs_int: coded.length ? Math.max(...coded.map((p) => p.max_abs_int ?? 0)) : null,
      exact_pct: codeElements ? (coded.reduce((a, p) => a + ((p.exact_pct ?? 0) * (p.n ?? 0)) / 100, 0) / codeElements) * 100 : null,
      input_guard: !inputs.length ? 'none' : inputs.every((p) => !outputDiffers(p)) ? 'match' : 'differ',
      first_divergence: false,
    };
  });
  rows.sort((a, b) => (a.index ?? Infinity) - (b.index ?? Infinity) || a.layer.localeCompare(b.layer));
  const first = rows.find((r) => groups.get(r.layer)!.some((p) => !p.is_input && outputDiffers(p)));
  if (first) first.first_divergence = true;
  return rows;
}
