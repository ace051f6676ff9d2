/** The three evaluation modes a layer can be recomputed in (README: "run --json"). */
export type EvalMode = 'baseline' | 'mode1' | 'mode2';
export const MODES: readonly EvalMode[] = ['baseline', 'mode1', 'mode2'];
export const MODE_TITLES: Record<EvalMode, string> = {
  baseline: 'Baseline (INT8)',
  mode1: 'Mode 1 (FP32 SSM input)',
  mode2: 'Mode 2 (float-sim INT8)',
};
