/**
 * Each element's class on its grid, as the verifier judges it: q = rint(fl32(x/s)), on the grid when
 * x == fl(q·s) in the tensor's storage type, an FP32 round-trip artifact when it is but x/s ≠ q, out of
 * range when it is but its code q + zp is outside [qmin, qmax]. One definition for the viewer's pages,
 * its whole-tensor overview and its search for the next problem. Pure (no I/O).
 */
import { roundToStorage } from '../analysis/explain';
import { roundHalfEven } from '../analysis/rint';
import { channelStride } from '../formats/tensor';
import type { ScaleInfo } from '../analysis/scale';
import { ELEMENT_CLASSES, ElementClassName } from './protocol';

export const CLASS_INDEX = Object.fromEntries(ELEMENT_CLASSES.map((c, i) => [c, i])) as Record<ElementClassName, number>;

/** The scale element i is judged with: one for the tensor, or its channel's (or group's), indexed as the native verifier does. */
export interface ElementScales {
  at(i: number): number;
  /** Element i's zero point (its code is q + zero point). */
  zeroPoint(i: number): number;
  /** The channel (or group) of element i, or null for a per-tensor scale. */
  channel(i: number): number | null;
  perTensor: boolean;
  /** The codes the grid allows (codeRange in analysis/verify.ts). */
  qmin: number;
  qmax: number;
}

export function elementScales(scale: ScaleInfo, shape: number[], range: { qmin: number; qmax: number }): ElementScales {
  const { qmin, qmax } = range;
  if (scale.kind === 'per_tensor') {
    const s = Math.fround(scale.scale),
      zp = scale.zeroPoint;
    return { at: () => s, zeroPoint: () => zp, channel: () => null, perTensor: true, qmin, qmax };
  }
  const inner = scale.inner ?? channelStride(shape, scale.axis); // as analysis/verify.ts gives the native verifier
  const scales = Float32Array.from(scale.scales);
  const channel = (i: number): number => Math.floor(i / inner) % scales.length;
  return { at: (i) => scales[channel(i)], zeroPoint: (i) => scale.zeroPoints[channel(i)] ?? 0, channel, perTensor: false, qmin, qmax };
}

export interface ClassifiedElements {
  q: Float32Array;
  dev: Float32Array;
  /** Index into ELEMENT_CLASSES. */
  cls: Uint8Array;
}

/**
 * Classifies values whose flat indices are `flatOf(k)`, each on its own scale, into the caller's
 * arrays (`q` optional: the overview needs none). The arithmetic is gridElement's (analysis/explain.ts),
 * written out without an object per element because the overview runs it over every element of a
 * tensor; test/view/overview.test.ts checks the two agree.
 */
export function classifyInto(
  values: Float32Array,
  flatOf: (k: number) => number,
  scales: ElementScales,
  storage: 'float32' | 'bfloat16' | 'float16',
  out: { cls: Uint8Array; dev: Float64Array | Float32Array; q?: Float64Array | Float32Array },
): void {
  const { cls, dev, q } = out;
  const one = scales.perTensor ? scales.at(0) : 0,
    oneZp = scales.perTensor ? scales.zeroPoint(0) : 0;
  const { qmin, qmax } = scales;
  const EXACT = CLASS_INDEX.exact,
    ARTIFACT = CLASS_INDEX.fp32_artifact,
    OFF = CLASS_INDEX.off_grid,
    NON_FINITE = CLASS_INDEX.non_finite,
    OUT_OF_RANGE = CLASS_INDEX.out_of_range;
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (v - v !== 0) {
      // NaN or ±Inf
      cls[k] = NON_FINITE;
      dev[k] = 0;
      if (q) q[k] = 0;
      continue;
    }
    const sk = scales.perTensor ? one : scales.at(flatOf(k));
    const quotient = Math.fround(v / sk);
    const qk = roundHalfEven(quotient);
    const product = Math.fround(qk * sk);
    const roundtrip = storage === 'float32' ? product : roundToStorage(product, storage);
    const d = Math.abs(Math.fround(quotient - qk));
    const code = qk + (scales.perTensor ? oneZp : scales.zeroPoint(flatOf(k)));
    cls[k] = roundtrip !== v ? OFF : code < qmin || code > qmax ? OUT_OF_RANGE : d === 0 ? EXACT : ARTIFACT;
    dev[k] = d;
    if (q) q[k] = qk;
  }
}

/** Classifies values (see classifyInto) into new arrays, codes included: a page. */
export function classifyElements(
  values: Float32Array,
  flatOf: (k: number) => number,
  scales: ElementScales,
  storage: 'float32' | 'bfloat16' | 'float16',
): ClassifiedElements {
  const out = { q: new Float32Array(values.length), dev: new Float32Array(values.length), cls: new Uint8Array(values.length) };
  classifyInto(values, flatOf, scales, storage, out);
  return out;
}
