/**
 * One Mamba mixer step, on demand: causal conv1d + SiLU → x_proj (W8A8) → dt_proj (FP32) → selective
 * scan (+ D skip, z gating), from one params file, in each mode. Every stage is a layer Quant Lens
 * already recomputes, so the block is exactly their composition, and each intermediate is an output:
 * comparing two modes' runs shows where along the chain they part.
 *
 *   Baseline  conv1d int8 codes → x_proj int8 GEMM on them → the SSM gets the codes dequantized
 *   Mode 2    conv1d on the grid in FP32 → x_proj gets the grid values → the SSM gets the same grid values (dual path)
 *   Mode 1    as Mode 2, but the SSM gets the FP32 conv output, never quantized
 *
 * Params (one file): conv1d.{weight int8 [D,1,K], bias int32 [D], input_scale, weight_scale, bias_scale, output_scale},
 * x_proj.{weight int8 [R+2S, D], weight_scale}, dt_proj.{weight [D, R], bias [D]}, A_log [D, S] (or A), D [D].
 * Input: x [1, D, L] (the conv input) and z [1, D, L] (the gate).
 */
import { openDump } from '../../formats/open';
import { DumpFile } from '../../formats/dump';
import { TensorRef, numelOf } from '../../formats/tensor';
import { FormatError } from '../../core/errors';
import { loadNative, Conv1dRecipe } from '../../native/addon';
import { conv1dOperands } from './conv1d';
import { linearReference } from '../attribution';
import { modeRecipe } from './recipes';
import { NamedArray } from '../../formats/safetensorsWriter';
import { findScalar } from '../scalars';
import { EvalMode } from './modes';
import { readLayerFloat32, readLayerInt32, readLayerInt8 } from './params';
import { LayerFiles, LayerRunner, LoadedLayer, timedRun } from './runner';

/** `name` at the root or under a prefix (`mixer.conv1d.weight`). */
const tensor = (d: DumpFile, name: string): TensorRef | undefined => d.tensors.find((t) => t.name === name || t.name.endsWith(`.${name}`));

function need(d: DumpFile, name: string, dtypes?: string[]): TensorRef {
  const t = tensor(d, name);
  if (!t) throw new FormatError('tensor-not-found', `block params need ${name}`, d.path);
  if (dtypes && !dtypes.includes(t.dtype)) throw new FormatError('invalid-layer', `${name} is ${t.dtype}, expected ${dtypes.join(' or ')}`, d.path);
  return t;
}

async function scale(d: DumpFile, name: string): Promise<number> {
  const hit = await findScalar(d, name, { anyDepth: true, accept: (v) => v > 0 });
  if (!hit) throw new FormatError('scale-not-found', `block params need ${name} (a positive scale)`, d.path);
  return hit.value;
}

/** [rows, cols] row-major → [cols, rows]. */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

export interface BlockParams {
  D: number;
  L: number;
  S: number;
  R: number;
  K: number;
  conv: { weight: Int8Array; bias: Int32Array; inputScale: number; weightScale: number; biasScale: number; outputScale: number };
  xProj: { weight: Int8Array; weightScales: number[] };
  dtProj: { weight: Float32Array; bias: Float32Array };
  A: Float32Array;
  Dskip: Float32Array;
}

export async function readBlock(files: LayerFiles): Promise<{ p: BlockParams; x: Float32Array; z: Float32Array; inputShape: number[] }> {
  const pd = openDump(files.params);
  const id = openDump(files.input);
  try {
    const cw = need(pd, 'conv1d.weight', ['int8', 'qint8']);
    if (cw.shape.length !== 3 || cw.shape[1] !== 1) throw new FormatError('invalid-layer', `conv1d.weight must be [D, 1, K], got [${cw.shape}]`, files.params);
    const [D, , K] = cw.shape;
    const xw = need(pd, 'x_proj.weight', ['int8']);
    const dw = need(pd, 'dt_proj.weight');
    if (dw.shape.length !== 2 || dw.shape[0] !== D) throw new FormatError('invalid-layer', `dt_proj.weight must be [${D}, R], got [${dw.shape}]`, files.params);
    const R = dw.shape[1];
    const aLog = tensor(pd, 'A_log');
    const aT = aLog ?? need(pd, 'A');
    if (aT.shape.length !== 2 || aT.shape[0] !== D) throw new FormatError('invalid-layer', `A_log must be [${D}, S], got [${aT.shape}]`, files.params);
    const S = aT.shape[1];
    if (xw.shape.length !== 2 || xw.shape[0] !== R + 2 * S || xw.shape[1] !== D)
      throw new FormatError('invalid-layer', `x_proj.weight must be [R + 2S = ${R + 2 * S}, D = ${D}], got [${xw.shape}]`, files.params);
    const xT = need(id, 'x', ['float32']);
    const zT = need(id, 'z', ['float32']);
    const L = xT.shape[xT.shape.length - 1];
    if (numelOf(xT.shape) !== D * L || numelOf(zT.shape) !== D * L)
      throw new FormatError('invalid-layer', `x and z must be [1, ${D}, L] (one sequence), got [${xT.shape}] and [${zT.shape}]`, files.input);
    const xsT = tensor(pd, 'x_proj.weight_scale');
    const xScales = xsT && numelOf(xsT.shape) > 1 ? Array.from(await readLayerFloat32(xsT)) : [await scale(pd, 'x_proj.weight_scale')];
    const A = await readLayerFloat32(aT);
    return {
      p: {
        D,
        L,
        S,
        R,
        K,
        conv: {
          weight: await readLayerInt8(cw),
          bias: await readLayerInt32(need(pd, 'conv1d.bias', ['int32'])),
          inputScale: await scale(pd, 'conv1d.input_scale'),
          weightScale: await scale(pd, 'conv1d.weight_scale'),
          biasScale: await scale(pd, 'conv1d.bias_scale'),
          outputScale: await scale(pd, 'conv1d.output_scale'),
        },
        xProj: { weight: await readLayerInt8(xw), weightScales: xScales },
        dtProj: { weight: await readLayerFloat32(dw), bias: await readLayerFloat32(need(pd, 'dt_proj.bias')) },
        // Mamba keeps A as A_log; the scan takes A = -exp(A_log), in FP32.
        A: aLog ? A.map((v) => Math.fround(-Math.exp(v))) : A,
        Dskip: await readLayerFloat32(need(pd, 'D')),
      },
      x: await readLayerFloat32(xT),
      z: await readLayerFloat32(zT),
      inputShape: xT.shape,
    };
  } finally {
    pd.close();
    id.close();
  }
}

/** What follows the conv: x_proj (by `xproj`), dt_proj in FP32, the scan; every intermediate named. */
async function afterConv(
  b: { p: BlockParams; z: Float32Array },
  xprojIn: Float32Array,
  u: Float32Array,
  xproj: (xRows: Float32Array) => Promise<Float32Array>,
  opts: { device: 'cpu' | 'cuda'; threads?: number },
): Promise<{ xdbl: Float32Array; delta: Float32Array; y: Float32Array }> {
  const { p } = b;
  const { D, L, S, R } = p;
  const xdbl = await xproj(transpose(xprojIn, D, L));
  const W = R + 2 * S;
  // dt_proj in FP32, summed over r in order: delta [D, L]; its bias and softplus are the scan's.
  const delta = new Float32Array(D * L);
  for (let t = 0; t < L; t++) {
    for (let d = 0; d < D; d++) {
      let acc = 0;
      for (let r = 0; r < R; r++) acc = Math.fround(acc + Math.fround(xdbl[t * W + r] * p.dtProj.weight[d * R + r]));
      delta[d * L + t] = acc;
    }
  }
  const Bm = new Float32Array(S * L),
    Cm = new Float32Array(S * L);
  for (let t = 0; t < L; t++) {
    for (let s = 0; s < S; s++) {
      Bm[s * L + t] = xdbl[t * W + R + s];
      Cm[s * L + t] = xdbl[t * W + R + S + s];
    }
  }
  const y = await loadNative().scan({
    u,
    delta,
    A: p.A,
    B: Bm,
    C: Cm,
    D: p.Dskip,
    z: b.z,
    deltaBias: p.dtProj.bias,
    channels: D,
    length: L,
    state: S,
    softplus: true,
    threads: opts.threads,
    device: opts.device,
  });
  return { xdbl, delta, y };
}

/** The block's conv1d as the conv1d layer's operands (one sequence). */
const convOperands = (b: { p: BlockParams; x: Float32Array }) =>
  conv1dOperands({ ...b.p.conv, channels: b.p.D, kernel: b.p.K }, { x: b.x, shape: [1, b.p.D, b.p.L] });

/** Conv codes as the values they stand on the output grid: what x_proj reads in every mode. */
const onGrid = (codes: Int8Array, p: BlockParams): Float32Array => {
  const so = Math.fround(p.conv.outputScale);
  return Float32Array.from(codes, (c) => Math.fround(c * so));
};

const xprojOperands = (p: BlockParams, xRows: Float32Array) => ({
  x: xRows,
  weight: p.xProj.weight,
  rows: p.L,
  inFeatures: p.D,
  outFeatures: p.R + 2 * p.S,
  inputScale: Math.fround(p.conv.outputScale),
  weightScales: p.xProj.weightScales,
});

/** The block in one mode; every intermediate is named, so runs of two modes can be compared stage by stage. */
export async function runBlock(
  b: { p: BlockParams; x: Float32Array; z: Float32Array },
  mode: EvalMode,
  opts: { device: 'cpu' | 'cuda'; threads?: number },
): Promise<{ device: 'cpu' | 'cuda'; outputs: NamedArray[]; input: NamedArray }> {
  const { p } = b;
  const { D, L, S, R } = p;
  const native = loadNative();
  const conv = await native.conv1d({ mode, ...convOperands(b), threads: opts.threads, device: opts.device });
  // What x_proj reads (the grid values; Baseline's codes as the values they stand for) and what the SSM reads.
  const asValues = (a: Int8Array | Float32Array): Float32Array => (a instanceof Int8Array ? onGrid(a, p) : a);
  const { xdbl, delta, y } = await afterConv(
    b,
    asValues(conv.output_xproj),
    asValues(conv.ssm_input),
    (xRows) => native.linear({ mode, ...xprojOperands(p, xRows), threads: opts.threads, device: opts.device }),
    opts,
  );
  const codes = mode === 'baseline';
  return {
    device: opts.device,
    // The conv input as the mode saw it (codes, or FP32 on the grid): `diff` checks two runs read the same data.
    input: { name: 'input', dtype: codes ? 'int8' : 'float32', shape: [1, D, L], data: conv.input },
    outputs: [
      // Named as the conv1d layer names them, so `diff` finds the grid of each (output_xproj, ssm_input: output_scale).
      { name: 'output_xproj', dtype: codes ? 'int8' : 'float32', shape: [1, D, L], data: conv.output_xproj },
      { name: 'ssm_input', dtype: codes ? 'int8' : 'float32', shape: [1, D, L], data: conv.ssm_input },
      { name: 'x_dbl', dtype: 'float32', shape: [L, R + 2 * S], data: xdbl },
      { name: 'delta', dtype: 'float32', shape: [1, D, L], data: delta },
      { name: 'y', dtype: 'float32', shape: [1, D, L], data: y },
    ],
  };
}

/** The block under one combination of attribution switches (CPU): the conv and x_proj as recipes. */
export async function runBlockRecipe(
  b: { p: BlockParams; x: Float32Array; z: Float32Array },
  conv: Conv1dRecipe,
  xproj: { earlyScales: boolean; fp32Accumulate: boolean; biasEpilogue: boolean; inputRounding: number },
  threads?: number,
): Promise<{ y: Float32Array }> {
  const { p } = b;
  const r = await loadNative().conv1dRecipes({ ...convOperands(b), threads, recipes: [conv] });
  const { y } = await afterConv(
    b,
    onGrid(r.results[0].codes, p),
    r.results[0].ssm,
    (xRows) => loadNative().linear({ mode: 'baseline', ...xprojOperands(p, xRows), threads, recipe: xproj }),
    { device: 'cpu', threads },
  );
  return { y };
}

/** The block in FP32 with nothing quantized (conv input, conv output, x_proj input): attribution's reference. */
export async function runBlockReference(b: { p: BlockParams; x: Float32Array; z: Float32Array }, threads?: number): Promise<Float32Array> {
  const { p } = b;
  // The native entry runs at least one recipe; the reference comes with it, and only the reference is used.
  const r = await loadNative().conv1dRecipes({ ...convOperands(b), threads, recipes: [modeRecipe('mode1', 'half_even')], reference: true });
  const ys = r.reference!;
  const { y } = await afterConv(b, ys, ys, async (xRows) => linearReference(xprojOperands(p, xRows)), { device: 'cpu', threads });
  return y;
}

export const blockRunner: LayerRunner = {
  layer: 'block',
  title: 'Mamba block (conv1d → x_proj → dt_proj → scan)',
  paramsGlob: '**/*block*_params.{pt,safetensors}',
  inputGlob: '**/*block*input*.{pt,safetensors}',
  isInputFile: () => true,
  takesAux: false,
  async load(files: LayerFiles): Promise<LoadedLayer> {
    const b = await readBlock(files);
    const metadata = { output_scale: String(b.p.conv.outputScale), input_scale: String(b.p.conv.inputScale) };
    return {
      run: (mode, opts) => timedRun({ mode, layer: 'block', metadata }, () => runBlock(b, mode, opts)),
    };
  },
};
