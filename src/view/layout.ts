/**
 * How a tensor is laid out as a 2-D picture and which axis holds its channels: channels × time for a
 * Mamba activation `[B, D, L]`, out × in for a weight (`[out, in]`, a conv's `[D, 1, K]`). Pure, shared
 * by the host (per-channel profiles) and the webviews (heatmap rows and labels).
 */
export interface TensorLayout {
  /** Rows and columns of the picture; rows × cols = the element count, in flat (row-major) order. */
  rows: number;
  cols: number;
  rowLabel: string;
  colLabel: string;
  /** The axis whose index is the channel, its length, and the flat-index step between channels. */
  channelAxis: number;
  channels: number;
  channelStride: number;
}

const product = (xs: number[]): number => xs.reduce((a, b) => a * b, 1);

export function naturalLayout(shape: number[], name = ''): TensorLayout {
  const n = product(shape);
  const at = (axis: number, rowLabel: string, colLabel: string, rows: number): TensorLayout => ({
    rows,
    cols: rows ? n / rows : 0,
    rowLabel,
    colLabel,
    channelAxis: axis,
    channels: shape[axis] ?? 1,
    channelStride: product(shape.slice(axis + 1)),
  });
  if (shape.length === 0) return { rows: 1, cols: 1, rowLabel: 'row', colLabel: 'element', channelAxis: 0, channels: 1, channelStride: 1 };
  if (shape.length === 1) return at(0, 'row', 'channel', 1);
  if (/weight/i.test(name) || shape.length === 2)
    return at(0, 'out channel', shape.length === 2 ? 'in feature' : `in × kernel (${shape.slice(1).join('×')})`, shape[0]);
  if (shape.length === 3) return at(1, shape[0] === 1 ? 'channel' : 'batch · channel', 'time', shape[0] * shape[1]);
  return at(0, `axis 0 × … × axis ${shape.length - 2}`, `axis ${shape.length - 1}`, n / shape[shape.length - 1]);
}

/** The index along each axis of flat (row-major) element `flat` (the webviews' copy of formats' unravel: they cannot load formats/). */
export function unravel(flat: number, shape: number[]): number[] {
  const idx = shape.map(() => 0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return idx;
}

/** The channel of flat element `i` under `layout`. */
export function channelOf(layout: TensorLayout, i: number): number {
  return Math.floor(i / layout.channelStride) % layout.channels;
}

/** A 2-D slice of an N-D tensor: the axis shown as rows, the axis shown as columns, and the index of every other axis. */
export interface Slice {
  rows: number;
  cols: number;
  /** One index per axis; the entries of the rows and columns axes are ignored. */
  at: number[];
}

/** Positions in a slice (row-major over rows × cols) and the tensor's flat indices, both ways. */
export interface SliceIndex {
  n: number;
  rows: number;
  cols: number;
  flatOf(v: number): number;
  /** The position of a flat index in the slice, or null when it lies in another slice. */
  sliceOf(flat: number): number | null;
}

/** Checks a slice against a shape; the message names what is wrong. */
export function sliceProblem(shape: number[], s: Slice): string | null {
  const nd = shape.length;
  const axis = (a: number): boolean => Number.isInteger(a) && a >= 0 && a < nd;
  if (!axis(s.rows) || !axis(s.cols) || s.rows === s.cols) return `slice axes must be two different axes of ${nd}, got rows ${s.rows}, columns ${s.cols}`;
  if (!Array.isArray(s.at) || s.at.length !== nd) return `a slice needs one index per axis (${nd}), got ${Array.isArray(s.at) ? s.at.length : 'none'}`;
  for (let d = 0; d < nd; d++)
    if (d !== s.rows && d !== s.cols && !(Number.isInteger(s.at[d]) && s.at[d] >= 0 && s.at[d] < shape[d]))
      return `index ${s.at[d]} outside axis ${d} of length ${shape[d]}`;
  return null;
}

export function sliceIndex(shape: number[], s: Slice): SliceIndex {
  const stride = shape.map((_, d) => product(shape.slice(d + 1)));
  let base = 0;
  for (let d = 0; d < shape.length; d++) if (d !== s.rows && d !== s.cols) base += s.at[d] * stride[d];
  const rows = shape[s.rows],
    cols = shape[s.cols];
  return {
    n: rows * cols,
    rows,
    cols,
    flatOf: (v) => base + Math.floor(v / cols) * stride[s.rows] + (v % cols) * stride[s.cols],
    sliceOf: (flat) => {
      let r = 0,
        c = 0;
      for (let d = 0; d < shape.length; d++) {
        const i = Math.floor(flat / stride[d]) % shape[d];
        if (d === s.rows) r = i;
        else if (d === s.cols) c = i;
        else if (i !== s.at[d]) return null;
      }
      return r * cols + c;
    },
  };
}
