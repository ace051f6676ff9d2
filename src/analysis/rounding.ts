/**
 * Which rounding function did a kernel use? Given the FP32 values before quantization and the codes
 * (or on-grid values) it produced, every candidate function is applied to the quotient and checked
 * against every element. Only exact ties (x/s = k + ½) tell the round-half variants apart, so they are
 * counted separately; the quotient is formed as fl32(x/s) or as fl32(x·fl32(1/s)), as kernels do either.
 */
import { roundHalfEven } from './scale';

export const ROUNDING_MODES = ['half_even', 'half_away', 'half_up', 'truncate', 'floor'] as const;
export type RoundingMode = (typeof ROUNDING_MODES)[number];

/** Each candidate as a function of the FP32 quotient v (exact in double: v is a float). */
export const ROUNDING_FUNCTIONS: Record<RoundingMode, (v: number) => number> = {
  half_even: roundHalfEven,
  // C's round(): halves away from zero.
  half_away: (v) => Math.sign(v) * Math.floor(Math.abs(v) + 0.5),
  // floor(v + ½): halves toward +∞.
  half_up: (v) => Math.floor(v + 0.5),
  truncate: Math.trunc,
  floor: Math.floor,
};

export interface RoundingCandidate {
  mode: RoundingMode;
  reciprocal: boolean;
  consistent: boolean;
  mismatches: number;
}

export interface RoundingReport {
  n: number;
  ties: number;
  verdict: RoundingMode | 'undetermined' | 'inconsistent';
  reciprocal: boolean | null;
  candidates: RoundingCandidate[];
  /** Elements left out: non-finite inputs. */
  skipped: number;
  /** Post values that are not on the grid of s (not fl32(q·s) for an integer q): no function explains them. */
  post_off_grid: number;
  /** When undetermined: how many well-placed exact ties would decide it, and what to feed the kernel. */
  ties_needed: number | null;
  advice: string | null;
  scale: number;
  qmin: number;
  qmax: number;
}

export interface RoundingInput {
  pre: Float32Array;
  /** Codes, or on-grid values when `postIsCodes` is false. */
  post: Float32Array;
  postIsCodes: boolean;
  scale: number;
  zeroPoint?: number;
  qmin?: number;
  qmax?: number;
}

const f32 = Math.fround;

/** How many ties at the least would separate the modes still consistent: one tie has only two outcomes. */
function tiesNeeded(modes: RoundingMode[]): number | null {
  const halves = modes.filter((m) => m.startsWith('half_'));
  if (halves.length !== modes.length || halves.length < 2) return null;
  return halves.length === 2 ? 1 : 2;
}

export function fingerprintRounding(inp: RoundingInput): RoundingReport {
  if (inp.pre.length !== inp.post.length) throw new RangeError(`PRE has ${inp.pre.length} elements, POST ${inp.post.length}`);
  const s = f32(inp.scale);
  const inv = f32(1 / s);
  const zp = inp.zeroPoint ?? 0;
  const qmin = inp.qmin ?? -128;
  const qmax = inp.qmax ?? 127;
  const clamp = (q: number): number => Math.min(qmax, Math.max(qmin, q + zp));
  const mismatches = new Map<string, number>();
  const keyOf = (m: RoundingMode, r: boolean): string => `${m}/${r}`;
  for (const m of ROUNDING_MODES) for (const r of [false, true]) mismatches.set(keyOf(m, r), 0);
  let n = 0;
  let ties = 0;
  let skipped = 0;
  let offGrid = 0;
  for (let i = 0; i < inp.pre.length; i++) {
    const x = inp.pre[i];
    if (!Number.isFinite(x)) {
      skipped++;
      continue;
    }
    let q: number;
    if (inp.postIsCodes) q = inp.post[i];
    else {
      // An on-grid value y = fl32(q·s) gives back its q exactly; any other value is no rounding's output.
      const y = inp.post[i];
      const steps = roundHalfEven(f32(y / s));
      if (f32(steps * s) !== y) {
        offGrid++;
        n++;
        for (const k of mismatches.keys()) mismatches.set(k, mismatches.get(k)! + 1);
        continue;
      }
      q = steps + zp;
    }
    n++;
    const vDiv = f32(x / s);
    const vMul = f32(x * inv);
    if (Math.abs(vDiv - Math.trunc(vDiv)) === 0.5) ties++;
    for (const m of ROUNDING_MODES) {
      const fn = ROUNDING_FUNCTIONS[m];
      if (clamp(fn(vDiv)) !== q) mismatches.set(keyOf(m, false), mismatches.get(keyOf(m, false))! + 1);
      if (clamp(fn(vMul)) !== q) mismatches.set(keyOf(m, true), mismatches.get(keyOf(m, true))! + 1);
    }
  }
  const candidates: RoundingCandidate[] = [];
  for (const m of ROUNDING_MODES) {
    for (const r of [false, true]) {
      const mm = mismatches.get(keyOf(m, r))!;
      candidates.push({ mode: m, reciprocal: r, consistent: n > 0 && mm === 0, mismatches: mm });
    }
  }
  const consistent = candidates.filter((c) => c.consistent);
  const modes = [...new Set(consistent.map((c) => c.mode))];
  const verdict = modes.length === 1 ? modes[0] : modes.length === 0 ? 'inconsistent' : 'undetermined';
  const ways = new Set(consistent.map((c) => c.reciprocal));
  const reciprocal = ways.size === 1 ? [...ways][0] : null;
  const needed = verdict === 'undetermined' ? tiesNeeded(modes) : null;
  let advice: string | null = null;
  if (verdict === 'undetermined') {
    advice =
      ties === 0
        ? `no exact ties (x/s = k + ½) among ${n} elements, and ${modes.join(', ')} differ only on ties: feed the kernel values at k + ½ — ${needed ?? 'a few'} well-placed ties decide it (a positive tie with k even separates half_even from the others; a negative tie separates half_up from half_away)`
        : `${ties} ties seen, none of which separates ${modes.join(', ')}: add ties at k + ½ with k even (positive and negative)`;
  } else if (verdict === 'inconsistent') {
    advice = offGrid
      ? `${offGrid} POST values are not on the grid of the scale ${s}: is the scale right?`
      : 'no candidate explains every element: the kernel may use another scale, a zero point, or a rounding not listed';
  }
  return { n, ties, verdict, reciprocal, candidates, skipped, post_off_grid: offGrid, ties_needed: needed, advice, scale: s, qmin, qmax };
}
