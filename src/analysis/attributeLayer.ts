/** Attribution for each layer Quant Lens recomputes: which switches it has, and how one combination is run. */
import { attributeBlock, attributeConv1d, attributeLinear, attributeScan, AttributeOptions, AttributionReport } from './attribution';
import { readConv1dInput, readConv1dParams } from './layers/conv1d';
import { readLinear } from './layers/linear';
import { readBlock, runBlockRecipe, runBlockReference } from './layers/block';
import { scanRunner } from './layers/scan';
import { EvalMode } from './layers/modes';
import { LayerFiles } from './layers/runner';
import { UsageError } from '../core/errors';
import { NamedArray } from '../formats/safetensorsWriter';

/** Attribution for each layer Quant Lens recomputes: what its switches are and how one combination is run. */
export async function attributeLayer(layer: string, files: LayerFiles, opts: AttributeOptions): Promise<AttributionReport> {
  if (layer === 'conv1d') return attributeConv1d(await readConv1dParams(files.params), await readConv1dInput(files.input), opts);
  if (layer === 'linear') {
    const { shape: _shape, metadata: _metadata, ...operands } = await readLinear(files);
    return attributeLinear(operands, opts);
  }
  if (layer === 'block') {
    const b = await readBlock(files);
    return attributeBlock(
      b,
      (conv, xproj) => runBlockRecipe(b, conv, xproj, opts.threads),
      () => runBlockReference(b, opts.threads),
      opts,
    );
  }
  if (layer === 'scan') {
    const loaded = await scanRunner.load(files);
    // Each mode is run once: Mode 1 is both an endpoint and the reference.
    const runs = new Map<EvalMode, Promise<NamedArray>>();
    const output = (mode: EvalMode): Promise<NamedArray> => {
      if (!runs.has(mode))
        runs.set(
          mode,
          loaded.run(mode, { device: 'cpu', threads: opts.threads }).then((r) => r.outputs[0]),
        );
      return runs.get(mode)!;
    };
    const { shape } = await output('mode1');
    return attributeScan(async (mode) => (await output(mode)).data as Float32Array, shape[shape.length - 2] ?? 1, opts);
  }
  throw new UsageError(`unknown layer ${JSON.stringify(layer)}`);
}
