/** INT8-grid verification of one tensor: streams FP32 chunks into the native Verifier. */
import { TensorRef, numelOf, float32ChunksReadAhead, channelStride, float32FileRegion, DEFAULT_CHUNK_ELEMENTS } from '../formats/tensor';
import { isIntegerDType, DType } from '../formats/dtypes';
import { loadNative, NativeGridResult, NativeWorst } from '../native/addon';
import { ScaleInfo } from './scale';
import { FormatError, CancelledError } from '../core/errors';

export interface VerifyOptions {
  tolerance?: number;
  /** Integer range; default [-128, 127] (quint8: [0, 255]). */
  qmin?: number;
  qmax?: number;
  worst?: number;
  threads?: number;
  device?: 'cpu' | 'cuda';
  signal?: AbortSignal;
  chunkElements?: number;
  /** Called after each chunk with the number of elements it held (progress of long verifications). */
  onElements?: (count: number) => void;
}

export interface VerifyResult {
  name: string;
  dtype: DType;
  n: number;
  scale: number | number[] | null;
  /** Per-channel scales: one per channel along `axis`, or one per group of consecutive elements. */
  granularity?: 'channel' | 'group';
  scale_source: string | null;
  scale_confidence?: number;
  axis?: number;
  int_min: number | null;
  int_max: number | null;
  int_mean: number | null;
  int_std: number | null;
  out_of_range: number;
  saturated_pos: number;
  saturated_neg: number;
  max_deviation: number;
  offgrid_tolerance: number;
  tolerance: number;
  fp32_artifacts: number;
  true_offgrid: number;
  nan: number;
  inf: number;
  max_reconstruction_error: number;
  verdict: 'pass' | 'fail';
  reasons: string[];
  worst: NativeWorst[];
  code_histogram: number[];
  code_histogram_min: number;
  deviation_histogram: number[];
  device: string;
  /** Codes that carry their own grid: `fp8` (float8 codes, checked for NaN/Inf and saturation) or `int4`/`int8` packed in int32 words. */
  scheme?: 'fp8' | 'packed_int';
  /** The packing or element format: float8_e4m3fn…, or gptq / awq / pack-quantized. */
  format?: string;
  bits?: number;
  /** Elements per scale along each axis, for block scales (FP8 128×128) and groups. */
  block_size?: number[];
  /** Range of the dequantized values (codes × scales, minus zero points), where scales are paired. */
  dequant_min?: number | null;
  dequant_max?: number | null;
  /** Range of the FP8 code values themselves (before scales). */
  code_min?: number | null;
  code_max?: number | null;
  /** Packed integer weights: the int32 words' shape, the [out, in] weight they hold, and the codes' range. */
  packed_shape?: number[];
  logical_shape?: number[];
  code_range?: [number, number];
}

/** A result for codes checked without a float grid (FP8, packed integers): the grid-only figures are zero. */
export function codesResult(
  base: Pick<
    VerifyResult,
    | 'name'
    | 'dtype'
    | 'n'
    | 'scale_source'
    | 'int_min'
    | 'int_max'
    | 'saturated_pos'
    | 'saturated_neg'
    | 'nan'
    | 'inf'
    | 'code_histogram'
    | 'code_histogram_min'
  > &
    Partial<VerifyResult>,
  reasons: string[],
): VerifyResult {
  // Key order as verifyTensor's results: name first, the figures after.
  const head = { name: base.name, dtype: base.dtype, n: base.n, scale: null, scale_source: base.scale_source };
  const gridOnly = {
    int_mean: null,
    int_std: null,
    out_of_range: 0,
    max_deviation: 0,
    offgrid_tolerance: 0,
    tolerance: 0,
    fp32_artifacts: 0,
    true_offgrid: 0,
    max_reconstruction_error: 0,
    worst: [],
    deviation_histogram: DEVIATION_BINS.map((_, i) => (i === 0 ? base.n : 0)),
    device: 'cpu',
  };
  return Object.assign(head, gridOnly, base, { verdict: reasons.length ? ('fail' as const) : ('pass' as const), reasons });
}

export const DEVIATION_BINS = ['0', '(0,1e-7]', '(1e-7,1e-6]', '(1e-6,1e-5]', '(1e-5,1e-4]', '(1e-4,1e-3]', '(1e-3,1e-2]', '(1e-2,0.1]', '(0.1,0.5]'];

/** A bf16/fp16 fake-quantized tensor holds dtype(q·s): its membership test rounds to that dtype. */
export function storageOf(dtype: DType): 'float32' | 'bfloat16' | 'float16' {
  return dtype === 'bfloat16' ? 'bfloat16' : dtype === 'float16' ? 'float16' : 'float32';
}

function defaultRange(dtype: DType): [number, number] {
  if (dtype === 'quint8' || dtype === 'uint8') return [0, 255];
  return [-128, 127];
}

/** The codes a tensor's grid allows: the options' range, else its dtype's (the same rule verifyTensor applies). */
export function codeRange(dtype: DType, opts: Pick<VerifyOptions, 'qmin' | 'qmax'> = {}): { qmin: number; qmax: number } {
  const [dmin, dmax] = defaultRange(dtype);
  return { qmin: opts.qmin ?? dmin, qmax: opts.qmax ?? dmax };
}

/** Chunks per pushFile call: 64 MiB of FP32 at the default chunk, long enough to amortize starting the threads. */
const FILE_SLICE_CHUNKS = 4;

/**
 * Verifies `t` against `scale`. Integer tensors (int8, quantized codes) are range-checked as codes;
 * float tensors get the exact membership test x == fl32(q*s), q = rint(fl32(x/s)).
 */
export async function verifyTensor(t: TensorRef, scale: ScaleInfo | undefined, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const codes = isIntegerDType(t.dtype);
  if (!codes && !scale) throw new FormatError('scale-not-found', `no scale found for tensor ${JSON.stringify(t.name)}: pass --scale`, t.name || '<root>');
  if (['complex64', 'complex128'].includes(t.dtype)) throw new FormatError('invalid-argument', `cannot verify a ${t.dtype} tensor on an integer grid`, t.name);
  const { qmin, qmax } = codeRange(t.dtype, opts);
  const tolerance = opts.tolerance ?? 1e-5;
  const native = loadNative();
  const perChannel = scale?.kind === 'per_channel' ? scale : undefined;
  const v = new native.Verifier({
    scales: codes ? [1] : perChannel ? Float64Array.from(perChannel.scales) : [(scale as { scale: number }).scale],
    zeroPoints: codes ? [0] : perChannel ? Float64Array.from(perChannel.zeroPoints) : [(scale as { zeroPoint: number }).zeroPoint],
    inner: perChannel ? (perChannel.inner ?? channelStride(t.shape, perChannel.axis)) : 1,
    qmin,
    qmax,
    tolerance,
    worst: opts.worst ?? 10,
    codes,
    threads: opts.threads,
    device: opts.device,
    storage: codes ? 'float32' : storageOf(t.dtype),
  });
  const region = float32FileRegion(t);
  if (region) {
    // FP32 in a plain file: the kernel's threads read it themselves (no copy through JS buffers), a
    // slice per call so that progress is reported and cancellation is seen between slices.
    const n = numelOf(t.shape),
      slice = (opts.chunkElements ?? DEFAULT_CHUNK_ELEMENTS) * FILE_SLICE_CHUNKS;
    for (let start = 0; start < n; start += slice) {
      if (opts.signal?.aborted) throw new CancelledError();
      const count = Math.min(slice, n - start);
      await v.pushFile(region.fd, region.offset + 4 * start, count, start);
      opts.onElements?.(count);
    }
  } else {
    for await (const { start, values } of float32ChunksReadAhead(t, opts.chunkElements)) {
      if (opts.signal?.aborted) throw new CancelledError();
      await v.push(values, start);
      opts.onElements?.(values.length);
    }
  }
  const r: NativeGridResult = v.result();
  const reasons: string[] = [];
  if (r.true_offgrid) reasons.push(`${r.true_offgrid} values are off the grid (not fl32(q·s) for any integer q)`);
  if (r.out_of_range) reasons.push(`${r.out_of_range} codes outside [${qmin}, ${qmax}]`);
  if (r.nan || r.inf) reasons.push(`${r.nan} NaN and ${r.inf} Inf values`);
  const out: VerifyResult = {
    name: t.name,
    dtype: t.dtype,
    n: numelOf(t.shape),
    scale: scale ? (scale.kind === 'per_tensor' ? scale.scale : scale.scales) : null,
    scale_source: scale ? scale.source : codes ? 'codes' : null,
    int_min: r.int_min,
    int_max: r.int_max,
    int_mean: r.int_mean,
    int_std: r.int_std,
    out_of_range: r.out_of_range,
    saturated_pos: r.saturated_pos,
    saturated_neg: r.saturated_neg,
    max_deviation: r.max_deviation,
    offgrid_tolerance: r.offgrid_tolerance,
    tolerance,
    fp32_artifacts: r.fp32_artifacts,
    true_offgrid: r.true_offgrid,
    nan: r.nan,
    inf: r.inf,
    max_reconstruction_error: r.max_reconstruction_error,
    verdict: reasons.length ? 'fail' : 'pass',
    reasons,
    worst: r.worst,
    code_histogram: r.code_histogram,
    code_histogram_min: qmin,
    deviation_histogram: r.deviation_histogram,
    device: r.device,
  };
  if (scale?.kind === 'per_tensor' && scale.confidence !== undefined) out.scale_confidence = scale.confidence;
  if (scale?.kind === 'per_channel') {
    out.axis = scale.axis;
    out.granularity = scale.granularity ?? 'channel';
  }
  return out;
}
