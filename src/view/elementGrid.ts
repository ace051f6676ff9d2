/**
 * Each element's class on its grid, as the verifier judges it: q = rint(fl32(x/s)), on the grid when
 * x == fl(q·s) in the tensor's storage type, an FP32 round-trip artifact when it is but x/s ≠ q. One
 * definition for the viewer's pages and its whole-tensor overview. Pure; no fs.
 */
import { gridElement } from '../analysis/explain';
import type { ScaleInfo } from '../analysis/scale';
import { ELEMENT_CLASSES, ElementClassName } from './protocol';

export const CLASS_INDEX = Object.fromEntries(ELEMENT_CLASSES.map((c, i) => [c, i])) as Record<ElementClassName, number>;

/** The scale element i is judged with: one for the tensor, or its channel's (or group's), indexed as the native verifier does. */
export interface ElementScales {
  at(i: number): number;
  /** The channel (or group) of element i, or null for a per-tensor scale. */
  channel(i: number): number | null;
  perTensor: boolean;
}

export function elementScales(scale: ScaleInfo, shape: number[]): ElementScales {
  if (scale.kind === 'per_tensor') {
    const s = Math.fround(scale.scale);
    return { at: () => s, channel: () => null, perTensor: true };
  }
  const inner = scale.inner ?? shape.slice(scale.axis + 1).reduce((a, b) => a * b, 1);
  const scales = Float32Array.from(scale.scales);
  const channel = (i: number): number => Math.floor(i / inner) % scales.length;
  return { at: (i) => scales[channel(i)], channel, perTensor: false };
}

export interface ClassifiedElements {
  q: Float64Array;
  dev: Float64Array;
  /** Index into ELEMENT_CLASSES. */
  cls: Uint8Array;
}

/** Classifies values whose flat indices are `flatOf(k)`, each on its own scale. */
export function classifyElements(
  values: Float32Array,
  flatOf: (k: number) => number,
  scales: ElementScales,
  storage: 'float32' | 'bfloat16' | 'float16',
): ClassifiedElements {
  const q = new Float64Array(values.length),
    dev = new Float64Array(values.length),
    cls = new Uint8Array(values.length);
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (!Number.isFinite(v)) {
      cls[k] = CLASS_INDEX.non_finite;
      continue;
    }
    const e = gridElement(v, scales.at(flatOf(k)), storage);
    q[k] = e.q;
    dev[k] = e.deviation;
    cls[k] = CLASS_INDEX[e.class];
  }
  return { q, dev, cls };
}
