/** Mamba's causal depthwise conv1d + bias + SiLU, recomputed in one evaluation mode (native kernels). */
import { openDump } from '../../formats/open';
import { numelOf } from '../../formats/tensor';
import { FormatError } from '../../core/errors';
import { loadNative } from '../../native/addon';
import { needTensor, needScale, rootOrNamed, readLayerFloat32, readLayerInt8, readLayerInt32 } from './params';
import { ACTIVATION_INPUTS, LayerFiles, LayerRunner, LoadedLayer, timedRun } from './runner';
import { NamedArray } from '../../formats/safetensorsWriter';
import { ROUNDING_FUNCTIONS, RoundingMode } from '../rounding';
import { modeRecipe } from './recipes';

export interface Conv1dParams {
  weight: Int8Array;
  bias: Int32Array;
  channels: number;
  kernel: number;
  inputScale: number;
  weightScale: number;
  biasScale: number;
  outputScale: number;
}

/** Reads int8 weight [D,1,K], int32 bias [D] and the four scales of a conv1d params (or layer) file. */
export async function readConv1dParams(file: string): Promise<Conv1dParams> {
  const d = openDump(file);
  try {
    const w = needTensor(d, 'weight', ['int8', 'qint8']);
    const b = needTensor(d, 'bias', ['int32']);
    if (w.shape.length !== 3 || w.shape[1] !== 1) throw new FormatError('invalid-layer', `conv1d weight must be [D, 1, K], got [${w.shape}]`, file);
    const [D, , K] = w.shape;
    if (numelOf(b.shape) !== D) throw new FormatError('invalid-layer', `bias has ${numelOf(b.shape)} entries for ${D} channels`, file);
    return {
      weight: await readLayerInt8(w),
      bias: await readLayerInt32(b),
      channels: D,
      kernel: K,
      inputScale: await needScale(d, 'input_scale'),
      weightScale: await needScale(d, 'weight_scale'),
      biasScale: await needScale(d, 'bias_scale'),
      outputScale: await needScale(d, 'output_scale'),
    };
  } finally {
    d.close();
  }
}

/** The FP32 input [B, D, L] (or [D, L]): the file's root tensor, or its `x` / `input` entry. */
export async function readConv1dInput(file: string): Promise<{ x: Float32Array; shape: number[] }> {
  const d = openDump(file);
  try {
    const t = rootOrNamed(d, ['input', 'x']);
    if (t.dtype !== 'float32') throw new FormatError('invalid-layer', `input must be float32 (the FP32 activations), got ${t.dtype}`, file);
    const shape = t.shape.length === 2 ? [1, ...t.shape] : t.shape;
    if (shape.length !== 3) throw new FormatError('invalid-layer', `input must be [B, D, L], got [${t.shape}]`, file);
    return { x: await readLayerFloat32(t), shape };
  } finally {
    d.close();
  }
}

/** The native conv1d operands of a layer and an input [B, D, L]: one definition for the mode kernels and the recipes. */
export function conv1dOperands(p: Conv1dParams, input: { x: Float32Array; shape: number[] }) {
  const [B, D, L] = input.shape;
  return {
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
  };
}

export const conv1dRunner: LayerRunner = {
  layer: 'conv1d',
  title: 'conv1d (causal depthwise + SiLU)',
  paramsGlob: '**/*conv1d*_params.{pt,safetensors}',
  ...ACTIVATION_INPUTS,
  takesAux: false,
  async load(files: LayerFiles): Promise<LoadedLayer> {
    const p = await readConv1dParams(files.params);
    const input = await readConv1dInput(files.input);
    const D = input.shape[1];
    if (D !== p.channels) throw new FormatError('invalid-layer', `input has ${D} channels, the weight ${p.channels}`, files.input);
    const metadata = {
      input_scale: String(p.inputScale),
      weight_scale: String(p.weightScale),
      bias_scale: String(p.biasScale),
      output_scale: String(p.outputScale),
    };
    return {
      run: (mode, opts) =>
        timedRun({ mode, layer: 'conv1d', metadata: opts.rounding ? { ...metadata, rounding: opts.rounding } : metadata }, async () => {
          if (mode === 'baseline' && opts.rounding && opts.rounding !== 'half_even') return baselineWithRounding(p, input, opts.rounding, opts.threads);
          const r = await loadNative().conv1d({
            mode,
            ...conv1dOperands(p, input),
            threads: opts.threads,
            device: opts.device,
          });
          // Baseline works on int8 codes throughout; the float modes keep FP32 tensors on the grid.
          const dtype = mode === 'baseline' ? 'int8' : 'float32';
          const shape = input.shape;
          return {
            device: r.device,
            input: { name: 'input', dtype, shape, data: r.input },
            outputs: [
              { name: 'output_xproj', dtype, shape, data: r.output_xproj },
              { name: 'ssm_input', dtype, shape, data: r.ssm_input },
            ],
          };
        }),
    };
  },
};

/**
 * Baseline with another rounding than the kernels' (`run --rounding`): the attribution recipe with
 * every switch off, on the CPU, so `run` and `attribute` agree by construction of one kernel.
 */
async function baselineWithRounding(
  p: Conv1dParams,
  input: { x: Float32Array; shape: number[] },
  rounding: RoundingMode,
  threads?: number,
): Promise<{ device: 'cpu'; outputs: NamedArray[]; input: NamedArray }> {
  const r = await loadNative().conv1dRecipes({
    ...conv1dOperands(p, input),
    threads,
    recipes: [modeRecipe('baseline', rounding)],
  });
  const round = ROUNDING_FUNCTIONS[rounding];
  const codes = Int8Array.from(input.x, (v) => {
    const q = round(Math.fround(v / p.inputScale));
    return Number.isNaN(q) ? 0 : Math.max(-128, Math.min(127, q));
  });
  const out = r.results[0].codes;
  return {
    device: 'cpu',
    input: { name: 'input', dtype: 'int8', shape: input.shape, data: codes },
    outputs: [
      { name: 'output_xproj', dtype: 'int8', shape: input.shape, data: out },
      { name: 'ssm_input', dtype: 'int8', shape: input.shape, data: out },
    ],
  };
}
