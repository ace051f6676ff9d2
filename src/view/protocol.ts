/** Messages between the extension host and the webviews. Values travel in pages, never whole tensors. */
import type { PairResult } from '../analysis/diff';
import type { Slice } from './layout';

/** One compared pair as the diff view receives it (the `diff --json` pair). */
export type ComparedPair = PairResult;

export interface TreeNode {
  name: string;
  dtype?: string;
  shape?: number[];
  quantization?: string | null;
  kind: 'tensor' | 'object';
  value?: string;
}

/**
 * An element's class on its grid; pages carry it as an index into this list (one byte per element).
 * `out_of_range`: x == fl(q·s) on the grid, but its code q + zero point lies outside [qmin, qmax] (an
 * INT8 tensor cannot hold it). Off-grid and non-finite elements keep those classes whatever their code.
 * New classes are appended: indices already sent stay valid.
 */
export const ELEMENT_CLASSES = ['exact', 'fp32_artifact', 'off_grid', 'non_finite', 'code', 'out_of_range'] as const;
export type ElementClassName = (typeof ELEMENT_CLASSES)[number];

/** One element the verifier ranked among the largest deviations (its worst list), for next/previous problem. */
export interface Problem {
  index: number;
  value: number;
  q: number;
  deviation: number;
  class: ElementClassName;
}

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
    /** The verifier's worst list (largest |x/s − q| first, at most `problems_listed`), in index order. */
    problems: Problem[];
    problems_listed: number;
  };
  columns: number;
}

/**
 * A rectangle of the heatmap's picture (rows of `pictureCols` positions): what a page of a picture wider
 * than BLOCK_COLS holds, so a screen of a wide tensor needs a few blocks, not every full row it shows.
 */
export interface PageBlock {
  row: number;
  col: number;
  rows: number;
  cols: number;
  pictureCols: number;
}

/** Pictures wider than this are paged in blocks of BLOCK_ROWS × BLOCK_COLS positions. */
export const BLOCK_COLS = 1024;
export const BLOCK_ROWS = 64;

/**
 * One page: values[i] is position start+i (or, for a block, its i-th position row-major); q/dev/cls are
 * present when a scale is known. Typed arrays, so a page crosses postMessage as bytes (VS Code ≥ 1.57
 * recreates them in the webview), not as JSON numbers.
 */
export interface Page {
  tensor: string;
  /** Present when the page is a block of the picture: values are row-major in the block, `start` its first position. */
  block?: PageBlock;
  /** The first element's position: a flat index, or a position in the slice the page was asked for. */
  start: number;
  values: Float32Array;
  /** FP32 quantities (q = rint of an FP32 quotient, |x/s − q| rounded to FP32), so FP32 arrays hold them exactly at half the bytes. */
  q?: Float32Array;
  dev?: Float32Array;
  /** Index into ELEMENT_CLASSES. */
  cls?: Uint8Array;
  /** Each element's scale, for a tensor with one scale per channel or group (absent for one per tensor). */
  scales?: Float32Array;
}

export interface Explained {
  tensor: string;
  index: number;
  class: ElementClassName;
  [k: string]: unknown;
}

/**
 * The whole tensor (or slice) at a glance: its picture (rows of `cols` positions) cut into a grid of
 * tiles, each holding its worst element, so one NaN or one off-grid value among 268M shows as a tile.
 */
export interface Overview {
  tensor: string;
  /** Positions in the picture (elements, or elements of the slice) and its columns; rows = ceil(n / cols). */
  n: number;
  cols: number;
  rows: number;
  tileRows: number;
  tileCols: number;
  /** Picture rows and columns each tile covers (the last row or column of tiles may cover fewer). */
  rowsPerTile: number;
  colsPerTile: number;
  /**
   * What `peak` measures: |x/s − q| on the grid, |value| (integer codes, tensors judged on no grid), or
   * `delta`: |Δ| between the two runs of a compared pair (in LSB where the pair is coded, as its profile).
   */
  measure: 'deviation' | 'value' | 'delta';
  /** Per tile, row-major: the class of its worst element (index into ELEMENT_CLASSES), or NO_CLASS (finite, judged on no grid). */
  worst: Uint8Array;
  /** The largest measure over the tile's finite elements. */
  peak: Float32Array;
  /** The position of the tile's worst element (worst class, then largest measure): where choosing the tile goes. */
  at: Float64Array;
  /** Problems per tile: elements off the grid, not finite, or on the grid with a code out of range; for `delta`, elements whose runs differ. */
  problems: Uint32Array;
}

/** The class of an overview tile whose elements are finite but judged on no grid. */
export const NO_CLASS = 255;
/** The largest overview grid (tiles down and across): a minimap a few pixels per tile. */
export const OVERVIEW_TILES = { rows: 120, cols: 48 } as const;

/**
 * Per-channel |Δ| between the two runs of a pair (channels along the layout's channel axis): in LSB
 * (|Δq|, each run's codes on its own grid) when both runs have codes, else in the values' own unit.
 */
export interface ChannelProfile {
  key: string;
  axis: number;
  channels: number;
  /** Channels per entry of max/mean: 1, or more for tensors of over PROFILE_ENTRIES channels (a 1-D tensor, a vocabulary's rows). */
  group: number;
  unit: 'LSB' | 'value';
  max: Float64Array;
  mean: Float64Array;
  /** The whole pair at a glance, from the same read: |Δ| per tile of the picture `cols` wide (when the request named it). */
  overview?: Overview;
}

/** The most entries a channel profile holds (its arrays cross postMessage whole). */
export const PROFILE_ENTRIES = 1 << 16;

/** One element of one run of a pair: its value and, where the run has a per-tensor grid, its code and the FP32 arithmetic. */
export interface PairSide {
  value: number;
  q: number | null;
  class: ElementClassName | null;
  scale: number | null;
  scale_source: string | null;
  deviation: number | null;
  roundtrip: number | null;
  steps: string[];
}

export interface PairExplained {
  key: string;
  index: number;
  /** The element's index along each axis. */
  coords: number[];
  a: PairSide;
  b: PairSide;
}

/** Where next/previous problem found one: its position in the picture and class, or null when there is none that way. */
export interface FoundProblem {
  tensor: string;
  at: number | null;
  class: ElementClassName | null;
  /** Positions read to find it (the overview, when already computed, lets the search skip bands without problems). */
  scanned: number;
}

/** Every request the webviews make, with what its reply carries. */
export interface Requests {
  tree: { req: object; reply: { file: string; format: string; nodes: TreeNode[] } };
  summary: { req: { tensor: string }; reply: TensorSummary };
  /** Elements [start, start + count) of the tensor, or of a 2-D slice of it (positions row-major in the slice). */
  page: { req: { tensor: string; start: number; count: number; slice?: Slice; block?: PageBlock }; reply: Page };
  /** The host also opens its explanation panel; the reply carries the same explanation. */
  explain: { req: { tensor: string; index: number }; reply: Explained };
  /** Every element of the tensor (or of a 2-D slice) summed up into tiles, with progress and cancel as a summary; kept host-side. */
  overview: { req: { tensor: string; cols: number; slice?: Slice }; reply: Overview };
  /**
   * The first problem (off the grid, NaN/Inf, a code out of range) after position `from` (dir 1) or before
   * it (dir −1) in the picture, the whole tensor read if need be (progress and cancel as a summary);
   * `cols` names the overview whose tiles may let it skip bands without problems.
   */
  findProblem: { req: { tensor: string; from: number; dir: 1 | -1; slice?: Slice; cols?: number }; reply: FoundProblem };
  /** The diff view's heatmap pair: a page of one side (a or b) of a compared pair, by its key. */
  pairPage: { req: { key: string; side: 'a' | 'b'; start: number; count: number; block?: PageBlock }; reply: Page };
  /**
   * Max and mean |Δ| per channel over the whole pair (read once, kept host-side; progress and cancel as a
   * summary), and with `cols` (the Δ heatmap's picture width) the pair's overview from the same read.
   */
  pairProfile: { req: { key: string; cols?: number }; reply: ChannelProfile };
  /** Both runs' value of one element, with the FP32 round trip of each on its own grid. */
  pairExplain: { req: { key: string; index: number }; reply: PairExplained };
}
export type RequestType = keyof Requests;
export type Request<K extends RequestType = RequestType> = { [P in K]: { type: P } & Requests[P]['req'] }[K];
export type Reply<K extends RequestType> = Requests[K]['reply'];

/** Webview → host: a request under an id the webview chose, or the cancellation of one still running. */
export type ToHost = { kind: 'request'; id: number; request: Request } | { kind: 'cancel'; id: number };

/** Host → webview: exactly one of reply / error / cancelled answers each request id; progress may come before it. */
export type ToView =
  | { kind: 'reply'; id: number; result: unknown }
  | { kind: 'error'; id: number; code: string; message: string }
  | { kind: 'cancelled'; id: number }
  | { kind: 'progress'; id: number; done: number; total: number };

export const MAX_PAGE = 1 << 16;
