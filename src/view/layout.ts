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

/** The channel of flat element `i` under `layout`. */
export function channelOf(layout: TensorLayout, i: number): number {
  return Math.floor(i / layout.channelStride) % layout.channels;
}
