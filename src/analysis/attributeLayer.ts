/** Attribution for each layer Quant Lens recomputes: which switches it has, and how one combination is run. */
import { attributeBlock, attributeConv1d, attributeLinear, attributeScan, AttributeOptions, AttributionReport } from './attribution';
import { readConv1dInput, readConv1dParams } from './layers/conv1d';
import { readLinear } from './layers/linear';
import { readBlock, runBlockRecipe, runBlockReference } from './layers/block';
import { scanRunner } from './layers/scan';
import { EvalMode } from './layers/modes';
import { LayerFiles } from './layers/runner';
import { UsageError } from '../core/errors';

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
    let channels = 0;
    const run = async (mode: EvalMode): Promise<Float32Array> => {
      const r = await loaded.run(mode, { device: 'cpu', threads: opts.threads });
      const out = r.outputs[0];
      channels = out.shape[out.shape.length - 2] ?? 1;
      return out.data as Float32Array;
    };
    await run('mode1');
    return attributeScan(run, channels, opts);
  }
  throw new UsageError(`unknown layer ${JSON.stringify(layer)}`);
}
