/**
 * How the two runs of a compared pair become codes, exactly as the diff counted |Δq|: an integer tensor
 * is its codes, a float tensor with a per-tensor scale is rint(fl32(x / s)), half to even. Pure, shared
 * by the host's per-channel profile and the webview's Δ heatmap, so both agree with the table's figures.
 */
import { DType, isIntegerDType } from '../formats/dtypes';
import { roundHalfEven } from '../analysis/rint';

export interface PairCoding {
  /** Both runs have codes: differences are counted in LSB (|Δq|); otherwise in the values' unit. */
  lsb: boolean;
  codeA(v: number): number;
  codeB(v: number): number;
}

interface PairFields {
  dtype_a?: string;
  dtype_b?: string;
  scale_a?: number | null;
  scale_b?: number | null;
}

function coder(dtype: string | undefined, scale: number | null | undefined): ((v: number) => number) | null {
  if (dtype && isIntegerDType(dtype as DType)) return (v) => v;
  if (scale === null || scale === undefined || !(scale > 0)) return null;
  const s = Math.fround(scale);
  return (v) => roundHalfEven(Math.fround(v / s));
}

export function pairCoding(p: PairFields): PairCoding {
  const a = coder(p.dtype_a, p.scale_a),
    b = coder(p.dtype_b, p.scale_b);
  return a && b ? { lsb: true, codeA: a, codeB: b } : { lsb: false, codeA: (v) => v, codeB: (v) => v };
}

/** Δ = B − A of one element, in LSB or value units: NaN equals NaN; a NaN or infinity against anything else is +∞. */
export function elementDelta(c: PairCoding, a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b ? 0 : Infinity;
  // Values subtract in FP32, as the native differ does, so the largest |Δ| is the table's.
  return c.lsb ? c.codeB(b) - c.codeA(a) : Math.fround(b - a);
}
