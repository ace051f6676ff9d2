/**
 * The Mamba selective scan with FP32 state. The SSM input `u` is what the mode prescribes: Baseline
 * takes int8 codes (or quantizes to them) and dequantizes them in FP32; Mode 2 puts u on the INT8
 * grid; Mode 1 takes the FP32 values as they are. delta, B, C and z come from the aux file (or the params file).
 */
import { openDump } from '../../formats/open';
import { TensorRef, numelOf } from '../../formats/tensor';
import { isIntegerDType } from '../../formats/dtypes';
import { FormatError } from '../../core/errors';
import { loadNative } from '../../native/addon';
import { discoverScale, roundHalfEven } from '../scale';
import { EvalMode } from './modes';
import { findTensor, needTensor, rootOrNamed, readLayerFloat32 } from './params';
import { LayerFiles, LayerRunner, LoadedLayer, timedRun } from './runner';

/** u as the mode sees it: dequantized codes, FP32 on the grid, or the FP32 values unchanged (Mode 1). */
function ssmInputFor(mode: EvalMode, u: Float32Array, codes: boolean, scale: number | undefined, file: string): Float32Array {
  if (mode === 'mode1' && !codes) return u;
  if (scale === undefined) {
    if (mode === 'mode1') return u;
    throw new FormatError('scale-not-found', `${mode} needs the SSM input's scale (output_scale); none found`, file);
  }
  const s = Math.fround(scale);
  return u.map((v) => Math.fround((codes ? v : Math.min(127, Math.max(-128, roundHalfEven(Math.fround(v / s))))) * s));
}

export const scanRunner: LayerRunner = {
  layer: 'scan',
  title: 'selective scan (FP32 state)',
  paramsGlob: '**/*{scan,ssm}*_params.{pt,safetensors}',
  inputGlob: '**/*{ssm_input,_u}*.{pt,safetensors,npy}',
  isInputFile: () => true,
  takesAux: true,
  async load(files: LayerFiles): Promise<LoadedLayer> {
    const pd = openDump(files.params);
    const id = openDump(files.input);
    const ad = files.aux ? openDump(files.aux) : undefined;
    try {
      const A = needTensor(pd, 'A');
      if (A.shape.length !== 2) throw new FormatError('invalid-layer', `A must be [D, S], got [${A.shape}]`, files.params);
      const [D, S] = A.shape;
      const uT = id.tensors.find((t) => t.name === '') ?? findTensor(id, 'ssm_input') ?? rootOrNamed(id, ['u']);
      const L = uT.shape[uT.shape.length - 1];
      if (numelOf(uT.shape) !== D * L) throw new FormatError('invalid-layer', `SSM input [${uT.shape}] does not hold ${D} channels`, files.input);
      const u = await readLayerFloat32(uT);
      const codes = isIntegerDType(uT.dtype);
      const scaleInfo = await discoverScale(files.input, id, uT, { infer: false });
      const scale = scaleInfo && scaleInfo.kind === 'per_tensor' ? scaleInfo.scale : undefined;
      const operandFile = files.aux ?? files.params;
      const aux = (name: string): TensorRef | undefined => (ad && findTensor(ad, name)) ?? findTensor(pd, name);
      const load = async (name: string, len: number): Promise<Float32Array | undefined> => {
        const t = aux(name);
        if (!t) return undefined;
        if (numelOf(t.shape) !== len) throw new FormatError('invalid-layer', `${name} has ${numelOf(t.shape)} elements, expected ${len}`, operandFile);
        return readLayerFloat32(t);
      };
      const need = async (name: string, len: number): Promise<Float32Array> => {
        const v = await load(name, len);
        if (!v) throw new FormatError('tensor-not-found', `scan needs ${name} (${len} elements) in --aux or the params file`, operandFile);
        return v;
      };
      const operands = {
        delta: await need('delta', D * L),
        A: await readLayerFloat32(A),
        B: await need('B', S * L),
        C: await need('C', S * L),
        D: await load('D', D),
        z: await load('z', D * L),
        deltaBias: await load('delta_bias', D),
      };
      const softplusObj = pd.objects.find((o) => o.name === 'delta_softplus');
      const softplus = softplusObj ? softplusObj.value !== false : true;
      const metadata: Record<string, string> = scale === undefined ? {} : { output_scale: String(scale) };
      return {
        run: (mode, opts) =>
          timedRun({ mode, layer: 'scan', metadata }, async () => {
            const y = await loadNative().scan({
              u: ssmInputFor(mode, u, codes, scale, files.input),
              ...operands,
              channels: D,
              length: L,
              state: S,
              softplus,
              threads: opts.threads,
              device: opts.device,
            });
            return { device: opts.device, outputs: [{ name: 'output', dtype: 'float32', shape: uT.shape, data: y }] };
          }),
      };
    } finally {
      pd.close();
      id.close();
      ad?.close();
    }
  },
};
