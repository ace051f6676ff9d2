/** Recomputes a dumped layer in one evaluation mode from its parameters and an input. */
import { openDump } from '../formats/open';
import { TensorRef, numelOf, readRawElements } from '../formats/tensor';
import { FormatError } from '../formats/errors';
import { loadNative, Conv1dResult } from '../native/addon';
import { NamedArray } from '../formats/safetensors_writer';
import { needTensor, needScalar, checkLayerSize, readLayerFloat32 } from './dumpLookup';

export type EvalMode = 'baseline' | 'mode1' | 'mode2';
export const MODES: EvalMode[] = ['baseline', 'mode1', 'mode2'];
export const MODE_TITLES: Record<EvalMode, string> = { baseline: 'Baseline (INT8)', mode1: 'Mode 1 (FP32 SSM input)', mode2: 'Mode 2 (float-sim INT8)' };

export interface Conv1dParams { weight: Int8Array; bias: Int32Array; channels: number; kernel: number; inputScale: number; weightScale: number; biasScale: number; outputScale: number }

async function raw(t: TensorRef): Promise<Buffer> {
  return Buffer.from(await readRawElements(t, 0, checkLayerSize(t)));
}

/** Reads int8 weight [D,1,K], int32 bias [D] and the four scales of a conv1d params (or layer) file. */
export async function readConv1dParams(file: string): Promise<Conv1dParams> {
  const d = openDump(file);
  try {
    const w = needTensor(d, 'weight', ['int8', 'qint8']), b = needTensor(d, 'bias', ['int32']);
    if (w.shape.length !== 3 || w.shape[1] !== 1) throw new FormatError(`conv1d weight must be [D, 1, K], got [${w.shape}]`, file);
    const [D, , K] = w.shape;
    if (numelOf(b.shape) !== D) throw new FormatError(`bias has ${numelOf(b.shape)} entries for ${D} channels`, file);
    const wb = await raw(w), bb = await raw(b);
    const bias = new Int32Array(D);
    for (let i = 0; i < D; i++) bias[i] = b.storage.littleEndian ? bb.readInt32LE(i * 4) : bb.readInt32BE(i * 4);
    return {
      weight: new Int8Array(wb.buffer, wb.byteOffset, wb.length), bias, channels: D, kernel: K,
      inputScale: needScalar(d, 'input_scale'), weightScale: needScalar(d, 'weight_scale'), biasScale: needScalar(d, 'bias_scale'), outputScale: needScalar(d, 'output_scale'),
    };
  } finally {
    d.close();
  }
}

/** The FP32 input [B, D, L] (or [D, L]): the file's root tensor, or its `input` entry. */
export async function readConv1dInput(file: string): Promise<{ x: Float32Array; shape: number[] }> {
  const d = openDump(file);
  try {
    const t = d.tensors.find((x) => x.name === '') ?? d.tensors.find((x) => /(^|\.)(x|input)$/.test(x.name));
    if (!t) throw new FormatError('no input tensor (root tensor or "input") in file', file);
    if (t.dtype !== 'float32') throw new FormatError(`input must be float32 (the FP32 activations), got ${t.dtype}`, file);
    const shape = t.shape.length === 2 ? [1, ...t.shape] : t.shape;
    if (shape.length !== 3) throw new FormatError(`input must be [B, D, L], got [${t.shape}]`, file);
    return { x: await readLayerFloat32(t), shape };
  } finally {
    d.close();
  }
}

export interface LayerRun { mode: EvalMode; layer: 'conv1d'; device: 'cpu' | 'cuda'; shape: number[]; result: Conv1dResult; elapsedMs: number }

export async function runConv1d(mode: EvalMode, params: Conv1dParams, input: { x: Float32Array; shape: number[] }, device: 'cpu' | 'cuda', threads?: number): Promise<LayerRun> {
  const [B, D, L] = input.shape;
  if (D !== params.channels) throw new FormatError(`input has ${D} channels, the weight ${params.channels}`);
  const t0 = performance.now();
  const result = await loadNative().conv1d({
    mode, x: input.x, weight: params.weight, bias: params.bias, batch: B, channels: D, length: L, kernel: params.kernel,
    inputScale: params.inputScale, weightScale: params.weightScale, biasScale: params.biasScale, outputScale: params.outputScale, threads, device,
  });
  return { mode, layer: 'conv1d', device: result.device, shape: input.shape, result, elapsedMs: performance.now() - t0 };
}

/** The run's tensors by role, as written to safetensors (input too, so `diff` can check inputs). */
export function runTensors(run: LayerRun): NamedArray[] {
  const dtype = run.mode === 'baseline' ? 'int8' : 'float32';
  const ssmDtype = run.mode === 'baseline' ? 'int8' : 'float32';
  return [
    { name: 'input', dtype, shape: run.shape, data: run.result.input },
    { name: 'output_xproj', dtype, shape: run.shape, data: run.result.output_xproj },
    { name: 'ssm_input', dtype: ssmDtype, shape: run.shape, data: run.result.ssm_input },
  ];
}

/** What a recomputed conv1d output file records beside its tensors, so `diff` finds the scales of its codes. */
export function conv1dRunMetadata(mode: EvalMode, params: Conv1dParams): Record<string, string> {
  return {
    mode, layer: 'conv1d', input_scale: String(params.inputScale), weight_scale: String(params.weightScale),
    bias_scale: String(params.biasScale), output_scale: String(params.outputScale), producer: 'quant-lens',
  };
}
