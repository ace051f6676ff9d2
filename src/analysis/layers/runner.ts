/**
 * One interface for every layer Quant Lens recomputes: load the parameters and input once, run in any
 * mode, name the outputs. The CLI's `run`, the palette's mode runs and attribution all go through it.
 */
import { NamedArray } from '../../formats/safetensorsWriter';
import { EvalMode } from './modes';
import type { RoundingMode } from '../rounding';

export type LayerName = 'conv1d' | 'linear' | 'scan' | 'block';

/** The files a layer run reads: parameters, the layer's input, and (scan) further operands. */
export interface LayerFiles {
  params: string;
  input: string;
  aux?: string;
}

export interface LayerRunOptions {
  device: 'cpu' | 'cuda';
  threads?: number;
  /** Baseline's rounding of its quantization steps (conv1d); default round half to even, as the kernels do. */
  rounding?: RoundingMode;
}

/** A run's result: its outputs by role, what an output file holds, and the metadata written with it. */
export interface LayerRun {
  mode: EvalMode;
  layer: LayerName;
  device: 'cpu' | 'cuda';
  elapsedMs: number;
  /** The outputs by role (`output_xproj`, `ssm_input`, `output`). */
  outputs: NamedArray[];
  /** What `--out` holds: the outputs and, where the mode transforms it, the input as the mode saw it. */
  saved: NamedArray[];
  /** Safetensors metadata: mode, layer, and the scales, so `diff` finds the grid of saved codes. */
  metadata: Record<string, string>;
}

/** A layer whose parameters and input are in memory: runs in any mode without reading again. */
export interface LoadedLayer {
  run(mode: EvalMode, opts: LayerRunOptions): Promise<LayerRun>;
}

export interface LayerRunner {
  readonly layer: LayerName;
  readonly title: string;
  /** Glob patterns (VS Code's findFiles) for the pickers: parameter files and input files. */
  readonly paramsGlob: string;
  readonly inputGlob: string;
  /** Whether a file found by inputGlob is an input of this layer (conv1d: not the SSM's `ssm_input`). */
  isInputFile(name: string): boolean;
  /** Whether the layer takes an `aux` file (scan: delta, B, C, z). */
  readonly takesAux: boolean;
  load(files: LayerFiles): Promise<LoadedLayer>;
}

/** Times `work` and wraps its tensors as a LayerRun. */
export async function timedRun(
  base: { mode: EvalMode; layer: LayerName; metadata: Record<string, string> },
  work: () => Promise<{ device: 'cpu' | 'cuda'; outputs: NamedArray[]; input?: NamedArray }>,
): Promise<LayerRun> {
  const t0 = performance.now();
  const r = await work();
  const elapsedMs = performance.now() - t0;
  return {
    ...base,
    device: r.device,
    elapsedMs,
    outputs: r.outputs,
    saved: r.input ? [r.input, ...r.outputs] : r.outputs,
    metadata: { mode: base.mode, layer: base.layer, ...base.metadata, producer: 'quant-lens' },
  };
}

/** The pickers' view of a layer whose input is an activation dump (conv1d, linear): any `*input*` file but the SSM's. */
export const ACTIVATION_INPUTS: Pick<LayerRunner, 'inputGlob' | 'isInputFile'> = {
  inputGlob: '**/*input*.{pt,safetensors,npy}',
  isInputFile: (name) => !/ssm_input/i.test(name),
};
