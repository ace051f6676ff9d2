/** Messages between the extension host and the webviews. Values travel in pages, never whole tensors. */
export interface TreeNode {
  name: string;
  dtype?: string;
  shape?: number[];
  quantization?: string | null;
  kind: 'tensor' | 'object';
  value?: string;
}

export type ElementClassName = 'exact' | 'fp32_artifact' | 'off_grid' | 'non_finite' | 'code';

export interface TensorSummary {
  name: string;
  dtype: string;
  shape: number[];
  n: number;
  stats: { min: number | null; max: number | null; mean: number | null; std: number | null; absmax: number | null; nan: number; inf: number };
  scale: number | null;
  scaleSource: string | null;
  /** Why the tensor is judged against a grid (its evidence), or why it is not (not quantized, not a grid type). */
  grid: string;
  verify: null | {
    verdict: string;
    reasons: string[];
    fp32_artifacts: number;
    true_offgrid: number;
    saturated_pos: number;
    saturated_neg: number;
    max_deviation: number;
    code_histogram: number[];
    code_histogram_min: number;
    int_min: number | null;
    int_max: number | null;
  };
  columns: number;
}

/** One page: values[i] is element start+i; q/dev/cls are present when a scale is known. */
export interface Page {
  tensor: string;
  start: number;
  values: number[];
  q?: number[];
  dev?: number[];
  cls?: ElementClassName[];
}

export type ToHost =
  | { type: 'ready' }
  | { type: 'select'; tensor: string }
  | { type: 'page'; tensor: string; start: number; count: number }
  | { type: 'explain'; tensor: string; index: number }
  // The diff view's heatmap pair: a page of one side (a or b) of a compared pair, by its key.
  | { type: 'pairPage'; key: string; side: 'a' | 'b'; start: number; count: number };

export type ToView =
  | { type: 'tree'; file: string; format: string; nodes: TreeNode[] }
  | { type: 'summary'; summary: TensorSummary }
  | { type: 'page'; page: Page }
  | { type: 'error'; message: string }
  | { type: 'pairPage'; key: string; side: 'a' | 'b'; page: Page };

export const MAX_PAGE = 1 << 16;
