/**
 * Which difference between two evaluation modes explains their output difference? Every difference
 * is a switch; the layer is evaluated under all 2^k combinations, and each switch gets its Shapley
 * value — its average marginal effect over every order of switching — for (a) the number of outputs
 * that differ from the `from` mode (codes, for a layer whose output is quantized) and (b) the change
 * in error energy against the FP32 reference. The values add up to the total exactly (codes: as
 * fractions over k!). A switch that changes no output in any combination is `no_effect`: a proof
 * that it cannot explain anything.
 */
import { FormatError } from '../core/errors';
import { loadNative, Conv1dRecipe } from '../native/addon';
import { conv1dOperands, type Conv1dParams } from './layers/conv1d';
import type { BlockParams } from './layers/block';
import { EvalMode } from './layers/modes';
import { RoundingMode } from './rounding';
import { modeRecipe } from './layers/recipes';

export type AttributedLayer = 'conv1d' | 'linear' | 'scan' | 'block';

export interface AttributionFactor {
  name: string;
  /** What the switch changes, from `from`'s way to `to`'s. */
  description: string;
  shapley_codes: number;
  shapley_energy: number;
  /** Outputs that differ from `from` with this switch alone on. */
  alone_codes: number;
  no_effect: boolean;
  /** Shapley value of the differing outputs per channel (sums to the factor's shapley_codes). */
  channel_codes: number[];
}

export interface AttributionReport {
  layer: AttributedLayer;
  from: EvalMode;
  to: EvalMode;
  /** Baseline's rounding (the `from` side's, when it is Baseline). */
  rounding: RoundingMode;
  /** What `codes_differ` counts: output codes (quantized outputs) or output values (FP32 outputs: linear, scan, block). */
  counted: 'codes' | 'values';
  total: { codes_differ: number; max_abs_int: number | null; energy: number; n: number };
  factors: AttributionFactor[];
  /** Every combination evaluated: the switches on, outputs differing from `from`, error energy change. */
  combinations: { on: string[]; codes_differ: number; energy: number }[];
  /** Shapley codes values as exact fractions: numerators over `denominator` (= k!) sum exactly to total·k!. */
  exact: { denominator: number; numerators: number[] };
}

/** One difference between the modes: its name, what it changes, and the recipe field it sets. */
export interface Switch {
  name: string;
  description: string;
  key: string;
}

/** What one combination gives: the outputs counted (codes or values) and what the error energy is computed on. */
export interface Evaluation {
  counted: ArrayLike<number>;
  values: Float32Array;
}

const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));
const popcount = (m: number): number => m.toString(2).replace(/0/g, '').length;
const sameValue = (u: number, v: number): boolean => u === v || (u !== u && v !== v); // 0 and -0 are one value; NaN matches NaN

/**
 * The Shapley attribution of `evaluations` (one per combination, bit i of the index = switch i on)
 * against `reference`, with outputs grouped into `channels` by `channelOf`.
 */
export function shapley(
  head: Pick<AttributionReport, 'layer' | 'from' | 'to' | 'rounding' | 'counted'>,
  switches: Switch[],
  evaluations: Evaluation[],
  reference: Float32Array,
  channels: number,
  channelOf: (i: number) => number,
): AttributionReport {
  const k = switches.length;
  const combos = 1 << k;
  const base = evaluations[0];
  const n = base.counted.length;
  const energyOf = (v: Float32Array): number => {
    let e = 0;
    for (let i = 0; i < n; i++) {
      const d = v[i] - reference[i];
      if (Number.isFinite(d)) e += d * d;
    }
    return e;
  };
  const e0 = energyOf(base.values);
  const differ = new Float64Array(combos);
  const energy = new Float64Array(combos);
  const perChannel = Array.from({ length: combos }, () => new Float64Array(channels));
  for (let m = 0; m < combos; m++) {
    const c = evaluations[m].counted;
    for (let i = 0; i < n; i++) {
      if (!sameValue(c[i], base.counted[i])) {
        differ[m]++;
        perChannel[m][channelOf(i)]++;
      }
    }
    energy[m] = energyOf(evaluations[m].values) - e0;
  }
  const sameOutput = (a: number, b: number): boolean => {
    const x = evaluations[a],
      y = evaluations[b];
    for (let i = 0; i < n; i++) if (!sameValue(x.counted[i], y.counted[i]) || !sameValue(x.values[i], y.values[i])) return false;
    return true;
  };
  const kf = factorial(k);
  const numerators: number[] = [];
  const factors: AttributionFactor[] = switches.map((s, i) => {
    let num = 0,
      phiEnergy = 0,
      noEffect = true;
    const channel = new Float64Array(channels);
    for (let m = 0; m < combos; m++) {
      if (m & (1 << i)) continue;
      const size = popcount(m);
      // Shapley weight |S|!(k-|S|-1)!, kept as an integer numerator over k!.
      const w = factorial(size) * factorial(k - size - 1);
      const withI = m | (1 << i);
      num += w * (differ[withI] - differ[m]);
      phiEnergy += (w / kf) * (energy[withI] - energy[m]);
      for (let d = 0; d < channels; d++) channel[d] += (w / kf) * (perChannel[withI][d] - perChannel[m][d]);
      if (noEffect && !sameOutput(withI, m)) noEffect = false;
    }
    numerators.push(num);
    return {
      name: s.name,
      description: s.description,
      shapley_codes: num / kf,
      shapley_energy: phiEnergy,
      alone_codes: differ[1 << i],
      no_effect: noEffect,
      channel_codes: Array.from(channel),
    };
  });
  const last = evaluations[combos - 1];
  let maxAbsInt: number | null = null;
  if (head.counted === 'codes') {
    maxAbsInt = 0;
    for (let i = 0; i < n; i++) maxAbsInt = Math.max(maxAbsInt, Math.abs(last.counted[i] - base.counted[i]));
  }
  return {
    ...head,
    total: { codes_differ: differ[combos - 1], max_abs_int: maxAbsInt, energy: energy[combos - 1], n },
    factors,
    combinations: Array.from({ length: combos }, (_, m) => ({
      on: switches.filter((_s, i) => m & (1 << i)).map((s) => s.name),
      codes_differ: differ[m],
      energy: energy[m],
    })),
    exact: { denominator: kf, numerators },
  };
}

export { modeRecipe };

const CONV_SWITCHES: Switch[] = [
  { name: 'scales', description: 'where scales apply: one scale on the integer sum vs operands dequantized before the products', key: 'earlyScales' },
  { name: 'accumulation', description: 'exact (int32) sum vs a running FP32 sum', key: 'fp32Accumulate' },
  { name: 'bias', description: 'int32 bias in the accumulator vs FP32 bias·bias_scale added after it', key: 'biasEpilogue' },
  { name: 'rounding_input', description: "rounding of the input quantization: Baseline's vs round half to even", key: 'inputRounding' },
  { name: 'rounding_output', description: "rounding of the output quantization: Baseline's vs round half to even", key: 'outputRounding' },
  { name: 'ssm_path', description: 'what the SSM gets: the output on its INT8 grid vs the FP32 SiLU output', key: 'ssmUnquantized' },
];

/** The switches in which two recipes differ, in a fixed order. */
function switchesBetween<T extends object>(from: T, to: T, all: Switch[]): Switch[] {
  return all.filter((s) => (from as Record<string, unknown>)[s.key] !== (to as Record<string, unknown>)[s.key]);
}

/** The recipe of combination `mask`: `from`'s, with switch i set as `to` has it where bit i is on. */
function recipeOf<T extends object>(from: T, to: T, switches: Switch[], mask: number): T {
  const r = { ...from } as Record<string, unknown>;
  switches.forEach((s, i) => {
    if (mask & (1 << i)) r[s.key] = (to as Record<string, unknown>)[s.key];
  });
  return r as T;
}

export interface AttributeOptions {
  from?: EvalMode;
  to?: EvalMode;
  rounding?: RoundingMode;
  threads?: number;
}

function endpoints(opts: AttributeOptions): { from: EvalMode; to: EvalMode; rounding: RoundingMode } {
  const from = opts.from ?? 'baseline',
    to = opts.to ?? 'mode2';
  if (from === to) throw new FormatError('invalid-argument', `--from and --to are both ${from}: nothing to attribute`);
  return { from, to, rounding: opts.rounding ?? 'half_even' };
}

/** Attributes the difference between two modes of a conv1d to its switches. CPU: the recipes are a CPU kernel. */
export async function attributeConv1d(p: Conv1dParams, input: { x: Float32Array; shape: number[] }, opts: AttributeOptions = {}): Promise<AttributionReport> {
  const { from, to, rounding } = endpoints(opts);
  const fromRecipe = modeRecipe(from, rounding),
    toRecipe = modeRecipe(to, rounding);
  const switches = switchesBetween(fromRecipe, toRecipe, CONV_SWITCHES);
  const [, D, L] = input.shape;
  const out = await loadNative().conv1dRecipes({
    ...conv1dOperands(p, input),
    threads: opts.threads,
    recipes: Array.from({ length: 1 << switches.length }, (_, m) => recipeOf(fromRecipe, toRecipe, switches, m)),
    reference: true,
  });
  const evaluations = out.results.map((r) => ({ counted: r.codes, values: r.ssm }));
  return shapley({ layer: 'conv1d', from, to, rounding, counted: 'codes' }, switches, evaluations, out.reference!, D, (i) => Math.floor(i / L) % D);
}

const SSM_SWITCH = CONV_SWITCHES.find((s) => s.key === 'ssmUnquantized')!;
const LINEAR_SWITCHES: Switch[] = CONV_SWITCHES.filter((s) => ['earlyScales', 'fp32Accumulate', 'biasEpilogue', 'inputRounding'].includes(s.key));
export type LinearRecipe = { earlyScales: boolean; fp32Accumulate: boolean; biasEpilogue: boolean; inputRounding: number };
const linearRecipeOf = (mode: EvalMode, rounding: RoundingMode): LinearRecipe => {
  const r = modeRecipe(mode, rounding);
  return { earlyScales: r.earlyScales, fp32Accumulate: r.fp32Accumulate, biasEpilogue: r.biasEpilogue, inputRounding: r.inputRounding };
};

export interface LinearOperands {
  x: Float32Array;
  weight: Int8Array;
  bias?: Int32Array;
  rows: number;
  inFeatures: number;
  outFeatures: number;
  inputScale: number;
  weightScales: number[];
}

/** y = x·Wᵀ in FP32 with dequantized weights and the unquantized input: the linear's FP32 reference. */
export function linearReference(o: LinearOperands): Float32Array {
  const y = new Float32Array(o.rows * o.outFeatures);
  for (let t = 0; t < o.rows; t++)
    for (let n = 0; n < o.outFeatures; n++) {
      const sw = Math.fround(o.weightScales.length === 1 ? o.weightScales[0] : o.weightScales[n]);
      let acc = 0;
      for (let k = 0; k < o.inFeatures; k++) acc = Math.fround(acc + Math.fround(o.x[t * o.inFeatures + k] * Math.fround(o.weight[n * o.inFeatures + k] * sw)));
      if (o.bias) acc = Math.fround(acc + Math.fround(o.bias[n] * Math.fround(Math.fround(o.inputScale) * sw)));
      y[t * o.outFeatures + n] = acc;
    }
  return y;
}

/** Attributes a W8A8 linear's mode difference (its outputs are FP32: differing output values are counted). */
export async function attributeLinear(o: LinearOperands, opts: AttributeOptions = {}): Promise<AttributionReport> {
  const { from, to, rounding } = endpoints(opts);
  const fromR = linearRecipeOf(from, rounding),
    toR = linearRecipeOf(to, rounding);
  const switches = switchesBetween(fromR, toR, LINEAR_SWITCHES);
  const evaluations: Evaluation[] = [];
  for (let m = 0; m < 1 << switches.length; m++) {
    const y = await loadNative().linear({ ...o, mode: 'baseline', threads: opts.threads, recipe: recipeOf(fromR, toR, switches, m) });
    evaluations.push({ counted: y, values: y });
  }
  return shapley(
    { layer: 'linear', from, to, rounding, counted: 'values' },
    switches,
    evaluations,
    linearReference(o),
    o.outFeatures,
    (i) => i % o.outFeatures,
  );
}

/**
 * Attributes a whole Mamba block's mode difference: the conv1d's switches, x_proj's (`xproj_scales`,
 * `xproj_accumulation`) and the SSM path, every combination run through the whole chain. The
 * reference is the block in FP32 with nothing quantized. Counted: differing output values of y.
 */
export async function attributeBlock(
  b: { p: BlockParams; x: Float32Array; z: Float32Array },
  runChain: (conv: Conv1dRecipe, xproj: LinearRecipe) => Promise<{ y: Float32Array }>,
  referenceChain: () => Promise<Float32Array>,
  opts: AttributeOptions = {},
): Promise<AttributionReport> {
  const { from, to, rounding } = endpoints(opts);
  const convFrom = modeRecipe(from, rounding),
    convTo = modeRecipe(to, rounding);
  const xFrom = linearRecipeOf(from, rounding),
    xTo = linearRecipeOf(to, rounding);
  type Joint = Conv1dRecipe & { xprojEarlyScales: boolean; xprojFp32Accumulate: boolean };
  const joint = (c: Conv1dRecipe, x: LinearRecipe): Joint => ({ ...c, xprojEarlyScales: x.earlyScales, xprojFp32Accumulate: x.fp32Accumulate });
  const all: Switch[] = [
    ...CONV_SWITCHES.filter((s) => s !== SSM_SWITCH).map((s) => ({ ...s, name: `conv_${s.name}` })),
    { name: 'xproj_scales', description: 'x_proj: one scale on the integer sum vs operands dequantized before the products', key: 'xprojEarlyScales' },
    { name: 'xproj_accumulation', description: 'x_proj: exact (int32) sum vs a running FP32 sum', key: 'xprojFp32Accumulate' },
    SSM_SWITCH,
  ];
  const jf = joint(convFrom, xFrom),
    jt = joint(convTo, xTo);
  const switches = switchesBetween(jf, jt, all);
  const evaluations: Evaluation[] = [];
  for (let m = 0; m < 1 << switches.length; m++) {
    const r = recipeOf(jf, jt, switches, m);
    const { y } = await runChain(r, { earlyScales: r.xprojEarlyScales, fp32Accumulate: r.xprojFp32Accumulate, biasEpilogue: true, inputRounding: 0 });
    evaluations.push({ counted: y, values: y });
  }
  const L = b.p.L;
  return shapley({ layer: 'block', from, to, rounding, counted: 'values' }, switches, evaluations, await referenceChain(), b.p.D, (i) => Math.floor(i / L));
}

/**
 * Attributes a selective scan's mode difference. The scan itself is FP32 in every mode; the modes
 * differ only in what `u` the SSM reads (dequantized codes and grid values are the same numbers; Mode 1
 * reads the FP32 values), so there is at most one switch, `ssm_path`, and the reference is Mode 1.
 */
export async function attributeScan(run: (mode: EvalMode) => Promise<Float32Array>, channels: number, opts: AttributeOptions = {}): Promise<AttributionReport> {
  const { from, to, rounding } = endpoints(opts);
  const switches = (from === 'mode1') !== (to === 'mode1') ? [SSM_SWITCH] : [];
  const yFrom = await run(from);
  const evaluations: Evaluation[] = [{ counted: yFrom, values: yFrom }];
  if (switches.length) {
    const yTo = await run(to);
    evaluations.push({ counted: yTo, values: yTo });
  }
  const L = yFrom.length / channels;
  return shapley({ layer: 'scan', from, to, rounding, counted: 'values' }, switches, evaluations, await run('mode1'), channels, (i) => Math.floor(i / L));
}
