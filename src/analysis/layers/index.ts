/** The layers Quant Lens can recompute, by name: one registry for the CLI, the palette and attribution. */
import { UsageError } from '../../core/errors';
import { conv1dRunner } from './conv1d';
import { linearRunner } from './linear';
import { scanRunner } from './scan';
import { blockRunner } from './block';
import { EvalMode } from './modes';
import { LayerFiles, LayerName, LayerRun, LayerRunOptions, LayerRunner } from './runner';

export const LAYER_RUNNERS: readonly LayerRunner[] = [conv1dRunner, linearRunner, scanRunner, blockRunner];
export const LAYER_NAMES: readonly LayerName[] = LAYER_RUNNERS.map((r) => r.layer);

export function layerRunner(name: string): LayerRunner {
  const r = LAYER_RUNNERS.find((x) => x.layer === name);
  if (!r) throw new UsageError(`unknown layer ${JSON.stringify(name)}: one of ${LAYER_NAMES.join(', ')}`);
  return r;
}

/** Loads and runs one layer in one mode. */
export async function runLayer(layer: string, mode: EvalMode, files: LayerFiles, opts: LayerRunOptions): Promise<LayerRun> {
  const loaded = await layerRunner(layer).load(files);
  return loaded.run(mode, opts);
}

export * from './modes';
export * from './runner';
