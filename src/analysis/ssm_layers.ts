/**
 * The W8A8 linear (x_proj / in_proj / out_proj) and the Mamba selective scan, recomputed from dumps.
 * Both run on the CPU or, with device 'cuda', on the GPU (identical results).
 */
import { openDump } from '../formats/open';
import { TensorRef, numelOf, readRawElements } from '../formats/tensor';
import { isIntegerDType } from '../formats/dtypes';
import { FormatError } from '../formats/errors';
import { loadNative } from '../native/addon';
import { discoverScale, roundHalfEven } from './scale';
import { findTensor, needTensor, scalarOf, readLayerFloat32 } from './dumpLookup';
import { EvalMode } from './layers';

export interface LayerOutput { role: string; shape: number[]; data: Float32Array }

/** y = x·Wᵀ (+ bias) for an int8 weight [N, K] with a per-tensor or per-row `weight_scale`, in one evaluation mode. */
export async function runLinearFiles(mode: EvalMode, paramsFile: string, inputFile: string, threads?: number, device: 'cpu' | 'cuda' = 'cpu'): Promise<LayerOutput> {
  const pd = openDump(paramsFile), id = openDump(inputFile);
  try {
    const w = needTensor(pd, 'weight');
    if (w.dtype !== 'int8' || w.shape.length !== 2) throw new FormatError(`linear weight must be int8 [N, K], got ${w.dtype}[${w.shape}]`, paramsFile);
    const [N, K] = w.shape;
    const inputScale = scalarOf(pd, 'input_scale');
    if (!(inputScale! > 0)) throw new FormatError('input_scale not found', paramsFile);
    const wsT = findTensor(pd, 'weight_scale');
    const weightScales = wsT ? Array.from(await readLayerFloat32(wsT)) : [scalarOf(pd, 'weight_scale') ?? NaN];
    if (!weightScales.every((s) => s > 0)) throw new FormatError('weight_scale not found or not positive', paramsFile);
    const b = findTensor(pd, 'bias');
    if (b && (b.dtype !== 'int32' || numelOf(b.shape) !== N)) throw new FormatError(`linear bias must be int32 [${N}]`, paramsFile);
    const xT = id.tensors.find((t) => t.name === '') ?? needTensor(id, 'input');
    if (xT.shape[xT.shape.length - 1] !== K) throw new FormatError(`input's last dimension is ${xT.shape[xT.shape.length - 1]}, the weight takes ${K}`, inputFile);
    const rows = numelOf(xT.shape) / K;
    const weightBytes = Buffer.from(await readRawElements(w, 0, N * K));
    const biasArr = b ? new Int32Array(Array.from(await readLayerFloat32(b))) : undefined;
    const y = await loadNative().linear({
      mode, x: await readLayerFloat32(xT), weight: new Int8Array(weightBytes.buffer, weightBytes.byteOffset, N * K), bias: biasArr,
      rows, inFeatures: K, outFeatures: N, inputScale: inputScale!, weightScales, threads, device,
    });
    return { role: 'output', shape: [...xT.shape.slice(0, -1), N], data: y };
  } finally {
    pd.close(); id.close();
  }
}

/**
 * Selective scan with FP32 state. The SSM input `u` is what the mode prescribes: Baseline takes int8
 * codes (or quantizes to them) and dequantizes them in FP32; Mode 2 puts u on the INT8 grid; Mode 1
 * takes the FP32 values as they are. delta, B, C and z come from `auxFile` (or the params file).
 */
export async function runScanFiles(mode: EvalMode, paramsFile: string, inputFile: string, auxFile: string | undefined, threads?: number, device: 'cpu' | 'cuda' = 'cpu'): Promise<LayerOutput> {
  const pd = openDump(paramsFile), id = openDump(inputFile), ad = auxFile ? openDump(auxFile) : undefined;
  try {
    const A = needTensor(pd, 'A');
    if (A.shape.length !== 2) throw new FormatError(`A must be [D, S], got [${A.shape}]`, paramsFile);
    const [D, S] = A.shape;
    const aux = (name: string): TensorRef | undefined => (ad && findTensor(ad, name)) ?? findTensor(pd, name);
    const uT = id.tensors.find((t) => t.name === '') ?? findTensor(id, 'ssm_input') ?? needTensor(id, 'u');
    const L = uT.shape[uT.shape.length - 1];
    if (numelOf(uT.shape) !== D * L) throw new FormatError(`SSM input [${uT.shape}] does not hold ${D} channels`, inputFile);
    let u = await readLayerFloat32(uT);
    if (mode !== 'mode1' || isIntegerDType(uT.dtype)) {
      const scale = await discoverScale(inputFile, id, uT, { infer: false });
      if (!scale || scale.kind !== 'per_tensor') {
        if (mode !== 'mode1') throw new FormatError(`${mode} needs the SSM input's scale (output_scale); none found`, inputFile);
      } else {
        const s = Math.fround(scale.scale);
        const codes = isIntegerDType(uT.dtype);
        u = u.map((v) => {
          const q = codes ? v : Math.min(127, Math.max(-128, roundHalfEven(Math.fround(v / s))));
          return Math.fround(q * s);
        });
      }
    }
    const load = async (name: string, len: number, optional: boolean): Promise<Float32Array | undefined> => {
      const t = aux(name);
      if (!t) {
        if (optional) return undefined;
        throw new FormatError(`scan needs ${name} (${len} elements) in --aux or the params file`, auxFile ?? paramsFile);
      }
      if (numelOf(t.shape) !== len) throw new FormatError(`${name} has ${numelOf(t.shape)} elements, expected ${len}`, auxFile ?? paramsFile);
      return readLayerFloat32(t);
    };
    const softplusObj = pd.objects.find((o) => o.name === 'delta_softplus');
    const y = await loadNative().scan({
      u, delta: (await load('delta', D * L, false))!, A: await readLayerFloat32(A), B: (await load('B', S * L, false))!, C: (await load('C', S * L, false))!,
      D: await load('D', D, true), z: await load('z', D * L, true), deltaBias: await load('delta_bias', D, true),
      channels: D, length: L, state: S, softplus: softplusObj ? softplusObj.value !== false : true, threads, device,
    });
    return { role: 'output', shape: uT.shape, data: y };
  } finally {
    pd.close(); id.close(); ad?.close();
  }
}
