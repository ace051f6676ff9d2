/** The W8A8 linear (x_proj / in_proj / out_proj): y = x·Wᵀ (+ bias), int8 weight [N, K], in one evaluation mode. */
import { openDump } from '../../formats/open';
import { numelOf } from '../../formats/tensor';
import { FormatError } from '../../core/errors';
import { loadNative } from '../../native/addon';
import { findScalar } from '../scalars';
import type { LinearOperands } from '../attribution';
import { findTensor, needTensor, needScale, rootOrNamed, readLayerFloat32, readLayerInt8, readLayerInt32 } from './params';
import { ACTIVATION_INPUTS, LayerFiles, LayerRunner, LoadedLayer, timedRun } from './runner';

/** The operands of a W8A8 linear from its params and input files, the output's shape and the metadata a run writes. */
export async function readLinear(files: LayerFiles): Promise<LinearOperands & { shape: number[]; metadata: Record<string, string> }> {
  const pd = openDump(files.params);
  const id = openDump(files.input);
  try {
    const w = needTensor(pd, 'weight');
    if (w.dtype !== 'int8' || w.shape.length !== 2)
      throw new FormatError('invalid-layer', `linear weight must be int8 [N, K], got ${w.dtype}[${w.shape}]`, files.params);
    const [N, K] = w.shape;
    const inputScale = await needScale(pd, 'input_scale');
    // weight_scale: one number, or a tensor with one scale per output row.
    const wsT = findTensor(pd, 'weight_scale');
    const weightScales =
      wsT && numelOf(wsT.shape) > 1 ? Array.from(await readLayerFloat32(wsT)) : [(await findScalar(pd, 'weight_scale', { anyDepth: true }))?.value ?? NaN];
    if (!weightScales.every((s) => s > 0)) throw new FormatError('scale-not-found', 'weight_scale not found or not positive', files.params);
    if (weightScales.length !== 1 && weightScales.length !== N)
      throw new FormatError('invalid-layer', `weight_scale has ${weightScales.length} entries for ${N} output rows`, files.params);
    const b = findTensor(pd, 'bias');
    if (b && (b.dtype !== 'int32' || numelOf(b.shape) !== N)) throw new FormatError('invalid-layer', `linear bias must be int32 [${N}]`, files.params);
    const xT = rootOrNamed(id, ['input', 'x']);
    if (xT.shape[xT.shape.length - 1] !== K)
      throw new FormatError('invalid-layer', `input's last dimension is ${xT.shape[xT.shape.length - 1]}, the weight takes ${K}`, files.input);
    return {
      x: await readLayerFloat32(xT),
      weight: await readLayerInt8(w),
      bias: b ? await readLayerInt32(b) : undefined,
      rows: numelOf(xT.shape) / K,
      inFeatures: K,
      outFeatures: N,
      inputScale,
      weightScales,
      shape: [...xT.shape.slice(0, -1), N],
      metadata: { input_scale: String(inputScale), weight_scale: weightScales.length === 1 ? String(weightScales[0]) : 'per_row' },
    };
  } finally {
    pd.close();
    id.close();
  }
}

export const linearRunner: LayerRunner = {
  layer: 'linear',
  title: 'linear (W8A8: x_proj, in_proj, out_proj)',
  paramsGlob: '**/*proj*_params.{pt,safetensors}',
  ...ACTIVATION_INPUTS,
  takesAux: false,
  async load(files: LayerFiles): Promise<LoadedLayer> {
    const { shape, metadata, ...operands } = await readLinear(files);
    return {
      run: (mode, opts) =>
        timedRun({ mode, layer: 'linear', metadata }, async () => {
          const y = await loadNative().linear({ mode, ...operands, threads: opts.threads, device: opts.device });
          return { device: opts.device, outputs: [{ name: 'output', dtype: 'float32', shape, data: y }] };
        }),
    };
  },
};
