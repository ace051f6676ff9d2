/**
 * FP8 weights (float8_e4m3fn, e5m2 and the fnuz variants) carry their own exponent: there is no
 * integer grid to test. What can be wrong is a NaN code, an Inf (e5m2 overflow), codes piled at the
 * format's largest value (saturation), and scales that do not fit the weight: a DeepSeek-style
 * `weight_scale_inv` of one FP32 per 128×128 block, or compressed-tensors' `weight_scale`
 * (per tensor or per output channel).
 */
import { DumpFile } from '../formats/dump';
import { DType, decodeToFloat32 } from '../formats/dtypes';
import { TensorRef, numelOf, readRawElements } from '../formats/tensor';
import { VerifyResult, codesResult } from './verify';
import { fp8BlockSize, QuantizationConfig } from './quantConfig';
import { CancelledError } from '../core/errors';

/** The largest finite value of each FP8 format: codes at ±max are saturated. */
export const FP8_MAX: Partial<Record<DType, number>> = {
  float8_e4m3fn: 448,
  float8_e5m2: 57344,
  float8_e4m3fnuz: 240,
  float8_e5m2fnuz: 57344,
};

export interface Fp8Scale {
  tensor: TensorRef;
  /** `block`: one scale per block of `block` elements (rows × columns); `channel`: one per row; `tensor`: one. */
  kind: 'block' | 'channel' | 'tensor';
  block?: [number, number];
}

/** The scale stored beside an FP8 weight, by the names FP8 checkpoints use. */
export function pairFp8Scale(dump: DumpFile, t: TensorRef, config: QuantizationConfig | null): Fp8Scale | { error: string } | undefined {
  const byName = (n: string): TensorRef | undefined => dump.tensors.find((x) => x.name === n);
  const inv = byName(`${t.name}_scale_inv`);
  if (inv) {
    const [rows, cols] = t.shape.length === 2 ? t.shape : [numelOf(t.shape), 1];
    const [sr, sc] = inv.shape.length === 2 ? inv.shape : [numelOf(inv.shape), 1];
    const block = fp8BlockSize(config) ?? [Math.ceil(rows / sr), Math.ceil(cols / sc)];
    if (Math.ceil(rows / block[0]) !== sr || Math.ceil(cols / block[1]) !== sc) {
      return {
        error: `${inv.name} has shape [${inv.shape}], which does not tile the [${t.shape}] weight in ${block[0]}×${block[1]} blocks (expected [${Math.ceil(rows / block[0])}, ${Math.ceil(cols / block[1])}])`,
      };
    }
    return { tensor: inv, kind: 'block', block };
  }
  const s = byName(`${t.name}_scale`);
  if (s) {
    const n = numelOf(s.shape);
    if (n === 1) return { tensor: s, kind: 'tensor' };
    if (n === t.shape[0]) return { tensor: s, kind: 'channel' };
    return { error: `${s.name} holds ${n} scales, neither one nor one per row of the [${t.shape}] weight` };
  }
  return undefined;
}

export async function verifyFp8(t: TensorRef, scale: Fp8Scale | { error: string } | undefined, signal?: AbortSignal): Promise<VerifyResult> {
  const max = FP8_MAX[t.dtype] ?? Infinity;
  const n = numelOf(t.shape);
  const reasons: string[] = [];
  let scales: Float32Array | undefined;
  if (scale && 'error' in scale) reasons.push(scale.error);
  else if (scale) {
    scales = decodeToFloat32(scale.tensor.dtype, await readRawElements(scale.tensor, 0, numelOf(scale.tensor.shape)), scale.tensor.storage.littleEndian);
    const bad = scales.filter((v) => !(v > 0 && Number.isFinite(v))).length;
    if (bad) reasons.push(`${bad} of ${scales.length} scales in ${scale.tensor.name} are zero, negative or not finite`);
  }
  const paired = scale && !('error' in scale) ? scale : undefined;
  const cols = t.shape.length >= 2 ? t.shape[t.shape.length - 1] : 1;
  const scaleCols = paired?.kind === 'block' ? Math.ceil(cols / paired.block![1]) : 1;
  const scaleAt = (i: number): number => {
    if (!paired || !scales) return 1;
    if (paired.kind === 'tensor') return scales[0];
    const row = Math.floor(i / cols);
    if (paired.kind === 'channel') return scales[row];
    return scales[Math.floor(row / paired.block![0]) * scaleCols + Math.floor((i % cols) / paired.block![1])];
  };
  const histogram = new Array<number>(256).fill(0);
  let nan = 0,
    inf = 0,
    satPos = 0,
    satNeg = 0,
    vmin = Infinity,
    vmax = -Infinity,
    dmin = Infinity,
    dmax = -Infinity;
  const chunk = 1 << 20;
  for (let start = 0; start < n; start += chunk) {
    if (signal?.aborted) throw new CancelledError();
    const raw = await readRawElements(t, start, Math.min(chunk, n - start));
    const values = decodeToFloat32(t.dtype, raw, true);
    for (let k = 0; k < values.length; k++) {
      histogram[raw[k]]++;
      const v = values[k];
      if (Number.isNaN(v)) {
        nan++;
        continue;
      }
      if (!Number.isFinite(v)) {
        inf++;
        continue;
      }
      if (v === max) satPos++;
      else if (v === -max) satNeg++;
      if (v < vmin) vmin = v;
      if (v > vmax) vmax = v;
      if (scales) {
        const d = Math.fround(v * scaleAt(start + k));
        if (d < dmin) dmin = d;
        if (d > dmax) dmax = d;
      }
    }
  }
  if (nan) reasons.push(`${nan} NaN codes`);
  if (inf) reasons.push(`${inf} Inf codes (overflow past ±${max})`);
  const source = paired
    ? `file:${paired.tensor.name}${paired.kind === 'block' ? ` (${paired.block![0]}×${paired.block![1]} blocks)` : paired.kind === 'channel' ? ' (per row)' : ''}`
    : 'codes';
  return codesResult(
    {
      name: t.name,
      dtype: t.dtype,
      n,
      scale_source: source,
      int_min: null,
      int_max: null,
      saturated_pos: satPos,
      saturated_neg: satNeg,
      nan,
      inf,
      code_histogram: histogram,
      code_histogram_min: 0,
      scheme: 'fp8',
      format: t.dtype,
      bits: 8,
      ...(paired?.kind === 'block' ? { block_size: paired.block } : {}),
      dequant_min: scales && Number.isFinite(dmin) ? dmin : null,
      dequant_max: scales && Number.isFinite(dmax) ? dmax : null,
      code_min: Number.isFinite(vmin) ? vmin : null,
      code_max: Number.isFinite(vmax) ? vmax : null,
    },
    reasons,
  );
}
