/**
 * Whether a tensor is judged against an integer grid, and against which scale: the one rule that
 * `verify`, the Problems panel and the tensor viewer share. A tensor is judged only with evidence
 * that it is quantized: its own qparams, a scale paired with it (key, sibling file), an integer code
 * dtype, a scale the user gave, or an inferred scale that almost every sampled element lies on
 * exactly. Everything else is "not quantized", with the reason, and never fails.
 */
import { DumpFile } from '../formats/dump';
import { TensorRef, numelOf, readRawElements } from '../formats/tensor';
import { DType, FP8_DTYPES, decodeToFloat32, isIntegerDType } from '../formats/dtypes';
import { openDump } from '../formats/open';
import { ScaleInfo, discoverScale, inferScale, siblingScaleFiles, INFERRED_SCALE_MIN_CONFIDENCE, INFERRED_SCALE_MIN_CODES } from './scale';
import { tensorRole } from './roles';
import { Fp8Scale, pairFp8Scale, verifyFp8 } from './fp8Verify';
import { PackedIntLayout, detectPackedInt, isPackedCodeTensor, verifyPackedInt } from './packedInt';
import { IntWeightScheme, QuantizationConfig, intWeightScheme, quantizationConfigFor } from './quantConfig';
import { VerifyOptions, VerifyResult, verifyTensor } from './verify';

/** Tensors that may live on an 8-bit grid: floats (checked against a scale) and 8-bit codes. */
export const GRID_DTYPES: readonly DType[] = ['float32', 'float16', 'bfloat16', 'float64', 'int8', 'uint8', 'qint8', 'quint8'];

/** Names of quantization parameters themselves: scales, zero points, bitsandbytes' row absmax, GPTQ's group index. */
const PARAMETER_NAME = /(^|[._])(scales?|zero_points?|scale_inv|SCB|g_idx|qzeros|weight_shape)$|_scale$|_zero_point$|scale_inv$/i;

/** Codes with a grid of their own, checked by their own rules instead of x == fl(q·s). */
export type OwnGrid =
  { kind: 'fp8'; scale: Fp8Scale | { error: string } | undefined } | { kind: 'packed_int'; layout: PackedIntLayout; scheme: IntWeightScheme | undefined };

export type GridPlan =
  { judge: true; scale: ScaleInfo | undefined; evidence: string; ownGrid?: OwnGrid } | { judge: false; reason: string; notQuantized: boolean };

export interface GridPlanOptions {
  /** A scale given by the user (`--scale`): evidence in itself. */
  explicitScale?: number;
  /** The user named this tensor: judge it whatever its dtype or shape. */
  named?: boolean;
}

async function allZero(t: TensorRef): Promise<boolean> {
  const n = numelOf(t.shape);
  const chunk = 1 << 20;
  for (let start = 0; start < n; start += chunk) {
    const values = decodeToFloat32(t.dtype, await readRawElements(t, start, Math.min(chunk, n - start)), t.storage.littleEndian);
    if (values.some((v) => v !== 0)) return false;
  }
  return true;
}

/** The evaluation mode a dump declares (`mode` object or metadata), in the file or its layer's dict beside it. */
function declaredMode(file: string, dump: DumpFile): string | undefined {
  const own = (d: DumpFile): string | undefined => {
    const o = d.objects.find((x) => x.name === 'mode' || x.name.endsWith('.mode'));
    if (o && typeof o.value === 'string') return o.value;
    return d.metadata?.mode;
  };
  const here = own(dump);
  if (here !== undefined) return here;
  for (const sib of siblingScaleFiles(file)) {
    try {
      const d = openDump(sib);
      try {
        const m = own(d);
        if (m !== undefined) return m;
      } finally {
        d.close();
      }
    } catch {
      // An unreadable sibling says nothing about this file.
    }
  }
  return undefined;
}

/** config.json is read once per opened dump, and only for the tensors whose layout it describes. */
const configs = new WeakMap<DumpFile, QuantizationConfig | null>();
function configOf(file: string, dump: DumpFile): QuantizationConfig | null {
  if (!configs.has(dump)) configs.set(dump, quantizationConfigFor(file));
  return configs.get(dump)!;
}

export async function planGridCheck(file: string, dump: DumpFile, t: TensorRef, opts: GridPlanOptions = {}): Promise<GridPlan> {
  if (FP8_DTYPES.includes(t.dtype) && opts.explicitScale === undefined) {
    const scale = pairFp8Scale(dump, t, configOf(file, dump));
    const source = scale && !('error' in scale) ? `scale from file:${scale.tensor.name}` : 'no scale paired';
    return { judge: true, scale: undefined, evidence: `${t.dtype} codes (${source})`, ownGrid: { kind: 'fp8', scale } };
  }
  if (isPackedCodeTensor(t)) {
    const scheme = intWeightScheme(configOf(file, dump));
    const packed = detectPackedInt(dump, t, scheme);
    if (packed)
      return {
        judge: true,
        scale: undefined,
        evidence: `${packed.bits}-bit codes packed in int32 (${packed.format})`,
        ownGrid: { kind: 'packed_int', layout: packed, scheme },
      };
  }
  if (!opts.named) {
    if (PARAMETER_NAME.test(t.name)) return { judge: false, reason: 'quantization parameter', notQuantized: false };
    if (!GRID_DTYPES.includes(t.dtype)) return { judge: false, reason: `${t.dtype} is not an 8-bit grid type`, notQuantized: false };
    if (t.shape.length === 0 || numelOf(t.shape) === 0) return { judge: false, reason: 'scalar or empty', notQuantized: false };
  }
  // Mode 1 feeds the SSM the un-quantized FP32 conv output: its ssm_input is FP32 by design.
  if (
    tensorRole(file, t.name).toLowerCase().startsWith('ssm_input') &&
    !isIntegerDType(t.dtype) &&
    opts.explicitScale === undefined &&
    declaredMode(file, dump) === 'mode1'
  ) {
    return { judge: false, reason: 'not quantized: a Mode 1 run feeds the SSM the FP32 conv output, off the grid by design', notQuantized: true };
  }
  if (opts.explicitScale !== undefined)
    return { judge: true, scale: await discoverScale(file, dump, t, { explicit: opts.explicitScale }), evidence: 'scale given' };
  const paired = await discoverScale(file, dump, t, { infer: false });
  if (paired) return { judge: true, scale: paired, evidence: `scale from ${paired.source}` };
  if (isIntegerDType(t.dtype)) return { judge: true, scale: undefined, evidence: 'integer codes' };
  const inferred = await inferScale(t);
  if (inferred?.kind === 'per_tensor' && (inferred.confidence ?? 0) >= INFERRED_SCALE_MIN_CONFIDENCE) {
    if ((inferred.distinctCodes ?? 0) >= INFERRED_SCALE_MIN_CODES) {
      return { judge: true, scale: inferred, evidence: `inferred scale fits ${((inferred.confidence ?? 0) * 100).toFixed(1)}% of sampled values` };
    }
    return {
      judge: false,
      reason: `not quantized: no scale is paired with it, and its ${inferred.distinctCodes} distinct values lie on any grid (too few to tell quantization from coincidence)`,
      notQuantized: true,
    };
  }
  if (!inferred && (await allZero(t))) return { judge: false, reason: 'all zero: on every grid, nothing to verify', notQuantized: true };
  const fit = inferred?.kind === 'per_tensor' ? ` (the best grid found fits ${((inferred.confidence ?? 0) * 100).toFixed(1)}% of sampled values)` : '';
  return { judge: false, reason: `not quantized: no scale is paired with it and its values lie on no 8-bit grid${fit}`, notQuantized: true };
}

/** Judges `t` as its plan says: its own grid's rules (FP8, packed integers), or x == fl(q·s) against the plan's scale. */
export async function judgeTensor(t: TensorRef, plan: GridPlan & { judge: true }, opts: VerifyOptions = {}): Promise<VerifyResult> {
  if (plan.ownGrid?.kind === 'fp8') {
    const r = await verifyFp8(t, plan.ownGrid.scale, opts.signal);
    opts.onElements?.(r.n);
    return r;
  }
  if (plan.ownGrid?.kind === 'packed_int') {
    const r = await verifyPackedInt(plan.ownGrid.layout, plan.ownGrid.scheme, opts.signal);
    opts.onElements?.(numelOf(t.shape));
    return r;
  }
  return verifyTensor(t, plan.scale, opts);
}
