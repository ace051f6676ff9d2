/**
 * Step-by-step FP32 arithmetic of one element against a scale: why a nonzero deviation can be a
 * round-trip artifact (x is exactly fl32(q·s)) and not a quantization error.
 */
import { roundHalfEven } from './rint';

export type ElementClass = 'exact' | 'fp32_artifact' | 'off_grid';

export interface Explanation {
  value: number;
  value_exact: string;
  value_hex: string;
  scale: number;
  scale_f32: number;
  scale_exact: string;
  scale_hex: string;
  quotient: number;
  quotient_exact: string;
  q: number;
  product_exact: string;
  roundtrip: number;
  roundtrip_exact: string;
  roundtrip_hex: string;
  deviation: number;
  ulp: number;
  artifact_bound: number;
  class: ElementClass;
  steps: string[];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f32Hex(x: number): string {
  f32[0] = x;
  return `0x${u32[0].toString(16).padStart(8, '0')}`;
}

/** Spacing of FP32 numbers at |x| (the ULP). */
export function ulpF32(x: number): number {
  const a = Math.abs(Math.fround(x));
  if (a === 0) return 2 ** -149;
  const e = Math.floor(Math.log2(a));
  const exp = Math.fround(2 ** e) > a ? e - 1 : e;
  return 2 ** Math.max(exp - 23, -149);
}

/** The exact decimal expansion of a double (every FP32 is one): no rounding in what we show. */
export function exactDecimal(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return BigInt(x).toString();
  // x = m * 2^e with integer m; m * 5^-e / 10^-e gives the exact decimal.
  let e = 0,
    m = Math.abs(x);
  while (!Number.isInteger(m)) {
    m *= 2;
    e--;
  }
  const digits = (BigInt(m) * 5n ** BigInt(-e)).toString().padStart(-e + 1, '0');
  const s = `${digits.slice(0, digits.length + e)}.${digits.slice(digits.length + e)}`.replace(/0+$/, '');
  return (x < 0 ? '-' : '') + s;
}

/** Exact decimal of the real product q·s (q integer, s an FP32): exact in a double since it needs < 53 bits. */
function exactProduct(q: number, s: number): string {
  return exactDecimal(q * s);
}

const fmt = (x: number): string => Number(x.toPrecision(9)).toString();

/**
 * The grid test of one finite FP32 value against an FP32 scale, as the native verifier does it:
 * r = fl32(x/s), q = rint(r) (half to even), deviation |r − q|, and membership x == fl32(q·s).
 */
/** Round to nearest even at bf16 or fp16 precision, as the native roundToStorage (detmath.hpp). */
export function roundToStorage(x: number, storage: 'float32' | 'bfloat16' | 'float16'): number {
  if (storage === 'float32' || !Number.isFinite(x)) return x;
  if (storage === 'bfloat16') {
    const b = new Uint32Array(new Float32Array([x]).buffer);
    b[0] = ((b[0] + 0x7fff + ((b[0] >>> 16) & 1)) & 0xffff0000) >>> 0;
    return new Float32Array(b.buffer)[0];
  }
  const a = Math.abs(x);
  if (a >= 65520) return x < 0 ? -Infinity : Infinity;
  if (a < 2 ** -14) return roundHalfEven(x * 2 ** 24) * 2 ** -24;
  const b = new Uint32Array(new Float32Array([x]).buffer);
  b[0] = ((b[0] + 0xfff + ((b[0] >>> 13) & 1)) & 0xffffe000) >>> 0;
  return new Float32Array(b.buffer)[0];
}

export function gridElement(
  x: number,
  s: number,
  storage: 'float32' | 'bfloat16' | 'float16' = 'float32',
): { quotient: number; q: number; deviation: number; roundtrip: number; class: ElementClass } {
  const quotient = Math.fround(x / s);
  const q = roundHalfEven(quotient);
  const roundtrip = roundToStorage(Math.fround(q * s), storage);
  const deviation = Math.abs(Math.fround(quotient - q));
  return { quotient, q, deviation, roundtrip, class: roundtrip === x ? (deviation === 0 ? 'exact' : 'fp32_artifact') : 'off_grid' };
}

export function explainValue(value: number, scale: number): Explanation {
  const x = Math.fround(value),
    s = Math.fround(scale);
  const { quotient: r, q, roundtrip, deviation, class: cls } = gridElement(x, s);
  const ulp = ulpF32(x);
  // If x = fl32(q·s), |x - q·s| <= ulp(x)/2, so |x/s - q| <= ulp(x)/(2s), plus the division's own rounding, ulp(r)/2.
  const artifactBound = ulp / (2 * s) + ulpF32(r) / 2;
  const steps = [
    `x = ${fmt(x)} (FP32 ${f32Hex(x)}, exactly ${exactDecimal(x)})`,
    `s = ${fmt(s)} (FP32 ${f32Hex(s)}, exactly ${exactDecimal(s)})`,
    `x / s = ${fmt(r)} in FP32 (exactly ${exactDecimal(r)})`,
    `q = rint(x / s) = ${q} (round half to even)`,
    `q · s = ${exactProduct(q, s)} exactly; stored as FP32 that is ${fmt(roundtrip)} (${f32Hex(roundtrip)})`,
    `deviation |x/s − q| = ${deviation.toExponential(8)}; ULP of x is ${ulp.toExponential(8)}, so an FP32 round trip alone can cause up to ${artifactBound.toExponential(8)}`,
    cls === 'exact'
      ? 'x is exactly on the grid.'
      : cls === 'fp32_artifact'
        ? `x == fl32(q·s): x IS the FP32 value of ${q}·s. The deviation comes from storing q·s in FP32 and dividing back; it is not a quantization error.`
        : `x != fl32(q·s) = ${fmt(roundtrip)}: x is off the grid by ${Math.abs(x - roundtrip).toExponential(8)}; this is a real quantization error.`,
  ];
  return {
    value: x,
    value_exact: exactDecimal(x),
    value_hex: f32Hex(x),
    scale,
    scale_f32: s,
    scale_exact: exactDecimal(s),
    scale_hex: f32Hex(s),
    quotient: r,
    quotient_exact: exactDecimal(r),
    q,
    product_exact: exactProduct(q, s),
    roundtrip,
    roundtrip_exact: exactDecimal(roundtrip),
    roundtrip_hex: f32Hex(roundtrip),
    deviation,
    ulp,
    artifact_bound: artifactBound,
    class: cls,
    steps,
  };
}
