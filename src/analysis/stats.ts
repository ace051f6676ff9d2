import { TensorRef, float64Chunks, float32Chunks, channelStride, float32FileRegion, numelOf } from '../formats/tensor';
import { FileRegion } from '../formats/source';
import { loadNative, NativeStats } from '../native/addon';
import { CancelledError } from '../core/errors';

export interface TensorStats {
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
  absmax: number | null;
  sum: number;
  nan: number;
  inf: number;
}

/**
 * Dequantizes a chunk of integer codes in place as torch's dequantize() does, to FP32:
 * per tensor fl32((q - zp) * fl32(scale)); per channel the scales tensor is float64, so fl32((q - zp) * scale).
 */
export function dequantizeChunk(t: TensorRef, start: number, v: Float64Array): void {
  const q = t.quantization;
  if (!q) return;
  if ('scale' in q) {
    const s = Math.fround(q.scale);
    for (let i = 0; i < v.length; i++) v[i] = Math.fround((v[i] - q.zero_point) * s);
    return;
  }
  const inner = channelStride(t.shape, q.axis),
    channels = t.shape[q.axis];
  for (let i = 0; i < v.length; i++) {
    const c = Math.floor((start + i) / inner) % channels;
    v[i] = Math.fround((v[i] - q.zero_points[c]) * q.scales[c]);
  }
}

/**
 * Streaming statistics of a tensor's values (dequantized for quantized tensors). NaN and Inf are
 * counted and left out of min/max/mean/std; std is the sample (n-1) standard deviation, as torch.std.
 */
export async function tensorStats(t: TensorRef, opts: { signal?: AbortSignal; onElements?: (count: number) => void } = {}): Promise<TensorStats> {
  const region = t.dtype === 'float32' && !t.quantization ? float32FileRegion(t) : undefined;
  if (region) return fileStats(region, numelOf(t.shape), opts);
  let n = 0,
    sum = 0,
    mean = 0,
    m2 = 0,
    min = Infinity,
    max = -Infinity,
    absmax = 0,
    nan = 0,
    inf = 0;
  // float32 streams as zero-copy views of the read buffer (exact as doubles); other types decode to float64.
  const chunks = t.dtype === 'float32' && !t.quantization ? float32Chunks(t) : float64Chunks(t);
  for await (const { start, values } of chunks) {
    if (opts.signal?.aborted) throw new CancelledError();
    if (values instanceof Float64Array) dequantizeChunk(t, start, values);
    for (let i = 0; i < values.length; i++) {
      const x = values[i];
      if (Number.isNaN(x)) {
        nan++;
        continue;
      }
      if (!Number.isFinite(x)) {
        inf++;
        continue;
      }
      sum += x;
      n++;
      const d = x - mean;
      mean += d / n;
      m2 += d * (x - mean); // Welford: stable for large n
      if (x < min) min = x;
      if (x > max) max = x;
      const a = Math.abs(x);
      if (a > absmax) absmax = a;
    }
    opts.onElements?.(values.length);
  }
  return {
    min: n ? min : null,
    max: n ? max : null,
    mean: n ? mean : null,
    std: n > 1 ? Math.sqrt(m2 / (n - 1)) : n ? 0 : null,
    absmax: n ? absmax : null,
    sum,
    nan,
    inf,
  };
}

/**
 * Values per native call: 64 MiB of FP32, a multiple of the addon's block (kStatsBlock, 65,536), so
 * progress and cancellation come between slices and every slice's blocks start where the tensor's do.
 */
const STATS_SLICE = 1 << 24;

/**
 * tensorStats of FP32 values in a plain file: the addon's threads read and sum them (about 50x the
 * loop above on a 1 GiB tensor), slices merged in order by the same pairwise update the addon uses
 * between its blocks, so the figures do not depend on the number of threads.
 */
async function fileStats(region: FileRegion, count: number, opts: { signal?: AbortSignal; onElements?: (count: number) => void }): Promise<TensorStats> {
  const native = loadNative();
  let all: NativeStats = { n: 0, nan: 0, inf: 0, sum: 0, mean: 0, m2: 0, min: null, max: null };
  for (let start = 0; start < count; start += STATS_SLICE) {
    if (opts.signal?.aborted) throw new CancelledError();
    const m = Math.min(STATS_SLICE, count - start);
    all = mergeStats(all, await native.stats(region.fd, region.offset + 4 * start, m));
    opts.onElements?.(m);
  }
  const { n, min, max } = all;
  return {
    min: n ? min : null,
    max: n ? max : null,
    mean: n ? all.mean : null,
    std: n > 1 ? Math.sqrt(all.m2 / (n - 1)) : n ? 0 : null,
    absmax: n ? Math.max(Math.abs(min!), Math.abs(max!)) : null,
    sum: all.sum,
    nan: all.nan,
    inf: all.inf,
  };
}

/** Chan et al.'s pairwise update, as ql::Stats::merge. */
export function mergeStats(a: NativeStats, b: NativeStats): NativeStats {
  if (!b.n) return { ...a, nan: a.nan + b.nan, inf: a.inf + b.inf };
  if (!a.n) return { ...b, nan: a.nan + b.nan, inf: a.inf + b.inf };
  const n = a.n + b.n,
    delta = b.mean - a.mean;
  return {
    n,
    nan: a.nan + b.nan,
    inf: a.inf + b.inf,
    sum: a.sum + b.sum,
    mean: a.mean + delta * (b.n / n),
    m2: a.m2 + b.m2 + delta * delta * ((a.n * b.n) / n),
    min: Math.min(a.min!, b.min!),
    max: Math.max(a.max!, b.max!),
  };
}
