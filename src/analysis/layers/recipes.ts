/** Each evaluation mode as a recipe of the switches that separate the modes (native/src/recipe.hpp). */
import type { Conv1dRecipe } from '../../native/addon';
import { ROUNDING_MODES, RoundingMode } from '../rounding';
import { EvalMode } from './modes';

/** The recipe of each mode (native/src/recipe.hpp): Baseline is every switch off, with its rounding. */
export function modeRecipe(mode: EvalMode, rounding: RoundingMode): Conv1dRecipe {
  const r = ROUNDING_MODES.indexOf(rounding);
  if (mode === 'baseline')
    return { earlyScales: false, fp32Accumulate: false, biasEpilogue: false, inputRounding: r, outputRounding: r, ssmUnquantized: false };
  return { earlyScales: true, fp32Accumulate: true, biasEpilogue: true, inputRounding: 0, outputRounding: 0, ssmUnquantized: mode === 'mode1' };
}
