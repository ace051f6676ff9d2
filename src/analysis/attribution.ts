/**
 * Which difference between two evaluation modes explains their output difference? Every difference
 * is a switch; the layer is evaluated under all 2^k combinations, and each switch gets its Shapley
 * value — its average marginal effect over every order of switching — for (a) the number of output
 * codes that differ from the `from` mode and (b) the change in error energy against the FP32
 * reference. The values add up to the total exactly (codes: as fractions over k!). A switch that
 * changes no output bit in any combination is `no_effect`: a proof that it cannot explain anything.
 */
import { FormatError } from '../core/errors';
import { loadNative, Conv1dRecipe } from '../native/addon';
import type { Conv1dParams } from './layers/conv1d';
import { EvalMode } from './layers/modes';
import { ROUNDING_MODES, RoundingMode } from './rounding';

export interface AttributionFactor {
  name: string;
  /** What the switch changes, from `from`'s way to `to`'s. */
  description: string;
  shapley_codes: number;
  shapley_energy: number;
  /** Output codes that differ from `from` with this switch alone on. */
  alone_codes: number;
  no_effect: boolean;
  /** Shapley value of the codes count per channel (sums to the factor's shapley_codes). */
  channel_codes: number[];
}

export interface AttributionReport {
  layer: 'conv1d';
  from: EvalMode;
  to: EvalMode;
  /** Baseline's rounding (the `from` side's, when it is Baseline). */
  rounding: RoundingMode;
  total: { codes_differ: number; max_abs_int: number; energy: number; n: number };
  factors: AttributionFactor[];
  /** Every combination evaluated: the switches on, codes differing from `from`, error energy against the reference. */
  combinations: { on: string[]; codes_differ: number; energy: number }[];
  /** Shapley codes values as exact fractions: numerators over `denominator` (= k!) sum exactly to total·k!. */
  exact: { denominator: number; numerators: number[] };
}

interface Switch {
  name: string;
  description: string;
  apply(r: Conv1dRecipe, on: boolean): void;
}

/** The recipe of each mode (native/src/recipe.hpp): Baseline is every switch off, with its rounding. */
export function modeRecipe(mode: EvalMode, rounding: RoundingMode): Conv1dRecipe {
  const r = ROUNDING_MODES.indexOf(rounding);
  if (mode === 'baseline')
    return { earlyScales: false, fp32Accumulate: false, biasEpilogue: false, inputRounding: r, outputRounding: r, ssmUnquantized: false };
  return { earlyScales: true, fp32Accumulate: true, biasEpilogue: true, inputRounding: 0, outputRounding: 0, ssmUnquantized: mode === 'mode1' };
}

/** The switches that separate `from` from `to`: one per field of the recipe in which they differ. */
function switchesBetween(from: Conv1dRecipe, to: Conv1dRecipe): Switch[] {
  const all: { name: string; description: string; key: keyof Conv1dRecipe }[] = [
    { name: 'scales', description: 'where scales apply: one scale on the integer sum vs operands dequantized before the products', key: 'earlyScales' },
    { name: 'accumulation', description: 'exact (int32) sum vs a running FP32 sum', key: 'fp32Accumulate' },
    { name: 'bias', description: 'int32 bias in the accumulator vs FP32 bias·bias_scale added after it', key: 'biasEpilogue' },
    { name: 'rounding_input', description: "rounding of the input quantization: Baseline's vs round half to even", key: 'inputRounding' },
    { name: 'rounding_output', description: "rounding of the output quantization: Baseline's vs round half to even", key: 'outputRounding' },
    { name: 'ssm_path', description: 'what the SSM gets: the output on its INT8 grid vs the FP32 SiLU output', key: 'ssmUnquantized' },
  ];
  return all
    .filter((s) => from[s.key] !== to[s.key])
    .map((s) => ({
      name: s.name,
      description: s.description,
      apply: (r: Conv1dRecipe, on: boolean) => {
        (r as unknown as Record<string, unknown>)[s.key] = on ? to[s.key] : from[s.key];
      },
    }));
}

const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));
const popcount = (m: number): number => m.toString(2).replace(/0/g, '').length;

export interface AttributeOptions {
  from?: EvalMode;
  to?: EvalMode;
  rounding?: RoundingMode;
  threads?: number;
}

/** Attributes the difference between two modes of a conv1d to its switches. CPU: the recipes are a CPU kernel. */
export async function attributeConv1d(p: Conv1dParams, input: { x: Float32Array; shape: number[] }, opts: AttributeOptions = {}): Promise<AttributionReport> {
  const from = opts.from ?? 'baseline',
    to = opts.to ?? 'mode2';
  const rounding = opts.rounding ?? 'half_even';
  if (from === to) throw new FormatError('invalid-argument', `--from and --to are both ${from}: nothing to attribute`);
  const fromRecipe = modeRecipe(from, rounding),
    toRecipe = modeRecipe(to, rounding);
  const switches = switchesBetween(fromRecipe, toRecipe);
  const k = switches.length;
  const combos = 1 << k;
  const recipes = Array.from({ length: combos }, (_, mask) => {
    const r = { ...fromRecipe };
    switches.forEach((s, i) => s.apply(r, (mask & (1 << i)) !== 0));
    return r;
  });
  const [B, D, L] = input.shape;
  const out = await loadNative().conv1dRecipes({
    x: input.x,
    weight: p.weight,
    bias: p.bias,
    batch: B,
    channels: D,
    length: L,
    kernel: p.kernel,
    inputScale: p.inputScale,
    weightScale: p.weightScale,
    biasScale: p.biasScale,
    outputScale: p.outputScale,
    threads: opts.threads,
    recipes,
    reference: true,
  });
  const base = out.results[0];
  const ref = out.reference!;
  const n = base.codes.length;
  const energyOf = (ssm: Float32Array): number => {
    let e = 0;
    for (let i = 0; i < n; i++) {
      const d = ssm[i] - ref[i];
      if (Number.isFinite(d)) e += d * d;
    }
    return e;
  };
  const e0 = energyOf(base.ssm);
  // Per combination: codes differing from `from` (total and per channel), error energy change, and bits.
  const codes = new Float64Array(combos);
  const energy = new Float64Array(combos);
  const perChannel = Array.from({ length: combos }, () => new Float64Array(D));
  for (let m = 0; m < combos; m++) {
    const c = out.results[m].codes;
    for (let i = 0; i < n; i++) {
      if (c[i] !== base.codes[i]) {
        codes[m]++;
        perChannel[m][Math.floor(i / L) % D]++;
      }
    }
    energy[m] = energyOf(out.results[m].ssm) - e0;
  }
  // Same output: equal codes and equal values (0 and -0 are one value; NaN matches NaN).
  const sameOutput = (a: number, b: number): boolean => {
    const x = out.results[a],
      y = out.results[b];
    for (let i = 0; i < n; i++) {
      const u = x.ssm[i],
        v = y.ssm[i];
      if (x.codes[i] !== y.codes[i] || (u !== v && !(u !== u && v !== v))) return false;
    }
    return true;
  };
  const kf = factorial(k);
  const numerators: number[] = [];
  const factors: AttributionFactor[] = switches.map((s, i) => {
    let numCodes = 0,
      phiEnergy = 0,
      noEffect = true;
    const channel = new Float64Array(D);
    for (let m = 0; m < combos; m++) {
      if (m & (1 << i)) continue;
      const size = popcount(m);
      // Shapley weight |S|!(k-|S|-1)!, kept as an integer numerator over k!.
      const w = factorial(size) * factorial(k - size - 1);
      const withI = m | (1 << i);
      numCodes += w * (codes[withI] - codes[m]);
      phiEnergy += (w / kf) * (energy[withI] - energy[m]);
      for (let d = 0; d < D; d++) channel[d] += (w / kf) * (perChannel[withI][d] - perChannel[m][d]);
      if (noEffect && !sameOutput(withI, m)) noEffect = false;
    }
    numerators.push(numCodes);
    return {
      name: s.name,
      description: s.description,
      shapley_codes: numCodes / kf,
      shapley_energy: phiEnergy,
      alone_codes: codes[1 << i],
      no_effect: noEffect,
      channel_codes: Array.from(channel),
    };
  });
  const last = out.results[combos - 1];
  let maxAbsInt = 0;
  for (let i = 0; i < n; i++) maxAbsInt = Math.max(maxAbsInt, Math.abs(last.codes[i] - base.codes[i]));
  return {
    layer: 'conv1d',
    from,
    to,
    rounding,
    total: { codes_differ: codes[combos - 1], max_abs_int: maxAbsInt, energy: energy[combos - 1], n },
    factors,
    combinations: Array.from({ length: combos }, (_, m) => ({
      on: switches.filter((_s, i) => m & (1 << i)).map((s) => s.name),
      codes_differ: codes[m],
      energy: energy[m],
    })),
    exact: { denominator: kf, numerators },
  };
}
